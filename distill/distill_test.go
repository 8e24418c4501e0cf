package distill

import (
	"fmt"
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
		return Loss(in[0], in[1], in[2], 1.5, models.ReduceSum)
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
		l, err := Loss(s, r, c, 1, models.ReduceMean)
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
		name      string
		chain     string
		codes     int
		sides     string
		fragments string
		codesOf   [][2]int // text and image codes of each stage
		wantErr   string   // a part of the error; "" for none
	}{
		{"authors", "inflated>base>fast", 4, "", "n+k>n>1", [][2]int{{4, 4}, {0, 0}, {0, 0}}, ""},
		{"base alone", "base", 0, "", "n", [][2]int{{0, 0}}, ""},
		{"fast alone", "fast", 0, "", "1", [][2]int{{0, 0}}, ""},
		{"inflated", "inflated", 8, "both", "n+k", [][2]int{{8, 8}}, ""},
		{"text codes", "inflated", 8, "text", "n+k", [][2]int{{8, 0}}, ""},
		{"image codes", "inflated>fast", 2, "image", "n+k>1", [][2]int{{0, 2}, {0, 0}}, ""},
		{"gradual", "inflated>c16>c4>fast", 4, "", "n+k>16>4>1", [][2]int{{4, 4}, {16, 16}, {4, 4}, {0, 0}}, ""},
		{"codes stage first", "c8>fast", 0, "", "8>1", [][2]int{{8, 8}, {0, 0}}, ""},
		{"no codes", "inflated", 0, "", "", nil, "0 codes"},
		{"unknown stage", "inflated>tiny", 4, "", "", nil, `"tiny"`},
		{"empty", "", 4, "", "", nil, `""`},
		{"empty stage", "inflated>>fast", 4, "", "", nil, `""`},
		{"c without number", "inflated>c>fast", 4, "", "", nil, `"c"`},
		{"c zero", "inflated>c0", 4, "", "", nil, `"c0"`},
		{"c negative", "inflated>c-2", 4, "", "", nil, `"c-2"`},
		{"c leading zero", "inflated>c04", 4, "", "", nil, `"c04"`},
		{"negative codes", "base", -1, "", "", nil, "negative"},
		{"bad sides", "inflated", 4, "left", "", nil, `"left"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stages, err := ParseChain(tt.chain, tt.codes, tt.sides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "distill: ") {
					t.Fatalf("err = %v, want a distill error mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if Fragments(stages) != tt.fragments {
				t.Errorf("fragments %q, want %q", Fragments(stages), tt.fragments)
			}
			for i, s := range stages {
				if [2]int{s.TextCodes, s.ImageCodes} != tt.codesOf[i] {
					t.Errorf("stage %d (%s) has codes %d/%d, want %v", i, s.Name, s.TextCodes, s.ImageCodes, tt.codesOf[i])
				}
			}
		})
	}
}

// TestCodeStudent: a cM student takes its first codes from the teacher
// (fresh rows beyond the teacher's) and trains them, while the rest of
// what it copies stays frozen.
func TestCodeStudent(t *testing.T) {
	cfg := models.Config{VocabSize: 10, RegionDim: 4, Dim: 8, MaxTextLen: 5, MaxRegions: 3}
	teacher, err := models.New(Stage{TextCodes: 2, ImageCodes: 2, Keep: models.KeepAll}.Apply(cfg), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("c%d", m), func(t *testing.T) {
			stage := Stage{TextCodes: m, ImageCodes: m, Keep: models.KeepCodes}
			student, frozen, err := NewStudent(teacher, stage.Apply(cfg), Settings{}, rand.New(rand.NewPCG(2, 2)))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"text.codes", "image.codes"} {
				got, from := student.Params.Data(name), teacher.Params.Data(name)
				shared := min(m, 2) * 8
				if !equal(got[:shared], from[:shared]) {
					t.Errorf("%s: the first %d codes are not the teacher's", name, min(m, 2))
				}
				if m > 2 && equal(got[shared:], make([]float32, len(got)-shared)) {
					t.Errorf("%s: codes beyond the teacher's are zero, want fresh draws", name)
				}
				if frozen(name) {
					t.Errorf("%s is frozen; a code-only student trains its codes", name)
				}
			}
			if !frozen("text.tok") || !frozen("image.proj.w") {
				t.Error("the embeddings and projection a student copies must stay frozen")
			}
		})
	}
}

func TestNewStudentFreezesWhatItCopies(t *testing.T) {
	cfg := models.Config{VocabSize: 10, RegionDim: 4, Dim: 8, MaxTextLen: 5, MaxRegions: 3}
	teacher, err := models.New(Stage{TextCodes: 2, ImageCodes: 2, Keep: models.KeepAll}.Apply(cfg), rand.New(rand.NewPCG(1, 1)))
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
