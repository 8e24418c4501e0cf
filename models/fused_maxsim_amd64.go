package models

//go:noescape
func maxArgRowsKernel(n, rows int, p *float32, stride int, bias, best *float32, arg *int32)

// maxArgRowsSIMD is the AVX2 column max and argmax (fused_maxsim_amd64.s),
// nil where the CPU lacks AVX2.
var maxArgRowsSIMD = func() func(n, rows int, p *float32, stride int, bias, best *float32, arg *int32) {
	if hasAVX2FMA() {
		return maxArgRowsKernel
	}
	return nil
}()
