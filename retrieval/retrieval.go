package retrieval

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"

	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

// Hit is one retrieved image and its score.
type Hit struct {
	Image int
	Score float32
}

// TopK returns, for every caption of s, its k best images, best first;
// ties go to the lower image index. k larger than the gallery returns
// every image.
func TopK(s metrics.Scores, k int) ([][]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("retrieval: k must be positive, got %d", k)
	}
	out := make([][]Hit, s.Captions)
	scores := make([]float32, s.Images)
	for c := range out {
		for i := range scores {
			scores[i] = s.Data[i*s.Captions+c]
		}
		out[c] = topK(scores, nil, k)
	}
	return out, nil
}

// topK returns the k best of scores (of images ids[j], or j when ids is
// nil), best first, with a size-k min-heap: O(n log k).
func topK(scores []float32, ids []int, k int) []Hit {
	h := make(hitHeap, 0, min(k, len(scores)))
	for j, v := range scores {
		id := j
		if ids != nil {
			id = ids[j]
		}
		hit := Hit{Image: id, Score: v}
		if len(h) < k {
			heap.Push(&h, hit)
		} else if worse(h[0], hit) {
			h[0] = hit
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, func(a, b Hit) int {
		if worse(a, b) {
			return 1
		}
		if worse(b, a) {
			return -1
		}
		return 0
	})
	return h
}

// worse reports whether a ranks below b: a lower score, or an equal
// score and a higher image index.
func worse(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return cmp.Compare(a.Image, b.Image) > 0
}

// hitHeap is a min-heap of hits by rank: the root is the worst kept hit.
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return worse(h[i], h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Search scores every caption against every image with MaxSim and returns
// each caption's k best images.
func Search(texts, images models.Fragments, k int) ([][]Hit, error) {
	s, err := models.ScoreGallery(texts, images)
	if err != nil {
		return nil, err
	}
	return TopK(s, k)
}

// Cascade is a two-stage search: the coarse fragments (a 1x1 model: one
// fragment per item) score the whole gallery, and the Candidates best
// images of each caption are re-ranked by MaxSim over the fine fragments.
type Cascade struct {
	CoarseTexts, CoarseImages models.Fragments
	FineTexts, FineImages     models.Fragments
	Candidates                int // images re-ranked per caption; default 100
}

// Search returns each caption's k best images after re-ranking; k is at
// most Candidates.
func (c Cascade) Search(k int) ([][]Hit, error) {
	n := c.Candidates
	if n == 0 {
		n = 100
	}
	if k <= 0 || k > n {
		return nil, fmt.Errorf("retrieval: cascade k=%d must be in 1..Candidates=%d", k, n)
	}
	if c.CoarseTexts.N != c.FineTexts.N || c.CoarseImages.N != c.FineImages.N {
		return nil, fmt.Errorf("retrieval: coarse stage has %d captions x %d images, fine stage %d x %d",
			c.CoarseTexts.N, c.CoarseImages.N, c.FineTexts.N, c.FineImages.N)
	}
	coarse, err := Search(c.CoarseTexts, c.CoarseImages, n)
	if err != nil {
		return nil, fmt.Errorf("retrieval: coarse stage: %w", err)
	}
	out := make([][]Hit, len(coarse))
	ids := make([]int, 0, n)
	scores := make([]float32, n)
	for q, hits := range coarse {
		ids = ids[:0]
		for _, h := range hits {
			ids = append(ids, h.Image)
		}
		if err := models.ScorePairs(c.FineTexts, c.FineImages, q, ids, scores); err != nil {
			return nil, fmt.Errorf("retrieval: re-rank caption %d: %w", q, err)
		}
		out[q] = topK(scores[:len(ids)], ids, k)
	}
	return out, nil
}

// Scores turns each caption's hits into a column of an images x captions
// score matrix for metrics.Evaluate's text-to-image direction: hits keep
// their scores and every other image ties one below the caption's lowest
// hit, which Evaluate's pessimistic ties rank after all of them. The
// image-to-text direction of the result means nothing.
func Scores(hits [][]Hit, images int) metrics.Scores {
	s := metrics.Scores{Images: images, Captions: len(hits), Data: make([]float32, images*len(hits))}
	for c, hs := range hits {
		floor := float32(0)
		if len(hs) > 0 {
			floor = hs[len(hs)-1].Score - 1
		}
		for i := 0; i < images; i++ {
			s.Data[i*s.Captions+c] = floor
		}
		for _, h := range hs {
			s.Data[h.Image*s.Captions+c] = h.Score
		}
	}
	return s
}
