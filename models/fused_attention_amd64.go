package models

//go:noescape
func expKernel(n int, x *float32, m float32) int

// expSIMD is the attention softmax's exponential, four at a time with
// math.Exp's own operations (fused_attention_amd64.s); nil where the CPU
// lacks AVX2 and FMA, whose absence also changes math.Exp's path.
var expSIMD = func() func(n int, x *float32, m float32) int {
	if hasAVX2FMA() {
		return expKernel
	}
	return nil
}()
