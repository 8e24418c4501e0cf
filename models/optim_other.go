//go:build !amd64

package models

// adamwSIMD is the vectorised AdamW update; there is none outside amd64,
// where adamwGo does all of it.
var adamwSIMD func(n int, w, g, m, v *float32, c *adamwConsts)
