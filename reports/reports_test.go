package reports

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
)

var regen = flag.Bool("regen", false, "rewrite the golden files in testdata")

func TestLoadOrder(t *testing.T) {
	tests := []struct {
		name string
		runs []Row
		want []string // "model/seed/run_id" in order
	}{
		{
			name: "paper order",
			runs: paperRuns(),
			want: []string{"base/1/1", "base/2/7", "inflated/1/2", "inflated/2/6", "fast/1/3",
				"inflated>base/1/4", "inflated>base>fast/1/5"},
		},
		{
			name: "other models alphabetically after the paper's",
			runs: []Row{run(1, "zeta", 1, 10, 1, 1), run(2, "fast", 1, 10, 1, 1),
				run(3, "alpha>fast", 1, 10, 1, 1), run(4, "inflated>fast", 1, 10, 1, 1), run(5, "base", 1, 10, 1, 1)},
			want: []string{"base/1/5", "fast/1/2", "alpha>fast/1/3", "inflated>fast/1/4", "zeta/1/1"},
		},
		{
			name: "seed then run id",
			runs: []Row{run(9, "base", 2, 10, 1, 1), run(8, "base", 1, 10, 1, 1),
				run(3, "base", 2, 10, 1, 1), run(5, "base", 1, 10, 1, 1)},
			want: []string{"base/1/5", "base/1/8", "base/2/3", "base/2/9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := run(100, "base", 0, 1, 1, 1)
			other.Experiment = "other"
			db := openFixture(t, append(tt.runs, other), nil)
			rows, err := Load(db, "paper")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s/%d/%d", r.Model, r.Seed, r.RunID))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	runs := paperRuns()
	runs[2] = validated(runs[2], 395.5, 14, 20) // base seed 1; the others have no validation results
	db := openFixture(t, runs, nil)
	rows, err := Load(db, "paper")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Row{}
	for _, r := range runs {
		byID[r.RunID] = r
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for _, got := range rows {
		want := byID[got.RunID]
		for i := range 3 {
			if !same(got.I2T[i], want.I2T[i]) || !same(got.T2I[i], want.T2I[i]) {
				t.Errorf("run %d recalls: got %v %v, want %v %v", got.RunID, got.I2T, got.T2I, want.I2T, want.T2I)
			}
		}
		if !same(got.RSum, want.RSum) || !same(got.QueryMs, want.QueryMs) || !same(got.Interactions, want.Interactions) ||
			!same(got.TrainSeconds, want.TrainSeconds) || got.Status != want.Status || got.Error != want.Error ||
			got.Codes != want.Codes || got.Schedule != want.Schedule || got.FinishedAt != want.FinishedAt ||
			!same(got.ValRSum, want.ValRSum) || !same(got.SelectedEpoch, want.SelectedEpoch) || !same(got.EpochsTrained, want.EpochsTrained) {
			t.Errorf("run %d:\n got %+v\nwant %+v", got.RunID, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	db := openFixture(t, paperRuns(), nil)
	tests := []struct {
		name       string
		experiment string
		want       string
	}{
		{name: "unknown experiment", experiment: "nope", want: `reports: experiment "nope" has no runs`},
		{name: "empty name", experiment: "", want: `reports: experiment "" has no runs`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(db, tt.experiment)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%q) error = %v, want it to contain %q", tt.experiment, err, tt.want)
			}
		})
	}
	t.Run("no run_summary", func(t *testing.T) {
		if _, err := db.Exec(`DROP TABLE run_summary`); err != nil {
			t.Fatal(err)
		}
		_, err := Load(db, "paper")
		if err == nil || !strings.HasPrefix(err.Error(), "reports: ") || !strings.Contains(err.Error(), "run_summary") {
			t.Errorf("Load without run_summary: error = %v", err)
		}
	})
}

func TestMarkdownTableGolden(t *testing.T) {
	// Base converged on seed 1 only (validation 330 < 90% of 410); inflated
	// k=8 was recorded before validation was evaluated.
	variants := []Row{
		validated(run(1, "base", 1, 400, 1024, 3.4567), 410, 12, 20),
		validated(run(2, "base", 2, 402.5, 1024, 999.96), 330, 8, 17),
		validated(run(3, "inflated", 1, 402.5, 4096, math.NaN()), 405, 20, 20),
		run(4, "inflated", 1, 380, 256, 0.5),
		unfinished(run(5, "fast", 1, 0, 1, 0), StatusFailed, "boom"),
	}
	variants[3].Codes = 8 // a sweep over k: the two inflated rows must be told apart
	tests := []struct {
		name string
		rows []Row
	}{
		{name: "paper-five", rows: paperRuns()},
		{name: "seeds-variants-ties-missing", rows: variants},
		{name: "nothing-finished", rows: variants[4:]},
		{name: "sweep", rows: sweepRuns()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := slices.Clone(tt.rows)
			slices.SortStableFunc(rows, compareRows)
			for _, r := range []struct {
				name, suffix string
				render       func([]Row) string
			}{{"MarkdownTable", ".golden", MarkdownTable}, {"ConfigTable", ".config.golden", ConfigTable}, {"LatexTable", ".tex.golden", LatexTable}} {
				checkGolden(t, r.name, filepath.Join("testdata", tt.name+r.suffix), []byte(r.render(rows)))
			}
		})
	}
}

func TestRender(t *testing.T) {
	runs := paperRuns()
	env := map[int64]map[string]string{}
	for _, r := range runs {
		env[r.RunID] = map[string]string{
			"git_commit": "abc123", "git_dirty": "true", "go_version": "go1.26.8", "os_arch": "linux/amd64",
			"cpu_model": "Test CPU", "num_cpu": "2", "blas": "gonum", "command": "inflateshrink run paper",
		}
	}
	env[3]["blas"] = "openblas" // one run disagrees: both values must be listed
	db := openFixture(t, runs, env)
	dir := filepath.Join(t.TempDir(), "out", "reports")
	paths, err := Render(db, "paper", dir, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "paper.md"), filepath.Join(dir, "paper.html"), filepath.Join(dir, "paper.tex"),
		filepath.Join(dir, "paper-rsum-vs-interactions.png"), filepath.Join(dir, "paper-rsum-vs-interactions.svg"), filepath.Join(dir, "paper-rsum-vs-interactions.pdf"),
		filepath.Join(dir, "paper-rsum-vs-latency.png"), filepath.Join(dir, "paper-rsum-vs-latency.svg"), filepath.Join(dir, "paper-rsum-vs-latency.pdf")}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
	tex, err := os.ReadFile(paths[2])
	if err != nil || !strings.Contains(string(tex), "\\toprule") || !strings.Contains(string(tex), "inflated$>$base$>$fast") {
		t.Errorf("LaTeX table %s: %v\n%s", paths[2], err, tex)
	}
	for _, p := range paths[3:] {
		if fi, err := os.Stat(p); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v, size %v", p, err, fi)
		}
	}
	f, err := os.Open(paths[3])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
		t.Errorf("PNG is %v, want at least 600x400", b)
	}

	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, s := range []string{
		"# Inflate and Shrink: paper\n",
		"EMNLP 2021",
		"- Data set: synthetic\n", "- Protocol: 1k\n", "- Commit: abc123 (dirty)\n", "- Go: go1.26.8 linux/amd64\n",
		"- CPU: Test CPU, 2 CPUs\n", "- BLAS: runs disagree: gonum; openblas\n",
		"chance rSum for this test set: 9.60 (10x: 96.0)",
		"inflated's mean rSum is 20.4 higher, as the paper claims, but the gap is not established (no significance test: inflated stored no per-query ranks)",
		"No run has validation results, so no configuration is chosen as the best",
		"No run has validation results: convergence cannot be judged.",
		"](paper-rsum-vs-interactions.png)",
		"## Failed or unfinished runs",
		"- run 6: inflated (codes 32, schedule \"n+k\"), seed 2: **failed**",
		"  models: loss diverged at step 120\n  NaN in gradient of layer 2\n",
		"- run 7: base (codes 0, schedule \"n\"), seed 2: **running**",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if strings.Contains(md, "not reproduced here") {
		t.Errorf("every claim holds in the fixture, yet the report says one is not reproduced:\n%s", md)
	}
	every := strings.Index(md, "## Every run")
	if every < 0 {
		t.Fatal("report has no per-run table")
	}
	checkTableAgainstDB(t, md[every:], runs)

	if _, err := Render(db, "nope", dir, Settings{}); err == nil {
		t.Error("Render of an unknown experiment: no error")
	}
}

// checkTableAgainstDB parses the report's table and checks that each row
// shows its run's numbers, read back from the database, at the table's
// precision, and that every finished run has a row.
func checkTableAgainstDB(t *testing.T, md string, runs []Row) {
	t.Helper()
	seen := map[string]bool{}
	for line := range strings.SplitSeq(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Model") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 15 {
			t.Fatalf("table row %q has %d cells, want 15", line, len(cells))
		}
		key := cells[0] + "/" + cells[1]
		seen[key] = true
		var want Row
		for _, r := range runs {
			if r.Finished() && fmt.Sprintf("%s/%d", r.Model, r.Seed) == key {
				want = r
			}
		}
		if want.RunID == 0 {
			t.Errorf("table row %q matches no finished run", line)
			continue
		}
		num := func(i int) float64 {
			x, err := strconv.ParseFloat(strings.Trim(cells[i], "*"), 64)
			if err != nil {
				t.Errorf("row %s cell %d: %v", key, i, err)
			}
			return x
		}
		vals := []struct {
			cell      int
			want, tol float64
		}{
			{4, want.I2T[0], 0.05}, {5, want.I2T[1], 0.05}, {6, want.I2T[2], 0.05},
			{7, want.T2I[0], 0.05}, {8, want.T2I[1], 0.05}, {9, want.T2I[2], 0.05},
			{10, want.RSum, 0.05}, {11, want.Interactions, 0}, {12, want.QueryMs, 0.005 * want.QueryMs},
			{13, want.IndexFloats, 0}, {14, want.TrainSeconds, 0.05},
		}
		for _, v := range vals {
			if got := num(v.cell); math.Abs(got-v.want) > v.tol {
				t.Errorf("row %s cell %d = %v, database has %v", key, v.cell, got, v.want)
			}
		}
		// The fixture's runs have no validation results, and no run is bold:
		// a best is chosen per configuration, on validation.
		if cells[2] != na || cells[3] != na || strings.Contains(line, "**") {
			t.Errorf("row %s: validation cells %q, %q, want n/a, and no bold in %q", key, cells[2], cells[3], line)
		}
	}
	for _, r := range runs {
		if k := fmt.Sprintf("%s/%d", r.Model, r.Seed); r.Finished() != seen[k] {
			t.Errorf("run %d (%s): finished=%v but in table=%v", r.RunID, k, r.Finished(), seen[k])
		}
	}
}

func TestRenderBadInput(t *testing.T) {
	db := openFixture(t, paperRuns(), nil)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, experiment, dir, want string
	}{
		{name: "separator in name", experiment: "a/b", dir: t.TempDir(), want: `reports: experiment name "a/b"`},
		{name: "dot dot", experiment: "..", dir: t.TempDir(), want: `reports: experiment name ".."`},
		{name: "unknown experiment", experiment: "nope", dir: t.TempDir(), want: `reports: experiment "nope" has no runs`},
		{name: "dir under a file", experiment: "paper", dir: filepath.Join(blocker, "sub"), want: "reports: creating report directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(db, tt.experiment, tt.dir, Settings{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderSettingsAndEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		runs     []Row
		settings Settings
		want     []string
	}{
		{
			name:     "custom title, single point",
			runs:     []Row{run(1, "base", 1, 50, 1024, 1)},
			settings: Settings{Title: "Smoke test"},
			want:     []string{"# Smoke test\n", "- base: rSum 50.0 < 10x chance (96.0): no", "cannot be checked: no finished inflated run"},
		},
		{
			name: "nothing finished",
			runs: []Row{unfinished(run(1, "base", 1, 0, 0, 0), StatusFailed, "")},
			want: []string{"_No finished runs._", "(no error message recorded)"},
		},
		{
			name: "finished without interactions is listed, not plotted",
			runs: []Row{run(1, "base", 1, 300, math.NaN(), 1), run(2, "fast", 1, 200, 1, 0.1)},
			want: []string{"Not plotted against interactions: run 1 (base, seed 1): rSum 300.0, interactions n/a.", "None: every run finished."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openFixture(t, tt.runs, nil)
			paths, err := Render(db, "paper", t.TempDir(), tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.want {
				if !strings.Contains(string(b), s) {
					t.Errorf("report lacks %q:\n%s", s, b)
				}
			}
		})
	}
}

// ranked gives a run per-query ranks and the recalls and rSum they make,
// as evaluation records them.
func ranked(r Row, q metrics.QueryRanks) Row {
	res := q.Retrieval()
	r.Ranks, r.I2T, r.T2I, r.RSum = q, res.I2T, res.T2I, res.RSum
	return r
}

// seeded is one run of model per seed, seed i+1 with recall share ps[i]
// (hitRanks on 200 images, 1000 captions), run ids from first.
func seeded(first int64, model string, ps ...float64) []Row {
	var rows []Row
	for i, p := range ps {
		rows = append(rows, ranked(run(first+int64(i), model, int64(i+1), 0, 1024, 3), hitRanks(200, 1000, p)))
	}
	return rows
}

func TestFindings(t *testing.T) {
	five := func(base, inflated, fast, ib, ibf float64) []Row {
		return []Row{run(1, "base", 1, base, 1024, 3), run(2, "inflated", 1, inflated, 4096, 12),
			run(3, "fast", 1, fast, 1, 0.01), run(4, "inflated>base", 1, ib, 1024, 3), run(5, "inflated>base>fast", 1, ibf, 1, 0.01)}
	}
	tests := []struct {
		name      string
		rows      []Row
		want, not []string
	}{
		{
			name: "every claim holds on one seed: higher, not established",
			rows: five(400, 420, 300, 410, 320),
			want: []string{"inflated's mean rSum is 20.0 higher, as the paper claims, but the gap is not established",
				"inflated>base's mean rSum is 10.0 higher", "inflated>base>fast's mean rSum is 20.0 higher", "base's mean rSum is 100.0 higher",
				"Cost: interactions per pair: 1 for fast against 1024 for base; a text query takes 0.0100 ms against 3.00 ms (300x faster).", "One seed each"},
			not: []string{"not reproduced here", "beats base by", "beats fast by"},
		},
		{
			name: "inflating and shrinking fail",
			rows: five(400, 390, 300, 400, 299.5),
			want: []string{"inflated does not beat base (no significance test: inflated stored no per-query ranks): not reproduced here",
				"inflated>base does not beat base", "inflated>base>fast does not beat fast", "base's mean rSum is 100.0 higher"},
		},
		{
			name: "missing models",
			rows: []Row{run(1, "base", 1, 400, 1024, 3)},
			want: []string{"cannot be checked: no finished inflated run", "cannot be checked: no finished inflated>base>fast or fast run"},
		},
		{
			name: "several seeds without ranks: spread heuristic",
			rows: []Row{run(1, "base", 1, 400, 1024, 3), run(2, "base", 2, 410, 1024, 3),
				run(3, "inflated", 1, 404, 4096, 12), run(4, "inflated", 2, 416, 4096, 12)},
			want: []string{"inflated rSum 410.0 ± 8.5 (2 seeds) vs base 405.0 ± 7.1 (2 seeds)", "inflated's mean rSum is 5.0 higher",
				"within the seed-to-seed spread"},
			not: []string{"One seed each"},
		},
		{
			name: "a consistent gap over three seeds: significant",
			rows: append(seeded(1, "base", 0.50, 0.51, 0.49), seeded(4, "inflated", 0.60, 0.62, 0.58)...),
			want: []string{"inflated beats base by 60.0 rSum, as the paper claims (seed-aware bootstrap: +60.0, 95% interval [",
				"per seed +60.0 / +66.0 / +54.0: significant)"},
			not: []string{"not established", "weak evidence"},
		},
		{
			// The interval excludes 0, one seed reverses the gap: the
			// findings must not call it significant.
			name: "a gap one seed reverses: not significant",
			rows: append(seeded(1, "base", 0.50, 0.52, 0.48, 0.51, 0.51), seeded(6, "inflated", 0.60, 0.62, 0.58, 0.61, 0.50)...),
			want: []string{"inflated's mean rSum is 46.8 higher, as the paper claims, but the gap is not established",
				"per seed +60.0 / +60.0 / +60.0 / +60.0 / -6.0: not significant, the per-seed differences disagree in sign"},
			not: []string{": significant", "beats base by"},
		},
		{
			// The seed lottery: base converged on seed 1 only.
			name: "a worse mean from one lucky seed: not reproduced, not significant",
			rows: append(seeded(1, "base", 0.86, 0.22, 0.23), seeded(4, "inflated", 0.30, 0.26, 0.29)...),
			want: []string{"inflated does not beat base (seed-aware bootstrap: ", "not significant", "not reproduced here"},
			not:  []string{": significant"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findings(tt.rows, newLabeller(tt.rows))
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("findings lack %q:\n%s", s, got)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(got, s) {
					t.Errorf("findings contain %q:\n%s", s, got)
				}
			}
			checkSentences(t, got)
		})
	}
}

// checkSentences fails when a sentence of text both calls something
// significant and calls the evidence weak.
func checkSentences(t *testing.T, text string) {
	t.Helper()
	for _, sentence := range regexp.MustCompile(`[.:]\s+[A-Z(]|\n`).Split(text, -1) {
		if strings.Contains(sentence, "significant") && strings.Contains(sentence, "weak evidence") {
			t.Errorf("one sentence says both significant and weak evidence: %q", sentence)
		}
	}
}

func TestSig3(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		want string
	}{
		{"small", 0.012345, "0.0123"},
		{"units", 1.2345, "1.23"},
		{"rounds up a decade", 9.996, "10.0"},
		{"hundreds", 123.45, "123"},
		{"thousands", 1234.5, "1230"},
		{"zero", 0, "0"},
		{"missing", math.NaN(), "n/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sig3(tt.x); got != tt.want {
				t.Errorf("sig3(%v) = %q, want %q", tt.x, got, tt.want)
			}
		})
	}
}

// checkGolden compares got with the golden file at path, or rewrites the
// file under -regen.
func checkGolden(t *testing.T, what, path string, got []byte) {
	t.Helper()
	if *regen {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -regen to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s\n got:\n%.3000s\nwant:\n%.3000s", what, path, got, want)
	}
}
