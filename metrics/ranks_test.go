package metrics

import (
	"slices"
	"strings"
	"testing"
)

func TestRanks(t *testing.T) {
	tests := []struct {
		name         string
		s            Scores
		captionImage []int
		want         QueryRanks
	}{
		{
			// Image 0 prefers caption 2 (wrong) over its own 0 and 1: rank 2.
			// Image 1's best own caption (3, 0.9) beats every other: rank 1.
			// Caption 0: image 1 scores 0.1 < 0.8: rank 1. Caption 1: image 1
			// ties 0.3 with image 0: pessimistic, rank 2. Caption 2: image 0
			// scores 0.9 > 0.2: rank 2. Caption 3: rank 1.
			name: "hand-worked with a tie",
			s: Scores{Images: 2, Captions: 4, Data: []float32{
				0.8, 0.3, 0.9, 0.1,
				0.1, 0.3, 0.2, 0.9}},
			captionImage: []int{0, 0, 1, 1},
			want:         QueryRanks{I2T: []int{2, 1}, T2I: []int{1, 2, 2, 1}},
		},
		{
			name:         "perfect",
			s:            Scores{Images: 2, Captions: 2, Data: []float32{1, 0, 0, 1}},
			captionImage: []int{0, 1},
			want:         QueryRanks{I2T: []int{1, 1}, T2I: []int{1, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Ranks(tt.s, tt.captionImage)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.I2T, tt.want.I2T) || !slices.Equal(got.T2I, tt.want.T2I) {
				t.Errorf("Ranks = %+v, want %+v", got, tt.want)
			}
			// Evaluate must be exactly the summary of these ranks.
			ev, err := Evaluate(tt.s, tt.captionImage)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRetrieval(got.Retrieval(), ev) {
				t.Errorf("Ranks(...).Retrieval() = %+v, Evaluate = %+v", got.Retrieval(), ev)
			}
		})
	}
	if _, err := Ranks(Scores{Images: 1, Captions: 2, Data: []float32{1}}, []int{0, 0}); err == nil || !strings.HasPrefix(err.Error(), "metrics: len(Data)") {
		t.Errorf("Ranks of a short matrix: error %v", err)
	}
}

func TestQueryRanksRetrieval(t *testing.T) {
	// i2t ranks 1, 3, 7, 20: R@1 25, R@5 50, R@10 75; median (3+7)/2 = 5,
	// mean 31/4. t2i ranks 2, 2: R@1 0, R@5 100, R@10 100; median 2, mean 2.
	q := QueryRanks{I2T: []int{7, 1, 20, 3}, T2I: []int{2, 2}}
	want := Retrieval{I2T: [3]float64{25, 50, 75}, T2I: [3]float64{0, 100, 100}, RSum: 350,
		I2TMedianRank: 5, I2TMeanRank: 7.75, T2IMedianRank: 2, T2IMeanRank: 2}
	if got := q.Retrieval(); !sameRetrieval(got, want) {
		t.Errorf("Retrieval() = %+v, want %+v", got, want)
	}
	if !slices.Equal(q.I2T, []int{7, 1, 20, 3}) {
		t.Errorf("Retrieval sorted its input: %v", q.I2T)
	}
}

func TestConcatIsFoldMean(t *testing.T) {
	// Two folds of equal size: the joined ranks' recalls are the folds' mean.
	a := QueryRanks{I2T: []int{1, 6}, T2I: []int{1, 2, 11, 4}}
	b := QueryRanks{I2T: []int{2, 1}, T2I: []int{12, 1, 1, 5}}
	joined := Concat([]QueryRanks{a, b})
	if !slices.Equal(joined.I2T, []int{1, 6, 2, 1}) || !slices.Equal(joined.T2I, []int{1, 2, 11, 4, 12, 1, 1, 5}) {
		t.Fatalf("Concat = %+v", joined)
	}
	mean := Mean([]Retrieval{a.Retrieval(), b.Retrieval()})
	got := joined.Retrieval()
	if got.I2T != mean.I2T || got.T2I != mean.T2I || got.RSum != mean.RSum {
		t.Errorf("recalls of joined folds %+v, mean of folds %+v", got, mean)
	}
}
