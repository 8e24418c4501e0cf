package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestPaper runs both halves of the comparison at a toy size.
func TestPaper(t *testing.T) {
	es := experiments()
	if len(es) != 2 || es[0].Name == es[1].Name || es[0].Dataset == es[1].Dataset {
		t.Fatalf("want two experiments on two data sets, got %+v", es)
	}
	for _, e := range es {
		if len(e.Sweep.Seeds) < 5 {
			t.Errorf("%s: %d seeds, want at least 5 (issue 11: seed-aware comparisons)", e.Name, len(e.Sweep.Seeds))
		}
		if n := exptest.Run(t, e); n != len(e.Sweep.Models) {
			t.Errorf("%s: %d trials, want one per model", e.Name, n)
		}
	}
}
