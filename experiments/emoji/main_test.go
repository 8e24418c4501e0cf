package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestEmoji: every tokenisation names a registered data set, emoji-small
// tries them all and emoji the candidates, and the sweep (base and fast
// on each and under the earlier recipe, and three baselines) runs at a
// toy size on synthetic data, where the tokenisations become one trial
// per model and the earlier recipe another.
func TestEmoji(t *testing.T) {
	for i, e := range experiments() {
		tokenisations := []int{len(imagetok.Variants), len(Candidates)}[i]
		for _, tr := range e.Trials() {
			if err := datasets.Check(tr.Dataset); err != nil {
				t.Errorf("%s: %v", e.Name, err)
			}
		}
		if n, want := len(e.Trials()), 2*(1+tokenisations)+2+3; n != want {
			t.Errorf("%s: %d trials, want %d", e.Name, n, want)
		}
		e.Transfer = nil // Tux Paint need not be set up here
		if n := exptest.Run(t, e); n != 4+3 {
			t.Errorf("%s: %d trials at the toy size, want 7", e.Name, n)
		}
	}
}
