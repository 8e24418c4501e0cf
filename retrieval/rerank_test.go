package retrieval

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// ranking lists the items of query q in direction dir best first, ties to
// the lower index (how TopK and Rerank break them).
func ranking(s metrics.Scores, q int, dir Direction) []int {
	n, at := s.Images, func(i int) float32 { return s.Data[i*s.Captions+q] }
	if dir == ImageToText {
		n, at = s.Captions, func(c int) float32 { return s.Data[q*s.Captions+c] }
	}
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	slices.SortStableFunc(items, func(a, b int) int {
		switch {
		case at(a) > at(b):
			return -1
		case at(a) < at(b):
			return 1
		}
		return 0
	})
	return items
}

// TestRerankKeepsCandidatesAndTheRest: the re-ranked matrix puts the first
// stage's top k first, in the rescorer's order, then the rest in the first
// stage's order, in both directions, whatever the scores (ties included).
func TestRerankKeepsCandidatesAndTheRest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := metrics.Scores{Images: 9, Captions: 14, Data: make([]float32, 9*14)}
	for i := range s.Data {
		s.Data[i] = float32(rng.IntN(7)) / 4 // few values: many ties
	}
	// fine is the rescorer's score of (query, item): distinct values.
	fine := func(q, item int) float32 { return float32((q*31+item*17)%23) - 11 }
	for _, tt := range []struct {
		name string
		dir  Direction
		k    int
	}{
		{"text to image", TextToImage, 4},
		{"image to text", ImageToText, 5},
		{"k beyond the gallery", TextToImage, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, err := Rerank(s, tt.k, tt.dir, func(q int, items []int, out []float32) error {
				calls++
				for j, item := range items {
					out[j] = fine(q, item)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			queries := s.Captions
			if tt.dir == ImageToText {
				queries = s.Images
			}
			if calls != queries {
				t.Errorf("%d rescore calls, want one per query (%d)", calls, queries)
			}
			for q := range queries {
				before, after := ranking(s, q, tt.dir), ranking(got, q, tt.dir)
				k := min(tt.k, len(before))
				want := slices.Clone(before[:k])
				slices.SortStableFunc(want, func(a, b int) int { return int(fine(q, b) - fine(q, a)) })
				want = append(want, before[k:]...)
				if !slices.Equal(after, want) {
					t.Errorf("query %d: order %v, want %v (first stage %v)", q, after, want, before)
				}
			}
		})
	}
}

// TestRerankMetrics: a rescorer that knows the answer puts every caption
// whose image the first stage kept among its top k at rank 1, and leaves
// the others' ranks as they were.
func TestRerankMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const images, perImage, k = 12, 2, 3
	captionImage := make([]int, images*perImage)
	for c := range captionImage {
		captionImage[c] = c / perImage
	}
	s := metrics.Scores{Images: images, Captions: len(captionImage), Data: make([]float32, images*len(captionImage))}
	for i := range s.Data {
		s.Data[i] = float32(rng.NormFloat64())
	}
	got, err := Rerank(s, k, TextToImage, func(q int, items []int, out []float32) error {
		for j, i := range items {
			out[j] = 0
			if i == captionImage[q] {
				out[j] = 1
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first, err := metrics.Ranks(s, captionImage)
	if err != nil {
		t.Fatal(err)
	}
	after, err := metrics.Ranks(got, captionImage)
	if err != nil {
		t.Fatal(err)
	}
	for c, r := range first.T2I {
		want := r
		if r <= k {
			want = 1
		}
		if after.T2I[c] != want {
			t.Errorf("caption %d: rank %d -> %d, want %d", c, r, after.T2I[c], want)
		}
	}
}

func TestRerankErrors(t *testing.T) {
	s := metrics.Scores{Images: 2, Captions: 2, Data: []float32{1, 2, 3, 4}}
	ok := func(int, []int, []float32) error { return nil }
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		s       metrics.Scores
		k       int
		rescore Rescore
	}{
		{"k zero", s, 0, ok},
		{"short data", metrics.Scores{Images: 2, Captions: 2, Data: []float32{1}}, 1, ok},
		{"huge score", metrics.Scores{Images: 1, Captions: 1, Data: []float32{1 << 30}}, 1, ok},
		{"rescore fails", s, 1, func(int, []int, []float32) error { return boom }},
	} {
		if _, err := Rerank(tt.s, tt.k, TextToImage, tt.rescore); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
