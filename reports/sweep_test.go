package reports

import (
	"bytes"
	"database/sql"
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
	db := sweepFixtureDB(t)
	return rows, func(dir string) []string {
		paths, err := Render(db, "codes", dir, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return paths
	}
}

// sweepFixtureDB is the sweep fixture (sweepRuns) in a database, with
// environment, loss curves and validation curves.
func sweepFixtureDB(t *testing.T) *sql.DB {
	t.Helper()
	rows := sweepRuns()
	env := map[int64]map[string]string{}
	for _, r := range rows {
		env[r.RunID] = map[string]string{"git_commit": "0123abc", "git_dirty": "false", "go_version": "go1.26.0",
			"os_arch": "linux/amd64", "cpu_model": "Fixture CPU", "num_cpu": "2", "blas": "gonum", "command": "codes"}
	}
	db := openFixture(t, rows, env)
	insertSteps(t, db, sweepSteps(rows))
	insertValidationCurves(t, db, rows)
	return db
}

var dataURI = regexp.MustCompile(`data:image/png;base64,[A-Za-z0-9+/=]+`)

// TestReportGolden renders the sweep fixture's whole report: it must be
// byte-identical when rendered twice, match the golden Markdown, HTML (PNG
// data aside: the PNGs are compared byte for byte by the first check),
// LaTeX and SVG figures, every PNG must decode and every PDF be one.
// Regenerate the golden files with go test ./reports -regen.
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
		case ".pdf":
			// Drawn as the SVG is (whose golden pins the drawing); a
			// golden PDF would hold the embedded font each time. Its
			// dates are not the clock's.
			if !bytes.HasPrefix(x, []byte("%PDF-")) || !bytes.Contains(x, []byte("/CreationDate (D:20000101000000)")) {
				t.Errorf("%s: not a PDF, or dated by the clock: %.40q", name, x)
			}
		default:
			checkGolden(t, name, golden, x)
		}
	}
	want := []string{"codes.md", "codes.html", "codes.tex"}
	for _, f := range []string{"rsum-vs-interactions", "rsum-vs-codes", "rsum-vs-latency", "training-curves", "distillation-curves", "validation-curves", "recall-at-k"} {
		want = append(want, "codes-"+f+".png", "codes-"+f+".svg", "codes-"+f+".pdf")
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
		"Seed-aware bootstrap (1000 resamples, seed 1): the test rSum of the best configuration, **inflated (k=4)** (the highest mean validation rSum)",
		"| **inflated** | 4 | n+k | hinge-l8 | 3 | **447.3 ± 12.9** |", // the best on validation, in bold
		"| inflated (k=8) | +2.5 | [-151.9, +157.0] | best: 1, 2, 3; this: 1, 2 | n/a (unpaired) | **no**: the 95% interval contains 0 † |",
		"| 380.6 / 114.0‡ / 375.8 |", // base with infonce did not converge on seed 2
		"- run 5 (base (train.loss=infonce), seed 2): validation rSum 108.2, 29% of its configuration's best seed (seed 1, run 4: 376.1); test rSum 114.0",
		"**Codes, inflated**: test rSum k=1:",
		"per doubling of k:",
		"The best on validation, k=4, against k=1 on test: seed-aware bootstrap: +60.7",
		"**At 1x1** (one fragment per side, as cheap as a dual encoder), the best on validation is inflated>base>fast (k=4)",
		"**Cost**: the best on validation, inflated (k=4)",
		"as the paper claims (seed-aware bootstrap: ",
		"![rSum against codes k per side",
		"![Validation rSum against the epochs trained",
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
	if n := strings.Count(h, `<img src="data:image/png;base64,`); n != 7 {
		t.Errorf("HTML inlines %d figures, want 7", n)
	}
	checkSentences(t, text)
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
	meanOver := func(g group, seeds []int64, f func(Row) float64) float64 {
		var sum float64
		var n int
		for _, r := range g.runs {
			if slices.Contains(seeds, r.Seed) {
				sum += f(r)
				n++
			}
		}
		return sum / float64(n)
	}
	for i, g := range s.groups {
		// The best is chosen on validation, whatever test says.
		if m, bm := meanOver(g, g.seeds(), valRSum), meanOver(best, best.seeds(), valRSum); m > bm {
			t.Errorf("%s has a higher mean validation rSum than the best, %s", g.label, best.label)
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
		// The observed difference is the difference of the mean test
		// rSums over each configuration's seeds, which the fixture's
		// recalls give directly; paired when the seeds are the same.
		want := meanOver(best, d.SeedsA, rsum) - meanOver(g, d.SeedsB, rsum)
		if math.Abs(d.Mean-want) > 1e-9 {
			t.Errorf("%s: difference %v, want %v", g.label, d.Mean, want)
		}
		if d.Paired != slices.Equal(best.seeds(), g.seeds()) {
			t.Errorf("%s: paired %v with seeds %v against the best's %v", g.label, d.Paired, g.seeds(), best.seeds())
		}
	}
	// The 1x1 students are far below the best on every seed: significant.
	// The best's near twin (inflated k=8, quality 4.02 against 4.0, two
	// seeds) and base with a seed that did not converge are not.
	for i, g := range s.groups {
		switch {
		case i == s.best:
		case strings.HasPrefix(g.label, "inflated>base>fast") && s.notSignificant(i):
			t.Errorf("%s: a 1x1 model is not significantly worse than the best", g.label)
		case (g.label == "inflated (k=8)" || g.label == "base (train.loss=infonce)") && !s.notSignificant(i):
			t.Errorf("%s: significantly different from the best, %v", g.label, s.vsBest[i])
		}
	}
}

// TestSummaryWithoutValidation: without validation results no best is
// chosen, so nothing is bold, marked † or compared with a best, and the
// report says why.
func TestSummaryWithoutValidation(t *testing.T) {
	rows := sweepRuns()
	for i := range rows {
		rows[i].ValRSum, rows[i].SelectedEpoch, rows[i].EpochsTrained = math.NaN(), math.NaN(), math.NaN()
	}
	s := summarize(rows)
	if s.best >= 0 {
		t.Fatalf("best = %s without validation results", s.groups[s.best].label)
	}
	for _, tt := range []struct {
		name, text string
		want       []string
		not        []string
	}{
		{"table", configTable(s), nil, []string{"**", "†", "‡"}},
		{"latex", latexTable(s), nil, []string{"textbf", "dagger"}},
		{"significance", significanceSection(s), []string{"No run has validation results, so no configuration is chosen as the best"}, []string{"|"}},
		{"convergence", convergenceSection(s), []string{"No run has validation results: convergence cannot be judged."}, nil},
		{"sweep findings", sweepFindings(s), []string{"No validation results: no k is chosen as the best.",
			"No validation results: none is chosen as the best.", "no validation results, so none is chosen as the most accurate"},
			[]string{"best on validation"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.text, w) {
					t.Errorf("lacks %q:\n%s", w, tt.text)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(tt.text, w) {
					t.Errorf("contains %q:\n%s", w, tt.text)
				}
			}
		})
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
		{"no points", nil, nil, nil},
		{"equal points: the first", []float64{2, 1, 1, 3, 4, 4}, []float64{5, 3, 4, 4, 6, 6}, []int{2, 0, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParetoFront(tt.xs, tt.ys); !slices.Equal(got, tt.want) {
				t.Errorf("ParetoFront = %v, want %v", got, tt.want)
			}
		})
	}
}
