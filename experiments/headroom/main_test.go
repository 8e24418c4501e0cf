package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestHeadroom runs the sweep at a toy size, where every variant becomes
// the toy data set: base and fast, and four variants of the real size.
func TestHeadroom(t *testing.T) {
	e := experiment()
	if len(e.Sweep.Sets) != len(variants) || len(e.Sweep.Seeds) < 3 {
		t.Fatalf("%d variants over %d seeds, want %d over at least 3", len(e.Sweep.Sets), len(e.Sweep.Seeds), len(variants))
	}
	if n := exptest.Run(t, e); n != 2 {
		t.Errorf("%d trials, want 2 (base and fast)", n)
	}
}
