// Package exptest runs an experiment of experiments/ end to end at a toy
// size, so that each experiment's test checks its declaration (chains,
// axes, keys) without the cost of its real sizes.
package exptest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/inflateshrink/inflateshrink/framework"
	"github.com/inflateshrink/inflateshrink/framework/store"
)

// Run trains every trial of e for one epoch of a small model on
// "synthetic-small", one seed, into a temporary database, and fails t
// unless every trial finished. It returns the number of trials.
func Run(t *testing.T, e framework.Experiment) int {
	t.Helper()
	e.Dataset = "synthetic-small"
	e.Sweep.Seeds = []int64{1}
	c := &e.Base
	c.Dim, c.FFDim = 16, 32
	c.Train.BatchSize, c.Train.Epochs, c.Train.DecayEpoch, c.Train.WarmupEpochs = 16, 1, 1, 0
	c.Cross.Epochs = 0 // a cascade's cross encoder trains for the one epoch too
	for _, trial := range e.Trials() {
		if err := trial.Validate(); err != nil {
			t.Fatalf("%s: trial %s: %v", e.Name, trial.Model, err)
		}
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sum, err := (&framework.Runner{DB: db}).Run(context.Background(), e)
	if err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	if sum.Failed != 0 || sum.Trained != sum.Trials || sum.Trials != len(e.Trials()) {
		t.Errorf("%s: %+v, want all %d trials trained", e.Name, sum, len(e.Trials()))
	}
	return sum.Trials
}
