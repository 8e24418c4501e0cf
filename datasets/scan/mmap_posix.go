//go:build linux || darwin

package scan

import (
	"os"
	"syscall"
	"unsafe"
)

// mapFloats maps n float32 values of f from byte off (a multiple of 4),
// copy-on-write. MAP_NORESERVE keeps the kernel from reserving memory
// for copies that are never made: without it a private writable mapping
// of a file larger than memory is refused (ENOMEM) under the default
// overcommit heuristic. Where even that is refused, it maps read-only.
func mapFloats(f *os.File, off int64, n int) ([]float32, error) {
	size := int(off) + 4*n
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		if b, err = syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED); err != nil {
			return nil, err
		}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[off])), n), nil
}
