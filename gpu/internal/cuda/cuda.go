//go:build gpu

package cuda

/*
#cgo CFLAGS: -I/usr/local/cuda/include -I/usr/local/cuda/include/cccl
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -lcuda -lcublas -lnvrtc
#include <stdint.h>
#include <stdlib.h>
#include <cuda.h>

// CUDA 13 maps cuCtxCreate to cuCtxCreate_v4, which takes creation
// parameters second; NULL asks for none, which is what the older call did.
static CUresult ctxCreate(CUcontext *ctx, unsigned int flags, CUdevice dev) {
#if CUDA_VERSION >= 13000
	return cuCtxCreate(ctx, NULL, flags, dev);
#else
	return cuCtxCreate(ctx, flags, dev);
#endif
}

// launch passes each kernel argument as the address of its 8-byte slot in
// args: the driver reads each parameter's own size from there, and copies
// the values before it returns.
static CUresult launch(CUfunction f, unsigned int blocks, unsigned int threads, unsigned int shared, uint64_t *args, int n) {
	void *params[64];
	if (n > 64) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < n; i++) params[i] = &args[i];
	return cuLaunchKernel(f, blocks, 1, 1, threads, 1, 1, shared, NULL, params, NULL);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Error is a CUDA driver result other than CUDA_SUCCESS.
type Error int

func (e Error) Error() string {
	var name, text *C.char
	if C.cuGetErrorName(C.CUresult(e), &name) == C.CUDA_SUCCESS && C.cuGetErrorString(C.CUresult(e), &text) == C.CUDA_SUCCESS {
		return fmt.Sprintf("%s (%s)", C.GoString(name), C.GoString(text))
	}
	// The link-time stub of libcuda answers every call, cuGetErrorName
	// included, with CUDA_ERROR_STUB_LIBRARY.
	if e == C.CUDA_ERROR_STUB_LIBRARY {
		return "CUDA_ERROR_STUB_LIBRARY (the CUDA driver library is a stub: no NVIDIA driver is installed)"
	}
	return fmt.Sprintf("CUDA driver error %d", int(e))
}

func check(r C.CUresult) error {
	if r != C.CUDA_SUCCESS {
		return Error(r)
	}
	return nil
}

// Init initialises the driver; every other driver call needs it first.
func Init() error { return check(C.cuInit(0)) }

// DriverVersion is the CUDA version the driver supports, as 1000×major +
// 10×minor.
func DriverVersion() (int, error) {
	var v C.int
	err := check(C.cuDriverGetVersion(&v))
	return int(v), err
}

// ToolkitVersion is the CUDA version of the headers this package was built
// against, as 1000×major + 10×minor.
const ToolkitVersion = C.CUDA_VERSION

// DeviceCount is the number of GPUs the driver sees.
func DeviceCount() (int, error) {
	var n C.int
	err := check(C.cuDeviceGetCount(&n))
	return int(n), err
}

// Device is a GPU by the driver's handle.
type Device struct{ d C.CUdevice }

// GetDevice returns the GPU of an ordinal, 0 ≤ ordinal < DeviceCount().
func GetDevice(ordinal int) (Device, error) {
	var d C.CUdevice
	err := check(C.cuDeviceGet(&d, C.int(ordinal)))
	return Device{d}, err
}

// Name is the device's marketing name.
func (d Device) Name() (string, error) {
	var buf [256]C.char
	if err := check(C.cuDeviceGetName(&buf[0], C.int(len(buf)), d.d)); err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// TotalMem is the device's memory in bytes.
func (d Device) TotalMem() (int64, error) {
	var n C.size_t
	err := check(C.cuDeviceTotalMem(&n, d.d))
	return int64(n), err
}

func (d Device) attribute(a C.CUdevice_attribute) (int, error) {
	var v C.int
	err := check(C.cuDeviceGetAttribute(&v, a, d.d))
	return int(v), err
}

// ComputeCapability is the device's architecture, such as 9.0 for Hopper.
func (d Device) ComputeCapability() (major, minor int, err error) {
	if major, err = d.attribute(C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR); err != nil {
		return 0, 0, err
	}
	minor, err = d.attribute(C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
	return major, minor, err
}

// Multiprocessors is the device's number of streaming multiprocessors.
func (d Device) Multiprocessors() (int, error) {
	return d.attribute(C.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
}

// Context is a driver context, current on the OS thread that created it.
type Context struct{ c C.CUcontext }

// NewContext creates a context on the device, with the driver's default
// scheduling, and makes it current on the calling OS thread.
func NewContext(d Device) (Context, error) {
	var c C.CUcontext
	err := check(C.ctxCreate(&c, C.CU_CTX_SCHED_AUTO, d.d))
	return Context{c}, err
}

// Destroy destroys the context, with every allocation and module in it.
func (c Context) Destroy() error { return check(C.cuCtxDestroy(c.c)) }

// Synchronize waits for all work queued in the current context.
func Synchronize() error { return check(C.cuCtxSynchronize()) }

// Ptr is an address in device memory.
type Ptr uintptr

func (p Ptr) c() C.CUdeviceptr { return C.CUdeviceptr(p) }

// Alloc allocates bytes of device memory.
func Alloc(bytes int64) (Ptr, error) {
	var p C.CUdeviceptr
	err := check(C.cuMemAlloc(&p, C.size_t(bytes)))
	return Ptr(p), err
}

// Free frees what Alloc allocated.
func Free(p Ptr) error { return check(C.cuMemFree(p.c())) }

// MemsetD32Async queues setting n 32-bit words at p to v, on the legacy
// default stream.
func MemsetD32Async(p Ptr, v uint32, n int64) error {
	return check(C.cuMemsetD32Async(p.c(), C.uint(v), C.size_t(n), nil))
}

// CopyToDevice copies bytes from host memory to the device, after the
// work queued before it.
func CopyToDevice(dst Ptr, src unsafe.Pointer, bytes int64) error {
	return check(C.cuMemcpyHtoD(dst.c(), src, C.size_t(bytes)))
}

// CopyToHost copies bytes from the device to host memory, after the work
// queued before it.
func CopyToHost(dst unsafe.Pointer, src Ptr, bytes int64) error {
	return check(C.cuMemcpyDtoH(dst, src.c(), C.size_t(bytes)))
}

// CopyAsync queues a device-to-device copy on the legacy default stream.
func CopyAsync(dst, src Ptr, bytes int64) error {
	return check(C.cuMemcpyDtoDAsync(dst.c(), src.c(), C.size_t(bytes), nil))
}

// Module is compiled device code loaded into the current context.
type Module struct{ m C.CUmodule }

// LoadPTX loads PTX (as NVRTC writes it) into the current context; the
// driver compiles it for the device.
func LoadPTX(ptx string) (Module, error) {
	s := C.CString(ptx)
	defer C.free(unsafe.Pointer(s))
	var m C.CUmodule
	err := check(C.cuModuleLoadData(&m, unsafe.Pointer(s)))
	return Module{m}, err
}

// Function is a kernel of a loaded module.
type Function struct{ f C.CUfunction }

// Function finds the kernel named name (an extern "C" entry point).
func (m Module) Function(name string) (Function, error) {
	s := C.CString(name)
	defer C.free(unsafe.Pointer(s))
	var f C.CUfunction
	err := check(C.cuModuleGetFunction(&f, m.m, s))
	return Function{f}, err
}

// MaxArgs is the most arguments Launch passes.
const MaxArgs = 64

// Launch queues the kernel on the legacy default stream over a
// one-dimensional grid of blocks × threads, with shared bytes of dynamic
// shared memory. Each argument occupies 8 bytes: the bits of a pointer,
// an int64 or a float64, or a 32-bit value in the low 4 bytes.
func (f Function) Launch(blocks, threads, shared int, args []uint64) error {
	if len(args) > MaxArgs {
		return fmt.Errorf("cuda: %d kernel arguments, at most %d", len(args), MaxArgs)
	}
	var p *C.uint64_t
	if len(args) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	return check(C.launch(f.f, C.uint(blocks), C.uint(threads), C.uint(shared), p, C.int(len(args))))
}
