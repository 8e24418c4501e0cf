package models

import (
	"fmt"
	"math/rand/v2"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Model is a configuration and its weights.
type Model struct {
	Config Config
	Params *Params
	// Vocab is the caption vocabulary the model was trained with (the
	// tokeniser's ids), saved with it so that the model can be used
	// without its training data; nil when unknown (a checkpoint written
	// before vocabularies were saved). Its Size must be Config.VocabSize.
	Vocab *datasets.Vocab
	// Composed builds graphs from Gorgonia's own operations instead of
	// the fused ops: the slower reference that tests check the fused ops
	// against.
	Composed bool
}

// New returns a model with weights drawn from rng.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	return &Model{Config: cfg, Params: newParams(paramSpecs(cfg), rng)}, nil
}

// maskOff is the additive bias that removes a padded slot from a softmax or
// a max: large enough to win against any cosine or attention logit, small
// enough to stay finite in float32 arithmetic.
const maskOff = -1e4

// builder adds a model's computation to one graph. Parameter nodes are made
// on first use and share the model's tensors.
type builder struct {
	g     *G.ExprGraph
	m     *Model
	nodes map[string]*G.Node
	names []string
}

func newBuilder(m *Model) *builder {
	return &builder{g: G.NewGraph(), m: m, nodes: map[string]*G.Node{}}
}

func (b *builder) param(name string) *G.Node {
	if n, ok := b.nodes[name]; ok {
		return n
	}
	t := b.m.Params.Tensor(name)
	if t == nil {
		panic("models: no parameter " + name) // a bug in this package, not bad input
	}
	n := G.NodeFromAny(b.g, t, G.WithName(name))
	b.nodes[name] = n
	b.names = append(b.names, name)
	return n
}

// input makes a float32 input node of the given shape.
func (b *builder) input(name string, shape ...int) *G.Node {
	return G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
}

// textInputs are the per-batch inputs of the text encoder.
type textInputs struct {
	ids      *G.Node // (B*MaxTextLen) token ids
	attnBias *G.Node // (B, text slots); nil with PadInclude
	weight   *G.Node // (B, TextFragments); nil with PadInclude (all ones with PadKeep)
}

// imageInputs are the per-batch inputs of the image encoder.
type imageInputs struct {
	regions  *G.Node // (B*MaxRegions, RegionDim)
	attnBias *G.Node // (B, image slots); nil with PadInclude
	fragBias *G.Node // (B, ImageFragments); nil with PadInclude (all zero with PadKeep)
}

// encodeText builds the text encoder for a batch and returns its kept,
// L2-normalised fragments (B, TextFragments, d).
func (b *builder) encodeText(batch int) (*G.Node, textInputs, error) {
	c := b.m.Config
	in := textInputs{ids: G.NewVector(b.g, tensor.Int, G.WithShape(batch*c.MaxTextLen), G.WithName("text.ids"))}
	if c.Padding != PadInclude {
		in.attnBias = b.input("text.attn_bias", batch, c.textSlots())
		in.weight = b.input("text.weight", batch, c.TextFragments())
	}
	embed := fusedEmbedding
	if b.m.Composed {
		embed = func(table, ids *G.Node) (*G.Node, error) { return G.ByIndices(table, ids, 0) }
	}
	emb, err := embed(b.param("text.tok"), in.ids)
	if err != nil {
		return nil, in, err
	}
	var x *G.Node
	if b.m.Composed {
		if emb, err = G.Reshape(emb, tensor.Shape{batch, c.MaxTextLen, c.Dim}); err != nil {
			return nil, in, err
		}
		if emb, err = G.BroadcastAdd(emb, b.param("text.pos"), nil, []byte{0}); err != nil {
			return nil, in, err
		}
		x, err = b.embed("text", []*G.Node{emb}, batch, c.MaxTextLen, c.TextCodes)
	} else {
		x, err = b.embedFused("text", []slotPart{{node: emb, rows: c.MaxTextLen}, {node: b.param("text.pos"), rows: c.MaxTextLen, shared: true, add: true}},
			batch, c.MaxTextLen, c.TextCodes)
	}
	if err != nil {
		return nil, in, fmt.Errorf("models: text input: %w", err)
	}
	frags, err := b.encode("text", x, batch, c.textSlots(), c.FirstTextFragment(), c.TextFragments(), in.attnBias)
	return frags, in, err
}

// encodeImage builds the image encoder for a batch and returns its kept,
// L2-normalised fragments (B, ImageFragments, d).
func (b *builder) encodeImage(batch int) (*G.Node, imageInputs, error) {
	c := b.m.Config
	in := imageInputs{regions: b.input("image.regions", batch*c.MaxRegions, c.RegionDim)}
	if c.Padding != PadInclude {
		in.attnBias = b.input("image.attn_bias", batch, c.imageSlots())
		in.fragBias = b.input("image.frag_bias", batch, c.ImageFragments())
	}
	var x *G.Node
	var err error
	if b.m.Composed {
		proj, err := Linear(in.regions, b.param("image.proj.w"), b.param("image.proj.b"))
		if err != nil {
			return nil, in, err
		}
		if proj, err = G.Reshape(proj, tensor.Shape{batch, c.MaxRegions, c.Dim}); err != nil {
			return nil, in, err
		}
		x, err = b.embed("image", []*G.Node{b.broadcastRows("image.cls", batch), proj}, batch, 1+c.MaxRegions, c.ImageCodes)
	} else {
		proj, err := fusedLinear(in.regions, b.param("image.proj.w"), b.param("image.proj.b"), false, false)
		if err != nil {
			return nil, in, err
		}
		x, err = b.embedFused("image", []slotPart{{node: b.param("image.cls"), rows: 1, shared: true}, {node: proj, rows: c.MaxRegions}},
			batch, 1+c.MaxRegions, c.ImageCodes)
	}
	if err != nil {
		return nil, in, fmt.Errorf("models: image input: %w", err)
	}
	frags, err := b.encode("image", x, batch, c.imageSlots(), c.FirstImageFragment(), c.ImageFragments(), in.attnBias)
	return frags, in, err
}

// embedFused lays out side's input slots, parts (rows per item) then the
// side's codes, and applies the side's embedding LayerNorm: to every slot,
// or with CodesAfterNorm before the codes are appended.
func (b *builder) embedFused(side string, parts []slotPart, batch, rows, codes int) (*G.Node, error) {
	c, eps := b.m.Config, b.m.Config.embedNormEps(side)
	if codes == 0 || !c.CodesAfterNorm {
		if codes > 0 {
			parts = append(parts, slotPart{node: b.param(side + ".codes"), rows: codes, shared: true})
		}
		x, err := fusedSlots(batch, c.Dim, parts)
		if err != nil {
			return nil, err
		}
		return b.layerNorm(x, nil, side+".ln.", eps)
	}
	x, err := fusedSlots(batch, c.Dim, parts)
	if err != nil {
		return nil, err
	}
	if x, err = b.layerNorm(x, nil, side+".ln.", eps); err != nil {
		return nil, err
	}
	return fusedSlots(batch, c.Dim, []slotPart{{node: x, rows: rows}, {node: b.param(side + ".codes"), rows: codes, shared: true}})
}

// embed is embedFused for the composed graph: parts are (batch, rows, d)
// nodes, concatenated along the slots.
func (b *builder) embed(side string, parts []*G.Node, batch, rows, codes int) (*G.Node, error) {
	c, eps := b.m.Config, b.m.Config.embedNormEps(side)
	if codes == 0 || !c.CodesAfterNorm {
		if codes > 0 {
			parts = append(parts, b.broadcastRows(side+".codes", batch))
		}
		x, err := b.concatSlots(parts, batch, rows+codes)
		if err != nil {
			return nil, err
		}
		return b.layerNorm(x, nil, side+".ln.", eps)
	}
	x, err := b.concatSlots(parts, batch, rows)
	if err != nil {
		return nil, err
	}
	if x, err = b.layerNorm(x, nil, side+".ln.", eps); err != nil {
		return nil, err
	}
	if x, err = G.Reshape(x, tensor.Shape{batch, rows, c.Dim}); err != nil {
		return nil, err
	}
	return b.concatSlots([]*G.Node{x, b.broadcastRows(side+".codes", batch)}, batch, rows+codes)
}

// broadcastRows repeats the (rows, d) parameter name for every item of the
// batch: (batch, rows, d).
func (b *builder) broadcastRows(name string, batch int) *G.Node {
	p := b.param(name)
	rows, d := p.Shape()[0], p.Shape()[1]
	zeros := G.NewTensor(b.g, tensor.Float32, 3, G.WithShape(batch, rows, d), G.WithName(name+".zeros"),
		G.WithValue(tensor.New(tensor.WithShape(batch, rows, d), tensor.Of(tensor.Float32))))
	return G.Must(G.BroadcastAdd(zeros, p, nil, []byte{0}))
}

// concatSlots concatenates the (batch, rows, d) parts of the composed
// encoder along the slot axis into (batch*slots, d) rows.
func (b *builder) concatSlots(parts []*G.Node, batch, slots int) (*G.Node, error) {
	x := parts[0]
	var err error
	if len(parts) > 1 {
		if x, err = G.Concat(1, parts...); err != nil {
			return nil, err
		}
	}
	return G.Reshape(x, tensor.Shape{batch * slots, b.m.Config.Dim})
}

// encode runs the shared part of both encoders on the (batch*slots, d)
// embedded rows (after their LayerNorm, see embed): the transformer
// blocks, keep the `keep` outputs from slot `first` on and L2-normalise
// them.
func (b *builder) encode(side string, x *G.Node, batch, slots, first, keep int, attnBias *G.Node) (*G.Node, error) {
	d := b.m.Config.Dim
	var err error
	stack := side
	if b.m.Config.SharedLayers {
		stack = "shared"
	}
	for l := 0; l < b.m.Config.Layers; l++ {
		if x, err = b.block(fmt.Sprintf("%s.layer%d.", stack, l), x, batch, slots, attnBias); err != nil {
			return nil, fmt.Errorf("models: %s layer %d: %w", side, l, err)
		}
	}
	if !b.m.Composed {
		return fusedKeepNormalize(x, batch, slots, first, keep)
	}
	if x, err = G.Reshape(x, tensor.Shape{batch, slots, d}); err != nil {
		return nil, err
	}
	if keep < slots {
		if x, err = G.Slice(x, nil, G.S(first, first+keep)); err != nil {
			return nil, err
		}
		// Slicing one slot drops the axis; restore it.
		if x, err = G.Reshape(x, tensor.Shape{batch, keep, d}); err != nil {
			return nil, err
		}
	}
	return L2Normalize(x)
}

// layerNorm is LayerNorm(x + r) (r may be nil) with the gain and bias
// named prefix+"g" and prefix+"b", and the config's epsilon.
func (b *builder) layerNorm(x, r *G.Node, prefix string, eps float64) (*G.Node, error) {
	g, bias := b.param(prefix+"g"), b.param(prefix+"b")
	if !b.m.Composed {
		return fusedLayerNorm(x, r, g, bias, eps)
	}
	if r != nil {
		var err error
		if x, err = G.Add(x, r); err != nil {
			return nil, err
		}
	}
	return LayerNorm(x, g, bias, eps)
}

// linear is Linear, followed with activate by the config's activation.
func (b *builder) linear(x *G.Node, prefix string, activate bool) (*G.Node, error) {
	w, bias := b.param(prefix+"w"), b.param(prefix+"b")
	gelu := activate && b.m.Config.WithDefaults().Activation == ActGELU
	if !b.m.Composed {
		// ReLU stays inside the fused Linear, as it always was.
		y, err := fusedLinear(x, w, bias, activate && !gelu, true)
		if err != nil || !gelu {
			return y, err
		}
		return fusedGELU(y)
	}
	y, err := Linear(x, w, bias)
	switch {
	case err != nil || !activate:
		return y, err
	case gelu:
		return GELU(y)
	default:
		return G.Rectify(y)
	}
}

// block is one post-LN transformer block (as in BERT):
// h = LN(x + Attention(x)); y = LN(h + FF(h)).
func (b *builder) block(p string, x *G.Node, batch, slots int, attnBias *G.Node) (*G.Node, error) {
	w := AttentionWeights{
		Q: b.param(p + "attn.q.w"), QB: b.param(p + "attn.q.b"),
		K: b.param(p + "attn.k.w"), KB: b.param(p + "attn.k.b"),
		V: b.param(p + "attn.v.w"), VB: b.param(p + "attn.v.b"),
		O: b.param(p + "attn.o.w"), OB: b.param(p + "attn.o.b"),
	}
	attention := fusedAttention
	if b.m.Composed {
		attention = Attention
	}
	att, err := attention(x, batch, slots, b.m.Config.Heads, w, attnBias)
	if err != nil {
		return nil, err
	}
	eps := b.m.Config.WithDefaults().LayerNormEps
	h, err := b.layerNorm(x, att, p+"ln1.", eps)
	if err != nil {
		return nil, err
	}
	ff, err := b.linear(h, p+"ff1.", true)
	if err != nil {
		return nil, err
	}
	if ff, err = b.linear(ff, p+"ff2.", false); err != nil {
		return nil, err
	}
	return b.layerNorm(h, ff, p+"ln2.", eps)
}

// feedText binds a packed text batch to the text inputs and returns the
// fragment mask (batch x TextFragments: 1 real, 0 padding).
func (m *Model) feedText(in textInputs, tb datasets.TextBatch) ([]float32, error) {
	c := m.Config
	if tb.MaxLen != c.MaxTextLen {
		return nil, fmt.Errorf("models: text batch has MaxLen %d, model expects %d", tb.MaxLen, c.MaxTextLen)
	}
	if err := G.Let(in.ids, tensor.New(tensor.WithShape(len(tb.IDs)), tensor.WithBacking(tb.IDs))); err != nil {
		return nil, err
	}
	bias, weight := TextMasks(c, tb.Lens)
	if in.attnBias == nil {
		return weight, nil
	}
	n := len(tb.Lens)
	if err := G.Let(in.attnBias, tensor.New(tensor.WithShape(n, c.textSlots()), tensor.WithBacking(bias))); err != nil {
		return nil, err
	}
	return weight, G.Let(in.weight, tensor.New(tensor.WithShape(n, c.TextFragments()), tensor.WithBacking(weight)))
}

// TextMasks returns, for captions of the given token counts, the additive
// attention bias (len(lens) x text slots: 0 to attend, a large negative
// number for a padded token) and the fragment weights (len(lens) x
// TextFragments: 1 scored, 0 padding). With PadKeep padded slots are
// masked from attention but scored; with PadInclude every slot is real.
// Every executor of the model (this package's graphs, package gpu) feeds
// these same inputs.
func TextMasks(c Config, lens []int) (attnBias, weight []float32) {
	c = c.WithDefaults()
	slots, first, frags := c.textSlots(), c.FirstTextFragment(), c.TextFragments()
	attnBias = make([]float32, len(lens)*slots)
	weight = make([]float32, len(lens)*frags)
	for i, l := range lens {
		for s := 0; s < slots; s++ {
			real := s < l || s >= c.MaxTextLen || c.Padding == PadInclude // a token, a code, or padding kept on purpose
			if !real {
				attnBias[i*slots+s] = maskOff
			}
			if s >= first && s < first+frags && (real || c.Padding == PadKeep) {
				weight[i*frags+s-first] = 1
			}
		}
	}
	return attnBias, weight
}

// feedImage binds a packed image batch to the image inputs and returns
// the fragment mask (batch x ImageFragments: 1 real, 0 padding).
func (m *Model) feedImage(in imageInputs, ib datasets.ImageBatch) ([]float32, error) {
	c := m.Config
	if ib.MaxRegions != c.MaxRegions || ib.Dim != c.RegionDim {
		return nil, fmt.Errorf("models: image batch has %d regions of %d dims, model expects %d of %d", ib.MaxRegions, ib.Dim, c.MaxRegions, c.RegionDim)
	}
	n := len(ib.Counts)
	if err := G.Let(in.regions, tensor.New(tensor.WithShape(n*c.MaxRegions, c.RegionDim), tensor.WithBacking(ib.Regions))); err != nil {
		return nil, err
	}
	bias, fragBias, mask := ImageMasks(c, ib.Counts)
	if in.attnBias == nil {
		return mask, nil
	}
	if err := G.Let(in.attnBias, tensor.New(tensor.WithShape(n, c.imageSlots()), tensor.WithBacking(bias))); err != nil {
		return nil, err
	}
	return mask, G.Let(in.fragBias, tensor.New(tensor.WithShape(n, c.ImageFragments()), tensor.WithBacking(fragBias)))
}

// ImageMasks returns, for images of the given region counts, the additive
// attention bias (len(counts) x image slots), the additive bias of the kept
// fragments in the score (len(counts) x ImageFragments) and the fragment
// mask (1 scored, 0 padding). Slot 0 is [CLS] (hidden from attention and
// never kept with NoImageCLS) and the slots after the regions are codes,
// both always real; with PadKeep padded regions are
// masked from attention but scored; with PadInclude every slot is real.
func ImageMasks(c Config, counts []int) (attnBias, fragBias, mask []float32) {
	c = c.WithDefaults()
	slots, first, frags := c.imageSlots(), c.FirstImageFragment(), c.ImageFragments()
	attnBias = make([]float32, len(counts)*slots)
	fragBias = make([]float32, len(counts)*frags)
	mask = make([]float32, len(counts)*frags)
	for i, count := range counts {
		if c.NoImageCLS {
			attnBias[i*slots] = maskOff // never kept (first is 1): as if absent
		}
		for s := 0; s < slots; s++ {
			region := s - 1
			real := s == 0 || region < count || region >= c.MaxRegions || c.Padding == PadInclude
			if !real {
				attnBias[i*slots+s] = maskOff
			}
			if s >= first && s < first+frags && (real || c.Padding == PadKeep) {
				mask[i*frags+s-first] = 1
			} else if s >= first && s < first+frags {
				fragBias[i*frags+s-first] = maskOff
			}
		}
	}
	return attnBias, fragBias, mask
}
