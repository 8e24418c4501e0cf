package models

import (
	"math/rand/v2"
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/gradcheck"
	G "gorgonia.org/gorgonia"
)

// TestOpGradients checks every composed op's gradient against central
// finite differences in float64.
func TestOpGradients(t *testing.T) {
	tests := []gradCase{
		{"LayerNorm", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) { return LayerNorm(in[0], in[1], in[2], 1e-5) }},
		{"LayerNormEps1e-12", []gradcheck.Input{{Shape: []int{3, 5}}, {Shape: []int{5}}, {Shape: []int{5}}},
			func(in []*G.Node) (*G.Node, error) { return LayerNorm(in[0], in[1], in[2], 1e-12) }},
		{"Erf", []gradcheck.Input{{Shape: []int{3, 5}}},
			func(in []*G.Node) (*G.Node, error) { return erf(in[0]) }},
		{"GELU", []gradcheck.Input{{Shape: []int{3, 5}}},
			func(in []*G.Node) (*G.Node, error) { return GELU(in[0]) }},
		{"L2Normalize", []gradcheck.Input{{Shape: []int{2, 3, 4}}},
			func(in []*G.Node) (*G.Node, error) { return L2Normalize(in[0]) }},
		{"Linear", []gradcheck.Input{{Shape: []int{3, 4}}, {Shape: []int{4, 2}}, {Shape: []int{2}}},
			func(in []*G.Node) (*G.Node, error) { return Linear(in[0], in[1], in[2]) }},
		{"Attention", append([]gradcheck.Input{{Shape: []int{2 * 3, 4}}}, attentionInputs(4)...),
			func(in []*G.Node) (*G.Node, error) {
				return Attention(in[0], 2, 3, 2, AttentionWeights{in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]}, in[9])
			}},
		{"MaxSim", maskedMaxSimInputs(), onNormalised(MaxSim)},
		{"MaxSimUnmasked", []gradcheck.Input{{Shape: []int{3, 2, 4}}, {Shape: []int{2, 4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return MaxSim(in[0], in[1], nil, nil) }},
		{"InfoNCE", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return InfoNCE(in[0], 0.5, ReduceSum) }},
		{"InfoNCEMean", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return InfoNCE(in[0], 0.5, ReduceMean) }},
		{"HingeL8", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return HingeL8(in[0], 0.6, false, ReduceSum) }},
		{"HingeL8MaskedMean", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return HingeL8(in[0], 0.6, true, ReduceMean) }},
		{"VSEHardest", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return VSEHardest(in[0], 0.6, ReduceSum) }},
		{"VSEHardestMean", []gradcheck.Input{{Shape: []int{4, 4}}},
			func(in []*G.Node) (*G.Node, error) { return VSEHardest(in[0], 0.6, ReduceMean) }},
	}
	checkGradients(t, tests)
}

// attentionInputs are the eight projection inputs of a width-d attention
// followed by a (2, 3) key bias that masks one slot.
func attentionInputs(d int) []gradcheck.Input {
	var in []gradcheck.Input
	for range 4 {
		in = append(in, gradcheck.Input{Shape: []int{d, d}}, gradcheck.Input{Shape: []int{d}})
	}
	return append(in, gradcheck.Input{Shape: []int{2, 3}, Values: []float64{0, 0, maskOff, 0, 0, 0}, Constant: true})
}

// maskedMaxSimInputs are two texts and two images of three 4-d fragments,
// with one padded text fragment and one padded image fragment.
func maskedMaxSimInputs() []gradcheck.Input {
	return []gradcheck.Input{{Shape: []int{2, 3, 4}}, {Shape: []int{2, 3, 4}},
		{Shape: []int{2, 3}, Values: []float64{1, 1, 0, 1, 1, 1}, Constant: true},
		{Shape: []int{2, 3}, Values: []float64{0, 0, maskOff, 0, 0, 0}, Constant: true}}
}

// onNormalised checks a MaxSim implementation on L2-normalised fragments,
// as the models feed it.
func onNormalised(maxSim func(text, image, textWeight, imageBias *G.Node) (*G.Node, error)) gradcheck.Func {
	return func(in []*G.Node) (*G.Node, error) {
		t, err := L2Normalize(in[0])
		if err != nil {
			return nil, err
		}
		i, err := L2Normalize(in[1])
		if err != nil {
			return nil, err
		}
		return maxSim(t, i, in[2], in[3])
	}
}

// gradCase is one composed or fused op under a finite-difference check.
type gradCase struct {
	name   string
	inputs []gradcheck.Input
	f      gradcheck.Func
}

// checkGradients checks each case's gradient against central finite
// differences in float64, to a relative error of 1e-6.
func checkGradients(t *testing.T, tests []gradCase) {
	const tol = 1e-6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			worst, err := gradcheck.MaxError(tt.f, tt.inputs, rand.New(rand.NewPCG(7, 8)))
			if err != nil {
				t.Fatal(err)
			}
			if worst > tol {
				t.Errorf("gradient error %.3g > %g", worst, tol)
			}
		})
	}
}
