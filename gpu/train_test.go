package gpu

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
)

// lossLog records every step's loss.
type lossLog []float64

func (l *lossLog) LogStep(_ int, v map[string]float64) error {
	*l = append(*l, v["loss"])
	return nil
}

// smallSplit is the first n training images of synthetic-small with their
// captions, and the vocabulary.
func smallSplit(t *testing.T, n int) (*datasets.Split, *datasets.Vocab, int) {
	t.Helper()
	ds, err := datasets.Load("synthetic-small")
	if err != nil {
		t.Fatal(err)
	}
	s := &datasets.Split{Images: ds.Train.Images[:n]}
	for c, img := range ds.Train.CaptionImage {
		if img < n {
			s.Captions = append(s.Captions, ds.Train.Captions[c])
			s.CaptionImage = append(s.CaptionImage, img)
		}
	}
	return s, datasets.BuildVocab(ds.Train.Captions), ds.RegionDim
}

// TestTrainMatchesModels trains the same model from the same seed with
// models.Train and with Train on the Host backend: the loss curves agree
// step by step (the warm-up's InfoNCE, then the hinge), with ReLU and with
// BERT's GELU and LayerNorm epsilon.
func TestTrainMatchesModels(t *testing.T) {
	split, vocab, regionDim := smallSplit(t, 48)
	base := models.Config{VocabSize: vocab.Size(), RegionDim: regionDim, Dim: 16, Heads: 2, FFDim: 32, MaxTextLen: 10, MaxRegions: 8, TextCodes: 2, ImageCodes: 2}
	bert := base
	bert.Activation, bert.LayerNormEps = models.ActGELU, 1e-12
	settings := models.TrainSettings{Batches: datasets.ByImage, BatchSize: 8, Epochs: 4, DecayEpoch: 3}
	for _, tc := range []struct {
		name string
		c    models.Config
	}{{"relu", base}, {"gelu, eps 1e-12", bert}} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(train func(m *models.Model, rng *rand.Rand, log *lossLog) error) lossLog {
				m, err := models.New(tc.c, rand.New(rand.NewPCG(5, 6)))
				if err != nil {
					t.Fatal(err)
				}
				var log lossLog
				if err := train(m, rand.New(rand.NewPCG(7, 8)), &log); err != nil {
					t.Fatal(err)
				}
				return log
			}
			want := run(func(m *models.Model, rng *rand.Rand, log *lossLog) error {
				_, err := models.Train(context.Background(), m, split, vocab, &models.Warmup{Epochs: 2, Then: models.Hinge{Margin: 0.2}}, settings, rng, log)
				return err
			})
			got := run(func(m *models.Model, rng *rand.Rand, log *lossLog) error {
				_, err := Train(context.Background(), Host{}, m, split, vocab, Objective{FirstStage: models.FirstStageSettings{Margin: 0.2, WarmupEpochs: 2}}, settings, rng, log)
				return err
			})
			if len(got) != len(want) || len(want) != 24 {
				t.Fatalf("%d steps, models.Train took %d (want 24)", len(got), len(want))
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-3*math.Abs(want[i]) {
					t.Errorf("step %d: loss %.6f, models.Train %.6f", i+1, got[i], want[i])
				}
			}
		})
	}
}

// TestTrainResumes checks that a training stopped after an epoch and
// resumed from its checkpoint ends exactly where an uninterrupted one does.
func TestTrainResumes(t *testing.T) {
	split, vocab, regionDim := smallSplit(t, 32)
	c := models.Config{VocabSize: vocab.Size(), RegionDim: regionDim, Dim: 8, Heads: 2, MaxTextLen: 8, MaxRegions: 6, TextCodes: 1, ImageCodes: 1}
	settings := models.TrainSettings{Batches: datasets.ByImage, BatchSize: 8, Epochs: 3}
	train := func(s models.TrainSettings) (*models.Model, lossLog) {
		m, err := models.New(c, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		var log lossLog
		if _, err := Train(context.Background(), Host{}, m, split, vocab, Objective{FirstStage: models.FirstStageSettings{Margin: 0.2}}, s, rand.New(rand.NewPCG(2, 2)), &log); err != nil {
			t.Fatal(err)
		}
		return m, log
	}
	var saved *models.TrainState
	first := settings
	first.Checkpoint = func(st models.TrainState) error {
		if st.Epoch == 1 {
			cp := st
			cp.Params = map[string][]float32{}
			for k, v := range st.Params {
				cp.Params[k] = append([]float32(nil), v...)
			}
			saved = &cp
		}
		return nil
	}
	whole, wantLog := train(first)
	if saved == nil {
		t.Fatal("no checkpoint after epoch 1")
	}
	second := settings
	second.Resume = saved
	resumed, gotLog := train(second)
	if got, want := gotLog[len(gotLog)-1], wantLog[len(wantLog)-1]; got != want {
		t.Errorf("final loss %v after resuming, %v without", got, want)
	}
	for _, name := range whole.Params.Names() {
		if rel, ok := closeTo(resumed.Params.Data(name), whole.Params.Data(name), 0, 1e-12); !ok {
			t.Errorf("parameter %s differs by %.3g after resuming", name, rel)
		}
	}
}

// TestTrainValidates: with a Validation, Train on the Host backend
// validates the weights as trained so far (written back into the model
// before each validation), keeps the best epoch's and stops early as
// models.Train does.
func TestTrainValidates(t *testing.T) {
	split, vocab, regionDim := smallSplit(t, 32)
	c := models.Config{VocabSize: vocab.Size(), RegionDim: regionDim, Dim: 8, Heads: 2, MaxTextLen: 8, MaxRegions: 6}
	m, err := models.New(c, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	scores := map[int]float64{1: 1, 2: 3, 3: 2, 4: 2.5, 5: 9}
	seen := map[int][]float32{} // the token embeddings at each validation
	v := &models.Validation{Patience: 2, Score: func(epoch, _ int) (float64, error) {
		seen[epoch] = append([]float32(nil), m.Params.Data("text.tok")...)
		return scores[epoch], nil
	}}
	s := models.TrainSettings{Batches: datasets.ByImage, BatchSize: 8, Epochs: 5, Validation: v}
	stats, err := Train(context.Background(), Host{}, m, split, vocab, Objective{FirstStage: models.FirstStageSettings{Margin: 0.2}}, s, rand.New(rand.NewPCG(2, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.SelectedEpoch != 2 || stats.Epochs != 4 || len(seen) != 4 {
		t.Fatalf("chose epoch %d after %d epochs (%d validations), want 2 after 4 (early stop)", stats.SelectedEpoch, stats.Epochs, len(seen))
	}
	if rel, ok := closeTo(m.Params.Data("text.tok"), seen[2], 0, 1e-12); !ok {
		t.Errorf("the model's weights are not epoch 2's (differ by %.3g)", rel)
	}
	if rel, _ := closeTo(seen[1], seen[2], 0, 1e-12); rel == 0 {
		t.Error("the weights validated after epochs 1 and 2 are equal: Train did not write them back")
	}
}
