package metrics

import "fmt"

// ChanceRSum is the exact expected rSum (percent) when every ranking is uniformly random, for
// `images` images each with `captionsPerImage` captions: t2i R@K = K/images; i2t R@K =
// 1 - C(N-m, K)/C(N, K) with N = images*captionsPerImage, m = captionsPerImage (compute stably).
//
// Recalls cap at 100 when K reaches the gallery size. ChanceRSum panics if
// images or captionsPerImage is less than 1.
func ChanceRSum(images, captionsPerImage int) float64 {
	if images < 1 || captionsPerImage < 1 {
		panic(fmt.Sprintf("metrics: ChanceRSum(%d, %d): need at least 1 image and 1 caption per image", images, captionsPerImage))
	}
	n, m := images*captionsPerImage, captionsPerImage
	var sum float64
	for _, k := range recallAt {
		sum += 100 * min(float64(k)/float64(images), 1)
		// C(N-m, K)/C(N, K) is the chance that none of the m correct captions
		// is among the first K. As a product of K ratios in [0, 1] it neither
		// overflows nor loses precision, unlike the binomials themselves for a
		// 25K-caption gallery; a ratio reaches 0 once K > N-m.
		miss := 1.0
		for j := range min(k, n) {
			miss *= float64(max(n-m-j, 0)) / float64(n-j)
		}
		sum += 100 * (1 - miss)
	}
	return sum
}
