//go:build gpu

package gpu

import (
	"errors"
	"strings"
	"testing"
)

// TestKernelsCompile compiles kernels.cu with NVRTC, which needs no GPU,
// for the oldest and newest architectures the build supports.
func TestKernelsCompile(t *testing.T) {
	for _, arch := range []string{"compute_75", "compute_90"} {
		ptx, err := CompileKernels(arch)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kernels {
			if !strings.Contains(ptx, ".entry "+k+"(") {
				t.Errorf("%s: kernel %s missing from the PTX", arch, k)
			}
		}
	}
}

// TestOpenReportsNoGPU checks that, where no GPU is usable, Open says so
// with an error instead of crashing; with a GPU it describes it.
func TestOpenReportsNoGPU(t *testing.T) {
	be, info, err := Open(Device{CUDA: true})
	if err != nil {
		if errors.Is(err, ErrNoCUDA) || !strings.Contains(err.Error(), "gpu:") {
			t.Fatalf("Open: %v", err)
		}
		t.Logf("no GPU here: %v", err)
		return
	}
	defer be.Close()
	if info.Name == "" || info.MemoryBytes == 0 {
		t.Errorf("GPU described as %+v", info)
	}
}

// TestKernelsMatchHost compares every CUDA kernel with its Host twin on
// random inputs (CompareOps, the GPU check's section 1). It needs a GPU
// and skips, saying why, where none is usable.
func TestKernelsMatchHost(t *testing.T) {
	be, info, err := Open(Device{CUDA: true})
	if err != nil {
		t.Skipf("no usable GPU: %v", err)
	}
	defer be.Close()
	results, err := CompareOps(Host{}, be, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s on %s: relative error %.2g, tolerance %.0e", r.Name, info.Name, r.RelErr, OpTolerance)
		}
	}
}
