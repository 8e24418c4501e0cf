package retrieval

import (
	"fmt"
	"math"

	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

// MineNegatives returns, from a first stage's scores s of a training
// split whose caption c describes image captionImage[c], each caption's
// k best-scored wrong images and each image's k best-scored wrong
// captions (none of its own), best first, ties to the lower index as
// TopK: the hard negatives a re-ranking cross encoder trains on, the same
// kind of candidates it will meet behind that first stage. It fails
// unless every caption has k wrong images and every image k wrong
// captions.
func MineNegatives(s metrics.Scores, captionImage []int, k int) (models.HardNegatives, error) {
	switch {
	case k <= 0:
		return models.HardNegatives{}, fmt.Errorf("retrieval: hard negatives per item must be positive, got %d", k)
	case len(s.Data) != s.Images*s.Captions:
		return models.HardNegatives{}, fmt.Errorf("retrieval: score matrix of %d values for %d images x %d captions", len(s.Data), s.Images, s.Captions)
	case len(captionImage) != s.Captions:
		return models.HardNegatives{}, fmt.Errorf("retrieval: %d caption images for %d captions", len(captionImage), s.Captions)
	}
	for j, v := range s.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return models.HardNegatives{}, fmt.Errorf("retrieval: score %v of image %d, caption %d is not finite", v, j/s.Captions, j%s.Captions)
		}
	}
	if s.Images-1 < k {
		return models.HardNegatives{}, fmt.Errorf("retrieval: %d images leave %d wrong ones per caption, fewer than %d hard negatives", s.Images, s.Images-1, k)
	}
	own := make([]int, s.Images) // captions per image
	for c, i := range captionImage {
		if i < 0 || i >= s.Images {
			return models.HardNegatives{}, fmt.Errorf("retrieval: caption %d describes image %d, outside the %d images", c, i, s.Images)
		}
		own[i]++
	}
	for i, n := range own {
		if s.Captions-n < k {
			return models.HardNegatives{}, fmt.Errorf("retrieval: image %d has %d wrong captions, fewer than %d hard negatives", i, s.Captions-n, k)
		}
	}
	// A positive is dropped by scoring it below every (finite) score;
	// with k wrong items available it never makes the top k.
	drop := float32(math.Inf(-1))
	ids := func(hits []Hit) []int {
		out := make([]int, len(hits))
		for j, h := range hits {
			out[j] = h.Image
		}
		return out
	}
	h := models.HardNegatives{Images: make([][]int, s.Captions), Captions: make([][]int, s.Images)}
	row := make([]float32, s.Images)
	for c := range h.Images {
		for i := range row {
			row[i] = s.Data[i*s.Captions+c]
		}
		row[captionImage[c]] = drop
		h.Images[c] = ids(topK(row, nil, k))
	}
	row = make([]float32, s.Captions)
	for i := range h.Captions {
		copy(row, s.Data[i*s.Captions:(i+1)*s.Captions])
		for c, im := range captionImage {
			if im == i {
				row[c] = drop
			}
		}
		h.Captions[i] = ids(topK(row, nil, k))
	}
	return h, nil
}
