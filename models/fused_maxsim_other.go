//go:build !amd64

package models

// The vectorised column max and argmax and float32 axpy: there are none
// outside amd64, where maxArgRowsGo and gonum do all of it.
var (
	maxArgRowsSIMD func(n, rows int, p *float32, stride int, bias, best *float32, arg *int32)
	axpySIMD       func(n int, a float32, x, y *float32)
)
