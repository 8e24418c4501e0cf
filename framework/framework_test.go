package framework

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/store"
)

// tinyConfig trains in well under a second per stage.
func tinyConfig() Config {
	c := DefaultConfig()
	c.Dataset = "synthetic-small"
	c.Dim, c.FFDim = 16, 32
	c.Train.BatchSize, c.Train.Epochs, c.Train.DecayEpoch = 16, 2, 1
	return c
}

func fiveModels(c Config) Experiment {
	return Experiment{Name: "five", Base: c, Sweep: Sweep{
		Models: []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"},
	}}
}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type summaryRow struct {
	model, status, schedule string
	codes                   int
	rsum, interactions      float64
	teacher                 sql.NullInt64
}

func summary(t *testing.T, db *store.DB, experiment string) []summaryRow {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT model, status, schedule, codes, COALESCE(rsum, -1), COALESCE(interactions, -1), teacher_run_id
		FROM run_summary WHERE experiment = ? ORDER BY run_id`, experiment)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []summaryRow
	for rows.Next() {
		var r summaryRow
		if err := rows.Scan(&r.model, &r.status, &r.schedule, &r.codes, &r.rsum, &r.interactions, &r.teacher); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestRunFiveModelsThenSkip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five small models")
	}
	db := openDB(t)
	r := &Runner{DB: db}
	e := fiveModels(tinyConfig())
	sum, err := r.Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trained != 5 || sum.Failed != 0 {
		t.Errorf("summary %+v, want 5 trained", sum)
	}
	got := summary(t, db, "five")
	want := map[string]struct {
		schedule string
		codes    int
		teacher  bool
	}{
		"base": {"n", 0, false}, "inflated": {"n+k", 4, false}, "fast": {"1", 0, false},
		"inflated>base": {"n+k>n", 4, true}, "inflated>base>fast": {"n+k>n>1", 4, true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d runs, want %d: %+v", len(got), len(want), got)
	}
	for _, row := range got {
		w, ok := want[row.model]
		if !ok {
			t.Errorf("unexpected model %q", row.model)
			continue
		}
		if row.status != "finished" || row.schedule != w.schedule || row.codes != w.codes || row.teacher.Valid != w.teacher || row.rsum < 0 {
			t.Errorf("%s: %+v, want finished, schedule %s, codes %d, teacher %v, rsum recorded", row.model, row, w.schedule, w.codes, w.teacher)
		}
	}
	// Interactions follow the fragments kept: fast is 1x1, inflated the largest.
	byModel := map[string]summaryRow{}
	for _, row := range got {
		byModel[row.model] = row
	}
	if byModel["fast"].interactions != 1 || byModel["inflated"].interactions <= byModel["base"].interactions ||
		byModel["inflated>base"].interactions != byModel["base"].interactions {
		t.Errorf("interactions: %+v", byModel)
	}

	again, err := r.Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if again.Skipped != 5 || again.Trained != 0 || len(summary(t, db, "five")) != 5 {
		t.Errorf("second run %+v added runs; want every trial skipped", again)
	}
}

// TestDeterminism: the same config and seed give identical metrics.
func TestDeterminism(t *testing.T) {
	e := Experiment{Name: "det", Base: tinyConfig()}
	e.Base.Model = "inflated>base"
	var rsums [2][]summaryRow
	for i := range rsums {
		db := openDB(t)
		if _, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		rsums[i] = summary(t, db, "det")
	}
	if len(rsums[0]) != 2 {
		t.Fatalf("runs %+v, want the teacher and the student", rsums[0])
	}
	for i := range rsums[0] {
		if rsums[0][i].rsum != rsums[1][i].rsum {
			t.Errorf("%s: rSum %v then %v", rsums[0][i].model, rsums[0][i].rsum, rsums[1][i].rsum)
		}
	}
}

// TestNonFiniteLossIsRecorded: a diverging trial is recorded as failed
// with its message, and the sweep goes on to the next trial.
func TestNonFiniteLossIsRecorded(t *testing.T) {
	db := openDB(t)
	bad := tinyConfig()
	bad.Train.LearningRate = 1e38
	bad.Train.WarmupEpochs = 0
	e := Experiment{Name: "nan", Base: bad, Sweep: Sweep{Models: []string{"base", "fast"}}}
	sum, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err == nil || sum.Failed != 2 {
		t.Fatalf("summary %+v, err %v: want two failures", sum, err)
	}
	var status, msg string
	if err := db.SQL().QueryRow(`SELECT status, error FROM run_summary WHERE model = 'base'`).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "non-finite loss") {
		t.Errorf("status %q, error %q", status, msg)
	}
	var steps int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM steps`).Scan(&steps); err != nil || steps == 0 {
		t.Errorf("steps logged before the failure: %d (%v), want them kept", steps, err)
	}
}

func TestCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"unknown set key", []string{"-set", "train.epoch=2"}, true, `unknown key "train.epoch"`},
		{"bad set value", []string{"-set", "dim=wide"}, true, `"wide"`},
		{"bad padding", []string{"-set", "padding=sideways"}, true, `"sideways"`},
		{"unknown data set", []string{"-data", "imagenet"}, true, `"imagenet"`},
		{"bad seed", []string{"-seed", "one"}, true, `"one"`},
		{"unwritable database", []string{"-db", filepath.Join(notADir, "results.db")}, false, notADir},
		{"model is the sweep's", []string{"-set", "model=fast"}, true, "Models axis"},
		{"seed is the sweep's", []string{"-set", "seed=3"}, true, "-seed N"},
		{"negative trial", []string{"-trial", "-5"}, true, "-trial -5"},
		{"zero size", []string{"-set", "dim=0"}, true, "dim = 0 is out of range [1, 8192]"},
		{"typo size", []string{"-set", "dim=100000"}, true, "dim = 100000"},
		{"negative decay epoch", []string{"-set", "train.decay_epoch=-1"}, true, "train.decay_epoch = -1"},
		{"negative weight decay", []string{"-set", "train.weight_decay=-0.1"}, true, "train.weight_decay = -0.1"},
		{"negative clip", []string{"-set", "train.clip_norm=-1"}, true, "train.clip_norm = -1"},
		{"warm-up past the end", []string{"-set", "train.warmup_epochs=3"}, true, "train.warmup_epochs = 3 is out of range [0, 2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Command(context.Background(), fiveModels(tinyConfig()), tt.args, &out, &errOut)
			if err == nil {
				t.Fatal("no error")
			}
			isUsage := errors.As(err, new(*cli.UsageError))
			if isUsage != tt.usage || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Errorf("error %q (usage %v), want one naming %s (usage %v)", err, isUsage, tt.want, tt.usage)
			}
		})
	}
}

func TestConfigHashAndSet(t *testing.T) {
	c := DefaultConfig()
	if c.Hash() != DefaultConfig().Hash() {
		t.Error("hash is not stable")
	}
	tests := []struct {
		set   string
		check func(Config) bool
	}{
		{"train.epochs=3", func(c Config) bool { return c.Train.Epochs == 3 }},
		{"dim=48", func(c Config) bool { return c.Dim == 48 }},
		{"padding=include", func(c Config) bool { return c.Padding == "include" }},
		{"shared_layers=false", func(c Config) bool { return !c.SharedLayers }},
		{"train.reduction=mean", func(c Config) bool { return c.Train.Reduction == "mean" }},
		{"train.batches=images", func(c Config) bool { return c.Train.Batches == "images" }},
		{"padding=mask", func(c Config) bool { return c.Padding == "mask" }},
		{"distill.teacher_temp=4.5", func(c Config) bool { return c.Distill.TeacherTemp == 4.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			got, err := c.Set(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("Set(%q) did not take: %+v", tt.set, got)
			}
			if got.Hash() == c.Hash() {
				t.Error("a changed config kept its hash")
			}
		})
	}
	if _, err := ParseConfig([]byte(`{"dim": 8, "colour": "red"}`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("ParseConfig with an unknown key: %v", err)
	}
}

func TestTrials(t *testing.T) {
	e := Experiment{Name: "x", Dataset: "synthetic-small", Base: DefaultConfig(), Sweep: Sweep{
		Models: []string{"base", "inflated"}, Codes: []int{2, 8}, Seeds: []int64{1, 2},
	}}
	trials := e.Trials()
	// base ignores codes, so it appears once per seed: (base, inflated k=2, inflated k=8) x 2 seeds.
	if len(trials) != 6 {
		t.Fatalf("%d trials, want 6", len(trials))
	}
	for _, tr := range trials {
		if tr.Dataset != "synthetic-small" || (tr.Model == "base" && tr.Codes != 0) {
			t.Errorf("trial %+v", tr)
		}
	}
	if trials[0].Model != "base" || trials[1].Model != "inflated" || trials[1].Codes != 2 || trials[3].Seed != 2 {
		t.Errorf("order: %v", trials)
	}
}

// TestChainResumesFromCheckpoint: a chain whose first stage finished in an
// earlier process distils from that stage's checkpoint instead of
// retraining it.
func TestChainResumesFromCheckpoint(t *testing.T) {
	db := openDB(t)
	first := Experiment{Name: "chain", Base: tinyConfig()}
	first.Base.Model = "inflated"
	if _, err := (&Runner{DB: db}).Run(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	second := first
	second.Base.Model = "inflated>base"
	// A new runner (nothing cached in memory), told that the definition
	// changes on purpose.
	sum, err := (&Runner{DB: db, Redefine: true}).Run(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trained != 1 {
		t.Errorf("summary %+v", sum)
	}
	rows := summary(t, db, "chain")
	if len(rows) != 2 || rows[1].model != "inflated>base" || !rows[1].teacher.Valid || rows[1].teacher.Int64 != 1 {
		t.Errorf("runs %+v: want inflated, then inflated>base taught by run 1", rows)
	}
}

func TestTransferEvaluation(t *testing.T) {
	db := openDB(t)
	e := Experiment{Name: "transfer", Base: tinyConfig(), Transfer: []string{"synthetic-small"}}
	e.Base.Model = "fast"
	if _, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM results WHERE split = 'transfer:synthetic-small' AND name = 'rsum'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("transfer results: %d rows (%v), want 1", n, err)
	}
}

func init() {
	datasets.Register("synthetic-small-2fold", func() (*datasets.Dataset, error) {
		d, err := datasets.Load("synthetic-small")
		if d != nil {
			d.Name, d.TestFolds = "synthetic-small-2fold", 2
		}
		return d, err
	})
}

// TestFoldEvaluation: a data set with TestFolds records the whole test
// split, the mean over folds and the first fold, each with its own size.
func TestFoldEvaluation(t *testing.T) {
	db := openDB(t)
	e := Experiment{Name: "folds", Base: tinyConfig(), Dataset: "synthetic-small-2fold"}
	e.Base.Model = "fast"
	if _, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	for split, images := range map[string]float64{"test": 100, "test-2fold": 50, "test-fold0": 50} {
		var n float64
		if err := db.SQL().QueryRow(`SELECT value FROM results WHERE split = ? AND name = 'n_images'`, split).Scan(&n); err != nil || n != images {
			t.Errorf("split %s: n_images %v (%v), want %v", split, n, err, images)
		}
	}
	// Every split's ranks are stored and give back exactly its recorded
	// recalls; the fold mean's ranks are both folds' (100 images).
	var runID int64
	if err := db.SQL().QueryRow(`SELECT id FROM runs`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	for split, images := range map[string]int{"test": 100, "test-2fold": 100, "test-fold0": 50} {
		var q metrics.QueryRanks
		var ok1, ok2 bool
		var err error
		q.I2T, ok1, err = db.Ranks(runID, split, store.I2T)
		if err != nil {
			t.Fatal(err)
		}
		q.T2I, ok2, err = db.Ranks(runID, split, store.T2I)
		if err != nil || !ok1 || !ok2 || len(q.I2T) != images || len(q.T2I) != 5*images {
			t.Fatalf("split %s: ranks %d i2t (%v), %d t2i (%v), error %v; want %d images, 5 captions each",
				split, len(q.I2T), ok1, len(q.T2I), ok2, err, images)
		}
		var rsum float64
		if err := db.SQL().QueryRow(`SELECT value FROM results WHERE run_id = ? AND split = ? AND name = 'rsum'`, runID, split).Scan(&rsum); err != nil {
			t.Fatal(err)
		}
		if got := q.Retrieval().RSum; math.Abs(got-rsum) > 1e-9 {
			t.Errorf("split %s: rSum from stored ranks %v, recorded %v", split, got, rsum)
		}
	}
}

// TestOldDefinitionWithSeeds: a database whose stored definition still
// lists the seeds (as written before seeds left definitions) is brought up
// to date instead of refused; any other change is still refused.
func TestOldDefinitionWithSeeds(t *testing.T) {
	db := openDB(t)
	e := Experiment{Name: "old", Base: tinyConfig(), Sweep: Sweep{Models: []string{"fast"}, Seeds: []int64{1}}}
	old := strings.Replace(e.Definition(), `"Sweep":{"Models":["fast"],"Codes":null}`, `"Sweep":{"Models":["fast"],"Codes":null,"Seeds":[1]}`, 1)
	if old == e.Definition() {
		t.Fatal("could not build the old form of the definition")
	}
	if _, err := db.EnsureExperiment("old", old); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil {
		t.Fatalf("old definition refused: %v", err)
	}
	e.Base.Dim = 8
	if _, err := (&Runner{DB: db}).Run(context.Background(), e); err == nil {
		t.Error("a changed dim was accepted")
	}
}

// TestCheckMemory: a config whose estimate exceeds the machine's memory is
// refused with the estimate; the default config fits in 1 GiB.
func TestCheckMemory(t *testing.T) {
	c := DefaultConfig()
	if err := c.checkMemory(1 << 30); err != nil {
		t.Errorf("default config in 1 GiB: %v", err)
	}
	c.Dim, c.FFDim, c.Layers = 8192, 32768, 24
	if err := c.checkMemory(64 << 30); err == nil || !strings.Contains(err.Error(), "GiB to train") {
		t.Errorf("a 24-layer d=8192 model in 64 GiB: %v, want a refusal with the estimate", err)
	}
	if err := c.checkMemory(0); err != nil {
		t.Errorf("unknown memory: %v, want no check", err)
	}
}
