package models

//go:noescape
func adamwKernel(n int, w, grad, m, v *float32, c *adamwConsts)

// adamwSIMD is the vectorised AdamW update (optim_amd64.s), nil where the
// CPU lacks AVX: it updates a prefix of a multiple of 4 elements and
// adamwGo does the rest.
var adamwSIMD = func() func(n int, w, g, m, v *float32, c *adamwConsts) {
	if hasAVX2FMA() {
		return adamwKernel
	}
	return nil
}()
