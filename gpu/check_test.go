package gpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestOpChecksRun runs every op check on the Host backend twice: the
// checks must be deterministic for a seed, or comparing two backends
// would mean nothing, and each must produce output.
func TestOpChecksRun(t *testing.T) {
	results, err := CompareOps(Host{}, Host{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(OpChecks()) {
		t.Fatalf("%d results for %d checks", len(results), len(OpChecks()))
	}
	for _, r := range results {
		if !r.OK || r.RelErr != 0 {
			t.Errorf("%s: Host against itself differs by %g", r.Name, r.RelErr)
		}
	}
	for _, c := range OpChecks() {
		out, err := c.Run(Host{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil || len(out) == 0 {
			t.Errorf("%s: %d outputs, error %v", c.Name, len(out), err)
		}
	}
}

// Backends that are Host but for one op, each wrong the way a kernel can
// be: off by a rounding-sized amount, a row missed, an update dropped.
type (
	layerNormOff      struct{ Host }
	layerNormFixedEps struct{ Host }
	geluNoErf         struct{ Host }
	geluGradNoDensity struct{ Host }
	maxSimLastMiss    struct{ Host }
	adamWNoUpdate     struct{ Host }
)

func (b layerNormOff) LayerNorm(y, xhat, rstd, x, r, g, bias *Buf, rows, d int, eps float64) {
	b.Host.LayerNorm(y, xhat, rstd, x, r, g, bias, rows, d, eps)
	y.host[0] += 1e-2
}

// LayerNorm keeps the epsilon of 1e-5 that the kernel once hard-coded.
func (b layerNormFixedEps) LayerNorm(y, xhat, rstd, x, r, g, bias *Buf, rows, d int, _ float64) {
	b.Host.LayerNorm(y, xhat, rstd, x, r, g, bias, rows, d, 1e-5)
}

// GELU loses its erf term: 0.5 x.
func (geluNoErf) GELU(y, x *Buf) {
	for i, v := range x.host {
		y.host[i] = 0.5 * v
	}
}

// GELUGrad loses the x φ(x) term of the slope.
func (geluGradNoDensity) GELUGrad(dy, x *Buf) {
	for i, v := range x.host {
		dy.host[i] *= float32(0.5 * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

func (b maxSimLastMiss) MaxSim(scores *Buf, argmax *IBuf, sims, weight, bias *Buf, bt, ft, bi, fi int) {
	b.Host.MaxSim(scores, argmax, sims, weight, bias, bt, ft, bi, fi)
	scores.host[len(scores.host)-1] = 0
}

func (adamWNoUpdate) AdamW(w, g, m, v, acc *Buf, s AdamStep) {}

// TestOpChecksCatchWrongOps shows that the comparison the GPU check runs
// on each CUDA kernel fails a wrong op, and only the checks that use it.
func TestOpChecksCatchWrongOps(t *testing.T) {
	for _, tt := range []struct {
		name  string
		be    Backend
		wrong map[string]bool
	}{
		{"LayerNorm off by 1e-2 in one value", layerNormOff{}, map[string]bool{"layernorm": true, "layernorm_eps": true}},
		{"LayerNorm ignores its epsilon", layerNormFixedEps{}, map[string]bool{"layernorm_eps": true}},
		{"GELU without erf", geluNoErf{}, map[string]bool{"gelu": true}},
		{"GELU's slope without x φ(x)", geluGradNoDensity{}, map[string]bool{"gelu_grad": true}},
		{"MaxSim misses the last pair", maxSimLastMiss{}, map[string]bool{"maxsim": true}},
		{"AdamW drops the update", adamWNoUpdate{}, map[string]bool{"adamw": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			results, err := CompareOps(Host{}, tt.be, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.OK == tt.wrong[r.Name] {
					t.Errorf("%s: OK %v (relative error %.2g)", r.Name, r.OK, r.RelErr)
				}
			}
		})
	}
}
