package metrics

import (
	"fmt"
	"math"
	"slices"
)

// recallAt lists the cut-offs K of the three recalls, in the order of
// Retrieval.I2T and Retrieval.T2I.
var recallAt = [3]int{1, 5, 10}

// Scores is an images x captions score matrix, row-major: Data[i*Captions+c] = score(image i, caption c).
type Scores struct {
	Images, Captions int
	Data             []float32
}

// Retrieval holds recall and rank statistics for both directions.
type Retrieval struct {
	I2T, T2I                   [3]float64 // R@1, R@5, R@10 in percent (0..100)
	RSum                       float64    // sum of the six recalls
	I2TMedianRank, I2TMeanRank float64    // rank (1-based) of the best-ranked correct caption for each image
	T2IMedianRank, T2IMeanRank float64    // rank (1-based) of the correct image for each caption
}

// Evaluate computes Retrieval. captionImage[c] is the image caption c describes (any layout, any
// number of captions per image >= 1). Ties are counted PESSIMISTICALLY: an incorrect item whose score
// equals the correct one's ranks above it (so a constant score matrix gives chance-level results,
// never 100%). Errors (prefixed "metrics:"): shape mismatch, len(captionImage) != Captions,
// index out of range, an image with no caption, NaN/Inf score (name the position).
//
// Median ranks over an even number of queries are the mean of the two middle ranks.
func Evaluate(s Scores, captionImage []int) (Retrieval, error) {
	r, err := Ranks(s, captionImage)
	if err != nil {
		return Retrieval{}, err
	}
	return r.Retrieval(), nil
}

// QueryRanks holds, for every query, the 1-based rank of its first correct
// item: I2T[i] for image i (its best-ranked caption), T2I[c] for caption c
// (its image). They are what every metric of Retrieval derives from, and
// what a paired bootstrap over queries resamples, so results.db keeps them.
type QueryRanks struct {
	I2T, T2I []int
}

// Ranks computes the per-query ranks that Evaluate summarises, with the same
// pessimistic ties and the same errors.
func Ranks(s Scores, captionImage []int) (QueryRanks, error) {
	if err := check(s, captionImage); err != nil {
		return QueryRanks{}, err
	}
	n, m := s.Images, s.Captions
	// The i2t rank of an image is decided by its best correct caption alone,
	// and the t2i rank of a caption by its correct image's score: gather both
	// first so that the counting pass below reads the matrix in row order.
	best := make([]float32, n)
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	correct := make([]float32, m)
	for c, g := range captionImage {
		v := s.Data[g*m+c]
		correct[c] = v
		best[g] = max(best[g], v)
	}
	i2t := make([]int, n)
	t2i := make([]int, m)
	for c := range t2i {
		t2i[c] = 1
	}
	for i := range n {
		row := s.Data[i*m : (i+1)*m]
		rank := 1
		for c, v := range row {
			if captionImage[c] == i {
				continue
			}
			// >= rather than >: ties go against the correct item.
			if v >= best[i] {
				rank++
			}
			if v >= correct[c] {
				t2i[c]++
			}
		}
		i2t[i] = rank
	}
	return QueryRanks{I2T: i2t, T2I: t2i}, nil
}

// Retrieval summarises the ranks: recall at 1, 5 and 10, rSum, median and
// mean rank in both directions. Both lists must be non-empty; they are not
// modified.
func (q QueryRanks) Retrieval() Retrieval {
	var r Retrieval
	for j, k := range recallAt {
		r.I2T[j] = Recall(q.I2T, k)
		r.T2I[j] = Recall(q.T2I, k)
		r.RSum += r.I2T[j] + r.T2I[j]
	}
	r.I2TMedianRank, r.I2TMeanRank = medianMean(slices.Clone(q.I2T))
	r.T2IMedianRank, r.T2IMeanRank = medianMean(slices.Clone(q.T2I))
	return r
}

// Concat joins the ranks of several galleries (the folds of a k-fold
// protocol, each query ranked within its own fold) into one list per
// direction. Over folds of equal size, the recalls of the joined ranks are
// the mean of the folds' recalls.
func Concat(parts []QueryRanks) QueryRanks {
	var out QueryRanks
	for _, p := range parts {
		out.I2T = append(out.I2T, p.I2T...)
		out.T2I = append(out.T2I, p.T2I...)
	}
	return out
}

// check validates a score matrix and its caption-to-image map.
func check(s Scores, captionImage []int) error {
	if s.Images < 1 || s.Captions < 1 {
		return fmt.Errorf("metrics: score matrix is %d images x %d captions, want at least 1 x 1", s.Images, s.Captions)
	}
	if len(s.Data) != s.Images*s.Captions {
		return fmt.Errorf("metrics: len(Data) = %d, want Images*Captions = %d*%d = %d",
			len(s.Data), s.Images, s.Captions, s.Images*s.Captions)
	}
	if len(captionImage) != s.Captions {
		return fmt.Errorf("metrics: len(captionImage) = %d, want Captions = %d", len(captionImage), s.Captions)
	}
	seen := make([]bool, s.Images)
	for c, g := range captionImage {
		if g < 0 || g >= s.Images {
			return fmt.Errorf("metrics: captionImage[%d] = %d out of range [0, %d)", c, g, s.Images)
		}
		seen[g] = true
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("metrics: image %d has no caption in captionImage", i)
		}
	}
	for p, v := range s.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("metrics: score(image %d, caption %d) = Data[%d] = %v, want a finite value",
				p/s.Captions, p%s.Captions, p, v)
		}
	}
	return nil
}

// Recall returns the percentage of ranks that are at most k: recall@k of
// queries with these ranks of their first correct item. ranks must not be empty.
func Recall(ranks []int, k int) float64 {
	hit := 0
	for _, r := range ranks {
		if r <= k {
			hit++
		}
	}
	return 100 * float64(hit) / float64(len(ranks))
}

// medianMean returns the median and the mean of ranks, which must not be
// empty; it sorts ranks in place.
func medianMean(ranks []int) (median, mean float64) {
	slices.Sort(ranks)
	n := len(ranks)
	if n%2 == 1 {
		median = float64(ranks[n/2])
	} else {
		median = float64(ranks[n/2-1]+ranks[n/2]) / 2
	}
	sum := 0
	for _, r := range ranks {
		sum += r
	}
	return median, float64(sum) / float64(n)
}

// Values returns the metrics under stable names: i2t_r1 i2t_r5 i2t_r10 t2i_r1 t2i_r5 t2i_r10 rsum
// i2t_medr i2t_meanr t2i_medr t2i_meanr.
func (r Retrieval) Values() map[string]float64 {
	return map[string]float64{
		"i2t_r1":    r.I2T[0],
		"i2t_r5":    r.I2T[1],
		"i2t_r10":   r.I2T[2],
		"t2i_r1":    r.T2I[0],
		"t2i_r5":    r.T2I[1],
		"t2i_r10":   r.T2I[2],
		"rsum":      r.RSum,
		"i2t_medr":  r.I2TMedianRank,
		"i2t_meanr": r.I2TMeanRank,
		"t2i_medr":  r.T2IMedianRank,
		"t2i_meanr": r.T2IMeanRank,
	}
}

// Mean averages several Retrieval values field by field.
// The mean of no values is the zero Retrieval.
func Mean(rs []Retrieval) Retrieval {
	var m Retrieval
	if len(rs) == 0 {
		return m
	}
	for _, r := range rs {
		for j := range recallAt {
			m.I2T[j] += r.I2T[j]
			m.T2I[j] += r.T2I[j]
		}
		m.RSum += r.RSum
		m.I2TMedianRank += r.I2TMedianRank
		m.I2TMeanRank += r.I2TMeanRank
		m.T2IMedianRank += r.T2IMedianRank
		m.T2IMeanRank += r.T2IMeanRank
	}
	f := 1 / float64(len(rs))
	for j := range recallAt {
		m.I2T[j] *= f
		m.T2I[j] *= f
	}
	m.RSum *= f
	m.I2TMedianRank *= f
	m.I2TMeanRank *= f
	m.T2IMedianRank *= f
	m.T2IMeanRank *= f
	return m
}
