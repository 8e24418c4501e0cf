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

// Iterator yields training batches forever. Each epoch visits every image of
// the split once, in an order shuffled by its rng, paired with one of the
// image's captions chosen by the rng, so no image appears twice in a batch.
// Two images may still share a caption's exact words (one emoji in two art
// styles), which a contrastive loss then treats as a negative pair. The
// last incomplete batch of an epoch is dropped.
type Iterator struct {
	split      *Split
	vocab      *Vocab
	batchSize  int
	maxLen     int
	maxRegions int
	dim        int
	rng        *rand.Rand

	captionsOf [][]int // captionsOf[i]: the captions of image i
	order      []int   // image order of the current epoch
	pos        int     // next position in order
	epoch      int
}

// NewIterator returns an iterator over s that encodes captions with v into
// maxLen tokens and packs images into maxRegions regions. It validates s and
// fails if batchSize is not in [1, len(s.Images)].
func NewIterator(s *Split, v *Vocab, batchSize, maxLen, maxRegions int, rng *rand.Rand) (*Iterator, error) {
	switch {
	case s == nil || v == nil || rng == nil:
		return nil, errors.New("datasets: nil split, vocab or rng")
	case len(s.Images) == 0:
		return nil, errors.New("datasets: split has no image")
	case batchSize < 1 || batchSize > len(s.Images):
		return nil, fmt.Errorf("datasets: batch size %d not in [1, %d images]", batchSize, len(s.Images))
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
		split: s, vocab: v, batchSize: batchSize, maxLen: maxLen, maxRegions: maxRegions, dim: dim, rng: rng,
		captionsOf: make([][]int, len(s.Images)),
		order:      make([]int, len(s.Images)),
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
	b := Batch{
		ImageIndex:   append([]int(nil), it.order[it.pos:it.pos+it.batchSize]...),
		CaptionIndex: make([]int, it.batchSize),
	}
	images := make([][][]float32, it.batchSize)
	captions := make([]string, it.batchSize)
	for k, i := range b.ImageIndex {
		caps := it.captionsOf[i]
		c := caps[it.rng.IntN(len(caps))]
		b.CaptionIndex[k] = c
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
