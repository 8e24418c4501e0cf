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
