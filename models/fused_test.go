package models

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/gradcheck"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFusedOpGradients checks every fused op's gradient against central
// finite differences in float64.
func TestFusedOpGradients(t *testing.T) {
	tests := []gradCase{
		{"Linear", []gradcheck.Input{{Shape: []int{3, 4}}, {Shape: []int{4, 2}}, {Shape: []int{2}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLinear(in[0], in[1], in[2], false, true) }},
		{"LinearReLU", []gradcheck.Input{{Shape: []int{5, 4}}, {Shape: []int{4, 3}}, {Shape: []int{3}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLinear(in[0], in[1], in[2], true, true) }},
		{"GELU", []gradcheck.Input{{Shape: []int{5, 3}}},
			func(in []*G.Node) (*G.Node, error) { return fusedGELU(in[0]) }},
		{"LinearGELU", []gradcheck.Input{{Shape: []int{5, 4}}, {Shape: []int{4, 3}}, {Shape: []int{3}}},
			func(in []*G.Node) (*G.Node, error) {
				return fusedGELU(G.Must(fusedLinear(in[0], in[1], in[2], false, true)))
			}},
		{"LinearNoInputGrad", []gradcheck.Input{{Shape: []int{3, 4}, Constant: true}, {Shape: []int{4, 2}}, {Shape: []int{2}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLinear(in[0], in[1], in[2], false, false) }},
		{"LayerNorm", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLayerNorm(in[0], nil, in[1], in[2], 1e-5) }},
		{"LayerNormResidual", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLayerNorm(in[0], in[1], in[2], in[3], 1e-5) }},
		{"LayerNormEps1e-12", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) { return fusedLayerNorm(in[0], in[1], in[2], in[3], 1e-12) }},
		{"KeepNormalize", []gradcheck.Input{{Shape: []int{2 * 3, 4}}},
			func(in []*G.Node) (*G.Node, error) { return fusedKeepNormalize(in[0], 2, 3, 0, 2) }},
		{"KeepNormalizeFromSlot", []gradcheck.Input{{Shape: []int{2 * 4, 3}}},
			func(in []*G.Node) (*G.Node, error) { return fusedKeepNormalize(in[0], 2, 4, 2, 2) }},
		{"Slots", []gradcheck.Input{{Shape: []int{2 * 3, 4}}, {Shape: []int{3, 4}}, {Shape: []int{2, 4}}},
			func(in []*G.Node) (*G.Node, error) {
				return fusedSlots(2, 4, []slotPart{{node: in[0], rows: 3}, {node: in[1], rows: 3, shared: true, add: true}, {node: in[2], rows: 2, shared: true}})
			}},
		{"Attention", append([]gradcheck.Input{{Shape: []int{2 * 3, 4}}}, attentionInputs(4)...),
			func(in []*G.Node) (*G.Node, error) {
				return fusedAttention(in[0], 2, 3, 2, AttentionWeights{in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]}, in[9])
			}},
		{"AttentionUnmasked", append([]gradcheck.Input{{Shape: []int{2 * 3, 4}}}, attentionInputs(4)[:8]...),
			func(in []*G.Node) (*G.Node, error) {
				return fusedAttention(in[0], 2, 3, 2, AttentionWeights{in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]}, nil)
			}},
		{"MaxSim", maskedMaxSimInputs(), onNormalised(fusedMaxSim)},
		{"MaxSimUnmasked", []gradcheck.Input{{Shape: []int{3, 2, 4}}, {Shape: []int{2, 4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return fusedMaxSim(in[0], in[1], nil, nil) }},
		// A plain sum's gradient does not depend on the op's output: the
		// backward ops that read state kept by the forward pass must still
		// run after it.
		{"MaxSimSum", []gradcheck.Input{{Shape: []int{3, 2, 4}}, {Shape: []int{2, 4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return G.Sum(G.Must(fusedMaxSim(in[0], in[1], nil, nil))) }},
		{"LayerNormSum", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) {
				return G.Sum(G.Must(fusedLayerNorm(in[0], nil, in[1], in[2], 1e-5)))
			}},
		{"AttentionCoreSum", []gradcheck.Input{{Shape: []int{2 * 3, 4}}, {Shape: []int{2 * 3, 4}}, {Shape: []int{2 * 3, 4}}},
			func(in []*G.Node) (*G.Node, error) {
				return G.Sum(G.Must(attentionCore(in[0], in[1], in[2], 2, 3, 2, nil)))
			}},
	}
	checkGradients(t, tests)
}

// TestFusedMatchesComposed: in float32, each fused op and its composed
// reference agree in value and in every input's gradient, on shapes large
// enough to cross the fused kernels' blocks and parallel splits. The
// tolerance is float32 rounding of sums of a few hundred terms; the
// float64 gradient checks above are the exact test of the maths.
func TestFusedMatchesComposed(t *testing.T) {
	const tol = 1e-4
	const batch, slots, heads, d = 9, 5, 2, 8
	bias := make([]float64, batch*slots)
	weight := make([]float64, 40*3)
	for i := range bias {
		if i%slots == 4 && i%3 == 0 {
			bias[i] = maskOff
		}
	}
	for i := range weight {
		weight[i] = float64(i % 2)
	}
	type pair struct{ fused, composed gradcheck.Func }
	attn := func(f func(*G.Node, int, int, int, AttentionWeights, *G.Node) (*G.Node, error)) gradcheck.Func {
		return func(in []*G.Node) (*G.Node, error) {
			return f(in[0], batch, slots, heads, AttentionWeights{in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]}, in[9])
		}
	}
	var attnIn []Input32
	attnIn = append(attnIn, Input32{Shape: []int{batch * slots, d}})
	for range 4 {
		attnIn = append(attnIn, Input32{Shape: []int{d, d}}, Input32{Shape: []int{d}})
	}
	attnIn = append(attnIn, Input32{Shape: []int{batch, slots}, Values: bias, Constant: true})
	tests := []struct {
		name   string
		inputs []Input32
		f      pair
	}{
		{"LayerNormResidual", []Input32{{Shape: []int{7, d}}, {Shape: []int{7, d}}, {Shape: []int{d}}, {Shape: []int{d}}}, pair{
			func(in []*G.Node) (*G.Node, error) { return fusedLayerNorm(in[0], in[1], in[2], in[3], 1e-5) },
			func(in []*G.Node) (*G.Node, error) { return LayerNorm(G.Must(G.Add(in[0], in[1])), in[2], in[3], 1e-5) }}},
		{"LayerNormResidualEps1e-12", []Input32{{Shape: []int{7, d}}, {Shape: []int{7, d}}, {Shape: []int{d}}, {Shape: []int{d}}}, pair{
			func(in []*G.Node) (*G.Node, error) { return fusedLayerNorm(in[0], in[1], in[2], in[3], 1e-12) },
			func(in []*G.Node) (*G.Node, error) {
				return LayerNorm(G.Must(G.Add(in[0], in[1])), in[2], in[3], 1e-12)
			}}},
		{"LinearReLU", []Input32{{Shape: []int{70, d}}, {Shape: []int{d, 12}}, {Shape: []int{12}}}, pair{
			func(in []*G.Node) (*G.Node, error) { return fusedLinear(in[0], in[1], in[2], true, true) },
			func(in []*G.Node) (*G.Node, error) { return G.Rectify(G.Must(Linear(in[0], in[1], in[2]))) }}},
		{"LinearGELU", []Input32{{Shape: []int{70, d}}, {Shape: []int{d, 12}}, {Shape: []int{12}}}, pair{
			func(in []*G.Node) (*G.Node, error) {
				return fusedGELU(G.Must(fusedLinear(in[0], in[1], in[2], false, true)))
			},
			func(in []*G.Node) (*G.Node, error) { return GELU(G.Must(Linear(in[0], in[1], in[2]))) }}},
		{"Attention", attnIn, pair{attn(fusedAttention), attn(Attention)}},
		{"MaxSim", []Input32{{Shape: []int{40, 3, d}}, {Shape: []int{70, 4, d}}, {Shape: []int{40, 3}, Values: weight, Constant: true}}, pair{
			func(in []*G.Node) (*G.Node, error) { return fusedMaxSim(in[0], in[1], in[2], nil) },
			func(in []*G.Node) (*G.Node, error) { return maxSimComposed(in[0], in[1], in[2], nil) }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv, fg := run32(t, tt.f.fused, tt.inputs)
			cv, cg := run32(t, tt.f.composed, tt.inputs)
			if e := maxRelDiff(fv, cv); e > tol {
				t.Errorf("values differ by %.3g", e)
			}
			for i := range fg {
				if e := maxRelDiff(fg[i], cg[i]); e > tol {
					t.Errorf("gradient of input %d differs by %.3g", i, e)
				}
			}
		})
	}
}

// Input32 is a float32 input of run32: its shape, fixed values (nil draws
// N(0, 1)) and whether it is differentiated.
type Input32 struct {
	Shape    []int
	Values   []float64
	Constant bool
}

// run32 evaluates f in float32 on inputs drawn from a fixed seed and
// returns its output and the gradients of a fixed random weighting of the
// output with respect to the non-constant inputs.
func run32(t *testing.T, f gradcheck.Func, inputs []Input32) ([]float32, [][]float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	g := G.NewGraph()
	var nodes, learn G.Nodes
	for i, in := range inputs {
		n := 1
		for _, s := range in.Shape {
			n *= s
		}
		v := make([]float32, n)
		for j := range v {
			if in.Values != nil {
				v[j] = float32(in.Values[j])
			} else {
				v[j] = float32(rng.NormFloat64())
			}
		}
		node := G.NewTensor(g, tensor.Float32, len(in.Shape), G.WithShape(in.Shape...), G.WithName(string(rune('a'+i))),
			G.WithValue(tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(v))))
		nodes = append(nodes, node)
		if !in.Constant {
			learn = append(learn, node)
		}
	}
	out, err := f(nodes)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float32, out.Shape().TotalSize())
	for j := range w {
		w[j] = float32(rng.NormFloat64())
	}
	wn := G.NewTensor(g, tensor.Float32, out.Dims(), G.WithShape(out.Shape()...), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(out.Shape()...), tensor.WithBacking(w))))
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, wn))))
	if _, err := G.Grad(loss, learn...); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(learn...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	value := append([]float32(nil), out.Value().Data().([]float32)...)
	var grads [][]float32
	for _, n := range learn {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
	}
	return value, grads
}

// maxRelDiff is the largest |a-b| / max(1, |a|, |b|).
func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		worst = max(worst, math.Abs(x-y)/max(1, math.Abs(x), math.Abs(y)))
	}
	return worst
}

// TestFusedTrainingMatchesComposed: the same model trained from the same
// seed with the fused ops and with the composed graph follows the same
// loss curve within float32 rounding (measured: 2e-7 relative over 12
// steps; the tolerance leaves room for other BLAS summation orders).
func TestFusedTrainingMatchesComposed(t *testing.T) {
	ds, v := tinyData(t)
	const steps = 12
	for _, tc := range []struct {
		name string
		keep Keep
		edit func(*Config)
	}{
		{"n+k", KeepAll, nil},
		// KeepCodes keeps slots that do not start at slot 0: the fused
		// keep and the composed slice must agree on which.
		{"codes", KeepCodes, nil},
		// BERT's block: GELU and LayerNorm's epsilon of 1e-12.
		{"gelu, eps 1e-12", KeepAll, func(c *Config) { c.Activation, c.LayerNormEps = ActGELU, 1e-12 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			curves := map[bool][]float64{}
			for _, composed := range []bool{false, true} {
				m := tinyModelWith(t, ds, v, 2, tc.keep, tc.edit)
				m.Composed = composed
				var losses lossLog
				obj := &Warmup{Epochs: 1, Then: Hinge{Margin: 0.2}}
				if _, err := Train(context.Background(), m, &ds.Train, v, obj, TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: steps / 4, DecayEpoch: 2}, rand.New(rand.NewPCG(3, 4)), &losses); err != nil {
					t.Fatal(err)
				}
				curves[composed] = losses
			}
			fused, composed := curves[false], curves[true]
			if len(fused) != steps || len(composed) != steps {
				t.Fatalf("%d and %d steps, want %d", len(fused), len(composed), steps)
			}
			for i := range fused {
				if d := math.Abs(fused[i]-composed[i]) / max(1, math.Abs(composed[i])); d > 1e-5 {
					t.Errorf("step %d: fused loss %.7f, composed %.7f", i+1, fused[i], composed[i])
				}
			}
			if fused[0] == fused[steps-1] {
				t.Error("the loss did not move: the comparison is empty")
			}
		})
	}
}

// TestMaxArgRowsKernelMatchesGo: the SIMD column max and argmax agree
// with maxArgRowsGo bit for bit, on widths that leave every tail size,
// with tied rows (the first wins) and NaNs (never win).
func TestMaxArgRowsKernelMatchesGo(t *testing.T) {
	if maxArgRowsSIMD == nil {
		t.Skip("no SIMD kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	tests := []struct {
		name       string
		rows, cols int
	}{
		{"one row", 1, 16},
		{"narrower than a vector", 5, 7},
		{"vectors only", 41, 64},
		{"vectors and a tail", 41, 291},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stride := tt.cols + 3 // rows need not be contiguous
			p := make([]float32, tt.rows*stride)
			for i := range p {
				p[i] = float32(rng.NormFloat64())
			}
			bias := make([]float32, tt.rows)
			for g := range bias {
				if rng.IntN(4) == 0 {
					bias[g] = maskOff
				}
			}
			if tt.rows > 2 {
				copy(p[2*stride:3*stride], p[1*stride:2*stride]) // rows 1 and 2 tie
				bias[2] = bias[1]
				p[5] = float32(math.NaN())
			}
			best, arg := make([]float32, tt.cols), make([]int32, tt.cols)
			wantBest, wantArg := make([]float32, tt.cols), make([]int32, tt.cols)
			maxArgRows(p, stride, bias, best, arg)
			maxArgRowsGo(p, stride, bias, wantBest, wantArg)
			for j := range best {
				if math.Float32bits(best[j]) != math.Float32bits(wantBest[j]) || arg[j] != wantArg[j] {
					t.Fatalf("column %d: max %v at row %d (SIMD), %v at row %d (Go)", j, best[j], arg[j], wantBest[j], wantArg[j])
				}
			}
		})
	}
}

// TestLayerNormRowKernelsMatchGo: the SIMD row loops of LayerNorm
// (division, gain and bias, input gradient) give the bits of the scalar
// loops, on lengths that leave every tail.
func TestLayerNormRowKernelsMatchGo(t *testing.T) {
	if divSIMD == nil {
		t.Skip("no SIMD kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{3, 8, 21, 256} {
		row, xh := make([]float32, n), make([]float32, n)
		for k := range row {
			row[k], xh[k] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		m1, m2, sd := float32(0.3), float32(-1.7), float32(0.61)
		got, want := append([]float32(nil), row...), make([]float32, n)
		divRow(got, sd)
		for k, v := range row {
			want[k] = v / sd
		}
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("divRow, n=%d, [%d]: %v, want %v", n, k, got[k], want[k])
			}
		}
		g, b := row, xh // any rows will do as gain and bias
		affineRow(got, xh, g, b)
		for k, v := range xh {
			want[k] = v*g[k] + b[k]
		}
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("affineRow, n=%d, [%d]: %v, want %v", n, k, got[k], want[k])
			}
		}
		copy(got, row)
		lnGradRow(got, xh, m1, m2, sd)
		for k, v := range row {
			want[k] = (v - m1 - xh[k]*m2) / sd
		}
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("lnGradRow, n=%d, [%d]: %v, want %v", n, k, got[k], want[k])
			}
		}
	}
}

// TestAxpyKernelMatchesGonum: the AVX axpy gives the bits of gonum's
// Saxpy, on lengths that leave every tail.
func TestAxpyKernelMatchesGonum(t *testing.T) {
	if axpySIMD == nil {
		t.Skip("no SIMD kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 8, 13, 256, 259} {
		x, y := make([]float32, n), make([]float32, n)
		for k := range x {
			x[k], y[k] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		want := append([]float32(nil), y...)
		gonum.Implementation{}.Saxpy(n, 0.37, x, 1, want, 1)
		axpy(float32(0.37), x, y)
		for k := range y {
			if math.Float32bits(y[k]) != math.Float32bits(want[k]) {
				t.Fatalf("n=%d, [%d]: %v, want %v", n, k, y[k], want[k])
			}
		}
	}
}

// TestSoftmaxKernelMatchesMathExp: the vectorised exponential of the
// attention softmax gives math.Exp's bits over its whole range, and
// rows with masked slots (exp underflows: math.Exp's own branch), a NaN
// and tails of every length give the scalar softmax's bits.
func TestSoftmaxKernelMatchesMathExp(t *testing.T) {
	if expSIMD == nil {
		t.Skip("no SIMD kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(rng.Float64()*1400 - 700)
		if i%4 == 0 {
			x[i] = float32(rng.NormFloat64() * 3) // the softmax's usual range
		}
	}
	got := append([]float32(nil), x...)
	if n := expSIMD(len(got), &got[0], 0); n != len(got) {
		t.Fatalf("kernel stopped at %d of %d in range", n, len(got))
	}
	for i, v := range x {
		if want := float32(math.Exp(float64(v))); math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("exp(%v) = %v, math.Exp %v", v, got[i], want)
		}
	}
	scalar := func(row []float32) {
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		var sum float32
		for k, v := range row {
			row[k] = float32(math.Exp(float64(v - m)))
			sum += row[k]
		}
		for k := range row {
			row[k] /= sum
		}
	}
	tests := []struct {
		name string
		row  func(n int) []float32
	}{
		{"plain", func(n int) []float32 { return random32(rng, n) }},
		{"masked slots", func(n int) []float32 {
			r := random32(rng, n)
			for k := 1; k < n; k += 3 {
				r[k] += maskOff
			}
			return r
		}},
		{"NaN", func(n int) []float32 {
			r := random32(rng, n)
			r[n/2] = float32(math.NaN())
			return r
		}},
	}
	for _, tt := range tests {
		for _, n := range []int{3, 4, 9, 36, 41} {
			row := tt.row(n)
			want := append([]float32(nil), row...)
			softmax(row)
			scalar(want)
			for k := range row {
				if math.Float32bits(row[k]) != math.Float32bits(want[k]) {
					t.Fatalf("%s, n=%d, [%d]: %v, scalar %v", tt.name, n, k, row[k], want[k])
				}
			}
		}
	}
}

func random32(rng *rand.Rand, n int) []float32 {
	r := make([]float32, n)
	for k := range r {
		r[k] = float32(rng.NormFloat64() * 4)
	}
	return r
}

// TestFusedEmbeddingMatchesByIndices: the fused embedding gives
// ByIndices' rows and exactly its table gradient (repeated ids summed in
// order), run after run on one machine as ids change, so that rows only
// the previous batch touched must be cleared; ids outside the vocabulary
// are an error naming the id.
func TestFusedEmbeddingMatchesByIndices(t *testing.T) {
	const vocab, d = 7, 5
	batches := [][]int{{1, 3, 3, 0, 6, 1}, {2, 2, 5, 4, 4, 2}, {0, 1, 2, 3, 4, 5}}
	rng := rand.New(rand.NewPCG(17, 18))
	table := make([]float64, vocab*d)
	weight := make([]float64, len(batches[0])*d)
	for i := range table {
		table[i] = rng.NormFloat64()
	}
	for i := range weight {
		weight[i] = rng.NormFloat64()
	}
	type result struct{ rows, grad []float64 }
	run := func(embed func(table, ids *G.Node) (*G.Node, error), ids [][]int) ([]result, error) {
		g := G.NewGraph()
		tn := G.NewMatrix(g, tensor.Float64, G.WithShape(vocab, d), G.WithName("table"),
			G.WithValue(tensor.New(tensor.WithShape(vocab, d), tensor.WithBacking(append([]float64(nil), table...)))))
		in := G.NewVector(g, tensor.Int, G.WithShape(len(ids[0])), G.WithName("ids"))
		w := G.NewMatrix(g, tensor.Float64, G.WithShape(len(ids[0]), d), G.WithName("w"),
			G.WithValue(tensor.New(tensor.WithShape(len(ids[0]), d), tensor.WithBacking(weight))))
		rows, err := embed(tn, in)
		if err != nil {
			return nil, err
		}
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(G.Must(G.Square(rows)), w))))
		grads, err := G.Grad(loss, tn)
		if err != nil {
			return nil, err
		}
		m := G.NewTapeMachine(g)
		defer m.Close()
		var out []result
		for _, b := range ids {
			if err := G.Let(in, tensor.New(tensor.WithShape(len(b)), tensor.WithBacking(append([]int(nil), b...)))); err != nil {
				return nil, err
			}
			if err := m.RunAll(); err != nil {
				return nil, err
			}
			out = append(out, result{append([]float64(nil), rows.Value().Data().([]float64)...), append([]float64(nil), grads[0].Value().Data().([]float64)...)})
			m.Reset()
		}
		return out, nil
	}
	got, err := run(fusedEmbedding, batches)
	if err != nil {
		t.Fatal(err)
	}
	want, err := run(func(table, ids *G.Node) (*G.Node, error) { return G.ByIndices(table, ids, 0) }, batches)
	if err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		for _, x := range []struct {
			what      string
			got, want []float64
		}{{"rows", got[b].rows, want[b].rows}, {"gradient", got[b].grad, want[b].grad}} {
			for i := range x.want {
				if x.got[i] != x.want[i] {
					t.Fatalf("batch %d: %s[%d] = %v, ByIndices %v", b, x.what, i, x.got[i], x.want[i])
				}
			}
		}
	}
	if _, err := run(fusedEmbedding, [][]int{{1, 2, vocab, 0, 0, 0}}); err == nil || !strings.Contains(err.Error(), "id 7") {
		t.Errorf("id outside the vocabulary: error %v, want one naming id 7", err)
	}
}

// TestReLUKernelsMatchGo: the SIMD ReLU keeps Go's max semantics (NaN
// stays NaN, -0 becomes +0) and the SIMD ReLU gradient reluGrad32's
// mask, on lengths that leave every tail.
func TestReLUKernelsMatchGo(t *testing.T) {
	if reluSIMD == nil {
		t.Skip("no SIMD kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, -1, 1, float32(math.Inf(-1))}
	for _, n := range []int{5, 8, 19, 256} {
		y, g := make([]float32, n), make([]float32, n)
		for k := range y {
			y[k], g[k] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			if k < len(special) {
				y[k] = special[k]
			}
		}
		got := append([]float32(nil), y...)
		relu(got)
		for k, v := range y {
			if want := max(v, 0); math.Float32bits(got[k]) != math.Float32bits(want) {
				t.Fatalf("relu, n=%d, [%d] of %v: %v, want %v", n, k, v, got[k], want)
			}
		}
		d := make([]float32, n)
		reluGrad32(d, got, g)
		for k := range d {
			want := g[k]
			if math.Float32bits(got[k]) == 0 {
				want = 0
			}
			if math.Float32bits(d[k]) != math.Float32bits(want) {
				t.Fatalf("reluGrad32, n=%d, [%d]: %v, want %v", n, k, d[k], want)
			}
		}
	}
}
