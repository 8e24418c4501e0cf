package models

//go:noescape
func divKernel(n int, x *float32, s float32)

//go:noescape
func lnGradKernel(n int, row, xh *float32, m1, m2, sd float32)

//go:noescape
func affineKernel(n int, y, x, gain, b *float32)

//go:noescape
func reluKernel(n int, y *float32)

//go:noescape
func reluGradKernel(n int, d, y, grad *float32)

// The LayerNorm loops and the ReLU and its gradient, eight elements at a
// time (fused_layers_amd64.s); nil where the CPU lacks AVX2.
var (
	divSIMD      func(n int, x *float32, s float32)
	affineSIMD   func(n int, y, x, gain, b *float32)
	lnGradSIMD   func(n int, row, xh *float32, m1, m2, sd float32)
	reluSIMD     func(n int, y *float32)
	reluGradSIMD func(n int, d, y, grad *float32)
)

func init() {
	if hasAVX2FMA() {
		divSIMD, affineSIMD, lnGradSIMD = divKernel, affineKernel, lnGradKernel
		reluSIMD, reluGradSIMD = reluKernel, reluGradKernel
	}
}
