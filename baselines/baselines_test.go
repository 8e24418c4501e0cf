package baselines

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
)

// one makes images of a single region each.
func one(vs ...[]float32) [][][]float32 {
	out := make([][][]float32, len(vs))
	for i, v := range vs {
		out[i] = [][]float32{v}
	}
	return out
}

// handSplits are a training split of six unit vectors that average to 0
// (so centring changes nothing) and an evaluation split of three images,
// x = (2, 0), y = (0, 3) and z = (1, 1), with a seen caption ("Red cat!"
// is "red cat" to the tokenizer), another seen one, one unseen with a
// known word ("green cat") and one with no known word ("green").
func handSplits(offset float32) (train, eval datasets.Split) {
	shift := func(v []float32) []float32 { return []float32{v[0] + offset, v[1] + offset} }
	train = datasets.Split{
		Images: one(shift([]float32{1, 0}), shift([]float32{0.6, 0.8}), shift([]float32{0, 1}),
			shift([]float32{-1, 0}), shift([]float32{-0.6, -0.8}), shift([]float32{0, -1})),
		Captions:     []string{"red cat", "red cat", "red dog", "blue dog", "blue dog", "blue cat"},
		CaptionImage: []int{0, 1, 2, 3, 4, 5},
	}
	eval = datasets.Split{
		Images:       one(shift([]float32{2, 0}), shift([]float32{0, 3}), shift([]float32{1, 1})),
		Captions:     []string{"Red cat!", "red dog", "green cat", "green"},
		CaptionImage: []int{0, 1, 2, 2},
	}
	return train, eval
}

func TestScoreByHand(t *testing.T) {
	// Prototypes (unit length): "red cat" = (1.6, 0.8)/|.| = (0.894427,
	// 0.447214), "red dog" = (0, 1); words: "red" = (1.6, 1.8)/|.|,
	// "cat" = (1.6, -0.2)/|.| = (0.992278, -0.124035), "dog" = -"cat".
	// Rows are images x, y, z; columns the four captions.
	for _, tc := range []struct {
		name Method
		want [3][4]float32
	}{
		{CaptionMean, [3][4]float32{
			{0.894427, 0, 0.992278, 0},
			{0.447214, 1, -0.124035, 0},
			{0.948683, 0.707107, 0.613941, 0},
		}},
		// The best of (1, 0) and (0.6, 0.8) for "red cat".
		{CaptionNearest, [3][4]float32{
			{1, 0, 0.992278, 0},
			{0.8, 1, -0.124035, 0},
			{0.989949, 0.707107, 0.613941, 0},
		}},
		// The mean of the words' cosines.
		{WordMean, [3][4]float32{
			{0.828321, -0.163957, 0.992278, 0},
			{0.311687, 0.435722, -0.124035, 0},
			{0.806107, 0.192167, 0.613941, 0},
		}},
	} {
		// Centring on the training mean undoes a shift of every value.
		for _, offset := range []float32{0, 5} {
			t.Run(fmt.Sprintf("%s, offset %v", tc.name, offset), func(t *testing.T) {
				train, eval := handSplits(offset)
				s, err := Score(tc.name, &train, &eval)
				if err != nil {
					t.Fatal(err)
				}
				if s.Images != 3 || s.Captions != 4 || len(s.Data) != 12 {
					t.Fatalf("scores %d x %d (%d values), want 3 x 4", s.Images, s.Captions, len(s.Data))
				}
				for i := range 3 {
					for c := range 4 {
						if got := s.Data[i*4+c]; math.Abs(float64(got-tc.want[i][c])) > 1e-5 {
							t.Errorf("score(image %d, caption %d) = %.6f, want %.6f", i, c, got, tc.want[i][c])
						}
					}
				}
			})
		}
	}
}

func TestEvaluate(t *testing.T) {
	train, eval := handSplits(0)
	d := &datasets.Dataset{Name: "hand", RegionDim: 2, Train: train, Test: eval}
	val, test, err := Evaluate(CaptionMean, d)
	if err != nil {
		t.Fatal(err)
	}
	if val.Images != 0 || len(val.Data) != 0 {
		t.Errorf("an empty val split gave %d x %d scores", val.Images, val.Captions)
	}
	r, err := metrics.Ranks(test, eval.CaptionImage)
	if err != nil {
		t.Fatal(err)
	}
	// Text to image: "red cat" prefers z (0.95) to x (0.89); "red dog"
	// finds y; "green cat" prefers x to z; "green" ties everywhere, so the
	// pessimistic ties put z last.
	if want := []int{2, 1, 2, 3}; !slices.Equal(r.T2I, want) {
		t.Errorf("t2i ranks %v, want %v", r.T2I, want)
	}
}

func TestScoreErrors(t *testing.T) {
	train, eval := handSplits(0)
	ragged := train
	ragged.Images = append(one([]float32{1, 0}), [][]float32{{1, 0}, {0, 1}}) // one region, then two
	ragged.Captions, ragged.CaptionImage = ragged.Captions[:2], ragged.CaptionImage[:2]
	wide := eval
	wide.Images = one([]float32{1, 2, 3}, []float32{1, 2, 3}, []float32{1, 2, 3})
	for _, tc := range []struct {
		name        string
		m           Method
		train, eval *datasets.Split
		want        string
	}{
		{"unknown method", "nearest-pixel", &train, &eval, "unknown method"},
		{"no training image", CaptionMean, &datasets.Split{}, &eval, "needs training images"},
		{"ragged regions", CaptionMean, &ragged, &eval, "need a fixed grid"},
		{"other region length", WordMean, &train, &wide, "images of 3 values, the training images have 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Score(tc.m, tc.train, tc.eval)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
