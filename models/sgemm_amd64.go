package models

//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv0() uint32

// hasAVX2FMA reports whether the CPU and the OS support the AVX2 and FMA
// instructions of the sgemm micro-kernel.
func hasAVX2FMA() bool {
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if xgetbv0()&6 != 6 { // the OS saves the XMM and YMM registers
		return false
	}
	max, _, _, _ := cpuid(0, 0)
	if max < 7 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

// hasAVX512 reports whether the CPU and the OS support AVX-512F (the
// openblas build uses it to tell a misdetected SkylakeX).
func hasAVX512() bool {
	if !hasAVX2FMA() || xgetbv0()&0xe6 != 0xe6 { // plus the opmask and ZMM state
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<16) != 0
}

// kernel6x16 is the micro-kernel, nil where the CPU lacks AVX2 or FMA.
var kernel6x16 = func() func(k int, a, b, c *float32) {
	if hasAVX2FMA() {
		return sgemmKernel6x16
	}
	return nil
}()
