package retrieval

import (
	"fmt"
	"math"
	"slices"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// Direction is the way a query ranks a gallery.
type Direction int

const (
	// TextToImage ranks the images (rows) for each caption (column).
	TextToImage Direction = iota
	// ImageToText ranks the captions (columns) for each image (row).
	ImageToText
)

// Rescore scores items of the gallery against query, writing out[j] for
// items[j] (a slower, more accurate model than the one that chose them).
type Rescore func(query int, items []int, out []float32) error

// Rerank re-ranks, for every query in direction dir, the k items that s
// ranks best (ties to the lower index, as TopK) by rescore, ties keeping
// s's order, and leaves every other item after them in s's order: a
// cascade whose first stage's scores decide the candidates and the order
// of the rest, so that every item keeps a rank. It returns a score matrix
// that ranks so in direction dir, and only there (so metrics.Ranks of it
// is meaningful in dir alone): the re-ranked items lifted to whole
// numbers above the query's best score, every other item keeping its
// score, ties and all. k larger than the gallery re-ranks all of it.
func Rerank(s metrics.Scores, k int, dir Direction, rescore Rescore) (metrics.Scores, error) {
	if k <= 0 {
		return metrics.Scores{}, fmt.Errorf("retrieval: re-rank k must be positive, got %d", k)
	}
	if len(s.Data) != s.Images*s.Captions {
		return metrics.Scores{}, fmt.Errorf("retrieval: score matrix of %d values for %d images x %d captions", len(s.Data), s.Images, s.Captions)
	}
	queries, items := s.Captions, s.Images
	at := func(q, item int) int { return item*s.Captions + q }
	if dir == ImageToText {
		queries, items = s.Images, s.Captions
		at = func(q, item int) int { return q*s.Captions + item }
	}
	out := metrics.Scores{Images: s.Images, Captions: s.Captions, Data: slices.Clone(s.Data)}
	k = min(k, items)
	row := make([]float32, items)
	ids := make([]int, k)
	fine := make([]float32, k)
	order := make([]int, k)
	for q := range queries {
		for item := range row {
			row[item] = s.Data[at(q, item)]
		}
		best := slices.Max(row)
		top := float32(math.Floor(float64(best))) + 1
		if math.IsNaN(float64(best)) || math.IsInf(float64(best), 0) || top+float32(k) == top {
			return metrics.Scores{}, fmt.Errorf("retrieval: query %d's best score %v leaves no room to lift %d re-ranked items above it", q, best, k)
		}
		for j, h := range topK(row, nil, k) {
			ids[j], order[j] = h.Image, j
		}
		if err := rescore(q, ids, fine); err != nil {
			return metrics.Scores{}, fmt.Errorf("retrieval: re-rank query %d: %w", q, err)
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case fine[a] > fine[b]:
				return -1
			case fine[a] < fine[b]:
				return 1
			}
			return 0
		})
		for p, j := range order {
			out.Data[at(q, ids[j])] = top + float32(k-p)
		}
	}
	return out, nil
}
