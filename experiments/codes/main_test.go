package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestCodes runs the codes sweep at a toy size: base (k = 0), seven k on
// both sides, and text-only and image-only at two k.
func TestCodes(t *testing.T) {
	if n := exptest.Run(t, experiment()); n != 1+7+2*2 {
		t.Errorf("%d trials, want 12", n)
	}
}
