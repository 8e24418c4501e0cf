package reports

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// constRanks is n image queries and 5n caption queries all at rank r.
func constRanks(n, r int) metrics.QueryRanks {
	q := metrics.QueryRanks{I2T: make([]int, n), T2I: make([]int, 5*n)}
	for i := range q.I2T {
		q.I2T[i] = r
	}
	for i := range q.T2I {
		q.T2I[i] = r
	}
	return q
}

func TestPairedBootstrap(t *testing.T) {
	mixed := metrics.QueryRanks{I2T: []int{3, 1, 12, 7, 1, 2}, T2I: []int{1, 6, 2, 30, 1, 1, 4, 9, 11, 2, 1, 5}}
	tests := []struct {
		name        string
		a, b        map[int64]metrics.QueryRanks
		mean        float64
		lo, hi      float64 // want exactly, unless NaN
		significant bool
		seeds       []int64
	}{
		{
			name: "identical ranks: never significant",
			a:    map[int64]metrics.QueryRanks{1: mixed, 2: {I2T: constRanks(6, 4).I2T, T2I: mixed.T2I}}, b: map[int64]metrics.QueryRanks{1: mixed, 2: {I2T: constRanks(6, 4).I2T, T2I: mixed.T2I}},
			mean: 0, lo: 0, hi: 0, significant: false, seeds: []int64{1, 2},
		},
		{
			// Every query at rank 1 against rank 20: each direction's three
			// recalls are 100 against 0, rSum 600 against 0, in every resample.
			name: "dominating: always significant",
			a:    map[int64]metrics.QueryRanks{1: constRanks(10, 1)}, b: map[int64]metrics.QueryRanks{1: constRanks(10, 20)},
			mean: 600, lo: 600, hi: 600, significant: true, seeds: []int64{1},
		},
		{
			name: "dominated: significant the other way",
			a:    map[int64]metrics.QueryRanks{1: constRanks(10, 20)}, b: map[int64]metrics.QueryRanks{1: constRanks(10, 1)},
			mean: -600, lo: -600, hi: -600, significant: true, seeds: []int64{1},
		},
		{
			// Two image queries; A ranks both first, B the second at 20: per
			// query differences 0 and 3*100/2 = 150, observed 150. A resample
			// of two draws sums to 0, 150 or 300 (p = 1/4, 1/2, 1/4): the 95%
			// interval is [0, 300], which does not exclude 0.
			name: "one query of two differs: not significant",
			a:    map[int64]metrics.QueryRanks{1: {I2T: []int{1, 1}, T2I: []int{1}}},
			b:    map[int64]metrics.QueryRanks{1: {I2T: []int{1, 20}, T2I: []int{1}}},
			mean: 150, lo: 0, hi: 300, significant: false, seeds: []int64{1},
		},
		{
			// Seed 1 only in a, seed 3 only in b: only seed 2 pairs.
			name: "unpaired seeds are left out",
			a:    map[int64]metrics.QueryRanks{1: constRanks(4, 1), 2: constRanks(4, 1)},
			b:    map[int64]metrics.QueryRanks{2: constRanks(4, 6), 3: constRanks(4, 1)},
			// Rank 6 reaches only K = 10: 1 hit of 3 in both directions.
			mean: 400, lo: 400, hi: 400, significant: true, seeds: []int64{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := PairedBootstrap(tt.a, tt.b, BootstrapResamples, BootstrapSeed)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(d.Mean-tt.mean) > 1e-9 || math.Abs(d.Lo-tt.lo) > 1e-9 || math.Abs(d.Hi-tt.hi) > 1e-9 {
				t.Errorf("difference %v [%v, %v], want %v [%v, %v]", d.Mean, d.Lo, d.Hi, tt.mean, tt.lo, tt.hi)
			}
			if d.Significant() != tt.significant {
				t.Errorf("Significant() = %v, want %v", d.Significant(), tt.significant)
			}
			if !slices.Equal(d.Seeds, tt.seeds) {
				t.Errorf("paired seeds %v, want %v", d.Seeds, tt.seeds)
			}
			again, _ := PairedBootstrap(tt.a, tt.b, BootstrapResamples, BootstrapSeed)
			if again.Mean != d.Mean || again.Lo != d.Lo || again.Hi != d.Hi {
				t.Errorf("not deterministic: %+v then %+v", d, again)
			}
		})
	}
}

// TestPairedBootstrapMatchesRSum: the observed difference is exactly the
// difference of the rSums metrics computes from the same ranks, and the
// interval contains it.
func TestPairedBootstrapMatchesRSum(t *testing.T) {
	a := metrics.QueryRanks{I2T: []int{3, 1, 12, 7, 1, 2}, T2I: []int{1, 6, 2, 30, 1, 1, 4, 9, 11, 2, 1, 5}}
	b := metrics.QueryRanks{I2T: []int{1, 2, 2, 40, 6, 1}, T2I: []int{2, 2, 1, 1, 7, 12, 1, 3, 1, 1, 20, 1}}
	d, err := PairedBootstrap(map[int64]metrics.QueryRanks{7: a}, map[int64]metrics.QueryRanks{7: b}, 500, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := a.Retrieval().RSum - b.Retrieval().RSum
	if math.Abs(d.Mean-want) > 1e-9 {
		t.Errorf("observed difference %v, rSum difference %v", d.Mean, want)
	}
	if !(d.Lo <= d.Mean && d.Mean <= d.Hi) || d.Lo == d.Hi {
		t.Errorf("interval [%v, %v] around %v", d.Lo, d.Hi, d.Mean)
	}
	rev, _ := PairedBootstrap(map[int64]metrics.QueryRanks{7: b}, map[int64]metrics.QueryRanks{7: a}, 500, 3)
	if math.Abs(rev.Mean+d.Mean) > 1e-9 || math.Abs(rev.Lo+d.Hi) > 1e-9 || math.Abs(rev.Hi+d.Lo) > 1e-9 {
		t.Errorf("swapping the configs: %+v, want the negation of %+v", rev, d)
	}
}

func TestPairedBootstrapErrors(t *testing.T) {
	one := map[int64]metrics.QueryRanks{1: constRanks(3, 1)}
	tests := []struct {
		name      string
		a, b      map[int64]metrics.QueryRanks
		resamples int
		want      string
	}{
		{"no shared seed", one, map[int64]metrics.QueryRanks{2: constRanks(3, 1)}, 10, "share no seed"},
		{"different query counts", one, map[int64]metrics.QueryRanks{1: constRanks(4, 1)}, 10, "seed 1 has 3 and 4 i2t ranks"},
		{"no ranks", one, map[int64]metrics.QueryRanks{1: {}}, 10, "seed 1 has 3 and 0 i2t ranks"},
		{"seeds on different test sets", map[int64]metrics.QueryRanks{1: constRanks(3, 1), 2: constRanks(4, 1)},
			map[int64]metrics.QueryRanks{1: constRanks(3, 1), 2: constRanks(4, 1)}, 10, "seed 2 was evaluated on 4 queries, another seed on 3"},
		{"no resamples", one, one, 0, "0 resamples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PairedBootstrap(tt.a, tt.b, tt.resamples, 1)
			if err == nil || !strings.HasPrefix(err.Error(), "reports: bootstrap: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
