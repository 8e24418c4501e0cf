// Package cuda is the project's binding to the three NVIDIA libraries the
// GPU backend calls: the CUDA driver (devices, a context, memory, module
// loading and kernel launches), cuBLAS (sgemm) and NVRTC (compiling
// kernels.cu to PTX at run time). It wraps only those calls, about thirty,
// so that the project carries no copy of a general binding.
//
// It builds with the gpu build tag and needs the CUDA toolkit's headers
// and libraries (11.8 to 13.x). By default it looks in /usr/local/cuda;
// CGO_CFLAGS and CGO_LDFLAGS point it elsewhere. Every call returns an
// error instead of panicking or exiting, so a binary built with the tag
// still starts, and says why, on a machine without a driver or a GPU.
//
// A context belongs to the OS thread that created it: callers lock their
// goroutine to its thread (runtime.LockOSThread) from NewContext to
// Context.Destroy, as package gpu does.
package cuda
