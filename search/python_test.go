package search

import (
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/pytorch"
	"github.com/inflateshrink/inflateshrink/models"
)

// TestSafetensorsInPyTorch: tools/safetensors_check.py loads the export
// into its PyTorch module and reproduces Go's tokens, fragments and
// scores to 1e-5, for the trained model and for every way of keeping
// fragments, padding and sharing layers. It skips where torch is not
// installed (Debian: apt-get install python3-torch).
func TestSafetensorsInPyTorch(t *testing.T) {
	py, ok := pytorch.Python()
	if !ok {
		t.Skip(pytorch.SkipMessage)
	}
	script, err := filepath.Abs(filepath.Join("..", "tools", "safetensors_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	trainedCkpt, _ := trained(t)
	data := &Loader{}
	ds, err := data.Get(testData)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGallery(testData, data)
	if err != nil {
		t.Fatal(err)
	}
	v := datasets.BuildVocab(ds.Train.Captions)
	regions := max(ds.Train.MaxRegions(), ds.Test.MaxRegions())
	base := models.Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 16, Heads: 2, MaxRegions: regions, SharedLayers: true, Padding: models.PadKeep}
	with := func(f func(*models.Config)) models.Config { c := base; f(&c); return c }
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  models.Config // zero: the trained model
	}{
		{name: "trained base"},
		{name: "base", cfg: with(func(c *models.Config) { c.Keep = models.KeepTokens })},
		{name: "inflated", cfg: with(func(c *models.Config) { c.TextCodes, c.ImageCodes = 4, 3 })},
		{name: "fast", cfg: with(func(c *models.Config) { c.Keep = models.KeepFirst })},
		{name: "codes only, separate layers, two of them", cfg: with(func(c *models.Config) {
			c.Keep, c.TextCodes, c.ImageCodes, c.SharedLayers, c.Layers, c.Padding = models.KeepCodes, 2, 2, false, 2, models.PadMask
		})},
		{name: "padding included", cfg: with(func(c *models.Config) { c.Keep, c.Padding, c.Heads = models.KeepTokens, models.PadInclude, 4 })},
		{name: "BERT's GELU and epsilon", cfg: with(func(c *models.Config) { c.Activation, c.LayerNormEps = models.ActGELU, 1e-12 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ckpt := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".ckpt")
			if tc.cfg.VocabSize == 0 {
				ckpt = copyFile(t, trainedCkpt, t.TempDir())
			} else {
				m, err := models.New(tc.cfg, rand.New(rand.NewPCG(7, 8)))
				if err != nil {
					t.Fatal(err)
				}
				m.Vocab = v
				if err := m.Save(ckpt); err != nil {
					t.Fatal(err)
				}
			}
			m, err := Load(Source{Checkpoint: ckpt}, "", data)
			if err != nil {
				t.Fatal(err)
			}
			model, pairs := filepath.Join(dir, tc.name+".safetensors"), filepath.Join(dir, tc.name+".pairs.safetensors")
			if err := Export(m, model); err != nil {
				t.Fatal(err)
			}
			if err := ExportPairs(m, g, 6, pairs); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(py, script, model, pairs).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK: PyTorch reproduces") {
				t.Errorf("%s %s: %v\n%s", filepath.Base(script), tc.name, err, out)
			} else {
				t.Logf("%s", out)
			}
		})
	}
}
