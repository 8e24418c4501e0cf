package retrieval

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// TestMineNegativesByHand: 3 images x 4 captions (captions 0, 1 describe
// image 0; 2 image 1; 3 image 2), scores written so the positive is
// often the best: mining keeps the best-scored wrong partners, best
// first, ties to the lower index, and never a positive.
func TestMineNegativesByHand(t *testing.T) {
	s := metrics.Scores{Images: 3, Captions: 4, Data: []float32{
		// caption: 0    1    2    3
		/* image 0 */ 9, 9, 5, 1,
		/* image 1 */ 3, 2, 8, 1,
		/* image 2 */ 3, 7, 4, 6,
	}}
	captionImage := []int{0, 0, 1, 2}
	for _, tt := range []struct {
		name             string
		k                int
		images, captions [][]int
	}{
		{"one each", 1, [][]int{{1}, {2}, {0}, {0}}, [][]int{{2}, {0}, {1}}},
		// Caption 0 ties images 1 and 2 at 3: the lower index first.
		{"two each", 2, [][]int{{1, 2}, {2, 1}, {0, 2}, {0, 1}}, [][]int{{2, 3}, {0, 1}, {1, 2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := MineNegatives(s, captionImage, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(h.Images, tt.images, slices.Equal) || !slices.EqualFunc(h.Captions, tt.captions, slices.Equal) {
				t.Errorf("images %v captions %v, want %v and %v", h.Images, h.Captions, tt.images, tt.captions)
			}
		})
	}
}

// TestMineNegativesRandom: on random scores with few values (many ties)
// each pool is exactly the k best wrong partners by a full sort, holds no
// positive, and the same scores give the same pools.
func TestMineNegativesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const images, k = 12, 4
	captionImage := make([]int, 30)
	for c := range captionImage {
		captionImage[c] = c % images
	}
	s := metrics.Scores{Images: images, Captions: len(captionImage), Data: make([]float32, images*len(captionImage))}
	for i := range s.Data {
		s.Data[i] = float32(rng.IntN(5))
	}
	h, err := MineNegatives(s, captionImage, k)
	if err != nil {
		t.Fatal(err)
	}
	for c := range s.Captions {
		want := slices.DeleteFunc(ranking(s, c, TextToImage), func(i int) bool { return i == captionImage[c] })[:k]
		if !slices.Equal(h.Images[c], want) {
			t.Errorf("caption %d: %v, want %v", c, h.Images[c], want)
		}
	}
	for i := range s.Images {
		want := slices.DeleteFunc(ranking(s, i, ImageToText), func(c int) bool { return captionImage[c] == i })[:k]
		if !slices.Equal(h.Captions[i], want) {
			t.Errorf("image %d: %v, want %v", i, h.Captions[i], want)
		}
	}
	again, _ := MineNegatives(s, captionImage, k)
	if !slices.EqualFunc(again.Images, h.Images, slices.Equal) || !slices.EqualFunc(again.Captions, h.Captions, slices.Equal) {
		t.Error("same scores, different pools")
	}
}

// TestMineNegativesErrors: bad inputs are refused, naming what is wrong.
func TestMineNegativesErrors(t *testing.T) {
	s := metrics.Scores{Images: 2, Captions: 3, Data: make([]float32, 6)}
	nan := metrics.Scores{Images: 2, Captions: 3, Data: []float32{0, 0, float32(math.NaN()), 0, 0, 0}}
	for _, tt := range []struct {
		name         string
		s            metrics.Scores
		captionImage []int
		k            int
		want         string
	}{
		{"k zero", s, []int{0, 1, 1}, 0, "must be positive"},
		{"short matrix", metrics.Scores{Images: 2, Captions: 3, Data: make([]float32, 5)}, []int{0, 1, 1}, 1, "5 values"},
		{"caption images", s, []int{0, 1}, 1, "2 caption images for 3 captions"},
		{"image out of range", s, []int{0, 1, 2}, 1, "image 2"},
		{"too few wrong images", s, []int{0, 1, 1}, 2, "1 wrong ones per caption"},
		{"too few wrong captions", metrics.Scores{Images: 3, Captions: 3, Data: make([]float32, 9)}, []int{0, 0, 1}, 2, "image 0 has 1 wrong captions"},
		{"not finite", nan, []int{0, 1, 1}, 1, "not finite"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MineNegatives(tt.s, tt.captionImage, tt.k)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "retrieval: ") {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
