package baselines

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
)

// Method names a baseline (see the package documentation).
type Method string

// The baselines.
const (
	CaptionMean    Method = "caption-mean"
	CaptionNearest Method = "caption-nearest"
	WordMean       Method = "word-mean"
)

// Methods lists every baseline, in the order reports show them.
var Methods = []Method{CaptionMean, CaptionNearest, WordMean}

// Evaluate scores d's validation and test splits with m, knowing only
// d.Train. An empty split (a transfer set has no validation split) gives
// an empty Scores.
func Evaluate(m Method, d *datasets.Dataset) (val, test metrics.Scores, err error) {
	if len(d.Val.Images) > 0 {
		if val, err = Score(m, &d.Train, &d.Val); err != nil {
			return val, test, fmt.Errorf("baselines: %s val: %w", d.Name, err)
		}
	}
	if len(d.Test.Images) > 0 {
		if test, err = Score(m, &d.Train, &d.Test); err != nil {
			return val, test, fmt.Errorf("baselines: %s test: %w", d.Name, err)
		}
	}
	return val, test, nil
}

// Score returns m's images x captions scores of eval, knowing only train
// (its images and captions). eval may come from another data set with the
// same tokens, as a transfer set does.
func Score(m Method, train, eval *datasets.Split) (metrics.Scores, error) {
	if !slices.Contains(Methods, m) {
		return metrics.Scores{}, fmt.Errorf("baselines: unknown method %q (known: %v)", m, Methods)
	}
	if len(train.Images) == 0 {
		return metrics.Scores{}, fmt.Errorf("baselines: %s needs training images", m)
	}
	mean, err := meanFeature(train)
	if err != nil {
		return metrics.Scores{}, err
	}
	ft, err := featurize(train, mean)
	if err != nil {
		return metrics.Scores{}, err
	}
	fe, err := featurize(eval, mean)
	if err != nil {
		return metrics.Scores{}, err
	}
	byCaption, byWord := groups(train)
	s := metrics.Scores{Images: fe.n, Captions: len(eval.Captions), Data: make([]float32, fe.n*len(eval.Captions))}

	// Captions seen in training, by the method; the others by WordMean.
	var byWords []int
	var seen []int
	for c, text := range eval.Captions {
		if m != WordMean && byCaption[key(text)] != nil {
			seen = append(seen, c)
		} else {
			byWords = append(byWords, c)
		}
	}
	switch m {
	case CaptionMean:
		protos := make([][]int, len(seen))
		for k, c := range seen {
			protos[k] = byCaption[key(eval.Captions[c])]
		}
		sim := product(fe, prototypes(ft, protos))
		for k, c := range seen {
			for i := range fe.n {
				s.Data[i*s.Captions+c] = sim[i*len(seen)+k]
			}
		}
	case CaptionNearest:
		// Image blocks keep the products with every training image small.
		const block = 256
		for i0 := 0; i0 < fe.n; i0 += block {
			part := fe.rows(i0, min(i0+block, fe.n))
			sim := product(part, ft)
			for _, c := range seen {
				members := byCaption[key(eval.Captions[c])]
				for i := range part.n {
					best := float32(math.Inf(-1))
					for _, j := range members {
						best = max(best, sim[i*ft.n+j])
					}
					s.Data[(i0+i)*s.Captions+c] = best
				}
			}
		}
	}
	wordScores(s, fe, ft, byWord, eval.Captions, byWords)
	return s, nil
}

// wordScores fills the WordMean scores of the captions cs.
func wordScores(s metrics.Scores, fe, ft features, byWord map[string][]int, captions []string, cs []int) {
	if len(cs) == 0 {
		return
	}
	index := map[string]int{}
	var protos [][]int
	known := make([][]int, len(cs)) // caption k's words, as prototype indices
	for k, c := range cs {
		for _, w := range distinctWords(captions[c]) {
			members := byWord[w]
			if members == nil {
				continue
			}
			p, ok := index[w]
			if !ok {
				p = len(protos)
				index[w] = p
				protos = append(protos, members)
			}
			known[k] = append(known[k], p)
		}
	}
	if len(protos) == 0 {
		return // every score stays 0
	}
	sim := product(fe, prototypes(ft, protos))
	for k, c := range cs {
		if len(known[k]) == 0 {
			continue
		}
		for i := range fe.n {
			var sum float32
			for _, p := range known[k] {
				sum += sim[i*len(protos)+p]
			}
			s.Data[i*s.Captions+c] = sum / float32(len(known[k]))
		}
	}
}

// key identifies a caption by its words, as a model sees it.
func key(caption string) string { return strings.Join(datasets.Tokenize(caption), " ") }

// distinctWords are a caption's words, each once, in order.
func distinctWords(caption string) []string {
	var out []string
	for _, w := range datasets.Tokenize(caption) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// groups returns the training images of each caption (by key) and of each
// word, each image once per group, in index order.
func groups(train *datasets.Split) (byCaption, byWord map[string][]int) {
	byCaption, byWord = map[string][]int{}, map[string][]int{}
	add := func(m map[string][]int, k string, i int) {
		if g := m[k]; len(g) == 0 || !slices.Contains(g, i) {
			m[k] = append(g, i)
		}
	}
	for c, text := range train.Captions {
		i := train.CaptionImage[c]
		add(byCaption, key(text), i)
		for _, w := range distinctWords(text) {
			add(byWord, w, i)
		}
	}
	for _, m := range []map[string][]int{byCaption, byWord} {
		for _, g := range m {
			slices.Sort(g)
		}
	}
	return byCaption, byWord
}

// features are n unit (or zero) rows of dim values.
type features struct {
	n, dim int
	data   []float32
}

func (f features) row(i int) []float32 { return f.data[i*f.dim : (i+1)*f.dim] }

func (f features) rows(i0, i1 int) features {
	return features{n: i1 - i0, dim: f.dim, data: f.data[i0*f.dim : i1*f.dim]}
}

// flatDim is the length of an image's concatenated regions, the same for
// every image of s or an error.
func flatDim(s *datasets.Split) (int, error) {
	if len(s.Images) == 0 {
		return 0, nil
	}
	regions := len(s.Images[0])
	for i, im := range s.Images {
		if len(im) != regions {
			return 0, fmt.Errorf("baselines: image %d has %d regions, image 0 has %d: the raw-token baselines need a fixed grid of regions", i, len(im), regions)
		}
	}
	if regions == 0 {
		return 0, fmt.Errorf("baselines: image 0 has no region")
	}
	return regions * len(s.Images[0][0]), nil
}

// meanFeature is the mean concatenated regions of train's images.
func meanFeature(train *datasets.Split) ([]float64, error) {
	dim, err := flatDim(train)
	if err != nil {
		return nil, err
	}
	mean := make([]float64, dim)
	for _, im := range train.Images {
		k := 0
		for _, reg := range im {
			if len(reg)*len(im) != dim {
				return nil, fmt.Errorf("baselines: regions of %d and %d values", len(reg), dim/len(im))
			}
			for _, v := range reg {
				mean[k] += float64(v)
				k++
			}
		}
	}
	for k := range mean {
		mean[k] /= float64(len(train.Images))
	}
	return mean, nil
}

// featurize returns the images of s concatenated, centred on mean and
// scaled to unit length (a row equal to the mean stays zero).
func featurize(s *datasets.Split, mean []float64) (features, error) {
	dim, err := flatDim(s)
	if err != nil {
		return features{}, err
	}
	if len(s.Images) > 0 && dim != len(mean) {
		return features{}, fmt.Errorf("baselines: images of %d values, the training images have %d", dim, len(mean))
	}
	f := features{n: len(s.Images), dim: len(mean), data: make([]float32, len(s.Images)*len(mean))}
	row := make([]float64, len(mean))
	for i, im := range s.Images {
		k := 0
		for _, reg := range im {
			if len(reg)*len(im) != dim {
				return features{}, fmt.Errorf("baselines: image %d: regions of %d values, want %d", i, len(reg), dim/len(im))
			}
			for _, v := range reg {
				row[k] = float64(v) - mean[k]
				k++
			}
		}
		normalise(row, f.row(i))
	}
	return f, nil
}

// prototypes returns, for each group of rows of f, their mean scaled to
// unit length.
func prototypes(f features, groups [][]int) features {
	p := features{n: len(groups), dim: f.dim, data: make([]float32, len(groups)*f.dim)}
	sum := make([]float64, f.dim)
	for g, members := range groups {
		clear(sum)
		for _, j := range members {
			for k, v := range f.row(j) {
				sum[k] += float64(v)
			}
		}
		normalise(sum, p.row(g))
	}
	return p
}

// normalise writes v scaled to unit length into out (zeros if v is zero).
func normalise(v []float64, out []float32) {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	if ss == 0 {
		clear(out)
		return
	}
	inv := 1 / math.Sqrt(ss)
	for k, x := range v {
		out[k] = float32(x * inv)
	}
}

// product returns a.n x b.n dot products of the rows of a and b,
// row-major.
func product(a, b features) []float32 {
	out := make([]float32, a.n*b.n)
	if a.n == 0 || b.n == 0 {
		return out
	}
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, a.n, b.n, a.dim, 1, a.data, a.dim, b.data, b.dim, 0, out, b.n)
	return out
}
