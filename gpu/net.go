package gpu

import (
	"fmt"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
)

// Net is a model's training step for a fixed batch size on a backend: its
// parameters, gradients and every activation the backward pass reads,
// allocated once. The step is written out here operation by operation,
// forward then backward, in the order of models' graph.
type Net struct {
	be    Backend
	cfg   models.Config
	batch int

	names       []string // models' parameter order
	param, grad map[string]*Buf
	params      *Buf // every parameter, one after another
	grads       *Buf // every gradient, in the same layout
	offsets     map[string]int
	matrix      map[string]bool // weight decay applies (models.AdamW)

	text, image *encoder
	s           scratch

	sims, dsims     *Buf // (batch*TextFragments, batch*ImageFragments)
	argmax          *IBuf
	scores, dscores *Buf // (batch, batch)
	stats           *Buf // [loss, squared gradient norm]
}

// encoder holds one side's inputs and activations.
type encoder struct {
	text        bool
	stack       string // parameter prefix of its blocks: text, image or shared
	slots, keep int
	first       int  // slot of the first kept fragment
	rows        int  // batch*slots
	attnBias    *Buf // (batch, slots); nil with PadInclude
	fragInput   *Buf // text: fragment weights; image: fragment bias; nil with PadInclude
	ids         *IBuf
	regions     *Buf // (batch*regions, RegionDim)
	proj        *Buf // (batch*regions, d)
	x0          *Buf
	ln0         norm
	layers      []layer
	frags       *Buf // (batch, keep, d)
	norms       *Buf
	dfrags      *Buf
}

// norm is a LayerNorm's output and what its gradient needs.
type norm struct{ y, xhat, rstd *Buf }

// layer is one transformer block's activations.
type layer struct {
	q, k, v, ctx, probs, att *Buf
	ln1                      norm
	f1, f2                   *Buf
	// z1 is the first feed-forward layer's output before GELU, which
	// GELU's gradient reads; nil with ReLU, whose gradient reads f1.
	z1  *Buf
	ln2 norm
}

// scratch is backward-pass storage shared by both sides and all layers.
type scratch struct {
	dA, dB, dz2, dh, dz1, dctx, dq, dk, dv *Buf // (rows, d)
	df1                                    *Buf // (rows, FFDim)
	dlogits                                *Buf // (batch, heads, slots, slots)
	dproj                                  *Buf // (batch*regions, d)
}

// NewNet allocates m's step for batches of the given size on be and
// uploads m's weights.
func NewNet(be Backend, m *models.Model, batch int) (*Net, error) {
	if batch < 1 {
		return nil, fmt.Errorf("gpu: batch size must be positive, got %d", batch)
	}
	c := m.Config.WithDefaults()
	if c.NoImageCLS || c.CodesAfterNorm || c.ImageNormEps != 0 || c.KeepLimit != 0 {
		// The authors' layout (models.LoadAuthors) scores their released
		// weights; this program has no kernels for it.
		return nil, fmt.Errorf("gpu: the authors' layout (NoImageCLS, CodesAfterNorm, ImageNormEps, KeepLimit) runs on the CPU only")
	}
	n := &Net{be: be, cfg: c, batch: batch, param: map[string]*Buf{}, grad: map[string]*Buf{},
		offsets: map[string]int{}, matrix: map[string]bool{}}
	n.names = m.Params.Names()
	total := 0
	for _, name := range n.names {
		total += len(m.Params.Data(name))
	}
	n.params, n.grads = be.Alloc(total), be.Alloc(total)
	off := 0
	for _, name := range n.names {
		size := len(m.Params.Data(name))
		n.param[name], n.grad[name] = n.params.Slice(off, size), n.grads.Slice(off, size)
		n.offsets[name], n.matrix[name] = off, len(m.Params.Tensor(name).Shape()) >= 2
		be.Upload(n.param[name], m.Params.Data(name))
		off += size
	}
	stack := func(side string) string {
		if c.SharedLayers {
			return "shared"
		}
		return side
	}
	n.text = n.newEncoder(true, stack("text"), c.MaxTextLen+c.TextCodes, c.FirstTextFragment(), c.TextFragments())
	n.image = n.newEncoder(false, stack("image"), 1+c.MaxRegions+c.ImageCodes, c.FirstImageFragment(), c.ImageFragments())
	rows := max(n.text.rows, n.image.rows)
	d := c.Dim
	s := &n.s
	for _, p := range []**Buf{&s.dA, &s.dB, &s.dz2, &s.dh, &s.dz1, &s.dctx, &s.dq, &s.dk, &s.dv} {
		*p = be.Alloc(rows * d)
	}
	s.df1 = be.Alloc(rows * c.FFDim)
	maxSlots := max(n.text.slots, n.image.slots)
	s.dlogits = be.Alloc(batch * c.Heads * maxSlots * maxSlots)
	s.dproj = be.Alloc(batch * c.MaxRegions * d)
	ft, fi := c.TextFragments(), c.ImageFragments()
	n.sims, n.dsims = be.Alloc(batch*ft*batch*fi), be.Alloc(batch*ft*batch*fi)
	n.argmax = be.AllocInt(batch * ft * batch)
	n.scores, n.dscores = be.Alloc(batch*batch), be.Alloc(batch*batch)
	n.stats = be.Alloc(2)
	return n, be.Sync()
}

func (n *Net) newEncoder(text bool, stack string, slots, first, keep int) *encoder {
	c, be, b := n.cfg, n.be, n.batch
	d := c.Dim
	e := &encoder{text: text, stack: stack, slots: slots, first: first, keep: keep, rows: b * slots}
	if c.Padding != models.PadInclude {
		e.attnBias = be.Alloc(b * slots)
		e.fragInput = be.Alloc(b * keep)
	}
	if text {
		e.ids = be.AllocInt(b * c.MaxTextLen)
	} else {
		e.regions = be.Alloc(b * c.MaxRegions * c.RegionDim)
		e.proj = be.Alloc(b * c.MaxRegions * d)
	}
	rd := func() *Buf { return be.Alloc(e.rows * d) }
	newNorm := func() norm { return norm{y: rd(), xhat: rd(), rstd: be.Alloc(e.rows)} }
	e.x0, e.ln0 = rd(), newNorm()
	for range c.Layers {
		a := layer{
			q: rd(), k: rd(), v: rd(), ctx: rd(), att: rd(),
			probs: be.Alloc(b * c.Heads * slots * slots),
			ln1:   newNorm(), f1: be.Alloc(e.rows * c.FFDim), f2: rd(), ln2: newNorm(),
		}
		if c.Activation == models.ActGELU {
			a.z1 = be.Alloc(e.rows * c.FFDim)
		}
		e.layers = append(e.layers, a)
	}
	e.frags, e.dfrags = be.Alloc(b*keep*d), be.Alloc(b*keep*d)
	e.norms = be.Alloc(b * keep)
	return e
}

// Load uploads m's weights (of the same config) into the net.
func (n *Net) Load(m *models.Model) error {
	for _, name := range n.names {
		n.be.Upload(n.param[name], m.Params.Data(name))
	}
	return n.be.Sync()
}

// Store downloads the net's weights into m.
func (n *Net) Store(m *models.Model) error {
	for _, name := range n.names {
		n.be.Download(m.Params.Data(name), n.param[name])
	}
	return n.be.Sync()
}

// Gradients downloads the gradients of the last Backward.
func (n *Net) Gradients() (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, name := range n.names {
		out[name] = make([]float32, n.grad[name].Len())
		n.be.Download(out[name], n.grad[name])
	}
	return out, n.be.Sync()
}

// SetTexts uploads a text batch of exactly the net's batch size.
func (n *Net) SetTexts(tb datasets.TextBatch) error {
	if len(tb.Lens) != n.batch || tb.MaxLen != n.cfg.MaxTextLen {
		return fmt.Errorf("gpu: text batch of %d captions of %d tokens, net takes %d of %d", len(tb.Lens), tb.MaxLen, n.batch, n.cfg.MaxTextLen)
	}
	ids := make([]int32, len(tb.IDs))
	for i, id := range tb.IDs {
		if id < 0 || id >= n.cfg.VocabSize {
			return fmt.Errorf("gpu: token id %d outside the vocabulary of %d", id, n.cfg.VocabSize)
		}
		ids[i] = int32(id)
	}
	n.be.UploadInt(n.text.ids, ids)
	if n.text.attnBias != nil {
		bias, weight := models.TextMasks(n.cfg, tb.Lens)
		n.be.Upload(n.text.attnBias, bias)
		n.be.Upload(n.text.fragInput, weight)
	}
	return nil
}

// SetImages uploads an image batch of exactly the net's batch size.
func (n *Net) SetImages(ib datasets.ImageBatch) error {
	if len(ib.Counts) != n.batch || ib.MaxRegions != n.cfg.MaxRegions || ib.Dim != n.cfg.RegionDim {
		return fmt.Errorf("gpu: image batch of %d images of %d regions of %d dims, net takes %d of %d of %d",
			len(ib.Counts), ib.MaxRegions, ib.Dim, n.batch, n.cfg.MaxRegions, n.cfg.RegionDim)
	}
	n.be.Upload(n.image.regions, ib.Regions)
	if n.image.attnBias != nil {
		bias, fragBias, _ := models.ImageMasks(n.cfg, ib.Counts)
		n.be.Upload(n.image.attnBias, bias)
		n.be.Upload(n.image.fragInput, fragBias)
	}
	return nil
}

// offset returns where a parameter starts in the parameter layout, and its
// size.
func (n *Net) offset(name string) (int, int) { return n.offsets[name], n.param[name].Len() }

// p returns a parameter, or nil for an absent optional one (codes).
func (n *Net) p(name string) *Buf { return n.param[name] }

// Encode runs one side's encoder on the uploaded batch, leaving its
// fragments in e.frags.
func (n *Net) encode(e *encoder) {
	c, be, b, d := n.cfg, n.be, n.batch, n.cfg.Dim
	side := "image"
	if e.text {
		side = "text"
		be.EmbedText(e.x0, n.p("text.tok"), n.p("text.pos"), n.p("text.codes"), e.ids, b, c.MaxTextLen, c.TextCodes, d)
	} else {
		be.Gemm(false, false, b*c.MaxRegions, d, c.RegionDim, 1, e.regions, c.RegionDim, n.p("image.proj.w"), d, 0, e.proj, d)
		be.AddBias(e.proj, n.p("image.proj.b"), b*c.MaxRegions, d, false)
		be.ImageSlots(e.x0, n.p("image.cls"), e.proj, n.p("image.codes"), b, c.MaxRegions, c.ImageCodes, d)
	}
	be.LayerNorm(e.ln0.y, e.ln0.xhat, e.ln0.rstd, e.x0, nil, n.p(side+".ln.g"), n.p(side+".ln.b"), e.rows, d, c.LayerNormEps)
	x := e.ln0.y
	for l := range e.layers {
		n.block(e, l, x)
		x = e.layers[l].ln2.y
	}
	be.KeepNormalize(e.frags, e.norms, x, b, e.slots, e.first, e.keep, d)
}

// block is the forward pass of one post-LN transformer block:
// h = LN(x + Attention(x)); y = LN(h + FF(h)).
func (n *Net) block(e *encoder, l int, x *Buf) {
	c, be, d, rows := n.cfg, n.be, n.cfg.Dim, e.rows
	a := &e.layers[l]
	p := fmt.Sprintf("%s.layer%d.", e.stack, l)
	linear := func(out, in *Buf, name string, inDim, outDim int, relu bool) {
		be.Gemm(false, false, rows, outDim, inDim, 1, in, inDim, n.p(p+name+".w"), outDim, 0, out, outDim)
		be.AddBias(out, n.p(p+name+".b"), rows, outDim, relu)
	}
	linear(a.q, x, "attn.q", d, d, false)
	linear(a.k, x, "attn.k", d, d, false)
	linear(a.v, x, "attn.v", d, d, false)
	be.Attention(a.ctx, a.probs, a.q, a.k, a.v, e.attnBias, n.batch, e.slots, c.Heads, d/c.Heads)
	linear(a.att, a.ctx, "attn.o", d, d, false)
	be.LayerNorm(a.ln1.y, a.ln1.xhat, a.ln1.rstd, x, a.att, n.p(p+"ln1.g"), n.p(p+"ln1.b"), rows, d, c.LayerNormEps)
	if a.z1 == nil {
		linear(a.f1, a.ln1.y, "ff1", d, c.FFDim, true)
	} else {
		linear(a.z1, a.ln1.y, "ff1", d, c.FFDim, false)
		be.GELU(a.f1, a.z1)
	}
	linear(a.f2, a.f1, "ff2", c.FFDim, d, false)
	be.LayerNorm(a.ln2.y, a.ln2.xhat, a.ln2.rstd, a.ln1.y, a.f2, n.p(p+"ln2.g"), n.p(p+"ln2.b"), rows, d, c.LayerNormEps)
}

// Forward encodes both sides of the uploaded batch and scores every text
// against every image into n.scores (texts x images).
func (n *Net) Forward(argmax bool) {
	n.encode(n.text)
	n.encode(n.image)
	c, b := n.cfg, n.batch
	ft, fi := c.TextFragments(), c.ImageFragments()
	n.be.Gemm(false, true, b*ft, b*fi, c.Dim, 1, n.text.frags, c.Dim, n.image.frags, c.Dim, 0, n.sims, b*fi)
	var arg *IBuf
	if argmax {
		arg = n.argmax
	}
	n.be.MaxSim(n.scores, arg, n.sims, n.text.fragInput, n.image.fragInput, b, ft, b, fi)
}

// Backward computes the loss of the scores of the last Forward(true) and
// the gradient of every parameter; teacher holds a teacher's scores of the
// same batch when w.KD is set.
func (n *Net) Backward(w LossWeights, teacher *Buf) {
	be, c, b, d := n.be, n.cfg, n.batch, n.cfg.Dim
	ft, fi := c.TextFragments(), c.ImageFragments()
	be.Zero(n.grads)
	be.Loss(n.stats.Slice(0, 1), n.dscores, n.scores, teacher, b, w)
	be.MaxSimGrad(n.dsims, n.dscores, n.argmax, n.text.fragInput, b, ft, b, fi)
	be.Gemm(false, false, b*ft, d, b*fi, 1, n.dsims, b*fi, n.image.frags, d, 0, n.text.dfrags, d)
	be.Gemm(true, false, b*fi, d, b*ft, 1, n.dsims, b*fi, n.text.frags, d, 0, n.image.dfrags, d)
	n.encodeGrad(n.text)
	n.encodeGrad(n.image)
}

// encodeGrad is the backward pass of encode, from e.dfrags.
func (n *Net) encodeGrad(e *encoder) {
	c, be, b, d, s := n.cfg, n.be, n.batch, n.cfg.Dim, &n.s
	dy, dx := s.dA.Slice(0, e.rows*d), s.dB.Slice(0, e.rows*d)
	be.KeepNormalizeGrad(dy, e.dfrags, e.frags, e.norms, b, e.slots, e.first, e.keep, d)
	for l := len(e.layers) - 1; l >= 0; l-- {
		x := e.ln0.y
		if l > 0 {
			x = e.layers[l-1].ln2.y
		}
		n.blockGrad(e, l, x, dy, dx)
		dy, dx = dx, dy
	}
	side := "image"
	if e.text {
		side = "text"
	}
	be.LayerNormGrad(dx, n.grad[side+".ln.g"], n.grad[side+".ln.b"], dy, e.ln0.xhat, e.ln0.rstd, n.p(side+".ln.g"), e.rows, d)
	if e.text {
		be.EmbedTextGrad(n.grad["text.tok"], dx, e.ids, b, c.MaxTextLen, e.slots, d)
		be.SumSlots(n.grad["text.pos"], dx, b, e.slots, 0, c.MaxTextLen, d)
		if c.TextCodes > 0 {
			be.SumSlots(n.grad["text.codes"], dx, b, e.slots, c.MaxTextLen, c.TextCodes, d)
		}
		return
	}
	be.SumSlots(n.grad["image.cls"], dx, b, e.slots, 0, 1, d)
	if c.ImageCodes > 0 {
		be.SumSlots(n.grad["image.codes"], dx, b, e.slots, 1+c.MaxRegions, c.ImageCodes, d)
	}
	rows := b * c.MaxRegions
	be.GatherSlots(s.dproj, dx, b, e.slots, 1, c.MaxRegions, d)
	be.Gemm(true, false, c.RegionDim, d, rows, 1, e.regions, c.RegionDim, s.dproj, d, 1, n.grad["image.proj.w"], d)
	be.ColSum(n.grad["image.proj.b"], s.dproj, rows, d)
}

// blockGrad is the backward pass of block: from dy, the gradient of the
// block's output, it writes dx, that of its input x, and accumulates the
// block's parameter gradients.
func (n *Net) blockGrad(e *encoder, l int, x, dy, dx *Buf) {
	c, be, d, rows := n.cfg, n.be, n.cfg.Dim, e.rows
	a := &e.layers[l]
	p := fmt.Sprintf("%s.layer%d.", e.stack, l)
	cut := func(b *Buf, width int) *Buf { return b.Slice(0, rows*width) }
	dz2, dh, dz1, dctx := cut(n.s.dz2, d), cut(n.s.dh, d), cut(n.s.dz1, d), cut(n.s.dctx, d)
	df1 := cut(n.s.df1, c.FFDim)
	// weightGrad accumulates the gradient of a linear layer's weight and
	// bias from its input and output gradient.
	weightGrad := func(name string, in, dout *Buf, inDim, outDim int) {
		be.Gemm(true, false, inDim, outDim, rows, 1, in, inDim, dout, outDim, 1, n.grad[p+name+".w"], outDim)
		be.ColSum(n.grad[p+name+".b"], dout, rows, outDim)
	}
	// inputGrad writes dout W^T + beta din to din, the gradient of the
	// layer's input.
	inputGrad := func(name string, din, dout *Buf, inDim, outDim int, beta float32) {
		be.Gemm(false, true, rows, inDim, outDim, 1, dout, outDim, n.p(p+name+".w"), outDim, beta, din, inDim)
	}
	be.LayerNormGrad(dz2, n.grad[p+"ln2.g"], n.grad[p+"ln2.b"], dy, a.ln2.xhat, a.ln2.rstd, n.p(p+"ln2.g"), rows, d)
	weightGrad("ff2", a.f1, dz2, c.FFDim, d)
	inputGrad("ff2", df1, dz2, c.FFDim, d, 0)
	if a.z1 == nil {
		be.ReluGrad(df1, a.f1)
	} else {
		be.GELUGrad(df1, a.z1)
	}
	weightGrad("ff1", a.ln1.y, df1, d, c.FFDim)
	be.Copy(dh, dz2)
	inputGrad("ff1", dh, df1, d, c.FFDim, 1)
	be.LayerNormGrad(dz1, n.grad[p+"ln1.g"], n.grad[p+"ln1.b"], dh, a.ln1.xhat, a.ln1.rstd, n.p(p+"ln1.g"), rows, d)
	weightGrad("attn.o", a.ctx, dz1, d, d)
	inputGrad("attn.o", dctx, dz1, d, d, 0)
	dq, dk, dv := cut(n.s.dq, d), cut(n.s.dk, d), cut(n.s.dv, d)
	be.AttentionGrad(dq, dk, dv, n.s.dlogits, dctx, a.probs, a.q, a.k, a.v, n.batch, e.slots, c.Heads, d/c.Heads)
	be.Copy(dx, dz1)
	for _, g := range []struct {
		name string
		d    *Buf
	}{{"attn.q", dq}, {"attn.k", dk}, {"attn.v", dv}} {
		weightGrad(g.name, x, g.d, d, d)
		inputGrad(g.name, dx, g.d, d, d, 1)
	}
}

// Loss returns the loss of the last Backward and the squared norm of the
// last optimiser step's gradient, waiting for the device.
func (n *Net) Loss() (loss, gradSq float64, err error) {
	v := make([]float32, 2)
	n.be.Download(v, n.stats)
	if err := n.be.Sync(); err != nil {
		return 0, 0, err
	}
	return float64(v[0]), float64(v[1]), nil
}
