package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestSchedules runs the schedule sweep at a toy size: four chains and
// fast, three KD temperatures and two more losses on the direct chain.
func TestSchedules(t *testing.T) {
	if n := exptest.Run(t, experiment()); n != 4+3+2 {
		t.Errorf("%d trials, want 9", n)
	}
}
