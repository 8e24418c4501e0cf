package reports

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// Bootstrap settings of every report: enough resamples for a stable 95%
// interval, and a fixed seed so that a report renders to the same bytes.
const (
	BootstrapResamples = 1000
	BootstrapSeed      = 1
)

// Difference is the paired bootstrap estimate of rSum(A) - rSum(B) over
// test queries.
type Difference struct {
	Mean   float64 // the observed difference, averaged over the paired seeds
	Lo, Hi float64 // the 95% percentile interval over resamples
	Seeds  []int64 // the seeds both configs have, with ranks, that were paired
}

// Significant reports whether the interval excludes 0.
func (d Difference) Significant() bool { return d.Lo > 0 || d.Hi < 0 }

// PairedBootstrap compares two configurations on the same test queries.
// a and b map seeds to each run's per-query ranks; seeds both hold are
// paired (a seed only one holds is left out). Each resample draws the image
// queries and the caption queries with replacement, the same draw for every
// seed and both configs, and computes the mean over paired seeds of
// rSum(A) - rSum(B) (R@1, 5, 10 in both directions, from the ranks). The
// interval is the 2.5th to 97.5th percentile of resamples draws from a
// generator seeded with seed. It is an error when no seed pairs, or when
// paired runs were evaluated on different numbers of queries.
func PairedBootstrap(a, b map[int64]metrics.QueryRanks, resamples int, seed uint64) (Difference, error) {
	if resamples < 1 {
		return Difference{}, fmt.Errorf("reports: bootstrap: %d resamples, want at least 1", resamples)
	}
	var seeds []int64
	for s := range a {
		if _, ok := b[s]; ok {
			seeds = append(seeds, s)
		}
	}
	slices.Sort(seeds)
	if len(seeds) == 0 {
		return Difference{}, fmt.Errorf("reports: bootstrap: the two configs share no seed with ranks")
	}
	// Each query's contribution to rSum is 100/n for each K in {1, 5, 10}
	// its rank reaches, so rSum is a sum over queries and the difference of
	// two runs a sum of per-query differences: average those over seeds once,
	// and each resample is one pass over n drawn indices.
	var diffs [2][]float64 // i2t, t2i
	for _, s := range seeds {
		ra, rb := a[s], b[s]
		for d, pair := range [2][2][]int{{ra.I2T, rb.I2T}, {ra.T2I, rb.T2I}} {
			n := len(pair[0])
			if n == 0 || n != len(pair[1]) {
				return Difference{}, fmt.Errorf("reports: bootstrap: seed %d has %d and %d %s ranks, want the same non-zero number",
					s, len(pair[0]), len(pair[1]), [2]string{"i2t", "t2i"}[d])
			}
			if diffs[d] == nil {
				diffs[d] = make([]float64, n)
			} else if len(diffs[d]) != n {
				return Difference{}, fmt.Errorf("reports: bootstrap: seed %d was evaluated on %d queries, another seed on %d", s, n, len(diffs[d]))
			}
			for q := range n {
				diffs[d][q] += (hits(pair[0][q]) - hits(pair[1][q])) * 100 / float64(n) / float64(len(seeds))
			}
		}
	}
	var obs float64
	for _, ds := range diffs {
		for _, x := range ds {
			obs += x
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x1f2e3d4c5b6a7988))
	samples := make([]float64, resamples)
	for i := range samples {
		var sum float64
		for _, ds := range diffs {
			for range ds {
				sum += ds[rng.IntN(len(ds))]
			}
		}
		samples[i] = sum
	}
	slices.Sort(samples)
	return Difference{Mean: obs, Lo: quantile(samples, 0.025), Hi: quantile(samples, 0.975), Seeds: seeds}, nil
}

// hits is how many of the cut-offs 1, 5 and 10 a rank reaches.
func hits(rank int) float64 {
	var n float64
	for _, k := range []int{1, 5, 10} {
		if rank <= k {
			n++
		}
	}
	return n
}

// quantile of sorted xs at p in [0, 1], interpolating linearly between
// order statistics (the usual "type 7" definition).
func quantile(xs []float64, p float64) float64 {
	h := p * float64(len(xs)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}
