package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestChanceRSumHand(t *testing.T) {
	for _, test := range []struct {
		name             string
		images, perImage int
		want             float64
	}{
		// A single pair is always found: 600.
		{name: "1x1", images: 1, perImage: 1, want: 600},
		// t2i and i2t alike: R@1 = 1/2, R@5 = R@10 = 1 (capped): 2 x 250.
		{name: "2x1", images: 2, perImage: 1, want: 500},
		// One caption per image: both directions K/10 -> 2 x (10+50+100).
		{name: "10x1", images: 10, perImage: 1, want: 320},
		// 2 x (5+25+50).
		{name: "20x1", images: 20, perImage: 1, want: 160},
		// t2i: 100/3, 100, 100. i2t, N = 6, m = 2: R@1 = 1 - 4/6 = 1/3,
		// R@5 = 1 - C(4,5)/C(6,5) = 1, R@10 = 1.
		{name: "3x2", images: 3, perImage: 2, want: 2 * (100.0/3 + 200)},
		// t2i: 25, 100, 100. i2t, N = 8, m = 2: R@1 = 2/8,
		// R@5 = 1 - C(6,5)/C(8,5) = 1 - 6/56, R@10 = 1.
		{name: "4x2", images: 4, perImage: 2, want: 225 + 25 + 100*(1-6.0/56) + 100},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := ChanceRSum(test.images, test.perImage); math.Abs(got-test.want) > 1e-9 {
				t.Errorf("ChanceRSum(%d, %d) = %v, want %v", test.images, test.perImage, got, test.want)
			}
		})
	}
}

// exactChanceRSum evaluates the chance rSum with exact rational binomials.
func exactChanceRSum(images, perImage int) float64 {
	n, m := int64(images*perImage), int64(perImage)
	sum := new(big.Rat)
	for _, k := range recallAt {
		kk := int64(k)
		sum.Add(sum, big.NewRat(min(kk, int64(images)), int64(images)))
		hit := big.NewRat(1, 1)
		if kk <= n-m {
			miss := new(big.Rat).SetFrac(new(big.Int).Binomial(n-m, kk), new(big.Int).Binomial(n, kk))
			hit.Sub(hit, miss)
		}
		sum.Add(sum, hit)
	}
	f, _ := sum.Float64()
	return 100 * f
}

func TestChanceRSumExact(t *testing.T) {
	for _, test := range []struct {
		name             string
		images, perImage int
	}{
		{name: "flickr 1K", images: 1000, perImage: 5},
		{name: "coco 5K", images: 5000, perImage: 5},
		{name: "small gallery", images: 3, perImage: 4},
		{name: "K near N", images: 2, perImage: 5},
		{name: "many captions", images: 7, perImage: 30},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, want := ChanceRSum(test.images, test.perImage), exactChanceRSum(test.images, test.perImage)
			if math.Abs(got-want) > 1e-9*want {
				t.Errorf("ChanceRSum(%d, %d) = %v, want %v", test.images, test.perImage, got, want)
			}
		})
	}
}

func TestChanceRSumMonteCarlo(t *testing.T) {
	// Draw random rankings directly: the correct image's rank is uniform, and
	// the best of m correct captions sits at the smallest of their m random
	// positions among N. The tolerance is about 5 standard deviations.
	const trials, tol = 50000, 3.0
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, test := range []struct {
		name             string
		images, perImage int
	}{
		{name: "20x5", images: 20, perImage: 5},
		{name: "7x3", images: 7, perImage: 3},
		{name: "50x2", images: 50, perImage: 2},
	} {
		t.Run(test.name, func(t *testing.T) {
			n := test.images * test.perImage
			var hits float64
			for range trials {
				t2i := 1 + rnd.IntN(test.images)
				pos := rnd.Perm(n) // pos[j]: 0-based position of caption j; 0..m-1 are correct
				i2t := 1 + pos[0]
				for _, p := range pos[1:test.perImage] {
					i2t = min(i2t, 1+p)
				}
				for _, k := range recallAt {
					if t2i <= k {
						hits++
					}
					if i2t <= k {
						hits++
					}
				}
			}
			got, want := 100*hits/trials, ChanceRSum(test.images, test.perImage)
			if math.Abs(got-want) > tol {
				t.Errorf("Monte-Carlo rSum = %.3f, ChanceRSum = %.3f, want within %.1f", got, want, tol)
			}
		})
	}
}

func TestChanceRSumPanics(t *testing.T) {
	for _, test := range []struct {
		name             string
		images, perImage int
	}{
		{name: "no images", images: 0, perImage: 5},
		{name: "no captions", images: 5, perImage: 0},
		{name: "negative", images: -1, perImage: 1},
	} {
		t.Run(test.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("ChanceRSum(%d, %d) did not panic", test.images, test.perImage)
				}
			}()
			ChanceRSum(test.images, test.perImage)
		})
	}
}
