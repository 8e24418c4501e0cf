//go:build gpu

package cuda

import (
	"strings"
	"testing"
)

// These run without a GPU: NVRTC is a compiler, and error texts need no
// device. Package gpu's tests open the device and compare its kernels.

func TestCompilePTX(t *testing.T) {
	ptx, err := CompilePTX(`extern "C" __global__ void twice(float *x, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) x[i] *= 2;
}`, "twice.cu", "--gpu-architecture=compute_75")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".target sm_75", ".entry twice("} {
		if !strings.Contains(ptx, want) {
			t.Errorf("PTX has no %q:\n%s", want, ptx)
		}
	}
	if strings.ContainsRune(ptx, 0) {
		t.Error("PTX holds a NUL byte")
	}
}

func TestCompilePTXReportsTheLog(t *testing.T) {
	_, err := CompilePTX(`extern "C" __global__ void broken(float *x) { x[0] = undeclared; }`, "broken.cu")
	if err == nil {
		t.Fatal("no error for a kernel that uses an undeclared name")
	}
	for _, want := range []string{"broken.cu", "undeclared"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestErrorTexts(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"stub driver", Error(34), "CUDA_ERROR_STUB_LIBRARY"},
		{"unknown driver code", Error(12345), "12345"},
		{"cuBLAS", BlasError(13), "CUBLAS_STATUS_EXECUTION_FAILED"},
		{"unknown cuBLAS status", BlasError(99), "99"},
	} {
		if got := c.err.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want it to contain %q", c.name, got, c.want)
		}
	}
}
