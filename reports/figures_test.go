package reports

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/referencedb"
	"github.com/inflateshrink/inflateshrink/store"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// vgsvgCanvas is ch drawn as SVG.
func vgsvgCanvas(ch chart) *vgsvg.Canvas {
	c := vgsvg.New(figWidth, ch.height)
	ch.draw(figureArea(c))
	return c
}

// drawLayout draws ch on a canvas of its size and returns where it put
// things.
func drawLayout(ch chart) layout {
	return ch.draw(figureArea(vgimg.NewWith(vgimg.UseWH(figWidth, ch.height))))
}

// checkLayout fails when a drawn chart has a label over another label or
// over a point, seed dot, error bar or line, a label outside the data area
// or left out, a key over the data, or a mean over seeds without its ± sd.
func checkLayout(t *testing.T, name string, ch chart) layout {
	t.Helper()
	l := drawLayout(ch)
	if len(l.unplaced) > 0 {
		t.Errorf("%s: labels %q found no free place", name, l.unplaced)
	}
	for i, b := range l.labels {
		if overlapsAny(b, l.labels[:i]) {
			t.Errorf("%s: label %d at %v overlaps an earlier label", name, i, b)
		}
		if overlapsAny(b, l.marks) {
			t.Errorf("%s: label %d at %v covers a point, an error bar or a line", name, i, b)
		}
		if !slices.ContainsFunc(l.data, func(d vg.Rectangle) bool { return inside(b, d) }) {
			t.Errorf("%s: label %d at %v is outside the data area %v", name, i, b, l.data)
		}
	}
	for _, d := range l.data {
		if l.key != (vg.Rectangle{}) && overlaps(l.key, d) {
			t.Errorf("%s: the key %v covers the data area %v", name, l.key, d)
		}
	}
	if l.spreads != l.means {
		t.Errorf("%s: %d means over seeds drawn, %d of them with their ± sd", name, l.means, l.spreads)
	}
	return l
}

// pileUp is a sweep like the reference's schedules: 16 configurations of
// two seeds, eleven of them 1x1 models at one interaction per pair and
// latencies within a factor of 3, with rSums between 60 and 125.
func pileUp() []Row {
	var rows []Row
	id := int64(0)
	add := func(model string, codes int, sched string, params map[string]string, rsum, inter, ms float64) {
		for seed := int64(1); seed <= 2; seed++ {
			id++
			r := run(id, model, seed, rsum+3*float64(seed)*math.Sin(float64(id)), inter, ms*(1+0.2*float64(seed)))
			r.Experiment, r.Codes, r.Schedule = "schedules", codes, sched
			r.Params = map[string]string{"seed": fmt.Sprint(seed), "train.loss": "hinge"}
			for k, v := range params {
				r.Params[k] = v
			}
			rows = append(rows, r)
		}
	}
	add("base", 0, "n", nil, 285, 144, 1.4)
	add("inflated", 4, "n+k", nil, 129, 260, 4.1)
	add("inflated", 4, "n+k", map[string]string{"train.loss": "vse++"}, 82, 260, 2.5)
	add("inflated", 4, "n+k", map[string]string{"train.loss": "infonce"}, 193, 260, 2.6)
	add("fast", 0, "1", nil, 102, 1, 0.55)
	add("inflated>base", 4, "n+k>n", nil, 98, 144, 1.5)
	add("inflated>base>fast", 4, "n+k>n>1", nil, 67, 1, 0.29)
	add("base>fast", 0, "n>1", nil, 110, 1, 0.47)
	add("inflated>c16", 4, "n+k>16", nil, 116, 256, 6.1)
	add("inflated>c16>c4", 4, "n+k>16>4", nil, 106, 16, 0.82)
	add("inflated>c16>c4>fast", 4, "n+k>16>4>1", nil, 69, 1, 0.35)
	for i, p := range []struct {
		st, tt, loss string
		rsum, ms     float64
	}{{"16", "16", "hinge", 111, 0.43}, {"16", "2", "hinge", 69, 0.34}, {"1", "1", "hinge", 105, 0.17},
		{"16", "2", "vse++", 9, 0.27}, {"16", "2", "infonce", 118, 0.34}} {
		add("inflated>fast", 4, "n+k>1", map[string]string{"distill.student_temp": p.st, "distill.teacher_temp": p.tt, "train.loss": p.loss},
			p.rsum+0.3*float64(i), 1, p.ms)
	}
	return rows
}

// TestScatterLabels: in the scatter figures (rSum against interactions and
// against latency) every configuration's number finds a place where it
// covers no other number, point, seed dot, error bar or the Pareto front,
// inside the data area; the key lists every configuration under the plot,
// and every mean over seeds has its error bars.
func TestScatterLabels(t *testing.T) {
	tests := []struct {
		name string
		rows []Row
	}{
		{"apart", []Row{run(1, "base", 1, 400, 1024, 1), run(2, "inflated>base", 1, 300, 1024, 1)}},
		{"close at the same x", []Row{run(1, "base", 1, 400, 1024, 1), run(2, "inflated>base", 1, 400.5, 1024, 1),
			run(3, "base", 2, 401, 1024, 1), run(4, "inflated>base", 2, 399.5, 1024, 1), run(5, "fast", 1, 300, 1, 1)}},
		{"close neighbours in x", []Row{run(1, "base", 1, 400, 1024, 1), run(2, "inflated", 1, 401, 2048, 1),
			run(3, "inflated>base", 1, 400.5, 1500, 1)}},
		{"single point", []Row{run(1, "base", 1, 400, 1024, 1)}},
		{"sixteen configurations piled up", pileUp()},
		{"the sweep fixture", sweepRuns()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.rows)
			ich, skipped := interactionsChart(s, "t")
			if len(skipped) != 0 {
				t.Errorf("skipped %d runs", len(skipped))
			}
			lch, ok := latencyChart(s, "t")
			if !ok {
				t.Fatal("no latency chart")
			}
			for _, c := range []struct {
				name string
				ch   chart
			}{{"interactions", ich}, {"latency", lch}} {
				l := checkLayout(t, c.name, c.ch)
				if len(l.labels) != len(s.groups) {
					t.Errorf("%s: %d labels for %d configurations", c.name, len(l.labels), len(s.groups))
				}
				for i, g := range s.groups {
					want := fmt.Sprintf("%d  %s", i+1, g.label)
					if !slices.ContainsFunc(l.keyText, func(k string) bool { return strings.HasPrefix(k, want) }) {
						t.Errorf("%s: the key %q lacks %q", c.name, l.keyText, want)
					}
				}
			}
		})
	}
}

// TestReferenceFigures draws every figure of the committed reference
// database's experiments and checks them as TestScatterLabels does: no
// overlapping labels, keys off the data, error bars on every mean.
func TestReferenceFigures(t *testing.T) {
	path := referencedb.Copy(t, "..")
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exps, err := Experiments(db)
	if err != nil || len(exps) == 0 {
		t.Fatalf("experiments %v: %v", exps, err)
	}
	for _, e := range exps {
		t.Run(e, func(t *testing.T) {
			d, err := readExperiment(db, e)
			if err != nil {
				t.Fatal(err)
			}
			var skipped []Row
			for _, ch := range charts(summarize(d.rows), d.steps, d.starts, d.valCurves, "t", &skipped) {
				checkLayout(t, ch.stem, ch)
			}
		})
	}
}

// TestLossChartStages: first stages, distillation stages and the cross
// encoders of cascades each get their own loss figure (a cascade has a
// teacher run, but its loss is no distillation loss), and the training
// curves mark the end of the InfoNCE warm-up and the learning-rate decay.
func TestLossChartStages(t *testing.T) {
	params := map[string]string{"train.epochs": "10", "train.warmup_epochs": "3", "train.decay_epoch": "8", "train.decay_factor": "0.1",
		"cross.epochs": "5"}
	var rows []Row
	for i, m := range []struct{ model, sched string }{{"base", "n"}, {"fast", "1"}, {"inflated>base", "n+k>n"}, {"fast>>cross", "1>>cross"}} {
		for seed := int64(1); seed <= 2; seed++ {
			id := int64(2*i) + seed
			r := run(id, m.model, seed, 300, 64, 1)
			r.Schedule = m.sched
			r.Params = map[string]string{"seed": fmt.Sprint(seed)}
			for k, v := range params {
				r.Params[k] = v
			}
			if m.model == "inflated>base" || m.model == "fast>>cross" {
				r.TeacherRunID = 1
			}
			rows = append(rows, r)
		}
	}
	steps, starts := map[int64][]float64{}, map[int64][]int{}
	for _, r := range rows {
		epochs := 10
		if r.Model == "fast>>cross" {
			epochs = 5
		}
		for st := range 20 * epochs {
			steps[r.RunID] = append(steps[r.RunID], 1/float64(st+1)+0.01*float64(r.Seed))
		}
		for e := range epochs {
			starts[r.RunID] = append(starts[r.RunID], 20*e+1)
		}
	}
	s := summarize(rows)
	for _, tt := range []struct {
		st        stage
		stem      string
		want, not []string
		lines     []string
	}{
		{firstStage, "training-curves", []string{"base", "fast"}, []string{"inflated>base", "fast>>cross"},
			[]string{"InfoNCE warm-up ends after epoch 3", "learning rate ×0.1 after epoch 8"}},
		{distillStage, "distillation-curves", []string{"inflated>base"}, []string{"fast>>cross"},
			[]string{"learning rate ×0.1 after epoch 8"}},
		{crossStage, "cross-encoder-curves", []string{"fast>>cross"}, []string{"inflated>base"},
			[]string{"learning rate ×0.1 after epoch 4"}}, // 5 of 10 epochs: decay at 8 scales to 4
	} {
		t.Run(tt.stem, func(t *testing.T) {
			ch, ok := lossChart(s, steps, starts, tt.st, "t")
			if !ok || ch.stem != tt.stem {
				t.Fatalf("chart %q, %v", ch.stem, ok)
			}
			l := checkLayout(t, tt.stem, ch)
			for _, w := range tt.want {
				if !slices.Contains(l.keyText, w) {
					t.Errorf("key %q lacks %q", l.keyText, w)
				}
			}
			for _, w := range tt.not {
				if slices.Contains(l.keyText, w) {
					t.Errorf("key %q has %q", l.keyText, w)
				}
			}
			if len(l.labels) != len(tt.lines) {
				t.Errorf("%d boundary labels, want %d (%q)", len(l.labels), len(tt.lines), tt.lines)
			}
			var svg bytes.Buffer
			c := vgsvgCanvas(ch)
			if _, err := c.WriteTo(&svg); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.lines {
				if !strings.Contains(svg.String(), w) {
					t.Errorf("figure lacks the boundary label %q", w)
				}
			}
		})
	}
	if _, ok := lossChart(summarize(rows[:2]), steps, starts, crossStage, "t"); ok {
		t.Error("a cross-encoder figure without cascades")
	}
}

func TestRunBoundaries(t *testing.T) {
	r := run(1, "base", 1, 300, 64, 1)
	r.Params = map[string]string{"train.epochs": "10", "train.warmup_epochs": "3", "train.decay_epoch": "8", "train.decay_factor": "0.1"}
	starts := []int{1, 11, 21, 31, 41, 51, 61, 71, 81, 91}
	tests := []struct {
		name   string
		r      func(Row) Row
		st     stage
		starts []int
		want   []boundary
	}{
		{"warm-up and decay", nil, firstStage, starts, []boundary{{31, true, "InfoNCE warm-up ends after epoch 3"}, {81, false, "learning rate ×0.1 after epoch 8"}}},
		{"InfoNCE throughout: no warm-up", func(r Row) Row { r.Params["train.loss"] = "infonce"; return r }, firstStage, starts,
			[]boundary{{81, false, "learning rate ×0.1 after epoch 8"}}},
		{"a student: no warm-up", nil, distillStage, starts, []boundary{{81, false, "learning rate ×0.1 after epoch 8"}}},
		{"a cross encoder: the decay scaled to its epochs", func(r Row) Row { r.Params["cross.epochs"] = "20"; return r }, crossStage,
			[]int{1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 101, 111, 121, 131, 141, 151, 161, 171, 181, 191},
			[]boundary{{161, false, "learning rate ×0.1 after epoch 16"}}},
		{"no epochs logged: spread over the epochs trained", func(r Row) Row { r.EpochsTrained = 10; return r }, firstStage, nil,
			[]boundary{{31, true, "InfoNCE warm-up ends after epoch 3"}, {81, false, "learning rate ×0.1 after epoch 8"}}},
		{"stopped early, before the decay", nil, firstStage, starts[:6], []boundary{{31, true, "InfoNCE warm-up ends after epoch 3"}}},
		{"no params: nothing known", func(r Row) Row { r.Params = nil; return r }, firstStage, starts, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			rr.Params = map[string]string{}
			for k, v := range r.Params {
				rr.Params[k] = v
			}
			if tt.r != nil {
				rr = tt.r(rr)
			}
			if got := runBoundaries(rr, tt.st, tt.starts, 100); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFigureTitles: figures have titles by default, and none with
// Settings.NoFigureTitles (the recall@K panels keep their direction).
func TestFigureTitles(t *testing.T) {
	db := sweepFixtureDB(t)
	for _, tt := range []struct {
		s    Settings
		want bool
	}{{Settings{}, true}, {Settings{NoFigureTitles: true}, false}} {
		dir := t.TempDir()
		paths, err := Render(db, "codes", dir, tt.s)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range paths {
			if filepath.Ext(p) != ".svg" {
				continue
			}
			n++
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(b, []byte("Inflate and Shrink: codes")); got != tt.want {
				t.Errorf("%s (NoFigureTitles %v): title %v", filepath.Base(p), tt.s.NoFigureTitles, got)
			}
			if strings.HasSuffix(p, "recall-at-k.svg") && !bytes.Contains(b, []byte("text to image")) {
				t.Errorf("%s: a panel lost its direction", filepath.Base(p))
			}
		}
		if n != 7 {
			t.Errorf("%d SVG figures, want 7", n)
		}
		md, _ := os.ReadFile(paths[0])
		if !strings.HasPrefix(string(md), "# Inflate and Shrink: codes\n") {
			t.Errorf("the report lost its title: %.60q", md)
		}
	}
}

func TestToCP1252(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "mean ± sd": "mean \xb1 sd", "×0.1": "\xd70.1", "‡": "\x87", "a → b": "a ? b"} {
		if got := toCP1252(in); got != want {
			t.Errorf("toCP1252(%q) = %q, want %q", in, got, want)
		}
	}
}
