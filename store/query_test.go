package store

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestRunsAndResults(t *testing.T) {
	db := openTemp(t)
	start := func(exp, model string) *Run {
		return mustStart(t, db, RunInfo{Experiment: exp, ConfigHash: exp + model, Model: model, Config: `{}`})
	}
	base, fast, other := start("a", "base"), start("a", "fast"), start("b", "base")
	running := start("a", "base")
	if err := base.RecordResults("val", map[string]float64{"rsum": 120.5, "r1": math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if err := base.RecordResults("test", map[string]float64{"rsum": 99}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Run{base, other} {
		if err := r.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := fast.Fail(errors.New("diverged")); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		f    RunFilter
		want []int64
	}{
		{"everything", RunFilter{}, []int64{base.ID(), fast.ID(), other.ID(), running.ID()}},
		{"one experiment", RunFilter{Experiment: "a"}, []int64{base.ID(), fast.ID(), running.ID()}},
		{"one model", RunFilter{Model: "base"}, []int64{base.ID(), other.ID(), running.ID()}},
		{"finished in a", RunFilter{Experiment: "a", Status: "finished"}, []int64{base.ID()}},
		{"failed", RunFilter{Status: "failed"}, []int64{fast.ID()}},
		{"no match", RunFilter{Experiment: "c"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := db.Runs(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Runs(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	if runs, _ := db.Runs(RunFilter{Status: "failed"}); len(runs) != 1 || runs[0].Error != "diverged" || runs[0].Model != "fast" {
		t.Errorf("failed run read back as %+v", runs)
	}

	for _, tt := range []struct {
		name  string
		run   int64
		split string
		want  map[string]float64
	}{
		{"validation, NaN left out", base.ID(), "val", map[string]float64{"rsum": 120.5}},
		{"test", base.ID(), "test", map[string]float64{"rsum": 99}},
		{"nothing recorded", other.ID(), "val", map[string]float64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Results(tt.run, tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Results = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("Results[%s] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// TestExperimentReads: what the reports read of one experiment, by run,
// and nothing of another experiment.
func TestExperimentReads(t *testing.T) {
	db := openTemp(t)
	start := func(exp string, seed int64) *Run {
		return mustStart(t, db, RunInfo{Experiment: exp, ConfigHash: exp, Model: "base", Seed: seed, Config: `{}`,
			Params: map[string]string{"dim": "32"}, Env: map[string]string{"go": "go1.26"}})
	}
	a, other := start("a", 1), start("b", 2)
	for _, r := range []*Run{a, other} {
		for step, v := range []float64{3, math.NaN(), 1} {
			if err := r.LogStep(step+1, map[string]float64{"loss": v, "epoch": float64(step / 2)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.RecordResults("val", map[string]float64{"rsum": 10, "epoch": 2}); err != nil {
			t.Fatal(err)
		}
		if err := r.RecordResults("transfer:emoji", map[string]float64{"rsum": 5, "r1": math.Inf(1)}); err != nil {
			t.Fatal(err)
		}
		if err := r.RecordRanks("test", []int{1, 2}, []int{3}); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	q := db.SQL()
	id := a.ID()
	sums, err := Summaries(q, "a")
	if err != nil || len(sums) != 1 || sums[0].RunID != id || sums[0].Seed != 1 || sums[0].Status != "finished" || !math.IsNaN(sums[0].RSum) {
		t.Errorf("Summaries = %+v, %v", sums, err)
	}
	if names, err := Experiments(q); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("Experiments = %v, %v", names, err)
	}
	if p, err := ExperimentParams(q, "a"); err != nil || len(p) != 1 || p[id]["dim"] != "32" {
		t.Errorf("ExperimentParams = %v, %v", p, err)
	}
	if env, err := ExperimentEnvironment(q, "a"); err != nil || len(env) != 1 || env[id]["go"] != "go1.26" {
		t.Errorf("ExperimentEnvironment = %v, %v", env, err)
	}
	if r, err := ExperimentRanks(q, "a", "test"); err != nil || len(r) != 1 || !slices.Equal(r[id].I2T, []int{1, 2}) || !slices.Equal(r[id].T2I, []int{3}) {
		t.Errorf("ExperimentRanks = %v, %v", r, err)
	}
	if v, err := ExperimentResults(q, "a", "val", "rsum"); err != nil || len(v) != 1 || len(v[id]) != 1 || v[id]["rsum"] != 10 {
		t.Errorf("ExperimentResults(rsum) = %v, %v", v, err)
	}
	if v, err := ExperimentResults(q, "a", "val"); err != nil || len(v[id]) != 2 {
		t.Errorf("ExperimentResults(every name) = %v, %v", v, err)
	}
	steps, err := ExperimentSteps(q, "a", "loss")
	if want := []StepValue{{1, 3}, {3, 1}}; err != nil || len(steps) != 1 || !slices.Equal(steps[id], want) {
		t.Errorf("ExperimentSteps = %v, %v; want run %d: %v (the NaN step left out)", steps, err, id, want)
	}
	tr, err := ResultsOfSplits(q, "a", "transfer:")
	if err != nil || len(tr) != 1 || tr[0].Split != "transfer:emoji" || tr[0].RunID != id || len(tr[0].Values) != 1 || tr[0].Values["rsum"] != 5 {
		t.Errorf("ResultsOfSplits = %+v, %v", tr, err)
	}
	if tr, err := ResultsOfSplits(q, "a", "transfer:x"); err != nil || len(tr) != 0 {
		t.Errorf("ResultsOfSplits of another prefix = %+v, %v", tr, err)
	}
}
