package main

import (
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/framework"
	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestExperiment: the authors' sizes on f30k, every model of the paper's
// table and its ends; the sweep runs at a toy size.
func TestExperiment(t *testing.T) {
	e := experiment()
	c := e.Base
	if e.Dataset != "f30k" || c.Dim != 768 || c.Heads != 12 || c.Layers != 3 || c.FFDim != 3072 || !c.SharedLayers ||
		c.MaxTextLen != 32 || c.MaxRegions != 32 || c.Codes != 32 ||
		c.Train.BatchSize != 128 || c.Train.Epochs != 40 || c.Train.DecayEpoch != 20 {
		t.Errorf("%s on %s: %+v, want the authors' sizes", e.Name, e.Dataset, c)
	}
	if !slices.Equal(e.Sweep.Models, framework.PaperModels()) || len(e.Sweep.Seeds) < 3 {
		t.Errorf("models %v, seeds %v", e.Sweep.Models, e.Sweep.Seeds)
	}
	if n := exptest.Run(t, e); n != len(e.Sweep.Models) {
		t.Errorf("%d trials, want one per model", n)
	}
}
