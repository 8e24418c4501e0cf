package models

//go:noescape
func maxArgRowsKernel(n, rows int, p *float32, stride int, bias, best *float32, arg *int32)

//go:noescape
func axpyKernel(n int, a float32, x, y *float32)

// The AVX2 column max and argmax and float32 axpy
// (fused_maxsim_amd64.s), nil where the CPU lacks AVX2.
var (
	maxArgRowsSIMD func(n, rows int, p *float32, stride int, bias, best *float32, arg *int32)
	axpySIMD       func(n int, a float32, x, y *float32)
)

func init() {
	if hasAVX2FMA() {
		maxArgRowsSIMD, axpySIMD = maxArgRowsKernel, axpyKernel
	}
}
