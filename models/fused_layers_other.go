//go:build !amd64

package models

// The LayerNorm loops and the ReLU have no SIMD kernels outside amd64.
var (
	divSIMD      func(n int, x *float32, s float32)
	affineSIMD   func(n int, y, x, gain, b *float32)
	lnGradSIMD   func(n int, row, xh *float32, m1, m2, sd float32)
	reluSIMD     func(n int, y *float32)
	reluGradSIMD func(n int, d, y, grad *float32)
)
