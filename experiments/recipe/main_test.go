package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/framework"
	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestRecipe: every variant is a valid change of the default config, each
// one departure (every earlier choice aside), and the sweep runs at a toy
// size: base and fast under the authors' recipe and each variant, and the
// inflated chain under three of them.
func TestRecipe(t *testing.T) {
	e := experiment()
	base := framework.DefaultConfig()
	for _, v := range ours(base) {
		c := base
		for _, a := range v.set {
			var err error
			if c, err = c.Set(a); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
		if c.Hash() == base.Hash() {
			t.Errorf("%s changes nothing", v.name)
		}
	}
	want := 2*(1+len(ours(base))) + 3*3
	if n := exptest.Run(t, e); n != want {
		t.Errorf("%d trials, want %d", n, want)
	}
}
