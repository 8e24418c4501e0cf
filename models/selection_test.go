package models

import (
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// scripted is a Validation whose score after each epoch is given, and
// which keeps a copy of the model's weights at every validation.
type scripted struct {
	scores    map[int]float64 // by epoch; a missing epoch scores NaN
	validated []int
	weights   map[int]map[string][]float32
}

func (s *scripted) validation(m *Model, every, patience int) *Validation {
	s.weights = map[int]map[string][]float32{}
	return &Validation{Every: every, Patience: patience, Score: func(epoch, step int) (float64, error) {
		s.validated = append(s.validated, epoch)
		w := map[string][]float32{}
		for _, name := range m.Params.Names() {
			w[name] = slices.Clone(m.Params.Data(name))
		}
		s.weights[epoch] = w
		score, ok := s.scores[epoch]
		if !ok {
			return math.NaN(), nil
		}
		return score, nil
	}}
}

// TestValidationChoosesTheBestEpoch: Train leaves the weights of the best
// validated epoch in the model, validates every Every epochs and the last,
// stops when Patience validations in a row do not improve, and never
// prefers a NaN score to a real one.
func TestValidationChoosesTheBestEpoch(t *testing.T) {
	ds, v := tinyData(t)
	for _, tc := range []struct {
		name            string
		scores          map[int]float64
		every, patience int
		validated       []int
		chosen, trained int
	}{
		{"best in the middle", map[int]float64{1: 0.5, 2: 2, 3: 1, 4: 1.5}, 1, 0, []int{1, 2, 3, 4}, 2, 4},
		{"last is best", map[int]float64{1: 0.5, 2: 2, 3: 1, 4: 3}, 1, 0, []int{1, 2, 3, 4}, 4, 4},
		{"ties keep the earlier", map[int]float64{1: 1, 2: 1, 3: 1, 4: 1}, 1, 0, []int{1, 2, 3, 4}, 1, 4},
		{"every other epoch and the last", map[int]float64{2: 1, 4: 0.5, 5: 0.7}, 2, 0, []int{2, 4, 5}, 2, 5},
		{"patience stops early", map[int]float64{1: 0.5, 2: 2, 3: 1, 4: 1.5}, 1, 2, []int{1, 2, 3, 4}, 2, 4},
		{"patience 1", map[int]float64{1: 0.5, 2: 2, 3: 1, 4: 3}, 1, 1, []int{1, 2, 3}, 2, 3},
		{"NaN first, then a score", map[int]float64{2: 0.1}, 1, 0, []int{1, 2, 3}, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(t, ds, v, 0, KeepTokens)
			epochs := slices.Max(slices.Collect(maps.Keys(tc.scores)))
			if tc.name == "NaN first, then a score" {
				epochs = 3
			}
			var sc scripted
			sc.scores = tc.scores
			s := TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: epochs, Validation: sc.validation(m, tc.every, tc.patience)}
			stats, err := Train(context.Background(), m, &ds.Train, v, Hinge{Margin: 0.2}, s, rand.New(rand.NewPCG(1, 1)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sc.validated, tc.validated) {
				t.Errorf("validated after epochs %v, want %v", sc.validated, tc.validated)
			}
			if stats.SelectedEpoch != tc.chosen || stats.Epochs != tc.trained || stats.Steps != tc.trained*(64/16) {
				t.Errorf("chose epoch %d of %d trained (%d steps), want %d of %d", stats.SelectedEpoch, stats.Epochs, stats.Steps, tc.chosen, tc.trained)
			}
			for _, name := range m.Params.Names() {
				if !slices.Equal(m.Params.Data(name), sc.weights[tc.chosen][name]) {
					t.Errorf("parameter %s is not the chosen epoch's", name)
					break
				}
			}
			if epochs > 1 && maps.EqualFunc(sc.weights[tc.validated[0]], sc.weights[tc.validated[len(tc.validated)-1]], slices.Equal[[]float32]) {
				t.Error("the weights did not change between validations: the choice is empty")
			}
		})
	}
}

// TestResumeKeepsTheChoice: a validated training stopped after any epoch
// and resumed ends with the weights, choice and epoch count of one never
// stopped, early stop included.
func TestResumeKeepsTheChoice(t *testing.T) {
	ds, v := tinyData(t)
	scores := map[int]float64{1: 0.5, 2: 2, 3: 1, 4: 1.5, 5: 0.1}
	train := func(m *Model, resume *TrainState, checkpoint func(TrainState) error) (TrainStats, error) {
		var sc scripted
		sc.scores = scores
		s := TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 5, DecayEpoch: 3,
			Validation: sc.validation(m, 1, 2), Resume: resume, Checkpoint: checkpoint}
		return Train(context.Background(), m, &ds.Train, v, Hinge{Margin: 0.2}, s, rand.New(rand.NewPCG(5, 6)), nil)
	}
	want := tinyModel(t, ds, v, 0, KeepTokens)
	full, err := train(want, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full.Epochs != 4 || full.SelectedEpoch != 2 {
		t.Fatalf("uninterrupted: chose %d after %d epochs, want 2 after 4 (early stop)", full.SelectedEpoch, full.Epochs)
	}
	crash := errors.New("crash")
	for stopAfter := 1; stopAfter <= 4; stopAfter++ {
		var saved TrainState
		_, err := train(tinyModel(t, ds, v, 0, KeepTokens), nil, func(st TrainState) error {
			saved = cloneState(st)
			if st.Epoch == stopAfter {
				return crash
			}
			return nil
		})
		if !errors.Is(err, crash) {
			t.Fatalf("stop after epoch %d: %v", stopAfter, err)
		}
		fresh, err := New(want.Config, rand.New(rand.NewPCG(99, 99)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := train(fresh, &saved, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Epochs != full.Epochs || got.SelectedEpoch != full.SelectedEpoch || got.Steps != full.Steps {
			t.Errorf("stop after epoch %d: resumed to %+v, uninterrupted %+v", stopAfter, got, full)
		}
		for _, name := range want.Params.Names() {
			if !slices.Equal(fresh.Params.Data(name), want.Params.Data(name)) {
				t.Errorf("stop after epoch %d: parameter %s differs from the uninterrupted training", stopAfter, name)
				break
			}
		}
	}
}
