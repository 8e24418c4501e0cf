package retrieval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

func TestTopK(t *testing.T) {
	// 4 images x 2 captions; caption 1 has a tie between images 0 and 2.
	s := metrics.Scores{Images: 4, Captions: 2, Data: []float32{
		0.1, 0.5,
		0.9, 0.2,
		0.3, 0.5,
		0.7, 0.1,
	}}
	got, err := TopK(s, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]Hit{{{1, 0.9}, {3, 0.7}, {2, 0.3}}, {{0, 0.5}, {2, 0.5}, {1, 0.2}}}
	for c := range want {
		if !slices.Equal(got[c], want[c]) {
			t.Errorf("caption %d: %v, want %v", c, got[c], want[c])
		}
	}
	if _, err := TopK(s, 0); err == nil {
		t.Error("k=0 accepted")
	}
}

// fragments draws n items of per fragments of dim d, the last fragment of
// every third item masked.
func fragments(rng *rand.Rand, n, per, d int) models.Fragments {
	f := models.Fragments{N: n, PerItem: per, Dim: d, Data: make([]float32, n*per*d), Mask: make([]float32, n*per)}
	for i := range f.Data {
		f.Data[i] = float32(rng.NormFloat64())
	}
	for i := range f.Mask {
		if !(i%per == per-1 && i/per%3 == 0) || per == 1 {
			f.Mask[i] = 1
		}
	}
	return f
}

// TestSearchMatchesSort: Search's top-k equals sorting every image's
// MaxSim score computed pair by pair.
func TestSearchMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	texts, images := fragments(rng, 30, 4, 8), fragments(rng, 70, 5, 8)
	got, err := Search(texts, images, 5)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, images.N)
	for i := range all {
		all[i] = i
	}
	scores := make([]float32, images.N)
	for c := 0; c < texts.N; c++ {
		if err := models.ScorePairs(texts, images, c, all, scores); err != nil {
			t.Fatal(err)
		}
		order := slices.Clone(all)
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case scores[a] > scores[b]:
				return -1
			case scores[a] < scores[b]:
				return 1
			}
			return 0
		})
		for r, h := range got[c] {
			if h.Image != order[r] {
				t.Fatalf("caption %d rank %d: image %d, want %d", c, r, h.Image, order[r])
			}
		}
	}
}

// TestCascade: with every image as a candidate the cascade is the full
// search; with fewer, every hit is a coarse candidate.
func TestCascade(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	texts, images := fragments(rng, 20, 4, 8), fragments(rng, 50, 5, 8)
	coarseT, coarseI := fragments(rng, 20, 1, 8), fragments(rng, 50, 1, 8)
	full, err := Search(texts, images, 5)
	if err != nil {
		t.Fatal(err)
	}
	c := Cascade{CoarseTexts: coarseT, CoarseImages: coarseI, FineTexts: texts, FineImages: images, Candidates: 50}
	got, err := c.Search(5)
	if err != nil {
		t.Fatal(err)
	}
	// The same images in the same order; the scores agree to float32
	// rounding (a BLAS may sum a pair's products in another order than a
	// block's).
	for q := range full {
		same := len(got[q]) == len(full[q])
		for r := 0; same && r < len(got[q]); r++ {
			same = got[q][r].Image == full[q][r].Image && math.Abs(float64(got[q][r].Score-full[q][r].Score)) <= 1e-5*max(1, math.Abs(float64(full[q][r].Score)))
		}
		if !same {
			t.Fatalf("caption %d: cascade %v, full search %v", q, got[q], full[q])
		}
	}
	c.Candidates = 10
	coarse, err := Search(coarseT, coarseI, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err = c.Search(3)
	if err != nil {
		t.Fatal(err)
	}
	for q, hits := range got {
		for _, h := range hits {
			if !slices.ContainsFunc(coarse[q], func(x Hit) bool { return x.Image == h.Image }) {
				t.Fatalf("caption %d: hit %d is not a coarse candidate", q, h.Image)
			}
		}
	}
	if _, err := c.Search(11); err == nil {
		t.Error("k > Candidates accepted")
	}
}

// TestScoresRankHitsFirst: images a caption's hits name rank in the hits'
// order, before every image it did not retrieve, as metrics.Evaluate sees
// them (t2i ranks worked out by hand).
func TestScoresRankHitsFirst(t *testing.T) {
	// 3 images, 3 captions; caption c describes image 2, 0, 1.
	// Caption 0 retrieved images 2 then 1: image 2 ranks 1.
	// Caption 1 retrieved image 1 only: image 0 ties with image 2 one below
	// the hit, and the pessimistic tie puts it at rank 3.
	// Caption 2 retrieved nothing: every image ties, rank 3.
	s := Scores([][]Hit{{{Image: 2, Score: 5}, {Image: 1, Score: 4}}, {{Image: 1, Score: 0.5}}, nil}, 3)
	r, err := metrics.Evaluate(s, []int{2, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.T2I[0]-100.0/3) > 1e-9 || r.T2I[1] != 100 || r.T2IMedianRank != 3 || math.Abs(r.T2IMeanRank-7.0/3) > 1e-9 {
		t.Errorf("t2i %v, median %v, mean %v; want R@1 33.3, R@5 100, ranks 1, 3, 3", r.T2I, r.T2IMedianRank, r.T2IMeanRank)
	}
}
