package models

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
)

func tinyData(t *testing.T) (*datasets.Dataset, *datasets.Vocab) {
	t.Helper()
	ds, err := datasets.Synthetic(datasets.SyntheticSettings{TrainImages: 64, ValImages: 8, TestImages: 20, MinObjects: 3, MaxObjects: 5})
	if err != nil {
		t.Fatal(err)
	}
	return ds, datasets.BuildVocab(ds.Train.Captions)
}

func tinyModel(t *testing.T, ds *datasets.Dataset, v *datasets.Vocab, codes int, keep Keep) *Model {
	t.Helper()
	return tinyModelWith(t, ds, v, codes, keep, nil)
}

// tinyModelWith is tinyModel with its config changed by edit (if not nil)
// before the weights are drawn.
func tinyModelWith(t *testing.T, ds *datasets.Dataset, v *datasets.Vocab, codes int, keep Keep, edit func(*Config)) *Model {
	t.Helper()
	c := Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 16, MaxRegions: 5, MaxTextLen: 16,
		TextCodes: codes, ImageCodes: codes, Keep: keep}
	if edit != nil {
		edit(&c)
	}
	m, err := New(c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type lossLog []float64

func (l *lossLog) LogStep(_ int, v map[string]float64) error { *l = append(*l, v["loss"]); return nil }

// TestTrainingFitsASmallSet: on 64 images, training lowers the hinge loss
// for each way of keeping fragments.
func TestTrainingFitsASmallSet(t *testing.T) {
	ds, v := tinyData(t)
	for _, keep := range []Keep{KeepAll, KeepTokens, KeepFirst, KeepCodes} {
		t.Run(string(keep), func(t *testing.T) {
			m := tinyModel(t, ds, v, 2, keep)
			var losses lossLog
			_, err := Train(context.Background(), m, &ds.Train, v, Hinge{Margin: 0.2},
				TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 40, DecayEpoch: 40}, rand.New(rand.NewPCG(3, 4)), &losses)
			if err != nil {
				t.Fatal(err)
			}
			first, last := mean(losses[:8]), mean(losses[len(losses)-8:])
			if !(last < 0.8*first) {
				t.Errorf("loss went from %.4f to %.4f; want a 20%% drop", first, last)
			}
		})
	}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// nanObjective makes the loss NaN, to check that training stops on it.
type nanObjective struct{}

func (nanObjective) Loss(s *G.Node) (*G.Node, error) {
	return G.Sqrt(G.Must(G.Sub(G.Must(G.Mul(G.Must(G.Sum(s)), G.NewConstant(float32(0)))), G.NewConstant(float32(1)))))
}
func (nanObjective) Prepare(datasets.Batch, int) error { return nil }

func TestTrainStopsOnNonFiniteLoss(t *testing.T) {
	ds, v := tinyData(t)
	m := tinyModel(t, ds, v, 0, KeepTokens)
	var losses lossLog
	stats, err := Train(context.Background(), m, &ds.Train, v, nanObjective{}, TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 1}, rand.New(rand.NewPCG(1, 1)), &losses)
	if err == nil || stats.Steps != 1 {
		t.Fatalf("err %v after %d steps, want an error at step 1", err, stats.Steps)
	}
	if len(losses) != 1 || !math.IsNaN(losses[0]) {
		t.Errorf("logged %v, want the NaN step recorded", losses)
	}
}

// TestScoreGalleryMatchesGraph: the plain-Go gallery scorer and the
// Gorgonia MaxSim of training agree on the same fragments and masks.
func TestScoreGalleryMatchesGraph(t *testing.T) {
	ds, v := tinyData(t)
	for _, keep := range []Keep{KeepAll, KeepTokens, KeepFirst, KeepCodes} {
		t.Run(string(keep), func(t *testing.T) {
			m := tinyModel(t, ds, v, 2, keep)
			const n = 8
			b := newBuilder(m)
			texts, tin, err := b.encodeText(n)
			if err != nil {
				t.Fatal(err)
			}
			images, iin, err := b.encodeImage(n)
			if err != nil {
				t.Fatal(err)
			}
			scores, err := MaxSim(texts, images, tin.weight, iin.fragBias)
			if err != nil {
				t.Fatal(err)
			}
			tb := datasets.PackTexts(v, ds.Test.Captions[:n], m.Config.MaxTextLen)
			ib := datasets.PackImages(ds.Test.Images[:n], m.Config.MaxRegions, m.Config.RegionDim)
			if _, err := m.feedText(tin, tb); err != nil {
				t.Fatal(err)
			}
			if _, err := m.feedImage(iin, ib); err != nil {
				t.Fatal(err)
			}
			machine := G.NewTapeMachine(b.g)
			defer machine.Close()
			if err := machine.RunAll(); err != nil {
				t.Fatal(err)
			}
			graph := scores.Value().Data().([]float32) // texts x images

			enc, err := NewEncoder(m, 5) // a chunk that does not divide n
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			tf, err := enc.EncodeTexts(v, ds.Test.Captions[:n])
			if err != nil {
				t.Fatal(err)
			}
			imf, err := enc.EncodeImages(ds.Test.Images[:n])
			if err != nil {
				t.Fatal(err)
			}
			gallery, err := ScoreGallery(tf, imf) // images x captions
			if err != nil {
				t.Fatal(err)
			}
			for ti := 0; ti < n; ti++ {
				for ii := 0; ii < n; ii++ {
					g, s := graph[ti*n+ii], gallery.Data[ii*n+ti]
					if math.Abs(float64(g-s)) > 1e-4 {
						t.Fatalf("text %d image %d: graph %v, gallery %v", ti, ii, g, s)
					}
				}
			}
		})
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	ds, v := tinyData(t)
	m := tinyModel(t, ds, v, 3, KeepAll)
	path := filepath.Join(t.TempDir(), "ck", "m.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != m.Config {
		t.Errorf("config %+v, want %+v", got.Config, m.Config)
	}
	for _, name := range m.Params.Names() {
		a, b := m.Params.Data(name), got.Params.Data(name)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, b[i], a[i])
			}
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.ckpt")); err == nil {
		t.Error("loading a missing checkpoint succeeded")
	}
}

// TestAdamWStep checks one step against the update computed by hand: with
// bias correction the first step moves each weight by lr*sign(g) (plus
// decay), and a clipped gradient keeps its direction.
func TestAdamWStep(t *testing.T) {
	w := map[string][]float32{"m": {1, -2}, "b": {0.5}}
	g := map[string][]float32{"m": {3, -4}, "b": {0}}
	opt := &AdamW{WeightDecay: 0.1, ClipNorm: 1}
	norm := opt.Step(0.01, w, g, map[string]bool{"m": true}, []string{"m", "b"})
	if norm != 5 {
		t.Errorf("norm %v, want 5", norm)
	}
	// m: w - lr*(sign(g) + decay*w) = 1 - 0.01*(1 + 0.1), -2 - 0.01*(-1 - 0.2)
	want := []float64{1 - 0.01*1.1, -2 + 0.01*1.2}
	for i, x := range w["m"] {
		if math.Abs(float64(x)-want[i]) > 1e-6 {
			t.Errorf("m[%d] = %v, want %v", i, x, want[i])
		}
	}
	if w["b"][0] != 0.5 {
		t.Errorf("a vector with zero gradient moved: %v (vectors take no decay)", w["b"][0])
	}
	if g["m"][0] != 0 || g["m"][1] != 0 {
		t.Error("gradients not zeroed")
	}
}

func TestConfigCounts(t *testing.T) {
	tests := []struct {
		name                  string
		keep                  Keep
		textCodes, imageCodes int
		text, image, inter    int
	}{
		{"inflated", KeepAll, 4, 4, 20, 21, 420},
		{"inflated text codes only", KeepAll, 4, 0, 20, 17, 340},
		{"inflated image codes only", KeepAll, 0, 4, 16, 21, 336},
		{"base with codes", KeepTokens, 4, 4, 16, 17, 272},
		{"base", KeepTokens, 0, 0, 16, 17, 272},
		{"fast", KeepFirst, 4, 4, 1, 1, 1},
		{"codes only", KeepCodes, 4, 4, 4, 4, 16},
		{"codes only, unequal", KeepCodes, 2, 8, 2, 8, 16},
	}
	for _, tt := range tests {
		c := Config{VocabSize: 10, RegionDim: 8, Dim: 32, MaxTextLen: 16, MaxRegions: 16, TextCodes: tt.textCodes, ImageCodes: tt.imageCodes, Keep: tt.keep}.WithDefaults()
		if c.TextFragments() != tt.text || c.ImageFragments() != tt.image || c.Interactions() != tt.inter || c.IndexFloats() != tt.image*32 {
			t.Errorf("%s: %d x %d = %d, index %d", tt.name, c.TextFragments(), c.ImageFragments(), c.Interactions(), c.IndexFloats())
		}
	}
	bad := []Config{
		{VocabSize: 10, RegionDim: 8, Dim: 30, Heads: 4},
		{VocabSize: 10, RegionDim: 8, Keep: "2"},
		{VocabSize: 10, RegionDim: 8, Padding: "left"},
		{VocabSize: 0, RegionDim: 8},
		{VocabSize: 10, RegionDim: 8, TextCodes: -1},
		{VocabSize: 10, RegionDim: 8, TextCodes: 4, Keep: KeepCodes},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v validated", c)
		}
	}
}

// TestAdamWSameOnAnyCoreCount: the parallel step gives bit-identical
// weights whatever GOMAXPROCS is, over parameters larger than one span.
func TestAdamWSameOnAnyCoreCount(t *testing.T) {
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		rng := rand.New(rand.NewPCG(5, 6))
		w := map[string][]float32{"big": make([]float32, 3*adamChunk+7), "b": make([]float32, 5)}
		g := map[string][]float32{"big": make([]float32, 3*adamChunk+7), "b": make([]float32, 5)}
		opt := &AdamW{WeightDecay: 0.01, ClipNorm: 1}
		for range 3 {
			for _, name := range []string{"big", "b"} {
				for i := range g[name] {
					g[name][i] = float32(rng.NormFloat64())
				}
			}
			opt.Step(1e-2, w, g, map[string]bool{"big": true}, []string{"big", "b"})
		}
		return append(w["big"], w["b"]...)
	}
	one, four := run(1), run(4)
	for i := range one {
		if one[i] != four[i] {
			t.Fatalf("weight %d: %v on 1 core, %v on 4", i, one[i], four[i])
		}
	}
}

// TestPaddingMasks works out the masks of one caption of 2 tokens (of 4,
// plus a code) and one image of 1 region (of 3, after [CLS]) by hand for
// each padding mode: PadMask hides pads from attention and the score,
// PadKeep from attention only (the authors'), PadInclude from neither.
func TestPaddingMasks(t *testing.T) {
	const o = maskOff
	c := Config{VocabSize: 5, RegionDim: 2, MaxTextLen: 4, MaxRegions: 3, TextCodes: 1}
	for _, tc := range []struct {
		mode                                  PadMode
		textBias, textWeight                  []float32
		imageBias, imageFragBias, imageScored []float32
	}{
		{PadMask,
			[]float32{0, 0, o, o, 0}, []float32{1, 1, 0, 0, 1},
			[]float32{0, 0, o, o}, []float32{0, 0, o, o}, []float32{1, 1, 0, 0}},
		{PadKeep,
			[]float32{0, 0, o, o, 0}, []float32{1, 1, 1, 1, 1},
			[]float32{0, 0, o, o}, []float32{0, 0, 0, 0}, []float32{1, 1, 1, 1}},
		{PadInclude,
			[]float32{0, 0, 0, 0, 0}, []float32{1, 1, 1, 1, 1},
			[]float32{0, 0, 0, 0}, []float32{0, 0, 0, 0}, []float32{1, 1, 1, 1}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			c.Padding = tc.mode
			bias, weight := TextMasks(c, []int{2})
			if !slices.Equal(bias, tc.textBias) || !slices.Equal(weight, tc.textWeight) {
				t.Errorf("text: attention bias %v, fragment weight %v; want %v, %v", bias, weight, tc.textBias, tc.textWeight)
			}
			ib, fb, scored := ImageMasks(c, []int{1})
			if !slices.Equal(ib, tc.imageBias) || !slices.Equal(fb, tc.imageFragBias) || !slices.Equal(scored, tc.imageScored) {
				t.Errorf("image: attention bias %v, fragment bias %v, scored %v; want %v, %v, %v", ib, fb, scored, tc.imageBias, tc.imageFragBias, tc.imageScored)
			}
		})
	}
}

// TestCheckpointDamaged: a checkpoint changed after it was written, in its
// parameters or by truncation, is refused with its path.
func TestCheckpointDamaged(t *testing.T) {
	ds, v := tinyData(t)
	m := tinyModel(t, ds, v, 3, KeepAll)
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func([]byte) []byte{
		"a flipped bit in the last parameter": func(b []byte) []byte { b[len(b)-60] ^= 0x10; return b },
		"truncated":                           func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, damage(slices.Clone(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("damaged checkpoint: err %v, want an error naming %s", err, path)
			}
		})
	}
}
