package reports

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sweepDB is the sweep fixture in a database, with environment and loss
// curves.
func sweepDB(t *testing.T) (rows []Row, render func(dir string) []string) {
	t.Helper()
	rows = sweepRuns()
	env := map[int64]map[string]string{}
	for _, r := range rows {
		env[r.RunID] = map[string]string{"git_commit": "0123abc", "git_dirty": "false", "go_version": "go1.26.0",
			"os_arch": "linux/amd64", "cpu_model": "Fixture CPU", "num_cpu": "2", "blas": "gonum", "command": "codes"}
	}
	db := openFixture(t, rows, env)
	insertSteps(t, db, sweepSteps(rows))
	return rows, func(dir string) []string {
		paths, err := Render(db, "codes", dir, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return paths
	}
}

var dataURI = regexp.MustCompile(`data:image/png;base64,[A-Za-z0-9+/=]+`)

// TestReportGolden renders the sweep fixture's whole report: it must be
// byte-identical when rendered twice, match the golden Markdown, HTML (PNG
// data aside: the PNGs are compared byte for byte by the first check),
// LaTeX and SVG figures, and every PNG must decode.
func TestReportGolden(t *testing.T) {
	_, render := sweepDB(t)
	a, b := render(filepath.Join(t.TempDir(), "a")), render(filepath.Join(t.TempDir(), "b"))
	var names []string
	for i := range a {
		x, err := os.ReadFile(a[i])
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(b[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two renderings of the same database", filepath.Base(a[i]))
		}
		name := filepath.Base(a[i])
		names = append(names, name)
		golden := filepath.Join("testdata", "sweep-report", name+".golden")
		switch filepath.Ext(name) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(x))
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if bd := img.Bounds(); bd.Dx() < 900 || bd.Dy() < 600 {
				t.Errorf("%s is %v, want at least 900x600", name, bd)
			}
		case ".html":
			checkGolden(t, name, golden, dataURI.ReplaceAll(x, []byte("data:image/png;base64,...")))
		default:
			checkGolden(t, name, golden, x)
		}
	}
	want := []string{"codes.md", "codes.html", "codes.tex"}
	for _, f := range []string{"rsum-vs-interactions", "rsum-vs-codes", "rsum-vs-latency", "training-curves", "distillation-curves", "recall-at-k"} {
		want = append(want, "codes-"+f+".png", "codes-"+f+".svg")
	}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
}

// TestSweepReportContents checks what the sweep report must say, against
// numbers computed here from the fixture rather than read from a golden file.
func TestSweepReportContents(t *testing.T) {
	rows, render := sweepDB(t)
	paths := render(t.TempDir())
	md, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	// The configuration table: one row per configuration, rSum as mean ± sd
	// over the finished seeds.
	l := newLabeller(rows)
	byLabel := map[string][]float64{}
	for _, r := range rows {
		if r.Finished() {
			byLabel[l.label(r)] = append(byLabel[l.label(r)], r.RSum)
		}
	}
	if len(byLabel) != 8 {
		t.Fatalf("%d configurations in the fixture, want 8", len(byLabel))
	}
	table := text[strings.Index(text, "## Results"):strings.Index(text, "### Significance")]
	for lab, xs := range byLabel {
		var m, sd float64
		for _, x := range xs {
			m += x / float64(len(xs))
		}
		for _, x := range xs {
			sd += (x - m) * (x - m) / float64(len(xs)-1)
		}
		want := fmt.Sprintf("%.1f ± %.1f", m, math.Sqrt(sd))
		if !strings.Contains(table, want) {
			t.Errorf("configuration %s: table lacks rSum %q", lab, want)
		}
	}
	for _, s := range []string{
		"| Model | codes | schedule | train.loss | seeds |", // the varying keys become columns
		"| inflated | 8 | n+k | hinge-l8 | 2 |",             // k=8 lost seed 3
		"- inflated (k=8): 2 of 3 seeds finished; missing seed 3",
		"models: loss is NaN at step 17",
		"- Seeds: 1, 2, 3",
		"- Commit: 0123abc", "- CPU: Fixture CPU, 2 CPUs", "- BLAS: gonum",
		"Paired bootstrap over test queries (1000 resamples, seed 1",
		"**Codes, inflated**: rSum k=1:",
		"per doubling of k:",
		"**At 1x1**",
		"**Cost**: the most accurate",
		"as the paper claims. (paired bootstrap: ",
		"![rSum against codes k per side",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	html, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	h := string(html)
	if n := strings.Count(h, `<img src="data:image/png;base64,`); n != 6 {
		t.Errorf("HTML inlines %d figures, want 6", n)
	}
	if strings.Contains(h, `src="http`) || strings.Contains(h, `<link`) || strings.Contains(h, `<script`) {
		t.Error("HTML refers to an external asset")
	}
}

func TestSummarySignificance(t *testing.T) {
	rows := sweepRuns()
	s := summarize(rows)
	if s.best < 0 {
		t.Fatal("no best configuration")
	}
	best := s.groups[s.best]
	for i, g := range s.groups {
		m, _, _ := g.stat(rsum)
		bm, _, _ := best.stat(rsum)
		if m > bm {
			t.Errorf("%s has a higher mean rSum than the best, %s", g.label, best.label)
		}
		if i == s.best {
			if s.vsBest[i] != nil {
				t.Error("the best configuration is compared with itself")
			}
			continue
		}
		d := s.vsBest[i]
		if d == nil {
			t.Errorf("%s: not tested (%s)", g.label, s.untested[i])
			continue
		}
		// The observed difference is the mean over paired seeds of the
		// rSum differences, which the fixture's recalls give directly.
		var want float64
		for _, seed := range d.Seeds {
			var a, b float64
			for _, r := range best.runs {
				if r.Seed == seed {
					a = r.RSum
				}
			}
			for _, r := range g.runs {
				if r.Seed == seed {
					b = r.RSum
				}
			}
			want += (a - b) / float64(len(d.Seeds))
		}
		if math.Abs(d.Mean-want) > 1e-9 {
			t.Errorf("%s: difference %v, want %v", g.label, d.Mean, want)
		}
	}
	// The 1x1 students are far below the best: significant. The best's
	// near twin (inflated k=4 against k=8, quality 4.0 vs 4.02) is not.
	for i, g := range s.groups {
		if i == s.best {
			continue
		}
		if strings.HasPrefix(g.label, "inflated>base>fast") && s.notSignificant(i) {
			t.Errorf("%s: a 1x1 model is not significantly worse than the best", g.label)
		}
	}
	if !slices.ContainsFunc(s.vsBest, func(d *Difference) bool { return d != nil && !d.Significant() }) {
		t.Error("no configuration is marked as not significantly different from the best")
	}
}

func TestParetoFront(t *testing.T) {
	tests := []struct {
		name   string
		xs, ys []float64
		want   []int
	}{
		{"one point", []float64{1}, []float64{5}, []int{0}},
		{"dominated point left out", []float64{1, 2, 3}, []float64{5, 4, 6}, []int{0, 2}},
		{"all on the front", []float64{3, 1, 2}, []float64{9, 1, 5}, []int{1, 2, 0}},
		{"same latency: the more accurate", []float64{1, 1}, []float64{2, 3}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paretoFront(tt.xs, tt.ys); !slices.Equal(got, tt.want) {
				t.Errorf("paretoFront = %v, want %v", got, tt.want)
			}
		})
	}
}
