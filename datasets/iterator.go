package datasets

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Batch is a training batch: pair k is (caption Text row k, image Image row k).
type Batch struct {
	Text         TextBatch
	Image        ImageBatch
	ImageIndex   []int // which image of the split each row is
	CaptionIndex []int // which caption of the split each row is
}

// Batching says what an epoch of an Iterator visits.
type Batching string

const (
	// ByCaption visits every caption once an epoch, in shuffled order,
	// each with its image: the authors' loader, where an epoch sees all
	// five captions of a COCO image. Two captions of one image can then
	// share a batch, and a contrastive loss counts that pair as a
	// negative. The zero value means ByCaption.
	ByCaption Batching = "captions"
	// ByImage visits every image once an epoch, in shuffled order, each
	// with one of its captions drawn at random, so no image appears twice
	// in a batch.
	ByImage Batching = "images"
)

// Validate reports an unknown batching.
func (b Batching) Validate() error {
	switch b {
	case "", ByCaption, ByImage:
		return nil
	}
	return fmt.Errorf("datasets: unknown batching %q (want %q or %q)", b, ByCaption, ByImage)
}

// Visits is how many items (captions or images) an epoch over s visits.
func (b Batching) Visits(s *Split) int {
	if b == ByImage {
		return len(s.Images)
	}
	return len(s.Captions)
}

// Iterator yields training batches forever, one epoch after another, each
// epoch in an order shuffled by its rng (see Batching for what an epoch
// visits). Two images may share a caption's exact words (one emoji in two
// art styles), which a contrastive loss then treats as a negative pair.
// The last incomplete batch of an epoch is dropped.
type Iterator struct {
	split      *Split
	vocab      *Vocab
	byCaption  bool
	batchSize  int
	maxLen     int
	maxRegions int
	dim        int
	rng        *rand.Rand

	captionsOf [][]int // captionsOf[i]: the captions of image i
	order      []int   // the epoch's order of captions (ByCaption) or images (ByImage)
	pos        int     // next position in order
	epoch      int
}

// NewIterator returns an iterator over s, batching as b says, that
// encodes captions with v into maxLen tokens and packs images into
// maxRegions regions. It validates s and fails if batchSize is not in [1,
// the number of items an epoch visits].
func NewIterator(s *Split, v *Vocab, b Batching, batchSize, maxLen, maxRegions int, rng *rand.Rand) (*Iterator, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	byCaption := b != ByImage
	switch {
	case s == nil || v == nil || rng == nil:
		return nil, errors.New("datasets: nil split, vocab or rng")
	case len(s.Images) == 0:
		return nil, errors.New("datasets: split has no image")
	case batchSize < 1 || batchSize > b.Visits(s):
		return nil, fmt.Errorf("datasets: batch size %d not in [1, %d %s]", batchSize, b.Visits(s), map[bool]string{true: "captions", false: "images"}[byCaption])
	case maxLen < 1:
		return nil, fmt.Errorf("datasets: maxLen %d < 1", maxLen)
	case maxRegions < 1:
		return nil, fmt.Errorf("datasets: maxRegions %d < 1", maxRegions)
	case len(s.Images[0]) == 0:
		return nil, errors.New("datasets: Images[0] has no region")
	}
	dim := len(s.Images[0][0])
	if err := s.Validate(dim); err != nil {
		return nil, err
	}
	it := &Iterator{
		split: s, vocab: v, byCaption: byCaption, batchSize: batchSize, maxLen: maxLen, maxRegions: maxRegions, dim: dim, rng: rng,
		captionsOf: make([][]int, len(s.Images)),
		order:      make([]int, b.Visits(s)),
	}
	for c, i := range s.CaptionImage {
		it.captionsOf[i] = append(it.captionsOf[i], c)
	}
	for i := range it.order {
		it.order[i] = i
	}
	return it, nil
}

// Next returns the next batch, starting a new epoch (a new shuffle) when the
// current one has no full batch left.
func (it *Iterator) Next() Batch {
	if it.pos == 0 {
		it.rng.Shuffle(len(it.order), func(i, j int) { it.order[i], it.order[j] = it.order[j], it.order[i] })
	}
	b := Batch{ImageIndex: make([]int, it.batchSize), CaptionIndex: make([]int, it.batchSize)}
	images := make([][][]float32, it.batchSize)
	captions := make([]string, it.batchSize)
	for k, unit := range it.order[it.pos : it.pos+it.batchSize] {
		var i, c int
		if it.byCaption {
			c, i = unit, it.split.CaptionImage[unit]
		} else {
			caps := it.captionsOf[unit]
			i, c = unit, caps[it.rng.IntN(len(caps))]
		}
		b.ImageIndex[k], b.CaptionIndex[k] = i, c
		captions[k] = it.split.Captions[c]
		images[k] = it.split.Images[i]
	}
	b.Text = PackTexts(it.vocab, captions, it.maxLen)
	b.Image = PackImages(images, it.maxRegions, it.dim)
	it.pos += it.batchSize
	if it.pos+it.batchSize > len(it.order) {
		it.pos = 0
		it.epoch++
	}
	return b
}

// Epoch returns the number of epochs completed so far: it becomes k right
// after the k*BatchesPerEpoch()-th call to Next.
func (it *Iterator) Epoch() int { return it.epoch }

// BatchesPerEpoch returns the number of batches of an epoch.
func (it *Iterator) BatchesPerEpoch() int { return len(it.order) / it.batchSize }
