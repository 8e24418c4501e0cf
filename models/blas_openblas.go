//go:build openblas

package models

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/inflateshrink/inflateshrink/models/internal/openblas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// The -tags openblas build routes every matrix product through OpenBLAS
// (Debian libopenblas-dev, through gonum.org/v1/netlib): the fused ops,
// the gallery scorer, the composed Gorgonia graphs (gorgonia.Use) and any
// other user of gonum's blas32 and blas64 in the program.

// avx2Cores are OpenBLAS core types with kernels at least as good as
// Haswell's (AVX2 and FMA); avx512Cores those with AVX-512 kernels.
var (
	avx2Cores   = []string{"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"}
	avx512Cores = []string{"skylakex", "cooperlake", "sapphirerapids"}
)

// coretypeOverride is the OPENBLAS_CORETYPE this process set for itself
// ("" when none): OpenBLAS picks its kernels when the library loads, before
// any Go code runs, so a misdetected CPU can only be fixed by running the
// program again with the variable set.
var coretypeOverride = os.Getenv("INFLATESHRINK_OPENBLAS_CORETYPE")

func init() {
	openblas.SetThreads(1)
	G.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
	if os.Getenv("OPENBLAS_CORETYPE") != "" {
		return // chosen by the user, or by the re-run below
	}
	want := ""
	core := openblas.CoreName()
	switch {
	case hasAVX512() && !slices.Contains(avx512Cores, strings.ToLower(core)):
		want = "SkylakeX"
	case kernel6x16 != nil && !slices.Contains(avx2Cores, strings.ToLower(core)):
		want = "Haswell"
	}
	if want == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "models: OpenBLAS picked %s kernels on a CPU that runs %s; cannot re-run with OPENBLAS_CORETYPE=%s: %v\n", core, want, want, err)
		return
	}
	env := append(os.Environ(), "OPENBLAS_CORETYPE="+want, "INFLATESHRINK_OPENBLAS_CORETYPE="+want)
	err = syscall.Exec(exe, os.Args, env)
	fmt.Fprintf(os.Stderr, "models: re-run with OPENBLAS_CORETYPE=%s failed: %v\n", want, err)
}

// gemm32 is the float32 product of the fused ops and the gallery scorer.
// OpenBLAS runs single-threaded (see init): a large product is split into
// gemmParts blocks of rows or of columns of C, which GOMAXPROCS goroutines
// share. OpenBLAS's own threads spin between calls and took the cores from
// the Go code in between (28% of a 2-thread training step went to their
// sched_yield loop).
//
// The blocks depend on the product's shape only: OpenBLAS rounds a row of
// C differently depending on how many rows its call has, so splitting by
// the number of cores made the results depend on the machine (measured:
// 8% to 30% of a 1000 x 64 x 544 product's values changed between 1, 2, 3,
// 4 and 7 goroutines).
func gemm32(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	parts, byColumns := gemmParts(m, n, k)
	if parts == 1 {
		netlib.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallel(parts, func(first, last int) {
		for p := first; p < last; p++ {
			if byColumns {
				// Columns lo.. of op(B): with tB rows of B, else its columns.
				lo, hi := n*p/parts, n*(p+1)/parts
				var sub []float32
				if tB {
					sub = b[lo*ldb:]
				} else {
					sub = b[lo:]
				}
				netlib.Implementation{}.Sgemm(trans(tA), trans(tB), m, hi-lo, k, alpha, a, lda, sub, ldb, beta, c[lo:], ldc)
				continue
			}
			// Rows lo.. of op(A): only the slice that applies is taken,
			// since the other can lie past A's end (m columns of a k x m
			// A start at lo, not at lo*lda).
			lo, hi := m*p/parts, m*(p+1)/parts
			var sub []float32
			if tA {
				sub = a[lo:]
			} else {
				sub = a[lo*lda:]
			}
			netlib.Implementation{}.Sgemm(trans(tA), trans(tB), hi-lo, n, k, alpha, sub, lda, b, ldb, beta, c[lo*ldc:], ldc)
		}
	})
}

// gemmParts is how many blocks gemm32 computes an m x n x k product in,
// and whether they are blocks of columns of C (else of rows): one for a
// small product; else the larger of m and n split into 2, 4 or 8 blocks
// of at least 128, so that 2, 4 or 8 cores share it evenly and each block
// repacks the other operand rarely enough. (Blocks of 32 rows, the earlier
// rule, ran the 256 x 1024 x 2304 weight gradients of models.SpeedConfig
// at 97 GFLOP/s on one core of the development machine, against 160 for
// blocks of at least 128.)
func gemmParts(m, n, k int) (parts int, byColumns bool) {
	if m*n*k < 1<<21 {
		return 1, false
	}
	long := max(m, n)
	parts = 1
	for parts < 8 && long/(2*parts) >= 128 {
		parts *= 2
	}
	return parts, n > m
}

// gemm64 is the float64 product (gradient checks only).
func gemm64(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	netlib.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SetBLASThreads does nothing: OpenBLAS stays single-threaded and the
// products' fixed blocks are shared by GOMAXPROCS goroutines (see
// gemm32).
func SetBLASThreads(int) {}

// BLAS describes the matrix products in use, to record with each run.
func BLAS() string {
	s := fmt.Sprintf("OpenBLAS %s; kernels %s; %d OpenBLAS thread(s), float32 products in fixed blocks (at most 8) shared by GOMAXPROCS=%d goroutines",
		openblas.Config(), openblas.CoreName(), openblas.Threads(), runtime.GOMAXPROCS(0))
	if coretypeOverride != "" {
		s += "; OPENBLAS_CORETYPE=" + coretypeOverride + " set by models (misdetected CPU)"
	} else if ct := os.Getenv("OPENBLAS_CORETYPE"); ct != "" {
		s += "; OPENBLAS_CORETYPE=" + ct
	}
	return s
}
