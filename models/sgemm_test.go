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
					const alpha, beta = 0.7, -0.3
					want := refGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					checkGemm(t, c, want, k, ldc)
				})
			}
		}
	}
}

// TestGemm32 checks the products of the fused ops (gemm32: OpenBLAS with
// -tags openblas, split by rows of C over goroutines) on sizes large
// enough to be split, including a transposed A with more columns than
// rows, the weight gradient of a wide projection (1,757 values a region,
// 512 regions a batch), which once sliced past A's end.
func TestGemm32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1757, 32, 512}, {512, 32, 1757}, {300, 200, 64}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%dx%d/tA=%v", m, n, k, tA), func(t *testing.T) {
				lda := k
				if tA {
					lda = m
				}
				a, b, c := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
				const alpha, beta = 1, 0.5
				want := refGemm(tA, false, m, n, k, alpha, a, lda, b, n, beta, c, n)
				gemm32(tA, false, m, n, k, alpha, a, lda, b, n, beta, c, n)
				checkGemm(t, c, want, k, n)
			})
		}
	}
}

// refGemm is alpha*op(A)*op(B) + beta*C in float64 by a triple loop,
// with C's padding columns (j >= n) kept.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) []float64 {
	want := make([]float64, m*ldc)
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
	return want
}

// checkGemm fails t unless c matches want to float32 accuracy over sums
// of k products.
func checkGemm(t *testing.T, c []float32, want []float64, k, ldc int) {
	t.Helper()
	for i, w := range want {
		if math.Abs(float64(c[i])-w) > 1e-4*math.Sqrt(float64(k))*max(1, math.Abs(w)) {
			t.Fatalf("c[%d,%d] = %v, want %v", i/ldc, i%ldc, c[i], w)
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
