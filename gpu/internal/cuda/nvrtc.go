//go:build gpu

package cuda

// #include <stdlib.h>
// #include <nvrtc.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// NVRTCVersion is the version of the NVRTC library loaded.
func NVRTCVersion() (major, minor int, err error) {
	var ma, mi C.int
	if r := C.nvrtcVersion(&ma, &mi); r != C.NVRTC_SUCCESS {
		return 0, 0, fmt.Errorf("cuda: NVRTC: %s", C.GoString(C.nvrtcGetErrorString(r)))
	}
	return int(ma), int(mi), nil
}

// CompilePTX compiles CUDA C++ source (name is the file name its messages
// cite) with NVRTC and returns the PTX. On a compile error the error holds
// NVRTC's log. It needs no GPU.
func CompilePTX(source, name string, options ...string) (string, error) {
	src, cname := C.CString(source), C.CString(name)
	defer C.free(unsafe.Pointer(src))
	defer C.free(unsafe.Pointer(cname))
	var prog C.nvrtcProgram
	if r := C.nvrtcCreateProgram(&prog, src, cname, 0, nil, nil); r != C.NVRTC_SUCCESS {
		return "", fmt.Errorf("cuda: NVRTC: %s", C.GoString(C.nvrtcGetErrorString(r)))
	}
	defer C.nvrtcDestroyProgram(&prog)
	opts := make([]*C.char, len(options))
	for i, o := range options {
		opts[i] = C.CString(o)
		defer C.free(unsafe.Pointer(opts[i]))
	}
	var optp **C.char
	if len(opts) > 0 {
		optp = (**C.char)(C.malloc(C.size_t(len(opts)) * C.size_t(unsafe.Sizeof(opts[0]))))
		defer C.free(unsafe.Pointer(optp))
		copy(unsafe.Slice(optp, len(opts)), opts)
	}
	if r := C.nvrtcCompileProgram(prog, C.int(len(opts)), optp); r != C.NVRTC_SUCCESS {
		return "", fmt.Errorf("cuda: NVRTC: %s compiling %s:\n%s", C.GoString(C.nvrtcGetErrorString(r)), name, programLog(prog))
	}
	var n C.size_t
	if r := C.nvrtcGetPTXSize(prog, &n); r != C.NVRTC_SUCCESS {
		return "", fmt.Errorf("cuda: NVRTC: %s", C.GoString(C.nvrtcGetErrorString(r)))
	}
	buf := make([]byte, n)
	if r := C.nvrtcGetPTX(prog, (*C.char)(unsafe.Pointer(&buf[0]))); r != C.NVRTC_SUCCESS {
		return "", fmt.Errorf("cuda: NVRTC: %s", C.GoString(C.nvrtcGetErrorString(r)))
	}
	return C.GoStringN((*C.char)(unsafe.Pointer(&buf[0])), C.int(n-1)), nil // n counts the final NUL
}

func programLog(prog C.nvrtcProgram) string {
	var n C.size_t
	if C.nvrtcGetProgramLogSize(prog, &n) != C.NVRTC_SUCCESS || n <= 1 {
		return ""
	}
	buf := make([]byte, n)
	if C.nvrtcGetProgramLog(prog, (*C.char)(unsafe.Pointer(&buf[0]))) != C.NVRTC_SUCCESS {
		return ""
	}
	return string(buf[:n-1])
}
