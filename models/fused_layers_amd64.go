package models

//go:noescape
func divKernel(n int, x *float32, s float32)

//go:noescape
func lnGradKernel(n int, row, xh *float32, m1, m2, sd float32)

// The LayerNorm loops bound by division, eight elements at a time
// (fused_layers_amd64.s); nil where the CPU lacks AVX2.
var (
	divSIMD    func(n int, x *float32, s float32)
	lnGradSIMD func(n int, row, xh *float32, m1, m2, sd float32)
)

func init() {
	if hasAVX2FMA() {
		divSIMD, lnGradSIMD = divKernel, lnGradKernel
	}
}
