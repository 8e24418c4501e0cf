package models

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGELUValues: the fused and the composed GELU give, in float64, the
// values and slopes of x Φ(x) computed by hand (Φ(1) = 0.8413447460685429,
// φ(1) = 0.24197072451914337, and so on).
func TestGELUValues(t *testing.T) {
	x := []float64{1, -1, 0, 2, -3}
	wantY := []float64{0.8413447460685429, -0.15865525393145707, 0, 1.9544997361036416, -0.00404969409489031}
	wantSlope := []float64{1.0833154705876864, -0.08331547058768629, 0.5, 1.085231801078197, -0.01194564720418392}
	for _, tc := range []struct {
		name string
		f    func(*G.Node) (*G.Node, error)
	}{{"fused", fusedGELU}, {"composed", GELU}} {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			in := G.NewVector(g, tensor.Float64, G.WithShape(len(x)), G.WithName("x"),
				G.WithValue(tensor.New(tensor.WithShape(len(x)), tensor.WithBacking(append([]float64(nil), x...)))))
			y, err := tc.f(in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := G.Grad(G.Must(G.Sum(y)), in); err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g, G.BindDualValues(in))
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			dx, err := in.Grad()
			if err != nil {
				t.Fatal(err)
			}
			gotY, gotSlope := y.Value().Data().([]float64), dx.Data().([]float64)
			for i := range x {
				if math.Abs(gotY[i]-wantY[i]) > 1e-15 || math.Abs(gotSlope[i]-wantSlope[i]) > 1e-15 {
					t.Errorf("gelu(%v) = %v with slope %v, want %v and %v", x[i], gotY[i], gotSlope[i], wantY[i], wantSlope[i])
				}
			}
		})
	}
}

// TestBuilderFollowsConfig: a model's feed-forward activation and LayerNorm
// epsilon are its config's, in the fused graph and in the composed one,
// and a linear layer without activation has none. The LayerNorm rows are
// +-1e-4 (variance 1e-8), where an epsilon of 1e-5 scales the output 30
// times below one of 1e-12, so that a graph that kept the old constant
// fails.
func TestBuilderFollowsConfig(t *testing.T) {
	x := []float32{1, -1, 0}
	tiny := []float32{1e-4, -1e-4, 1e-4, -1e-4}
	params := &Params{tensors: map[string]*tensor.Dense{
		"ff.w": tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float32{1, 0, 0, 0, 1, 0, 0, 0, 1})),
		"ff.b": tensor.New(tensor.WithShape(3), tensor.WithBacking(make([]float32, 3))),
		"ln.g": tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, 1, 1, 1})),
		"ln.b": tensor.New(tensor.WithShape(4), tensor.WithBacking(make([]float32, 4))),
	}}
	// run evaluates one builder step on a row of its own graph (Gorgonia
	// may overwrite any value but the output's).
	run := func(m *Model, row []float32, step func(b *builder, in *G.Node) (*G.Node, error)) []float32 {
		t.Helper()
		b := newBuilder(m)
		in := G.NewMatrix(b.g, tensor.Float32, G.WithShape(1, len(row)), G.WithName("in"),
			G.WithValue(tensor.New(tensor.WithShape(1, len(row)), tensor.WithBacking(append([]float32(nil), row...)))))
		out, err := step(b, in)
		if err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(b.g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return out.Value().Data().([]float32)
	}
	for _, tc := range []struct {
		name       string
		cfg        Config
		activated  []float64
		normalised float64 // |LayerNorm(tiny)|: 1e-4 / sqrt(1e-8 + eps)
	}{
		{"defaults", Config{}, []float64{1, 0, 0}, 1e-4 / math.Sqrt(1e-8+1e-5)},
		{"relu, eps 1e-5", Config{Activation: ActReLU, LayerNormEps: 1e-5}, []float64{1, 0, 0}, 1e-4 / math.Sqrt(1e-8+1e-5)},
		{"gelu, eps 1e-12", Config{Activation: ActGELU, LayerNormEps: 1e-12}, []float64{0.8413447460685429, -0.15865525393145707, 0}, 1e-4 / math.Sqrt(1e-8+1e-12)},
	} {
		for _, composed := range []bool{false, true} {
			m := &Model{Config: tc.cfg, Params: params, Composed: composed}
			act := run(m, x, func(b *builder, in *G.Node) (*G.Node, error) { return b.linear(in, "ff.", true) })
			plain := run(m, x, func(b *builder, in *G.Node) (*G.Node, error) { return b.linear(in, "ff.", false) })
			ln := run(m, tiny, func(b *builder, in *G.Node) (*G.Node, error) {
				return b.layerNorm(in, nil, "ln.", b.m.Config.embedNormEps("text"))
			})
			for i, v := range act {
				if math.Abs(float64(v)-tc.activated[i]) > 1e-7 {
					t.Errorf("%s, composed %v: activation of %v = %v, want %v", tc.name, composed, x[i], v, tc.activated[i])
				}
				if plain[i] != x[i] {
					t.Errorf("%s, composed %v: the linear layer without activation gave %v for %v", tc.name, composed, plain[i], x[i])
				}
			}
			for i, v := range ln {
				want := math.Copysign(tc.normalised, float64(tiny[i]))
				if math.Abs(float64(v)-want) > 1e-4*math.Abs(want) {
					t.Errorf("%s, composed %v: LayerNorm of %v = %v, want %v", tc.name, composed, tiny[i], v, want)
				}
			}
		}
	}
}

// TestConfigActivationAndEps: the defaults, and what Validate refuses.
func TestConfigActivationAndEps(t *testing.T) {
	if c := (Config{}).WithDefaults(); c.Activation != ActReLU || c.LayerNormEps != 1e-5 {
		t.Errorf("defaults: activation %q, LayerNorm epsilon %g; want relu and 1e-5", c.Activation, c.LayerNormEps)
	}
	ok := Config{VocabSize: 10, RegionDim: 8}
	for _, c := range []Config{ok, {VocabSize: 10, RegionDim: 8, Activation: ActGELU, LayerNormEps: 1e-12}} {
		if err := c.Validate(); err != nil {
			t.Errorf("config %+v: %v", c, err)
		}
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Activation = "swish" }, `models: unknown Activation "swish"`},
		{func(c *Config) { c.Activation = "GELU" }, `models: unknown Activation "GELU"`},
		{func(c *Config) { c.LayerNormEps = -1e-12 }, "models: LayerNormEps must be positive"},
		{func(c *Config) { c.LayerNormEps = math.NaN() }, "models: LayerNormEps must be positive"},
		{func(c *Config) { c.LayerNormEps = math.Inf(1) }, "models: LayerNormEps must be positive"},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("config %+v: error %v, want one starting %q", c, err, tc.want)
		}
	}
}

// TestCheckpointActivation: a GELU model's activation and epsilon are
// saved with it; a checkpoint written before the config had them loads
// as the model it was, ReLU with an epsilon of 1e-5.
func TestCheckpointActivation(t *testing.T) {
	ds, v := tinyData(t)
	dir := t.TempDir()
	gelu := tinyModelWith(t, ds, v, 0, KeepAll, func(c *Config) { c.Activation, c.LayerNormEps = ActGELU, 1e-12 })
	path := filepath.Join(dir, "gelu.ckpt")
	if err := gelu.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != gelu.Config {
		t.Errorf("config %+v, want %+v", got.Config, gelu.Config)
	}

	old := tinyModel(t, ds, v, 0, KeepAll)
	path = filepath.Join(dir, "old.ckpt")
	if err := writeCheckpointBeforeActivation(old, path); err != nil {
		t.Fatal(err)
	}
	if got, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if got.Config != old.Config || got.Config.Activation != ActReLU || got.Config.LayerNormEps != 1e-5 {
		t.Errorf("config %+v, want %+v (relu, 1e-5)", got.Config, old.Config)
	}
}

// writeCheckpointBeforeActivation writes m as Save did before Config had
// Activation and LayerNormEps.
func writeCheckpointBeforeActivation(m *Model, path string) error {
	type config struct {
		VocabSize, RegionDim, Dim, Heads, Layers, FFDim int
		MaxTextLen, MaxRegions, TextCodes, ImageCodes   int
		Keep                                            Keep
		Padding                                         PadMode
		SharedLayers                                    bool
	}
	c := m.Config
	return writeOldCheckpoint(m, config{c.VocabSize, c.RegionDim, c.Dim, c.Heads, c.Layers, c.FFDim,
		c.MaxTextLen, c.MaxRegions, c.TextCodes, c.ImageCodes, c.Keep, c.Padding, c.SharedLayers}, path)
}
