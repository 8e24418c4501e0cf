//go:build !amd64

package models

// maxArgRowsSIMD is the vectorised column max and argmax; there is none
// outside amd64, where maxArgRowsGo does all of it.
var maxArgRowsSIMD func(n, rows int, p *float32, stride int, bias, best *float32, arg *int32)
