package models

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossAndGrad evaluates a loss of a square float64 score matrix s and
// returns its value and its gradient with respect to s.
func lossAndGrad(t *testing.T, s []float64, loss func(*G.Node) (*G.Node, error)) (float64, []float64) {
	t.Helper()
	n := int(math.Sqrt(float64(len(s))))
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(n, n), G.WithName("s"),
		G.WithValue(tensor.New(tensor.WithShape(n, n), tensor.WithBacking(append([]float64(nil), s...)))))
	out, err := loss(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(out, x); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(x))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	grad, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	return out.Value().Data().(float64), append([]float64(nil), grad.Data().([]float64)...)
}

// TestVSEHardestByHand checks VSE++ against hand-worked cases, including
// ties, where the first hardest negative alone takes the gradient.
func TestVSEHardestByHand(t *testing.T) {
	const sixth = 1.0 / 6
	tests := []struct {
		name   string
		s      []float64
		margin float64
		loss   float64
		grad   []float64 // nil: not checked
	}{
		{
			// rows: 0.2+0.9-1, 0.2+0.8-0.8, 0.2+0.3-0.4; columns: 0, 0, 0.2+0.9-0.4.
			name: "distinct", s: []float64{1, 0.5, 0.9, 0.2, 0.8, 0.8, 0.1, 0.3, 0.4}, margin: 0.2,
			loss: (0.1 + 0.2 + 0.1 + 0.7) / 6,
			// row 0 -> (0,2), row 1 -> (1,2) (first of the tie 0.2 < 0.8 = 0.8 is (1,2)),
			// row 2 -> (2,1), column 2 -> (0,2); each positive loses what its anchor adds.
			grad: []float64{-sixth, 0, 2 * sixth, 0, -sixth, sixth, 0, sixth, -2 * sixth},
		},
		{
			// Every score equal: each anchor violates by the margin, and its
			// first negative (lowest index) takes the gradient.
			name: "all tied", s: make([]float64, 9), margin: 0.2, loss: 0.2,
			grad: []float64{-2 * sixth, 2 * sixth, sixth, 2 * sixth, -2 * sixth, 0, sixth, 0, -2 * sixth},
		},
		{
			name: "no violation", s: []float64{1, 0, 0, 1}, margin: 0.5, loss: 0,
			grad: []float64{0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loss, grad := lossAndGrad(t, tt.s, func(x *G.Node) (*G.Node, error) { return VSEHardest(x, tt.margin, ReduceMean) })
			if math.Abs(loss-tt.loss) > 1e-12 {
				t.Errorf("loss %v, want %v", loss, tt.loss)
			}
			for i := range grad {
				if math.Abs(grad[i]-tt.grad[i]) > 1e-12 {
					t.Errorf("gradient %v, want %v", grad, tt.grad)
					break
				}
			}
		})
	}
	if _, err := VSEHardest(G.NewMatrix(G.NewGraph(), tensor.Float64, G.WithShape(1, 1)), 0.2, ReduceMean); err == nil {
		t.Error("VSE++ of a 1 x 1 batch (no negatives) gave no error")
	}
}

// TestLossReductionsByHand checks the authors' L8 hinge (com_cost: each
// anchor's own pair inside its L8 sum, anchors summed), its masked and
// averaged variant, and both reductions of InfoNCE, on a 2 x 2 batch
// worked out by hand.
func TestLossReductionsByHand(t *testing.T) {
	s := []float64{1, 0.5, 0.2, 0.8} // texts x images, matches on the diagonal
	// l8 as HingeL8 computes it, with 1e-20 under the root so that an
	// anchor without violations keeps a finite gradient.
	l8 := func(v ...float64) float64 {
		sum := 1e-20
		for _, x := range v {
			sum += math.Pow(x, 8)
		}
		return math.Pow(sum, 0.125)
	}
	// Violations 0.6 + s_neg - s_pos, clamped at 0, with the positive's own
	// term 0.6: row 0 {0.6, 0.1}, row 1 {0, 0.6}, column 0 {0.6, 0},
	// column 1 {0.3, 0.6}.
	authors := l8(0.6, 0.1) + l8(0, 0.6) + l8(0.6, 0) + l8(0.3, 0.6)
	masked := (l8(0.1) + l8(0) + l8(0) + l8(0.3)) / 4
	// InfoNCE at temperature 1: row r's cross-entropy -log softmax(s[r,:])[r].
	ce := func(pos, neg float64) float64 { return -pos + math.Log(math.Exp(pos)+math.Exp(neg)) }
	rows := ce(1, 0.5) + ce(0.8, 0.2)
	cols := ce(1, 0.2) + ce(0.8, 0.5)
	for _, tc := range []struct {
		name string
		loss func(*G.Node) (*G.Node, error)
		want float64
	}{
		{"authors' hinge", func(x *G.Node) (*G.Node, error) { return HingeL8(x, 0.6, false, ReduceSum) }, authors},
		{"masked mean hinge", func(x *G.Node) (*G.Node, error) { return HingeL8(x, 0.6, true, ReduceMean) }, masked},
		{"infonce sum", func(x *G.Node) (*G.Node, error) { return InfoNCE(x, 1, ReduceSum) }, (rows + cols) / 2},
		{"infonce mean", func(x *G.Node) (*G.Node, error) { return InfoNCE(x, 1, ReduceMean) }, (rows + cols) / 4},
		{"vse++ sum", func(x *G.Node) (*G.Node, error) { return VSEHardest(x, 0.6, "") }, 0.1 + 0 + 0 + 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := lossAndGrad(t, s, tc.loss); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("loss %.12f, want %.12f", got, tc.want)
			}
		})
	}
}

// TestFirstStageLosses: each first-stage loss lowers itself on a small
// set, and an unknown name is refused with the names it knows.
func TestFirstStageLosses(t *testing.T) {
	ds, v := tinyData(t)
	for _, loss := range LossNames() {
		t.Run(loss, func(t *testing.T) {
			obj, err := FirstStage(FirstStageSettings{Loss: loss, Margin: 0.2, Temperature: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			m := tinyModel(t, ds, v, 0, KeepTokens)
			var losses lossLog
			if _, err := Train(context.Background(), m, &ds.Train, v, obj,
				TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 30, DecayEpoch: 30}, rand.New(rand.NewPCG(3, 4)), &losses); err != nil {
				t.Fatal(err)
			}
			first, last := mean(losses[:8]), mean(losses[len(losses)-8:])
			if !(last < 0.8*first) {
				t.Errorf("loss went from %.4f to %.4f; want a 20%% drop", first, last)
			}
		})
	}
	if _, err := FirstStage(FirstStageSettings{Loss: "triplet"}); err == nil || !strings.Contains(err.Error(), `"triplet"`) || !strings.Contains(err.Error(), LossVSE) {
		t.Errorf("unknown loss: %v", err)
	}
	if _, err := FirstStage(FirstStageSettings{Reduction: "max"}); err == nil || !strings.Contains(err.Error(), `"max"`) {
		t.Errorf("unknown reduction: %v", err)
	}
}

// TestFirstStageMix: the one reading of a loss name, which both devices
// train from, per epoch and with its defaults; and FirstStage builds the
// graph objective that the mix names.
func TestFirstStageMix(t *testing.T) {
	hinge := func(margin float64, mask bool) LossMix {
		return LossMix{Hinge: 1, Margin: margin, Temperature: 0.1, MaskPositive: mask}
	}
	for _, tt := range []struct {
		name  string
		s     FirstStageSettings
		epoch int
		want  LossMix
		graph Objective
	}{
		{"default is the authors' hinge", FirstStageSettings{Margin: 0.6}, 0, hinge(0.6, false), Hinge{Margin: 0.6}},
		{"named hinge", FirstStageSettings{Loss: LossHingeL8, Margin: 0.2}, 3, hinge(0.2, false), Hinge{Margin: 0.2}},
		{"masked hinge, mean", FirstStageSettings{Loss: LossHingeL8Masked, Margin: 0.2, Reduction: ReduceMean}, 0,
			LossMix{Hinge: 1, Margin: 0.2, Temperature: 0.1, MaskPositive: true, Reduction: ReduceMean},
			Hinge{Margin: 0.2, MaskPositive: true, Reduction: ReduceMean}},
		{"margin 0 stays 0", FirstStageSettings{}, 0, hinge(0, false), Hinge{}},
		{"vse++", FirstStageSettings{Loss: LossVSE, Margin: 0.2}, 0, LossMix{VSE: 1, Margin: 0.2, Temperature: 0.1}, VSE{Margin: 0.2}},
		{"infonce throughout", FirstStageSettings{Loss: LossInfoNCE, Temperature: 0.05, WarmupEpochs: 2}, 5,
			LossMix{InfoNCE: 1, Temperature: 0.05}, Contrastive{Temperature: 0.05}},
		{"in the warm-up", FirstStageSettings{Loss: LossHingeL8Masked, Margin: 0.6, WarmupEpochs: 2}, 1,
			LossMix{InfoNCE: 1, Margin: 0.6, Temperature: 0.1},
			&Warmup{Epochs: 2, Temperature: 0.1, Then: Hinge{Margin: 0.6, MaskPositive: true}}},
		{"after the warm-up", FirstStageSettings{Loss: LossVSE, Margin: 0.6, WarmupEpochs: 2, Temperature: 0.2}, 2,
			LossMix{VSE: 1, Margin: 0.6, Temperature: 0.2},
			&Warmup{Epochs: 2, Temperature: 0.2, Then: VSE{Margin: 0.6}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Mix(tt.epoch)
			if err != nil || got != tt.want {
				t.Errorf("Mix(%d) = %+v, %v; want %+v", tt.epoch, got, err, tt.want)
			}
			obj, err := FirstStage(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", obj) != fmt.Sprintf("%#v", tt.graph) {
				t.Errorf("FirstStage = %#v, want %#v", obj, tt.graph)
			}
		})
	}
	for _, s := range []FirstStageSettings{{Loss: "triplet"}, {Reduction: "max"}} {
		if _, err := s.Mix(0); err == nil {
			t.Errorf("Mix of %+v: no error", s)
		}
	}
}
