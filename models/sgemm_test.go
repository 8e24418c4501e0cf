package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestSgemm compares sgemm with a float64 triple loop for every
// transpose, on sizes that leave partial tiles, blocks and slabs, with
// padded leading dimensions, alpha and beta.
func TestSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][3]int{{1, 1, 1}, {7, 17, 5}, {13, 40, 300}, {200, 530, 70}, {97, 33, 513}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v", m, n, k, tA, tB), func(t *testing.T) {
					ar, ac := m, k
					if tA {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2
					a, b, c := randSlice(rng, ar*lda), randSlice(rng, br*ldb), randSlice(rng, m*ldc)
					want := make([]float64, m*ldc)
					const alpha, beta = 0.7, -0.3
					for i := 0; i < m; i++ {
						for j := 0; j < ldc; j++ {
							want[i*ldc+j] = float64(c[i*ldc+j])
							if j >= n {
								continue
							}
							var s float64
							for p := 0; p < k; p++ {
								var x, y float32
								if tA {
									x = a[p*lda+i]
								} else {
									x = a[i*lda+p]
								}
								if tB {
									y = b[j*ldb+p]
								} else {
									y = b[p*ldb+j]
								}
								s += float64(x) * float64(y)
							}
							want[i*ldc+j] = alpha*s + beta*want[i*ldc+j]
						}
					}
					sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					for i, w := range want {
						if math.Abs(float64(c[i])-w) > 1e-4*math.Sqrt(float64(k))*max(1, math.Abs(w)) {
							t.Fatalf("c[%d,%d] = %v, want %v", i/ldc, i%ldc, c[i], w)
						}
					}
				})
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// BenchmarkSgemm measures this package's sgemm and gonum's on a square
// product of 1024 (the benchmark model's matrices are of this order); it
// reports GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, z := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
	for _, impl := range []struct {
		name string
		f    func()
	}{
		{"models", func() { sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n) }},
		{"gonum", func() { gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, x, n, y, n, 0, z, n) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			for range b.N {
				impl.f()
			}
			b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
