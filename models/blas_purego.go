//go:build !openblas

package models

import "gonum.org/v1/gonum/blas/gonum"

// gemm32 is the float32 product of the fused ops and the gallery scorer:
// this package's packed AVX2 sgemm.
func gemm32(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm64 is the float64 product (gradient checks only): gonum's.
func gemm64(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// BLAS describes the matrix products in use, to record with each run.
// This pure-Go build runs float32 products of the fused ops and of
// ScoreGallery on this package's sgemm and the composed Gorgonia graphs
// (Model.Composed) on gonum's.
func BLAS() string {
	kernel := "AVX2/FMA 6x16 micro-kernel"
	if kernel6x16 == nil {
		kernel = "no AVX2/FMA: falls back to gonum"
	}
	return "pure Go: models.sgemm (" + kernel + "); gonum for composed graphs and float64"
}

// SetBLASThreads does nothing in the pure-Go build, whose products use
// GOMAXPROCS goroutines.
func SetBLASThreads(int) {}
