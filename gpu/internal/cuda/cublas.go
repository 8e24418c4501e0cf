//go:build gpu

package cuda

/*
#include <stdint.h>
#include <cublas_v2.h>

// sgemm takes the device addresses as integers, which Go cannot turn into
// pointers without vet's complaint, and alpha and beta by value.
static cublasStatus_t sgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
		float alpha, uintptr_t a, int lda, uintptr_t b, int ldb, float beta, uintptr_t c, int ldc) {
	return cublasSgemm(h, ta, tb, m, n, k, &alpha, (const float *)a, lda, (const float *)b, ldb, &beta, (float *)c, ldc);
}

// gemmex is sgemm with float32 operands and result computed as compute
// says (CUBLAS_COMPUTE_32F_FAST_TF32 or _FAST_16BF: cuBLAS rounds the
// operands for the tensor cores and accumulates in float32).
static cublasStatus_t gemmex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
		float alpha, uintptr_t a, int lda, uintptr_t b, int ldb, float beta, uintptr_t c, int ldc, int compute) {
	return cublasGemmEx(h, ta, tb, m, n, k, &alpha, (const void *)a, CUDA_R_32F, lda, (const void *)b, CUDA_R_32F, ldb,
		&beta, (void *)c, CUDA_R_32F, ldc, (cublasComputeType_t)compute, CUBLAS_GEMM_DEFAULT);
}
*/
import "C"

import "fmt"

// BlasError is a cuBLAS status other than CUBLAS_STATUS_SUCCESS.
type BlasError int

func (e BlasError) Error() string {
	names := map[BlasError]string{
		C.CUBLAS_STATUS_NOT_INITIALIZED: "CUBLAS_STATUS_NOT_INITIALIZED", C.CUBLAS_STATUS_ALLOC_FAILED: "CUBLAS_STATUS_ALLOC_FAILED",
		C.CUBLAS_STATUS_INVALID_VALUE: "CUBLAS_STATUS_INVALID_VALUE", C.CUBLAS_STATUS_ARCH_MISMATCH: "CUBLAS_STATUS_ARCH_MISMATCH",
		C.CUBLAS_STATUS_MAPPING_ERROR: "CUBLAS_STATUS_MAPPING_ERROR", C.CUBLAS_STATUS_EXECUTION_FAILED: "CUBLAS_STATUS_EXECUTION_FAILED",
		C.CUBLAS_STATUS_INTERNAL_ERROR: "CUBLAS_STATUS_INTERNAL_ERROR", C.CUBLAS_STATUS_NOT_SUPPORTED: "CUBLAS_STATUS_NOT_SUPPORTED",
		C.CUBLAS_STATUS_LICENSE_ERROR: "CUBLAS_STATUS_LICENSE_ERROR",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return fmt.Sprintf("cuBLAS status %d", int(e))
}

func checkBlas(s C.cublasStatus_t) error {
	if s != C.CUBLAS_STATUS_SUCCESS {
		return BlasError(s)
	}
	return nil
}

// Blas is a cuBLAS handle of the current context. Its products run on the
// legacy default stream, in order with the kernels Launch queues.
type Blas struct {
	h       C.cublasHandle_t
	compute Compute
}

// Compute is how Sgemm computes its float32 products.
type Compute int

const (
	// FP32 computes in float32 (cublasSgemm, TF32 off): the default.
	FP32 Compute = iota
	// TF32 rounds the operands to TensorFloat-32 (10-bit mantissa) for
	// the tensor cores and accumulates in float32.
	TF32
	// BF16 rounds the operands to bfloat16 (7-bit mantissa, float32's
	// range: no loss scaling needed) and accumulates in float32.
	BF16
)

// SetCompute makes later products compute as c says.
func (b *Blas) SetCompute(c Compute) { b.compute = c }

// NewBlas creates a cuBLAS handle in the current context.
func NewBlas() (*Blas, error) {
	var h C.cublasHandle_t
	if err := checkBlas(C.cublasCreate(&h)); err != nil {
		return nil, err
	}
	return &Blas{h: h}, nil
}

// Close releases the handle.
func (b *Blas) Close() error { return checkBlas(C.cublasDestroy(b.h)) }

func op(transpose bool) C.cublasOperation_t {
	if transpose {
		return C.CUBLAS_OP_T
	}
	return C.CUBLAS_OP_N
}

// Sgemm queues the column-major float32 product
// c = alpha·op(a)·op(b) + beta·c, with op(a) m×k and op(b) k×n.
func (b *Blas) Sgemm(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda int, bm Ptr, ldb int, beta float32, c Ptr, ldc int) error {
	if b.compute != FP32 {
		compute := C.int(C.CUBLAS_COMPUTE_32F_FAST_TF32)
		if b.compute == BF16 {
			compute = C.CUBLAS_COMPUTE_32F_FAST_16BF
		}
		return checkBlas(C.gemmex(b.h, op(transA), op(transB), C.int(m), C.int(n), C.int(k),
			C.float(alpha), C.uintptr_t(a), C.int(lda), C.uintptr_t(bm), C.int(ldb),
			C.float(beta), C.uintptr_t(c), C.int(ldc), compute))
	}
	return checkBlas(C.sgemm(b.h, op(transA), op(transB), C.int(m), C.int(n), C.int(k),
		C.float(alpha), C.uintptr_t(a), C.int(lda), C.uintptr_t(bm), C.int(ldb),
		C.float(beta), C.uintptr_t(c), C.int(ldc)))
}
