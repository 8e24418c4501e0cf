package store

import (
	"maps"
	"path/filepath"
	"testing"
)

// TestParamsAreCompleted records runs as earlier versions of the
// framework did (keys left out at their default; the recipe before
// train.reduction existed) in a database at schema version 4, and finds
// their params complete both when it is read without being migrated
// (OpenReadOnly) and after Open migrates it; a complete record is left as
// it is.
func TestParamsAreCompleted(t *testing.T) {
	recipe := map[string]string{"train.reduction": "sum", "train.batches": "captions", "train.validate_every": "1", "train.patience": "0"}
	with := func(extra map[string]string) map[string]string {
		p := map[string]string{"dim": "32"}
		maps.Copy(p, extra)
		return p
	}
	cases := []struct {
		name           string
		recorded, want map[string]string
	}{
		{"complete", with(map[string]string{"code_sides": "image", "train.loss": "vse++", "train.reduction": "sum", "train.precision": "bf16"}),
			with(map[string]string{"code_sides": "image", "train.loss": "vse++", "train.reduction": "sum", "train.precision": "bf16"})},
		{"defaults left out", with(recipe),
			with(map[string]string{"code_sides": "both", "train.loss": "hinge-l8", "train.precision": "fp32", "train.reduction": "sum", "train.batches": "captions", "train.validate_every": "1", "train.patience": "0"})},
		{"before train.reduction, hinge by its old name", with(map[string]string{"train.loss": "hinge-l8"}),
			with(map[string]string{"code_sides": "both", "train.loss": "hinge-l8-masked", "train.precision": "fp32", "train.reduction": "mean", "train.batches": "images", "train.validate_every": "0", "train.patience": "0"})},
		{"before train.reduction, loss left out", with(nil),
			with(map[string]string{"code_sides": "both", "train.loss": "hinge-l8-masked", "train.precision": "fp32", "train.reduction": "mean", "train.batches": "images", "train.validate_every": "0", "train.patience": "0"})},
		{"before train.reduction, another loss", with(map[string]string{"train.loss": "infonce"}),
			with(map[string]string{"code_sides": "both", "train.loss": "infonce", "train.precision": "fp32", "train.reduction": "mean", "train.batches": "images", "train.validate_every": "0", "train.patience": "0"})},
		{"cascade before hard negatives", with(map[string]string{"train.reduction": "sum", "cross.top_k": "20"}),
			with(map[string]string{"code_sides": "both", "train.loss": "hinge-l8", "train.precision": "fp32", "train.reduction": "sum", "cross.top_k": "20", "cross.hard_negatives": "0"})},
	}
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureExperiment("e", `{}`); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, c := range cases {
		r, err := db.StartRun(RunInfo{Experiment: "e", ConfigHash: c.name, Config: `{}`, Params: c.recorded})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(0); err != nil {
			t.Fatal(err)
		}
		ids[c.name] = r.ID()
	}
	if _, err := db.SQL().Exec(`UPDATE meta SET value = '4' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	check := func(how string, q Reader) {
		t.Helper()
		all, err := ExperimentParams(q, "e")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if got := all[ids[c.name]]; !maps.Equal(got, c.want) {
				t.Errorf("%s: %s: ExperimentParams = %v, want %v", how, c.name, got, c.want)
			}
			one, err := RunValues(q, "params", ids[c.name])
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(one, c.want) {
				t.Errorf("%s: %s: RunValues = %v, want %v", how, c.name, one, c.want)
			}
			some, err := RunValues(q, "params", ids[c.name], "code_sides", "absent")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"code_sides": c.want["code_sides"]}; !maps.Equal(some, want) {
				t.Errorf("%s: %s: RunValues of two keys = %v, want %v", how, c.name, some, want)
			}
		}
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	check("read-only, schema 4", ro)
	ro.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check("migrated", db.SQL())
	// The migration wrote the values: a query of the table sees them.
	for _, c := range cases {
		var rows []string
		n := count(t, db, `SELECT count(*) FROM params WHERE run_id = ?`, ids[c.name])
		for k, v := range c.want {
			if count(t, db, `SELECT count(*) FROM params WHERE run_id = ? AND key = ? AND value = ?`, ids[c.name], k, v) != 1 {
				rows = append(rows, k+"="+v)
			}
		}
		if n != len(c.want) || len(rows) > 0 {
			t.Errorf("%s: the table holds %d params, want %d; missing %v", c.name, n, len(c.want), rows)
		}
	}
}
