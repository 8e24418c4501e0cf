package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestCodes runs the codes sweep at a toy size: base (k = 0), four k on
// both sides, and text-only and image-only at one k.
func TestCodes(t *testing.T) {
	if n := exptest.Run(t, experiment()); n != 1+4+2 {
		t.Errorf("%d trials, want 7", n)
	}
}
