package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sameRetrieval reports whether got and want agree to within rounding.
func sameRetrieval(got, want Retrieval) bool {
	const tol = 1e-9
	g, w := got.Values(), want.Values()
	for k, v := range w {
		if math.Abs(g[k]-v) > tol {
			return false
		}
	}
	return true
}

func TestEvaluate(t *testing.T) {
	// Unless a case says otherwise: 2 images x 4 captions, captions 0 and 1
	// describe image 0, captions 2 and 3 describe image 1.
	pairs := []int{0, 0, 1, 1}
	for _, test := range []struct {
		name         string
		s            Scores
		captionImage []int
		want         Retrieval
	}{
		{
			// Every correct pair scores 1, every other 0: all ranks are 1.
			name:         "perfect",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{1, 1, 0, 0, 0, 0, 1, 1}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{100, 100, 100}, T2I: [3]float64{100, 100, 100}, RSum: 600,
				I2TMedianRank: 1, I2TMeanRank: 1, T2IMedianRank: 1, T2IMeanRank: 1,
			},
		},
		{
			// Correct and incorrect swapped. i2t: both wrong captions of each
			// image rank first, ranks [3 3]. t2i: the wrong image ranks first,
			// ranks [2 2 2 2]. R@1 = 0, R@5 = R@10 = 100 both ways, rSum 400.
			name:         "reversed",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0, 0, 1, 1, 1, 1, 0, 0}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{0, 100, 100}, T2I: [3]float64{0, 100, 100}, RSum: 400,
				I2TMedianRank: 3, I2TMeanRank: 3, T2IMedianRank: 2, T2IMeanRank: 2,
			},
		},
		{
			// All ties, broken against the correct item: same as reversed,
			// never R@1 = 100.
			name:         "constant",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{0, 100, 100}, T2I: [3]float64{0, 100, 100}, RSum: 400,
				I2TMedianRank: 3, I2TMeanRank: 3, T2IMedianRank: 2, T2IMeanRank: 2,
			},
		},
		{
			// Rows: image 0 [.5 .1 .5 0], image 1 [.5 .3 .4 .4].
			// i2t image 0: best correct .5 (c0) ties with c2 -> rank 2;
			// image 1: best correct .4 (c2, c3) below c0's .5 -> rank 2.
			// i2t ranks [2 2]: R@1 0, R@5 100, R@10 100, median 2, mean 2.
			// t2i c0: .5 ties with image 1's .5 -> 2; c1: .1 < .3 -> 2;
			// c2: .4 < .5 -> 2; c3: .4 > 0 -> 1. Ranks [2 2 2 1]: R@1 25,
			// R@5 100, R@10 100, median of [1 2 2 2] = (2+2)/2 = 2, mean 7/4.
			// rSum 200 + 225 = 425.
			name:         "partial ties",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0.5, 0.1, 0.5, 0, 0.5, 0.3, 0.4, 0.4}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{0, 100, 100}, T2I: [3]float64{25, 100, 100}, RSum: 425,
				I2TMedianRank: 2, I2TMeanRank: 2, T2IMedianRank: 2, T2IMeanRank: 1.75,
			},
		},
		{
			// Rows: image 0 [.2 .9 .5 .1], image 1 [.3 .4 .8 .6].
			// i2t image 0: its first caption (.2) is below c2 (.5) but its
			// second (.9) beats everything -> rank 1; image 1: .8 -> rank 1.
			// i2t ranks [1 1]: all recalls 100, median 1, mean 1.
			// t2i c0: .2 < .3 -> 2; c1: .9 > .4 -> 1; c2: .8 > .5 -> 1;
			// c3: .6 > .1 -> 1. Ranks [2 1 1 1]: R@1 75, R@5 100, R@10 100,
			// median of [1 1 1 2] = 1, mean 5/4. rSum 300 + 275 = 575.
			name:         "second caption first",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0.2, 0.9, 0.5, 0.1, 0.3, 0.4, 0.8, 0.6}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{100, 100, 100}, T2I: [3]float64{75, 100, 100}, RSum: 575,
				I2TMedianRank: 1, I2TMeanRank: 1, T2IMedianRank: 1, T2IMeanRank: 1.25,
			},
		},
		{
			// Rows: image 0 [.2 .9 .95 .1], image 1 [.3 .4 .8 .6].
			// i2t image 0: best correct .9 (c1) below c2's .95 -> rank 2;
			// image 1: .8 above .3 and .4 -> rank 1. Ranks [2 1]: R@1 50,
			// R@5 100, R@10 100, median (1+2)/2 = 1.5, mean 1.5.
			// t2i c0: .2 < .3 -> 2; c1: .9 > .4 -> 1; c2: .8 < .95 -> 2;
			// c3: .6 > .1 -> 1. Ranks [2 1 2 1]: R@1 50, R@5 100, R@10 100,
			// median of [1 1 2 2] = 1.5, mean 1.5. rSum 250 + 250 = 500.
			name:         "mixed",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0.2, 0.9, 0.95, 0.1, 0.3, 0.4, 0.8, 0.6}},
			captionImage: pairs,
			want: Retrieval{
				I2T: [3]float64{50, 100, 100}, T2I: [3]float64{50, 100, 100}, RSum: 500,
				I2TMedianRank: 1.5, I2TMeanRank: 1.5, T2IMedianRank: 1.5, T2IMeanRank: 1.5,
			},
		},
		{
			// Captions alternate between the images: 0 and 2 describe image 1.
			name:         "interleaved perfect",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0, 1, 0, 1, 1, 0, 1, 0}},
			captionImage: []int{1, 0, 1, 0},
			want: Retrieval{
				I2T: [3]float64{100, 100, 100}, T2I: [3]float64{100, 100, 100}, RSum: 600,
				I2TMedianRank: 1, I2TMeanRank: 1, T2IMedianRank: 1, T2IMeanRank: 1,
			},
		},
		{
			// Image 0 has captions 0-2, image 1 only caption 3.
			// Rows: image 0 [.1 .2 .3 .4], image 1 [.5 .6 .7 .8].
			// i2t image 0: best .3 below c3's .4 -> 2; image 1: .8 -> 1.
			// Ranks [2 1]: R@1 50, median 1.5, mean 1.5.
			// t2i c0..c2 lose to image 1 (.1<.5, .2<.6, .3<.7) -> 2 each;
			// c3: .8 > .4 -> 1. Ranks [2 2 2 1]: R@1 25, median of
			// [1 2 2 2] = 2, mean 7/4. rSum 250 + 225 = 475.
			name:         "uneven captions",
			s:            Scores{Images: 2, Captions: 4, Data: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}},
			captionImage: []int{0, 0, 0, 1},
			want: Retrieval{
				I2T: [3]float64{50, 100, 100}, T2I: [3]float64{25, 100, 100}, RSum: 475,
				I2TMedianRank: 1.5, I2TMeanRank: 1.5, T2IMedianRank: 2, T2IMeanRank: 1.75,
			},
		},
		{
			// 12 images x 12 captions, caption c describes image c, and
			// score(i, c) = i whatever c. t2i: caption c's image scores c and
			// loses to images c+1..11 -> rank 12-c, ranks 1..12: R@1 1/12,
			// R@5 5/12, R@10 10/12, median (6+7)/2, mean 6.5. i2t: every row
			// is constant, so each image ranks behind its 11 wrong captions:
			// rank 12, all recalls 0.
			name:         "graded rows",
			s:            graded(12),
			captionImage: identity(12),
			want: Retrieval{
				T2I:  [3]float64{100.0 / 12, 500.0 / 12, 1000.0 / 12},
				RSum: 1600.0 / 12, I2TMedianRank: 12, I2TMeanRank: 12, T2IMedianRank: 6.5, T2IMeanRank: 6.5,
			},
		},
		{
			name:         "single pair",
			s:            Scores{Images: 1, Captions: 1, Data: []float32{-3}},
			captionImage: []int{0},
			want: Retrieval{
				I2T: [3]float64{100, 100, 100}, T2I: [3]float64{100, 100, 100}, RSum: 600,
				I2TMedianRank: 1, I2TMeanRank: 1, T2IMedianRank: 1, T2IMeanRank: 1,
			},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, err := Evaluate(test.s, test.captionImage)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !sameRetrieval(got, test.want) {
				t.Errorf("got  %+v\nwant %+v", got, test.want)
			}
		})
	}
}

// graded returns an n x n matrix whose row i is constant at i.
func graded(n int) Scores {
	s := Scores{Images: n, Captions: n, Data: make([]float32, n*n)}
	for i := range n {
		for c := range n {
			s.Data[i*n+c] = float32(i)
		}
	}
	return s
}

// identity returns the caption map where caption c describes image c.
func identity(n int) []int {
	m := make([]int, n)
	for c := range m {
		m[c] = c
	}
	return m
}

func TestEvaluateErrors(t *testing.T) {
	ok := []float32{1, 0, 0, 1}
	for _, test := range []struct {
		name         string
		s            Scores
		captionImage []int
		want         string // a part of the message that names the culprit
	}{
		{name: "no images", s: Scores{Images: 0, Captions: 2}, captionImage: []int{0, 0}, want: "0 images x 2 captions"},
		{name: "negative shape", s: Scores{Images: -2, Captions: -2, Data: ok}, captionImage: []int{0, 1}, want: "-2 images x -2 captions"},
		{name: "short data", s: Scores{Images: 2, Captions: 2, Data: ok[:3]}, captionImage: []int{0, 1}, want: "len(Data) = 3"},
		{name: "long data", s: Scores{Images: 1, Captions: 2, Data: ok}, captionImage: []int{0, 0}, want: "len(Data) = 4"},
		{name: "short captionImage", s: Scores{Images: 2, Captions: 2, Data: ok}, captionImage: []int{0}, want: "len(captionImage) = 1"},
		{name: "image too large", s: Scores{Images: 2, Captions: 2, Data: ok}, captionImage: []int{0, 2}, want: "captionImage[1] = 2"},
		{name: "negative image", s: Scores{Images: 2, Captions: 2, Data: ok}, captionImage: []int{-1, 1}, want: "captionImage[0] = -1"},
		{name: "image without caption", s: Scores{Images: 2, Captions: 2, Data: ok}, captionImage: []int{1, 1}, want: "image 0 has no caption"},
		{name: "NaN", s: Scores{Images: 2, Captions: 2, Data: []float32{1, 0, float32(math.NaN()), 1}}, captionImage: []int{0, 1}, want: "score(image 1, caption 0)"},
		{name: "+Inf", s: Scores{Images: 2, Captions: 2, Data: []float32{1, float32(math.Inf(1)), 0, 1}}, captionImage: []int{0, 1}, want: "score(image 0, caption 1)"},
		{name: "-Inf", s: Scores{Images: 2, Captions: 2, Data: []float32{1, 0, 0, float32(math.Inf(-1))}}, captionImage: []int{0, 1}, want: "score(image 1, caption 1)"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := Evaluate(test.s, test.captionImage)
			if err == nil {
				t.Fatal("expected an error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "metrics: ") || !strings.Contains(msg, test.want) {
				t.Errorf("error %q, want prefix %q and %q", msg, "metrics: ", test.want)
			}
		})
	}
}

func TestEvaluateRandomIsChance(t *testing.T) {
	// Uniform random scores give uniformly random rankings, so rSum averaged
	// over 40 matrices must land near the exact chance level (about 15.9).
	// The tolerance is 5 standard deviations of that mean (about 0.6; 1.2 was
	// measured over 30 seeds for a 10-matrix mean).
	const images, perImage, trials, tol = 200, 5, 40, 3.0
	rnd := rand.New(rand.NewPCG(1, 2))
	captionImage := make([]int, images*perImage)
	for c := range captionImage {
		captionImage[c] = c / perImage
	}
	s := Scores{Images: images, Captions: len(captionImage), Data: make([]float32, images*len(captionImage))}
	var sum float64
	for range trials {
		for p := range s.Data {
			s.Data[p] = rnd.Float32()
		}
		r, err := Evaluate(s, captionImage)
		if err != nil {
			t.Fatal(err)
		}
		sum += r.RSum
	}
	got, want := sum/trials, ChanceRSum(images, perImage)
	if math.Abs(got-want) > tol {
		t.Errorf("mean rSum of random scores = %.3f, want %.3f +- %.1f", got, want, tol)
	}
}

func TestValues(t *testing.T) {
	r := Retrieval{
		I2T: [3]float64{1, 2, 3}, T2I: [3]float64{4, 5, 6}, RSum: 7,
		I2TMedianRank: 8, I2TMeanRank: 9, T2IMedianRank: 10, T2IMeanRank: 11,
	}
	want := map[string]float64{
		"i2t_r1": 1, "i2t_r5": 2, "i2t_r10": 3, "t2i_r1": 4, "t2i_r5": 5, "t2i_r10": 6, "rsum": 7,
		"i2t_medr": 8, "i2t_meanr": 9, "t2i_medr": 10, "t2i_meanr": 11,
	}
	got := r.Values()
	if len(got) != len(want) {
		t.Errorf("got %d names, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %t), want %v", k, g, ok, v)
		}
	}
}

func TestMean(t *testing.T) {
	a := Retrieval{
		I2T: [3]float64{10, 20, 30}, T2I: [3]float64{40, 50, 60}, RSum: 210,
		I2TMedianRank: 1, I2TMeanRank: 2, T2IMedianRank: 3, T2IMeanRank: 4,
	}
	b := Retrieval{
		I2T: [3]float64{20, 40, 60}, T2I: [3]float64{0, 10, 20}, RSum: 150,
		I2TMedianRank: 2, I2TMeanRank: 4, T2IMedianRank: 6, T2IMeanRank: 8,
	}
	for _, test := range []struct {
		name string
		rs   []Retrieval
		want Retrieval
	}{
		{name: "empty", rs: nil, want: Retrieval{}},
		{name: "one", rs: []Retrieval{a}, want: a},
		{
			name: "two",
			rs:   []Retrieval{a, b},
			want: Retrieval{
				I2T: [3]float64{15, 30, 45}, T2I: [3]float64{20, 30, 40}, RSum: 180,
				I2TMedianRank: 1.5, I2TMeanRank: 3, T2IMedianRank: 4.5, T2IMeanRank: 6,
			},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := Mean(test.rs); !sameRetrieval(got, test.want) {
				t.Errorf("got  %+v\nwant %+v", got, test.want)
			}
		})
	}
}
