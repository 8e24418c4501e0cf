package gpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/distill"
	"github.com/inflateshrink/inflateshrink/models"
)

// tinyBatch returns a batch of n items of a small data set with captions
// and images of varying length, so that padding masks matter.
func tinyBatch(t *testing.T, c models.Config, n int) (datasets.Batch, *datasets.Vocab, *datasets.Dataset) {
	t.Helper()
	ds, err := datasets.Load("synthetic-small")
	if err != nil {
		t.Fatal(err)
	}
	vocab := datasets.BuildVocab(ds.Train.Captions)
	it, err := datasets.NewIterator(&ds.Train, vocab, datasets.ByImage, n, c.MaxTextLen, c.MaxRegions, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	return it.Next(), vocab, ds
}

// closeTo reports the largest difference between got and want relative
// to want's largest magnitude, and whether it is within tol. Magnitudes
// below floor count as floor: some gradients are zero in exact arithmetic
// (an attention key bias shifts every logit of a softmax row alike) and
// differ only by rounding.
func closeTo(got, want []float32, tol, floor float64) (float64, bool) {
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	rel := diff / max(scale, floor)
	return rel, len(got) == len(want) && rel <= tol
}

// TestNetMatchesGraph checks the step program on the Host backend against
// models' Gorgonia graph: the same loss and the same gradient of every
// parameter, for each shape option and loss.
func TestNetMatchesGraph(t *testing.T) {
	base := models.Config{Dim: 16, Heads: 2, FFDim: 24, MaxTextLen: 10, MaxRegions: 8, TextCodes: 3, ImageCodes: 2}
	hinge := Objective{FirstStage: models.FirstStageSettings{Margin: 0.2}}
	cases := []struct {
		name   string
		edit   func(*models.Config)
		obj    models.Objective
		ours   Objective
		epoch  int
		kdKeep models.Keep // with a teacher: the student's Keep
	}{
		{"hinge", nil, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"infonce warm-up", nil, &models.Warmup{Epochs: 1, Temperature: 0.1, Then: models.Hinge{Margin: 0.2}}, Objective{FirstStage: models.FirstStageSettings{Margin: 0.2, WarmupEpochs: 1, Temperature: 0.1}}, 0, ""},
		{"after warm-up", nil, &models.Warmup{Epochs: 1, Temperature: 0.1, Then: models.Hinge{Margin: 0.3}}, Objective{FirstStage: models.FirstStageSettings{Margin: 0.3, WarmupEpochs: 1}}, 1, ""},
		{"vse++", nil, models.VSE{Margin: 0.2}, Objective{FirstStage: models.FirstStageSettings{Loss: models.LossVSE, Margin: 0.2}}, 3, ""},
		{"infonce throughout", nil, models.Contrastive{Temperature: 0.05}, Objective{FirstStage: models.FirstStageSettings{Loss: models.LossInfoNCE, Temperature: 0.05}}, 4, ""},
		{"keep tokens", func(c *models.Config) { c.Keep = models.KeepTokens }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"dual encoder", func(c *models.Config) { c.Keep = models.KeepFirst }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"codes only", func(c *models.Config) { c.Keep = models.KeepCodes }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"padding included", func(c *models.Config) { c.Padding = models.PadInclude }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"padding kept", func(c *models.Config) { c.Padding = models.PadKeep }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"shared two layers", func(c *models.Config) { c.SharedLayers, c.Layers = true, 2 }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"no codes", func(c *models.Config) { c.TextCodes, c.ImageCodes = 0, 0 }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		// BERT's block: GELU, LayerNorm's epsilon of 1e-12, two layers.
		{"gelu, eps 1e-12", func(c *models.Config) { c.Activation, c.LayerNormEps, c.Layers = models.ActGELU, 1e-12, 2 }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		// An epsilon large enough to change every LayerNorm's output well
		// beyond the tolerance: the step program must pass the config's.
		{"eps 0.5", func(c *models.Config) { c.LayerNormEps = 0.5 }, models.Hinge{Margin: 0.2}, hinge, 0, ""},
		{"distil to base", nil, nil, Objective{}, 0, models.KeepTokens},
		{"distil to fast", nil, nil, Objective{}, 0, models.KeepFirst},
		{"hinge masked, mean", nil, models.Hinge{Margin: 0.6, MaskPositive: true, Reduction: models.ReduceMean},
			Objective{FirstStage: models.FirstStageSettings{Loss: models.LossHingeL8Masked, Margin: 0.6, Reduction: models.ReduceMean}}, 0, ""},
		{"vse++ mean", nil, models.VSE{Margin: 0.2, Reduction: models.ReduceMean}, Objective{FirstStage: models.FirstStageSettings{Loss: models.LossVSE, Margin: 0.2, Reduction: models.ReduceMean}}, 0, ""},
		{"infonce warm-up, mean", nil, &models.Warmup{Epochs: 1, Temperature: 0.1, Reduction: models.ReduceMean, Then: models.Hinge{Margin: 0.2}},
			Objective{FirstStage: models.FirstStageSettings{Margin: 0.2, WarmupEpochs: 1, Temperature: 0.1, Reduction: models.ReduceMean}}, 0, ""},
		{"distil to base, mean", nil, nil, Objective{Reduction: models.ReduceMean}, 0, models.KeepTokens},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.edit != nil {
				tc.edit(&c)
			}
			batch, vocab, ds := tinyBatch(t, c, 6)
			c.VocabSize, c.RegionDim = vocab.Size(), ds.RegionDim
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := models.New(c, rng)
			if err != nil {
				t.Fatal(err)
			}
			obj, ours := tc.obj, tc.ours
			if tc.kdKeep != "" {
				teacher := m
				sc := c
				sc.Keep = tc.kdKeep
				settings := distill.Settings{Reduction: tc.ours.Reduction}.WithDefaults(teacher.Config, sc)
				if m, _, err = distill.NewStudent(teacher, sc, settings, rng); err != nil {
					t.Fatal(err)
				}
				kd, err := distill.NewKD(teacher, m.Config, settings, 6)
				if err != nil {
					t.Fatal(err)
				}
				defer kd.Close()
				obj = kd
				ours = Objective{Teacher: teacher, TeacherScale: settings.TeacherTemp, StudentScale: settings.StudentTemp, Reduction: settings.Reduction}
			}
			wantLoss, want, err := models.Gradients(m, batch, obj, tc.epoch)
			if err != nil {
				t.Fatal(err)
			}
			net, err := NewNet(Host{}, m, 6)
			if err != nil {
				t.Fatal(err)
			}
			var teacher *Buf
			if ours.Teacher != nil {
				tn, err := NewNet(Host{}, ours.Teacher, 6)
				if err != nil {
					t.Fatal(err)
				}
				teacher = tn.scoresOf(t, batch)
			}
			if err := net.SetTexts(batch.Text); err != nil {
				t.Fatal(err)
			}
			if err := net.SetImages(batch.Image); err != nil {
				t.Fatal(err)
			}
			net.Forward(true)
			net.Backward(ours.Weights(tc.epoch), teacher)
			gotLoss, _, err := net.Loss()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(gotLoss-wantLoss) > 1e-4*max(1, math.Abs(wantLoss)) {
				t.Errorf("loss %v, graph %v", gotLoss, wantLoss)
			}
			got, err := net.Gradients()
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range m.Params.Names() {
				if rel, ok := closeTo(got[name], want[name], 2e-3, 1e-3); !ok {
					t.Errorf("gradient of %s differs from the graph's by %.3g of its scale", name, rel)
				}
			}
		})
	}
}

// scoresOf runs a forward pass of batch and returns the scores buffer.
func (n *Net) scoresOf(t *testing.T, batch datasets.Batch) *Buf {
	t.Helper()
	if err := n.SetTexts(batch.Text); err != nil {
		t.Fatal(err)
	}
	if err := n.SetImages(batch.Image); err != nil {
		t.Fatal(err)
	}
	n.Forward(false)
	return n.scores
}
