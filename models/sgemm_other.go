//go:build !amd64

package models

// kernel6x16 is the micro-kernel; there is none outside amd64, where
// sgemm falls back to gonum.
var kernel6x16 func(k int, a, b, c *float32)

func hasAVX512() bool { return false }
