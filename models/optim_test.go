package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdamWKernelMatchesGo: the SIMD update gives the bits of adamwGo's
// element-by-element update, on lengths that leave every tail size, with
// and without decay, and on values from zero to large gradients.
func TestAdamWKernelMatchesGo(t *testing.T) {
	if adamwSIMD == nil {
		t.Skip("no SIMD AdamW kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	random := func(n int, scale float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * scale * math.Pow(10, float64(rng.IntN(7)-3)))
		}
		return x
	}
	tests := []struct {
		name  string
		n     int
		decay float64
	}{
		{"empty", 0, 0},
		{"shorter than a vector", 3, 0.01},
		{"one vector", 4, 0},
		{"vectors and a tail of 1", 9, 0.01},
		{"vectors and a tail of 2", 14, 0},
		{"vectors and a tail of 3", 1003, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := adamwConsts{scale: 0.37, b1: 0.9, omb1: 1 - 0.9, b2: 0.999, omb2: 1 - 0.999,
				c1: 1 - math.Pow(0.9, 3), c2: 1 - math.Pow(0.999, 3), eps: 1e-8, decay: tt.decay, lr: 1e-3}
			w, g, m := random(tt.n, 1), random(tt.n, 1e-2), random(tt.n, 1e-3)
			v := random(tt.n, 1e-6)
			for i := range v {
				v[i] = float32(math.Abs(float64(v[i])))
			}
			if tt.n > 0 {
				g[0], m[0], v[0] = 0, 0, 0 // an untouched row
			}
			w2, g2, m2, v2 := slices.Clone(w), slices.Clone(g), slices.Clone(m), slices.Clone(v)
			adamw(w, g, m, v, &c)
			adamwGo(w2, g2, m2, v2, &c)
			for _, x := range []struct {
				what      string
				got, want []float32
			}{{"w", w, w2}, {"g", g, g2}, {"m", m, m2}, {"v", v, v2}} {
				for i := range x.got {
					if math.Float32bits(x.got[i]) != math.Float32bits(x.want[i]) {
						t.Fatalf("%s[%d] = %v (SIMD), %v (Go)", x.what, i, x.got[i], x.want[i])
					}
				}
			}
			for i, x := range g {
				if x != 0 {
					t.Fatalf("g[%d] = %v, not zeroed", i, x)
				}
			}
		})
	}
}

// BenchmarkAdamW times one optimiser step over SpeedConfig's parameters
// (4.7M floats, every matrix decayed), the elementwise work that follows
// every training step.
func BenchmarkAdamW(b *testing.B) {
	m, err := New(SpeedConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	weights, grads, matrix := map[string][]float32{}, map[string][]float32{}, map[string]bool{}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range m.Params.Names() {
		weights[name] = m.Params.Data(name)
		grads[name] = make([]float32, len(weights[name]))
		matrix[name] = len(m.Params.Tensor(name).Shape()) >= 2
	}
	fill := func() {
		for _, g := range grads {
			for i := range g {
				g[i] = float32(rng.NormFloat64()) * 1e-3
			}
		}
	}
	opt := &AdamW{WeightDecay: 1e-4, ClipNorm: 2}
	for b.Loop() {
		b.StopTimer()
		fill()
		b.StartTimer()
		opt.Step(1e-3, weights, grads, matrix, m.Params.Names())
	}
}

// TestSumSquares4MatchesSumSquares: interleaved sums give each slice's
// in-order sum exactly, for equal and unequal lengths.
func TestSumSquares4MatchesSumSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-4)))
		}
		return x
	}
	tests := []struct {
		name string
		lens [4]int
	}{
		{"equal", [4]int{1000, 1000, 1000, 1000}},
		{"unequal", [4]int{1000, 1000, 7, 0}},
	}
	for _, tt := range tests {
		var g [4][]float32
		for j, n := range tt.lens {
			g[j] = random(n)
		}
		sq := make([]float64, 4)
		sumSquares4(g[0], g[1], g[2], g[3], sq)
		for j := range g {
			var want float64
			for _, x := range g[j] {
				want += float64(x) * float64(x)
			}
			if sq[j] != want {
				t.Errorf("%s: slice %d: %v, in order %v", tt.name, j, sq[j], want)
			}
		}
	}
}
