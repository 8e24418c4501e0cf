package distill

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/gradcheck"
	"github.com/inflateshrink/inflateshrink/models"
	G "gorgonia.org/gorgonia"
)

func TestLossGradient(t *testing.T) {
	rows, cols := Targets([]float64{1, 0.2, -0.3, 0.5, 0.9, 0.1, 0, 0.4, 0.7}, 3, 2)
	worst, err := gradcheck.MaxError(func(in []*G.Node) (*G.Node, error) {
		return Loss(in[0], in[1], in[2], 1.5)
	}, []gradcheck.Input{
		{Shape: []int{3, 3}},
		{Shape: []int{3, 3}, Values: rows, Constant: true},
		{Shape: []int{3, 3}, Values: cols, Constant: true},
	}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if worst > 1e-6 {
		t.Errorf("KD loss gradient error %.3g", worst)
	}
}

// TestLossMinimum: the KD loss is smallest when the student's distributions
// equal the teacher's, where it equals the teacher's entropy.
func TestLossMinimum(t *testing.T) {
	teacher := []float64{1, 0, 0.5, 2}
	rows, cols := Targets(teacher, 2, 1)
	value := func(student []float64) float64 {
		g := G.NewGraph()
		// Gorgonia merges unnamed inputs of equal shape into one node: name them.
		s := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("s"), G.WithValue(denseF64(student)))
		r := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("rows"), G.WithValue(denseF64(rows)))
		c := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("cols"), G.WithValue(denseF64(cols)))
		l, err := Loss(s, r, c, 1)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return l.Value().Data().(float64)
	}
	var entropy float64
	for _, p := range append(append([]float64(nil), rows...), cols...) {
		entropy -= p * math.Log(p)
	}
	entropy /= 4 // half of each direction's mean over 2 rows or columns
	if got := value(teacher); math.Abs(got-entropy) > 1e-12 {
		t.Errorf("loss at the teacher = %v, want its entropy %v", got, entropy)
	}
	if value([]float64{0, 1, 2, 0.5}) <= value(teacher) {
		t.Error("a different student scored a loss no larger than the teacher's own")
	}
}

func TestTargets(t *testing.T) {
	// s = [[0, ln 3], [0, 0]] at temperature 1: row 0 is (1/4, 3/4), row 1
	// (1/2, 1/2); column 0 (1/2, 1/2), column 1 (3/4, 1/4).
	rows, cols := Targets([]float64{0, math.Log(3), 0, 0}, 2, 1)
	want := map[string][]float64{"rows": {0.25, 0.75, 0.5, 0.5}, "cols": {0.5, 0.75, 0.5, 0.25}}
	for name, got := range map[string][]float64{"rows": rows, "cols": cols} {
		for i := range got {
			if math.Abs(got[i]-want[name][i]) > 1e-12 {
				t.Errorf("%s = %v, want %v", name, got, want[name])
				break
			}
		}
	}
}

func TestParseChain(t *testing.T) {
	tests := []struct {
		chain     string
		codes     int
		fragments string
		wantErr   bool
	}{
		{"inflated>base>fast", 4, "n+k>n>1", false},
		{"base", 0, "n", false},
		{"fast", 0, "1", false},
		{"inflated", 8, "n+k", false},
		{"inflated", 0, "", true},
		{"inflated>tiny", 4, "", true},
		{"", 4, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.chain, func(t *testing.T) {
			stages, err := ParseChain(tt.chain, tt.codes)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && Fragments(stages) != tt.fragments {
				t.Errorf("fragments %q, want %q", Fragments(stages), tt.fragments)
			}
		})
	}
}

func TestNewStudentFreezesWhatItCopies(t *testing.T) {
	cfg := models.Config{VocabSize: 10, RegionDim: 4, Dim: 8, MaxTextLen: 5, MaxRegions: 3}
	teacher, err := models.New(Stage{Codes: 2, Keep: models.KeepAll}.Apply(cfg), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	student, frozen, err := NewStudent(teacher, Stage{Keep: models.KeepTokens}.Apply(cfg), Settings{}, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range student.Params.Names() {
		same := equal(student.Params.Data(name), teacher.Params.Data(name))
		if models.IsLayerParam(name) {
			// Biases and gains start at 0 and 1 in every model; weights are drawn.
			if frozen(name) || (same && strings.HasSuffix(name, ".w")) {
				t.Errorf("layer %s: frozen %v, copied %v; want a fresh trainable layer", name, frozen(name), same)
			}
		} else if !frozen(name) || !same {
			t.Errorf("%s: frozen %v, copied %v; want the teacher's, frozen", name, frozen(name), same)
		}
	}
	if student.Params.Tensor("text.codes") != nil {
		t.Error("a base student has codes")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
