package models

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// cloneState deep-copies a state, as a checkpoint written to disk would.
func cloneState(s TrainState) TrainState {
	deep := func(m map[string][]float32) map[string][]float32 {
		out := map[string][]float32{}
		for k, v := range m {
			out[k] = slices.Clone(v)
		}
		return out
	}
	s.Params, s.M, s.V, s.Selected.Params = deep(s.Params), deep(s.M), deep(s.V), deep(s.Selected.Params)
	return s
}

// TestResumeMatchesUninterrupted: a training stopped after each of its
// epochs and resumed from the state of that epoch ends with exactly the
// weights of a training never stopped. The warm-up and the learning-rate
// decay both depend on the epoch, so a resume at the wrong epoch, a lost
// optimiser moment or a different batch order would change the weights.
func TestResumeMatchesUninterrupted(t *testing.T) {
	ds, v := tinyData(t)
	const epochs = 3
	settings := TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: epochs, DecayEpoch: 2}
	objective := func() Objective { return &Warmup{Epochs: 1, Then: Hinge{Margin: 0.2}} }
	batchRNG := func() *rand.Rand { return rand.New(rand.NewPCG(5, 6)) }

	want := tinyModel(t, ds, v, 2, KeepAll)
	full, err := Train(context.Background(), want, &ds.Train, v, objective(), settings, batchRNG(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for stopAfter := 1; stopAfter < epochs; stopAfter++ {
		m := tinyModel(t, ds, v, 2, KeepAll)
		var saved TrainState
		crash := errors.New("crash")
		s := settings
		s.Checkpoint = func(st TrainState) error {
			saved = cloneState(st)
			if st.Epoch == stopAfter {
				return crash
			}
			return nil
		}
		if _, err := Train(context.Background(), m, &ds.Train, v, objective(), s, batchRNG(), nil); !errors.Is(err, crash) {
			t.Fatalf("stop after epoch %d: err %v, want the checkpoint's error", stopAfter, err)
		}
		if saved.Epoch != stopAfter {
			t.Fatalf("stop after epoch %d: saved state of epoch %d", stopAfter, saved.Epoch)
		}
		// A fresh model of another seed: every weight must come from the state.
		fresh, err := New(m.Config, rand.New(rand.NewPCG(99, 99)))
		if err != nil {
			t.Fatal(err)
		}
		s = settings
		s.Resume = &saved
		stats, err := Train(context.Background(), fresh, &ds.Train, v, objective(), s, batchRNG(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Steps != full.Steps || stats.FinalLoss != full.FinalLoss {
			t.Errorf("stop after epoch %d: resumed to step %d, loss %v; uninterrupted: step %d, loss %v",
				stopAfter, stats.Steps, stats.FinalLoss, full.Steps, full.FinalLoss)
		}
		for _, name := range want.Params.Names() {
			if !slices.Equal(fresh.Params.Data(name), want.Params.Data(name)) {
				t.Errorf("stop after epoch %d: parameter %s differs from the uninterrupted training", stopAfter, name)
			}
		}
	}
}

func TestResumeRejectsForeignState(t *testing.T) {
	ds, v := tinyData(t)
	m := tinyModel(t, ds, v, 0, KeepTokens)
	var saved TrainState
	settings := TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 1, Checkpoint: func(s TrainState) error { saved = cloneState(s); return nil }}
	if _, err := Train(context.Background(), m, &ds.Train, v, Hinge{}, settings, rand.New(rand.NewPCG(1, 1)), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(s *TrainState)
	}{
		{"epoch beyond the training", func(s *TrainState) { s.Epoch, s.Step = 5, 5*s.Step }},
		{"step not at an epoch end", func(s *TrainState) { s.Step++ }},
		{"parameter of the wrong size", func(s *TrainState) { s.Params["text.tok"] = s.Params["text.tok"][1:] }},
		{"missing moments", func(s *TrainState) { s.M = map[string][]float32{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := cloneState(saved)
			st.Params = maps.Clone(st.Params)
			tc.spoil(&st)
			s := TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 1, Resume: &st}
			if _, err := Train(context.Background(), m, &ds.Train, v, Hinge{}, s, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
				t.Error("Train resumed from a state that does not fit")
			}
		})
	}
}
