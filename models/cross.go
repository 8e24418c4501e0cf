package models

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Cross is a cross encoder: one transformer over the concatenation of a
// caption's tokens and an image's regions, so that every token attends to
// every region. It is the accurate-but-slow end of the paper's spectrum:
// nothing of a pair can be computed before both items are known, so it
// cannot index a gallery and is used to re-rank a faster model's top
// candidates, one forward pass per pair.
//
// Input slots of a pair: a learned [CLS], the MaxTextLen caption tokens
// (token plus learned position embeddings, as the dual model's text side)
// and the MaxRegions projected regions (Linear RegionDim->d, no position,
// as its image side); then LayerNorm, Layers post-LN blocks with padded
// slots masked out of attention, and Linear(d->1) of the [CLS] output is
// the pair's score. The modalities need no separate type embedding here:
// one added to every text slot would be absorbed by the learned positions,
// and one added to every region by the projection's bias, so it would
// add parameters without adding a function.
type Cross struct {
	// Config's codes and Keep do not apply: the cross encoder has no
	// fragments.
	Config Config
	Params *Params
}

// NewCross returns a cross encoder of cfg's shape (vocabulary, region
// length, width, heads, layers, lengths, padding) with weights drawn
// from rng.
func NewCross(cfg Config, rng *rand.Rand) (*Cross, error) {
	cfg.TextCodes, cfg.ImageCodes, cfg.Keep = 0, 0, ""
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	return &Cross{Config: cfg, Params: newParams(crossParamSpecs(cfg), rng)}, nil
}

// CrossSlots is the cross encoder's sequence length per pair: [CLS], the
// caption tokens and the regions.
func (c Config) CrossSlots() int { return 1 + c.MaxTextLen + c.MaxRegions }

// CrossAttention is the cross encoder's cost per pair in the unit of
// Interactions: its attention compares every slot with every other
// (CrossSlots squared d-dimensional dot products) in each of Layers
// layers, and none of it can be precomputed.
func (c Config) CrossAttention() int { return c.Layers * c.CrossSlots() * c.CrossSlots() }

// crossParamSpecs lists a cross encoder's parameters in a fixed order.
func crossParamSpecs(cfg Config) []paramSpec {
	d := cfg.Dim
	specs := []paramSpec{
		{"cross.cls", []int{1, d}, initNormal},
		{"cross.tok", []int{cfg.VocabSize, d}, initNormal},
		{"cross.pos", []int{cfg.MaxTextLen, d}, initNormal},
		{"cross.proj.w", []int{cfg.RegionDim, d}, initGlorot},
		{"cross.proj.b", []int{d}, initZero},
		{"cross.ln.g", []int{d}, initOne},
		{"cross.ln.b", []int{d}, initZero},
	}
	specs = append(specs, layerSpecs(cfg, "cross")...)
	return append(specs, paramSpec{"cross.head.w", []int{d, 1}, initGlorot}, paramSpec{"cross.head.b", []int{1}, initZero})
}

// model wraps the cross encoder as a Model, so that the builder's blocks,
// the optimisation loop and Save read its parameters.
func (x *Cross) model() *Model { return &Model{Config: x.Config, Params: x.Params} }

// Save writes the cross encoder to path (atomically, as Model.Save).
func (x *Cross) Save(path string) error { return x.model().Save(path) }

// LoadCross reads a cross encoder written by Cross.Save.
func LoadCross(path string) (*Cross, error) {
	cfg, p, _, err := load(path, crossParamSpecs)
	if err != nil {
		return nil, err
	}
	return &Cross{Config: cfg, Params: p}, nil
}

// crossInputs are the per-call inputs of the cross encoder's graph.
type crossInputs struct {
	ids      *G.Node // (n*MaxTextLen) token ids
	regions  *G.Node // (n*MaxRegions, RegionDim)
	attnBias *G.Node // (n, CrossSlots); nil with PadInclude
}

// crossScores builds the cross encoder for n pairs and returns their
// scores, (n, 1).
func (b *builder) crossScores(n int) (*G.Node, crossInputs, error) {
	c := b.m.Config
	slots := c.CrossSlots()
	in := crossInputs{
		ids:     G.NewVector(b.g, tensor.Int, G.WithShape(n*c.MaxTextLen), G.WithName("cross.ids")),
		regions: b.input("cross.regions", n*c.MaxRegions, c.RegionDim),
	}
	if c.Padding != PadInclude {
		in.attnBias = b.input("cross.attn_bias", n, slots)
	}
	emb, err := G.ByIndices(b.param("cross.tok"), in.ids, 0)
	if err != nil {
		return nil, in, fmt.Errorf("models: cross tokens: %w", err)
	}
	proj, err := fusedLinear(in.regions, b.param("cross.proj.w"), b.param("cross.proj.b"), false, false)
	if err != nil {
		return nil, in, fmt.Errorf("models: cross regions: %w", err)
	}
	x, err := fusedSlots(n, c.Dim, []slotPart{
		{node: b.param("cross.cls"), rows: 1, shared: true},
		{node: emb, rows: c.MaxTextLen},
		{node: b.param("cross.pos"), rows: c.MaxTextLen, shared: true, add: true},
		{node: proj, rows: c.MaxRegions},
	})
	if err != nil {
		return nil, in, fmt.Errorf("models: cross input: %w", err)
	}
	if x, err = b.layerNorm(x, nil, "cross.ln.", c.WithDefaults().LayerNormEps); err != nil {
		return nil, in, fmt.Errorf("models: cross embedding LayerNorm: %w", err)
	}
	for l := 0; l < c.Layers; l++ {
		if x, err = b.block(fmt.Sprintf("cross.layer%d.", l), x, n, slots, in.attnBias); err != nil {
			return nil, in, fmt.Errorf("models: cross layer %d: %w", l, err)
		}
	}
	s, err := crossHead(x, n, slots, b.param("cross.head.w"), b.param("cross.head.b"))
	return s, in, err
}

// crossHead scores each of n items from its first slot's row of x
// (n*slots, d): Linear(d->1) of the [CLS] output, (n, 1).
func crossHead(x *G.Node, n, slots int, w, bias *G.Node) (*G.Node, error) {
	d := x.Shape()[1]
	x, err := G.Reshape(x, tensor.Shape{n, slots, d})
	if err != nil {
		return nil, fmt.Errorf("models: cross head: %w", err)
	}
	cls, err := G.Slice(x, nil, G.S(0))
	if err != nil {
		return nil, fmt.Errorf("models: cross head: %w", err)
	}
	return fusedLinear(cls, w, bias, false, true)
}

// GroupCrossEntropy is the softmax cross-entropy of groups of scores
// whose first member is the right one: scores hold groups x size values,
// group-major, and the loss is the mean over groups of
// -log softmax(group)[0].
func GroupCrossEntropy(scores *G.Node, groups, size int) (*G.Node, error) {
	if scores.Shape().TotalSize() != groups*size || groups < 1 || size < 2 {
		return nil, fmt.Errorf("models: %d groups of %d from scores of shape %v", groups, size, scores.Shape())
	}
	logits, err := G.Reshape(scores, tensor.Shape{groups, size})
	if err != nil {
		return nil, err
	}
	logp, err := G.LogSoftMax(logits, 1)
	if err != nil {
		return nil, err
	}
	first := make([]float64, groups*size)
	for g := range groups {
		first[g*size] = 1
	}
	target := G.NodeFromAny(scores.Graph(), denseOf(scores.Dtype(), first, groups, size), G.WithName("group_targets"))
	sum, err := G.Sum(G.Must(G.HadamardProd(logp, target)))
	if err != nil {
		return nil, err
	}
	return G.Mul(sum, scalar(scores, -1/float64(groups)))
}

// CrossMasks returns the cross encoder's additive attention bias for
// pairs of captions of the given token counts and images of the given
// region counts: (len(lens), CrossSlots), 0 for [CLS], a real token or a
// real region, a large negative number for padding (none with
// PadInclude).
func CrossMasks(c Config, lens, counts []int) []float32 {
	c = c.WithDefaults()
	slots := c.CrossSlots()
	bias := make([]float32, len(lens)*slots)
	if c.Padding == PadInclude {
		return bias
	}
	for i := range lens {
		row := bias[i*slots : (i+1)*slots]
		for t := lens[i]; t < c.MaxTextLen; t++ {
			row[1+t] = maskOff
		}
		for r := counts[i]; r < c.MaxRegions; r++ {
			row[1+c.MaxTextLen+r] = maskOff
		}
	}
	return bias
}

// feedCross binds pairs (caption row p of tb, image row p of ib) to the
// cross encoder's inputs.
func (m *Model) feedCross(in crossInputs, tb datasets.TextBatch, ib datasets.ImageBatch) error {
	c := m.Config
	n := len(tb.Lens)
	if tb.MaxLen != c.MaxTextLen || ib.MaxRegions != c.MaxRegions || ib.Dim != c.RegionDim || len(ib.Counts) != n {
		return fmt.Errorf("models: cross pairs of %d captions of %d tokens and %d images of %d regions of %d values, model expects %d tokens, %d regions of %d",
			n, tb.MaxLen, len(ib.Counts), ib.MaxRegions, ib.Dim, c.MaxTextLen, c.MaxRegions, c.RegionDim)
	}
	if err := G.Let(in.ids, tensor.New(tensor.WithShape(len(tb.IDs)), tensor.WithBacking(tb.IDs))); err != nil {
		return err
	}
	if err := G.Let(in.regions, tensor.New(tensor.WithShape(n*c.MaxRegions, c.RegionDim), tensor.WithBacking(ib.Regions))); err != nil {
		return err
	}
	if in.attnBias == nil {
		return nil
	}
	bias := CrossMasks(c, tb.Lens, ib.Counts)
	return G.Let(in.attnBias, tensor.New(tensor.WithShape(n, c.CrossSlots()), tensor.WithBacking(bias)))
}

// gatherTexts returns the rows of tb, in the order rows lists them.
func gatherTexts(tb datasets.TextBatch, rows []int) datasets.TextBatch {
	out := datasets.TextBatch{IDs: make([]int, len(rows)*tb.MaxLen), Lens: make([]int, len(rows)), MaxLen: tb.MaxLen}
	for p, r := range rows {
		copy(out.IDs[p*tb.MaxLen:(p+1)*tb.MaxLen], tb.IDs[r*tb.MaxLen:])
		out.Lens[p] = tb.Lens[r]
	}
	return out
}

// gatherImages returns the rows of ib, in the order rows lists them.
func gatherImages(ib datasets.ImageBatch, rows []int) datasets.ImageBatch {
	size := ib.MaxRegions * ib.Dim
	out := datasets.ImageBatch{Regions: make([]float32, len(rows)*size), Counts: make([]int, len(rows)), MaxRegions: ib.MaxRegions, Dim: ib.Dim}
	for p, r := range rows {
		copy(out.Regions[p*size:(p+1)*size], ib.Regions[r*size:])
		out.Counts[p] = ib.Counts[r]
	}
	return out
}

// CrossTrainingPairs lays out a training step of batch matching pairs
// (row i's caption describes row i's image) as 2*batch groups of
// 1+negatives pairs, each group's matching pair first: group i is caption
// i against image i and negatives other images of the batch (text to
// image), group batch+i is image i against caption i and negatives other
// captions (image to text). The negatives of each group are distinct and
// drawn from rng. It returns the caption row and the image row of every
// pair, group-major. The matching pair appears in both of its groups, so
// that each group is one softmax over a contiguous row.
func CrossTrainingPairs(batch, negatives int, rng *rand.Rand) (texts, images []int) {
	size := 1 + negatives
	texts, images = make([]int, 0, 2*batch*size), make([]int, 0, 2*batch*size)
	others := func(i int) []int {
		out := rng.Perm(batch - 1)[:negatives]
		for j, o := range out {
			if o >= i {
				out[j] = o + 1
			}
		}
		return out
	}
	for i := range batch {
		texts, images = append(texts, i), append(images, i)
		for _, j := range others(i) {
			texts, images = append(texts, i), append(images, j)
		}
	}
	for i := range batch {
		texts, images = append(texts, i), append(images, i)
		for _, j := range others(i) {
			texts, images = append(texts, j), append(images, i)
		}
	}
	return texts, images
}

// HardNegatives are, for every caption and every image of a training
// split, its wrong partners that a first-stage model scores highest
// (retrieval.MineNegatives), best first: the candidates a cascade's cross
// encoder must later tell from the right one, where random in-batch
// negatives are mostly easy ones (the usual re-ranker recipe; on the
// synthetic set it measured worse than in-batch negatives, see README).
type HardNegatives struct {
	Images   [][]int // Images[c]: wrong images of caption c
	Captions [][]int // Captions[i]: wrong captions of image i
}

// validate checks that h covers split and that each pool offers at least
// negatives partners, all inside the split.
func (h *HardNegatives) validate(split *datasets.Split, negatives int) error {
	if len(h.Images) != len(split.Captions) || len(h.Captions) != len(split.Images) {
		return fmt.Errorf("models: hard negatives for %d captions and %d images, split has %d and %d",
			len(h.Images), len(h.Captions), len(split.Captions), len(split.Images))
	}
	for _, side := range []struct {
		name  string
		pools [][]int
		n     int
	}{{"caption", h.Images, len(split.Images)}, {"image", h.Captions, len(split.Captions)}} {
		for q, pool := range side.pools {
			if len(pool) < negatives {
				return fmt.Errorf("models: %s %d has %d hard negatives, fewer than cross encoder negatives %d", side.name, q, len(pool), negatives)
			}
			for _, p := range pool {
				if p < 0 || p >= side.n {
					return fmt.Errorf("models: %s %d's hard negative %d is outside the split's %d", side.name, q, p, side.n)
				}
			}
		}
	}
	return nil
}

// CrossHardPairs lays out a training step as CrossTrainingPairs does (2 x
// batch groups of 1+negatives pairs, each group's matching pair first,
// text to image then image to text) for a batch whose row i is caption
// captions[i] of the split and its image images[i], with each group's
// negatives drawn, distinct, from the anchor's hard negatives. It returns
// split indices, not batch rows.
func CrossHardPairs(captions, images []int, negatives int, h *HardNegatives, rng *rand.Rand) (texts, imgs []int) {
	batch, size := len(captions), 1+negatives
	texts, imgs = make([]int, 0, 2*batch*size), make([]int, 0, 2*batch*size)
	pick := func(pool []int) []int {
		out := rng.Perm(len(pool))[:negatives]
		for j, p := range out {
			out[j] = pool[p]
		}
		return out
	}
	for i, c := range captions {
		texts, imgs = append(texts, c), append(imgs, images[i])
		for _, j := range pick(h.Images[c]) {
			texts, imgs = append(texts, c), append(imgs, j)
		}
	}
	for i, c := range captions {
		texts, imgs = append(texts, c), append(imgs, images[i])
		for _, j := range pick(h.Captions[images[i]]) {
			texts, imgs = append(texts, j), append(imgs, images[i])
		}
	}
	return texts, imgs
}

// TrainCross fits x to split: each step takes a batch of matching pairs
// (the iterator of Train), scores each caption against its image and
// `negatives` other images and each image against its caption and
// `negatives` other captions, and minimises the softmax cross-entropy of
// every group (GroupCrossEntropy), with Train's AdamW, clipping, decay,
// logging, checkpoints and resumption. The negatives are other pairs of
// the batch (CrossTrainingPairs) when hard is nil, else drawn from each
// anchor's hard negatives over the whole split (CrossHardPairs). The
// negatives of step s derive from rng's first draw and s alone, so a
// resumed training draws the ones an uninterrupted one would.
func TrainCross(ctx context.Context, x *Cross, split *datasets.Split, vocab *datasets.Vocab, negatives int, hard *HardNegatives, s TrainSettings, rng *rand.Rand, log StepLogger) (TrainStats, error) {
	s = s.WithDefaults()
	if negatives < 1 || negatives >= s.BatchSize {
		return TrainStats{}, fmt.Errorf("models: cross encoder negatives %d must be in 1..batch size-1 (%d)", negatives, s.BatchSize-1)
	}
	if hard != nil {
		if err := hard.validate(split, negatives); err != nil {
			return TrainStats{}, err
		}
	}
	seed := rng.Uint64()
	m := x.model()
	it, err := datasets.NewIterator(split, vocab, s.Batches, s.BatchSize, m.Config.MaxTextLen, m.Config.MaxRegions, rng)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: train cross encoder: %w", err)
	}
	// With hard negatives a group reaches outside its batch: the whole
	// split is packed once, as the iterator packs a batch.
	var all struct {
		texts  datasets.TextBatch
		images datasets.ImageBatch
	}
	if hard != nil {
		all.texts = datasets.PackTexts(vocab, split.Captions, m.Config.MaxTextLen)
		all.images = datasets.PackImages(split.Images, m.Config.MaxRegions, m.Config.RegionDim)
	}
	b := newBuilder(m)
	size := 1 + negatives
	scores, in, err := b.crossScores(2 * s.BatchSize * size)
	if err != nil {
		return TrainStats{}, err
	}
	loss, err := GroupCrossEntropy(scores, 2*s.BatchSize, size)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: build cross loss: %w", err)
	}
	feed := func(batch datasets.Batch, step, _ int) error {
		pairRNG := rand.New(rand.NewPCG(seed, uint64(step)))
		if hard == nil {
			texts, images := CrossTrainingPairs(s.BatchSize, negatives, pairRNG)
			return m.feedCross(in, gatherTexts(batch.Text, texts), gatherImages(batch.Image, images))
		}
		texts, images := CrossHardPairs(batch.CaptionIndex, batch.ImageIndex, negatives, hard, pairRNG)
		return m.feedCross(in, gatherTexts(all.texts, texts), gatherImages(all.images, images))
	}
	return fit(ctx, b, loss, feed, it, s, log)
}

// CrossScorer scores (caption, image) pairs of a fixed gallery with a
// cross encoder, up to a fixed number of pairs per call (one forward
// graph of that size). Close releases it.
type CrossScorer struct {
	m       *Model
	n       int
	machine G.VM
	out     *G.Node
	in      crossInputs
	texts   datasets.TextBatch  // every caption of the gallery, packed
	images  datasets.ImageBatch // every image of the gallery, packed
}

// NewCrossScorer prepares x to score pairs of the given captions
// (tokenised with v) and images, up to n pairs per call.
func NewCrossScorer(x *Cross, v *datasets.Vocab, captions []string, images [][][]float32, n int) (*CrossScorer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("models: cross scorer needs a positive number of pairs per call, got %d", n)
	}
	m := x.model()
	b := newBuilder(m)
	out, in, err := b.crossScores(n)
	if err != nil {
		return nil, fmt.Errorf("models: build cross scorer: %w", err)
	}
	c := m.Config
	return &CrossScorer{m: m, n: n, machine: G.NewTapeMachine(b.g), out: out, in: in,
		texts: datasets.PackTexts(v, captions, c.MaxTextLen), images: datasets.PackImages(images, c.MaxRegions, c.RegionDim)}, nil
}

// Close releases the scorer's machine.
func (s *CrossScorer) Close() { s.machine.Close() }

// Score writes out[j], the score of caption captions[j] with image
// images[j], for at most n pairs. Fewer pairs are padded by repeating the
// last one; the padding's scores are dropped.
func (s *CrossScorer) Score(captions, images []int, out []float32) error {
	k := len(captions)
	if k == 0 || k > s.n || len(images) != k || len(out) < k {
		return fmt.Errorf("models: cross scorer takes 1 to %d pairs, got %d captions, %d images, room for %d scores", s.n, k, len(images), len(out))
	}
	texts, imgs := make([]int, s.n), make([]int, s.n)
	for j := range s.n {
		p := min(j, k-1)
		texts[j], imgs[j] = captions[p], images[p]
		if texts[j] < 0 || texts[j] >= len(s.texts.Lens) || imgs[j] < 0 || imgs[j] >= len(s.images.Counts) {
			return fmt.Errorf("models: cross pair (caption %d, image %d) outside the gallery of %d captions, %d images", texts[j], imgs[j], len(s.texts.Lens), len(s.images.Counts))
		}
	}
	if err := s.m.feedCross(s.in, gatherTexts(s.texts, texts), gatherImages(s.images, imgs)); err != nil {
		return err
	}
	defer s.machine.Reset()
	if err := s.machine.RunAll(); err != nil {
		return fmt.Errorf("models: cross scorer: %w", err)
	}
	copy(out[:k], s.out.Value().Data().([]float32))
	return nil
}
