// Package cu provides an idiomatic interface to the CUDA Driver API.
package cu // import "gorgonia.org/cu"

// This file implements CUDA driver context management

//#include <cuda.h>
import "C"
import "fmt"

const initHtml = "https://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__INITIALIZE.html"

// initErr is what cuInit returned when the package was loaded.
var initErr error

func init() {
	// Given that the flags must be 0, the CUDA driver is initialized at the package level
	// http://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__INITIALIZE.html
	//
	// A failure is kept for Init to report rather than ending the process:
	// a program built with cu must still run (on the CPU, say) on a machine
	// with no GPU or driver, and every later driver call returns an error.
	if err := result(C.cuInit(C.uint(0))); err != nil {
		initErr = fmt.Errorf("cu: cuInit failed (see %s): %w", initHtml, err)
	}
}

// Init reports whether the CUDA driver initialised when the package was
// loaded: nil if it did, else the error (no driver, no device, a stub
// libcuda, ...). Call it before using any other function of the package.
func Init() error { return initErr }

// Version returns the version of the CUDA driver
func Version() int {
	var v C.int
	if err := result(C.cuDriverGetVersion(&v)); err != nil {
		return -1
	}
	return int(v)
}
