package models

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"
)

// The pure-Go build's float32 matrix product. gonum's Sgemm runs 4-wide
// SSE dot products and axpys at 9-14 GFLOP/s on two cores; this one packs
// the operands into panels and runs a 6x16 AVX2/FMA register-blocked
// micro-kernel (sgemm_amd64.s), the layout of OpenBLAS and BLIS. Without
// AVX2 and FMA it falls back to gonum.

// Block sizes: a kc-deep slab of B (nc columns) and of A (mc rows) stay in
// the L2 cache while the micro-kernel streams 6x16 tiles.
const (
	sgemmMR = 6
	sgemmNR = 16
	sgemmKC = 256
	sgemmMC = 96
	sgemmNC = 512
)

var sgemmBuffers = sync.Pool{New: func() any { return new([]float32) }}

func getBuffer(n int) *[]float32 {
	p := sgemmBuffers.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// sgemm computes C = alpha op(A) op(B) + beta C on row-major matrices
// (op transposes when tA or tB), C being m x n and the inner dimension k.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if kernel6x16 == nil {
		gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	// Rows are split between workers; small products stay on one.
	workers := 1
	if m*n*k >= 1<<20 {
		workers = runtime.GOMAXPROCS(0)
	}
	mc := sgemmMC
	if blocks := (m + mc - 1) / mc; blocks < 2*workers {
		mc = max(sgemmMR, ((m+2*workers-1)/(2*workers)+sgemmMR-1)/sgemmMR*sgemmMR)
	}
	for j0 := 0; j0 < n; j0 += sgemmNC {
		nc := min(sgemmNC, n-j0)
		for p0 := 0; p0 < k; p0 += sgemmKC {
			kc := min(sgemmKC, k-p0)
			bp := getBuffer((nc + sgemmNR - 1) / sgemmNR * sgemmNR * kc)
			packB(tB, b, ldb, p0, kc, j0, nc, *bp)
			blocks := (m + mc - 1) / mc
			run := func(lo, hi int) {
				ap := getBuffer((mc + sgemmMR - 1) / sgemmMR * sgemmMR * kc)
				var tile [sgemmMR * sgemmNR]float32
				for blk := lo; blk < hi; blk++ {
					i0 := blk * mc
					rows := min(mc, m-i0)
					packA(tA, a, lda, i0, rows, p0, kc, *ap)
					for jr := 0; jr < nc; jr += sgemmNR {
						bpanel := (*bp)[jr*kc:]
						cols := min(sgemmNR, nc-jr)
						for ir := 0; ir < rows; ir += sgemmMR {
							kernel6x16(kc, &(*ap)[ir*kc], &bpanel[0], &tile[0])
							for i := 0; i < min(sgemmMR, rows-ir); i++ {
								crow := c[(i0+ir+i)*ldc+j0+jr : (i0+ir+i)*ldc+j0+jr+cols]
								t := tile[i*sgemmNR : i*sgemmNR+cols]
								for j := range crow {
									crow[j] += alpha * t[j]
								}
							}
						}
					}
				}
				sgemmBuffers.Put(ap)
			}
			if workers == 1 {
				run(0, blocks)
			} else {
				parallel(blocks, run)
			}
			sgemmBuffers.Put(bp)
		}
	}
}

// packA copies rows i0..i0+rows, columns p0..p0+kc of op(A) into panels
// of sgemmMR rows: panel r holds, for each p, its rows' elements in turn
// (zero beyond the last row).
func packA(tA bool, a []float32, lda, i0, rows, p0, kc int, dst []float32) {
	for ir := 0; ir < rows; ir += sgemmMR {
		panel := dst[ir*kc : (ir+sgemmMR)*kc]
		h := min(sgemmMR, rows-ir)
		if h < sgemmMR {
			clear(panel)
		}
		for i := 0; i < h; i++ {
			r := i0 + ir + i
			if tA {
				for p := 0; p < kc; p++ {
					panel[p*sgemmMR+i] = a[(p0+p)*lda+r]
				}
			} else {
				src := a[r*lda+p0 : r*lda+p0+kc]
				for p, v := range src {
					panel[p*sgemmMR+i] = v
				}
			}
		}
	}
}

// packB copies rows p0..p0+kc, columns j0..j0+nc of op(B) into panels of
// sgemmNR columns: panel j holds, for each p, its columns' elements in
// turn (zero beyond the last column).
func packB(tB bool, b []float32, ldb, p0, kc, j0, nc int, dst []float32) {
	for jr := 0; jr < nc; jr += sgemmNR {
		panel := dst[jr*kc : (jr+sgemmNR)*kc]
		w := min(sgemmNR, nc-jr)
		if w < sgemmNR {
			clear(panel)
		}
		if tB {
			for j := 0; j < w; j++ {
				src := b[(j0+jr+j)*ldb+p0 : (j0+jr+j)*ldb+p0+kc]
				for p, v := range src {
					panel[p*sgemmNR+j] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			copy(panel[p*sgemmNR:p*sgemmNR+w], b[(p0+p)*ldb+j0+jr:])
		}
	}
}
