//go:build !amd64

package models

// expSIMD is the vectorised softmax exponential; there is none outside
// amd64.
var expSIMD func(n int, x *float32, m float32) int
