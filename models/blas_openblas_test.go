//go:build openblas

package models

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestGemm32SameOnAnyCoreCount: the OpenBLAS build's products give the
// same bits whatever GOMAXPROCS is, so that a run's numbers do not depend
// on the machine's core count, and split into blocks of rows or of
// columns they are the product (against float64 sums, to 1e-4 relative).
func TestGemm32SameOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []struct {
		name    string
		m, n, k int
		tA, tB  bool
	}{
		{"tall", 1000, 64, 544, false, false},
		{"wide", 64, 1000, 544, false, true},
		{"transposed A", 700, 96, 400, true, false},
		{"wide, transposed A", 96, 700, 400, true, false},
		{"wide, both transposed", 96, 700, 400, true, true},
		{"uneven", 333, 257, 129, false, false},
	} {
		t.Run(sh.name, func(t *testing.T) {
			a, b := make([]float32, sh.m*sh.k), make([]float32, sh.k*sh.n)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			lda, ldb := sh.k, sh.n
			if sh.tA {
				lda = sh.m
			}
			if sh.tB {
				ldb = sh.k
			}
			var want []float32
			for _, procs := range []int{1, 2, 3, 4, 7, 16} {
				runtime.GOMAXPROCS(procs)
				c := make([]float32, sh.m*sh.n)
				gemm32(sh.tA, sh.tB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, c, sh.n)
				if want == nil {
					want = c
					checkProduct(t, sh.tA, sh.tB, sh.m, sh.n, sh.k, a, lda, b, ldb, c)
				} else if !slices.Equal(c, want) {
					t.Errorf("GOMAXPROCS=%d gives other values than GOMAXPROCS=1", procs)
				}
			}
		})
	}
}

// checkProduct fails t unless c is op(A)·op(B) to 1e-4 of the sum of the
// terms' magnitudes.
func checkProduct(t *testing.T, tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32) {
	t.Helper()
	at := func(i, l int) float64 {
		if tA {
			return float64(a[l*lda+i])
		}
		return float64(a[i*lda+l])
	}
	bt := func(l, j int) float64 {
		if tB {
			return float64(b[j*ldb+l])
		}
		return float64(b[l*ldb+j])
	}
	for i := range m {
		for j := range n {
			var sum, mag float64
			for l := range k {
				sum += at(i, l) * bt(l, j)
				mag += math.Abs(at(i, l) * bt(l, j))
			}
			if math.Abs(float64(c[i*n+j])-sum) > 1e-4*mag {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, c[i*n+j], sum)
			}
		}
	}
}
