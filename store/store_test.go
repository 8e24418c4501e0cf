package store

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t testing.TB, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func mustStart(t testing.TB, db *DB, info RunInfo) *Run {
	t.Helper()
	if _, err := db.EnsureExperiment(info.Experiment, `{}`); err != nil {
		t.Fatal(err)
	}
	r, err := db.StartRun(info)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	var names []string
	rows, err := db.SQL().Query(`SELECT type || ' ' || name FROM sqlite_master
		WHERE type IN ('table', 'view', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		names = append(names, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"table environment", "table experiment_definitions", "table experiments", "table latency", "table meta",
		"table params", "table ranks", "table results", "view run_summary", "table runs", "index runs_by_hash", "index runs_by_status", "table steps"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("schema objects:\n got %q\nwant %q", names, want)
	}
	var mode string
	var fk int
	if err := db.SQL().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	if err := db.SQL().QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
	}
	if _, err := db.EnsureExperiment("e", `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening changes nothing and keeps the data.
	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var version string
	if err := db.SQL().QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != fmt.Sprint(SchemaVersion) {
		t.Errorf("schema_version = %q, want %d", version, SchemaVersion)
	}
	if n := count(t, db, `SELECT count(*) FROM meta`); n != 1 {
		t.Errorf("meta has %d rows after reopening, want 1", n)
	}
	if n := count(t, db, `SELECT count(*) FROM experiments WHERE name = 'e'`); n != 1 {
		t.Errorf("experiment rows after reopening = %d, want 1", n)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	db, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	notDB := filepath.Join(dir, "other.db")
	db, err = Open(notDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`DELETE FROM meta`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	tests := []struct {
		name, path, cause string
	}{
		{"under /proc", "/proc/x/results.db", "unable to open"},
		{"missing parent", filepath.Join(dir, "missing", "results.db"), "no such file or directory"},
		{"parent is a file", filepath.Join(regular, "results.db"), "not a directory"},
		{"newer schema", newer, "newer"},
		{"no schema_version", notDB, "schema_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.cause) {
				t.Errorf("Open(%q) error %q, want it to name the path and %q", tt.path, err, tt.cause)
			}
		})
	}
}

func TestEnsureExperiment(t *testing.T) {
	db := openTemp(t)
	a, err := db.EnsureExperiment("a", `{"v":1,"sweep":{"seeds":[1]}}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.EnsureExperiment("b", `{"v":2}`)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.EnsureExperiment("a", `{"sweep":{"seeds":[1]},"v":1}`)
	if err != nil {
		t.Fatalf("same definition, keys in another order: %v", err)
	}
	if a == b || again != a {
		t.Errorf("ids a=%d b=%d a again=%d: want a != b and a again == a", a, b, again)
	}
	_, err = db.EnsureExperiment("a", `{"v":3,"sweep":{"seeds":[1,2]},"w":true}`)
	var changed *DefinitionChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("changed definition: err %v, want a *DefinitionChangedError", err)
	}
	want := []string{"sweep.seeds.1: (absent) -> 2", "v: 1 -> 3", "w: (absent) -> true"}
	if !reflect.DeepEqual(changed.Changes, want) {
		t.Errorf("changes:\n got %q\nwant %q", changed.Changes, want)
	}
	var def string
	if err := db.SQL().QueryRow(`SELECT definition FROM experiments WHERE id = ?`, a).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if def != `{"v":1,"sweep":{"seeds":[1]}}` {
		t.Errorf("definition of a = %s, want the first one kept", def)
	}
	if id, err := db.Redefine("a", `{"v":3}`); err != nil || id != a {
		t.Fatalf("Redefine = %d, %v; want %d", id, err, a)
	}
	if _, err := db.EnsureExperiment("a", `{"v":3}`); err != nil {
		t.Errorf("after Redefine: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM experiment_definitions WHERE experiment_id = ?`, a); n != 2 {
		t.Errorf("%d definitions of a in the history, want 2", n)
	}
	if _, err := db.EnsureExperiment("", `{}`); err == nil {
		t.Error("EnsureExperiment with an empty name succeeded")
	}
	if _, err := db.Redefine("new", `{}`); err != nil {
		t.Errorf("Redefine of a new experiment: %v", err)
	}
}

// summaryView is the documented column order of run_summary.
var summaryView = []string{"experiment", "run_id", "model", "codes", "schedule", "seed", "dataset",
	"protocol", "status", "error", "i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum",
	"i2t_medr", "t2i_medr", "chance_rsum", "test_images", "test_captions", "interactions", "query_ms",
	"index_floats", "encode_text_ms", "encode_image_ms", "train_seconds", "teacher_run_id",
	"config_hash", "started_at", "finished_at", "val_rsum", "selected_epoch", "epochs_trained"}

// summary returns run id's run_summary row by column name.
func summary(t *testing.T, db *DB, id int64) map[string]any {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT * FROM run_summary WHERE run_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cols, summaryView) {
		t.Fatalf("run_summary columns:\n got %q\nwant %q", cols, summaryView)
	}
	if !rows.Next() {
		t.Fatalf("no run_summary row for run %d", id)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Fatalf("more than one run_summary row for run %d", id)
	}
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		m[c] = vals[i]
	}
	return m
}

func TestRunLifecycle(t *testing.T) {
	db := openTemp(t)
	teacher := mustStart(t, db, RunInfo{Experiment: "exp", ConfigHash: "t", Model: "inflated", Config: `{}`})
	if err := teacher.Finish(1); err != nil {
		t.Fatal(err)
	}
	r := mustStart(t, db, RunInfo{
		Experiment: "exp", ConfigHash: "h1", Model: "inflated>base", Codes: 32, Schedule: "n+k>n",
		Seed: 7, Dataset: "synthetic", Protocol: "default", TeacherRunID: teacher.ID(), Config: `{"lr":0.0001}`,
		Params: map[string]string{"lr": "0.0001", "epochs": "40"},
		Env:    map[string]string{"go_version": "go1.26", "blas": "gonum", "num_cpu": "2"},
	})
	const steps, perStep = 500, 3
	for s := range steps {
		loss := 1 / float64(s+1)
		switch s {
		case 250:
			loss = math.NaN()
		case 251:
			loss = math.Inf(1)
		}
		if err := r.LogStep(s, map[string]float64{"loss": loss, "lr": 1e-4, "grad_norm": 2}); err != nil {
			t.Fatal(err)
		}
	}
	// Rows are written in batches: some are, the last few are still buffered.
	if n := count(t, db, `SELECT count(*) FROM steps WHERE run_id = ?`, r.ID()); n == 0 || n >= steps*perStep {
		t.Errorf("before Finish %d step rows written, want some but not all %d", n, steps*perStep)
	}
	test := map[string]float64{"i2t_r1": 50, "i2t_r5": 80, "i2t_r10": 90, "t2i_r1": 40, "t2i_r5": 70,
		"t2i_r10": 85, "rsum": 415, "i2t_medr": 1, "t2i_medr": 2, "chance_rsum": 3, "n_images": 1000,
		"n_captions": 5000}
	if err := r.RecordResults("test", test); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordResults("val", map[string]float64{"i2t_r1": 99, "rsum": 999, "epoch": 12, "epochs": 20}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordLatency(map[string]float64{"interactions": 1024, "query_ms": 0.5, "index_floats": 3e6,
		"encode_text_ms": 0.25, "encode_image_ms": 0.75, "other_ms": 9}); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(12.5); err != nil {
		t.Fatal(err)
	}

	if n := count(t, db, `SELECT count(*) FROM steps WHERE run_id = ?`, r.ID()); n != steps*perStep {
		t.Errorf("after Finish %d step rows, want %d", n, steps*perStep)
	}
	if n := count(t, db, `SELECT count(*) FROM steps WHERE run_id = ? AND name = 'loss' AND value IS NULL`, r.ID()); n != 2 {
		t.Errorf("%d NULL loss rows, want 2 (NaN and +Inf)", n)
	}
	if n := count(t, db, `SELECT count(*) FROM steps WHERE run_id = ? AND step = 250 AND value IS NOT NULL`, r.ID()); n != 2 {
		t.Errorf("step 250 has %d non-NULL values, want 2 (lr, grad_norm)", n)
	}
	if n := count(t, db, `SELECT count(*) FROM params WHERE run_id = ?`, r.ID()); n != 2 {
		t.Errorf("%d params rows, want 2", n)
	}
	if n := count(t, db, `SELECT count(*) FROM environment WHERE run_id = ? AND key = 'blas' AND value = 'gonum'`, r.ID()); n != 1 {
		t.Errorf("environment blas row missing (%d)", n)
	}

	got := summary(t, db, r.ID())
	want := map[string]any{
		"experiment": "exp", "run_id": r.ID(), "model": "inflated>base", "codes": int64(32),
		"schedule": "n+k>n", "seed": int64(7), "dataset": "synthetic", "protocol": "default",
		"status": "finished", "error": nil,
		"i2t_r1": 50.0, "i2t_r5": 80.0, "i2t_r10": 90.0, "t2i_r1": 40.0, "t2i_r5": 70.0, "t2i_r10": 85.0,
		"rsum": 415.0, "i2t_medr": 1.0, "t2i_medr": 2.0, "chance_rsum": 3.0,
		"test_images": 1000.0, "test_captions": 5000.0,
		"interactions": 1024.0, "query_ms": 0.5, "index_floats": 3e6, "encode_text_ms": 0.25,
		"encode_image_ms": 0.75, "train_seconds": 12.5, "teacher_run_id": teacher.ID(), "config_hash": "h1",
		"val_rsum": 999.0, "selected_epoch": 12.0, "epochs_trained": 20.0,
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("run_summary %s = %#v, want %#v", k, got[k], w)
		}
	}
	started, _ := got["started_at"].(string)
	finished, _ := got["finished_at"].(string)
	if len(started) != len("2006-01-02T15:04:05.000000000Z") || finished < started {
		t.Errorf("started_at %q, finished_at %q: want fixed-width UTC times, finished after started", started, finished)
	}

	if err := r.LogStep(steps, map[string]float64{"loss": 1}); err == nil {
		t.Error("LogStep after Finish succeeded")
	}
	if err := r.Finish(1); err == nil {
		t.Error("second Finish succeeded")
	}
	if err := r.Fail(errors.New("late")); err == nil {
		t.Error("Fail after Finish succeeded")
	}
}

func TestFailKeepsSteps(t *testing.T) {
	db := openTemp(t)
	r := mustStart(t, db, RunInfo{Experiment: "exp", ConfigHash: "h", Model: "base", Config: `{}`})
	for s := range 10 {
		if err := r.LogStep(s, map[string]float64{"loss": math.NaN()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Fail(fmt.Errorf("train: loss diverged at step %d", 9)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM steps WHERE run_id = ? AND value IS NULL`, r.ID()); n != 10 {
		t.Errorf("%d step rows kept after Fail, want 10", n)
	}
	got := summary(t, db, r.ID())
	if got["status"] != "failed" || got["error"] != "train: loss diverged at step 9" {
		t.Errorf("status %v, error %v: want failed with the message", got["status"], got["error"])
	}
	for _, c := range []string{"i2t_r1", "rsum", "query_ms", "train_seconds", "teacher_run_id"} {
		if got[c] != nil {
			t.Errorf("failed run's %s = %v, want NULL", c, got[c])
		}
	}
	if _, ok, err := db.FinishedRun("exp", "h"); ok || err != nil {
		t.Errorf("FinishedRun found a failed run (ok=%v, err=%v)", ok, err)
	}
}

func TestStartRunErrors(t *testing.T) {
	db := openTemp(t)
	if _, err := db.EnsureExperiment("exp", `{}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		info RunInfo
		want string
	}{
		{"unknown experiment", RunInfo{Experiment: "nope", ConfigHash: "h"}, `"nope"`},
		{"empty hash", RunInfo{Experiment: "exp"}, "ConfigHash"},
		{"missing teacher", RunInfo{Experiment: "exp", ConfigHash: "h", TeacherRunID: 42}, "FOREIGN KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.StartRun(tt.info)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartRun error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if n := count(t, db, `SELECT count(*) FROM runs`); n != 0 {
		t.Errorf("%d runs left by failed starts, want 0", n)
	}
}

func TestFinishedRun(t *testing.T) {
	db := openTemp(t)
	start := func(exp, hash string) *Run {
		return mustStart(t, db, RunInfo{Experiment: exp, ConfigHash: hash, Model: "base", Config: `{}`})
	}
	old := start("a", "h")
	newer := start("a", "h")
	start("a", "h") // stays running
	failed := start("a", "h")
	otherExp := start("b", "h")
	for _, r := range []*Run{old, newer, otherExp} {
		if err := r.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	late := start("a", "h")
	early := start("a", "g")
	if err := late.Finish(1); err != nil {
		t.Fatal(err)
	}
	if err := failed.Fail(errors.New("boom")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		find       func() (RunRecord, bool, error)
		wantID     int64
		wantOK     bool
		wantStatus string
	}{
		{"newest in experiment", func() (RunRecord, bool, error) { return db.FinishedRun("a", "h") }, late.ID(), true, "finished"},
		{"only finished of b", func() (RunRecord, bool, error) { return db.FinishedRun("b", "h") }, otherExp.ID(), true, "finished"},
		{"running only", func() (RunRecord, bool, error) { return db.FinishedRun("a", "g") }, 0, false, ""},
		{"unknown experiment", func() (RunRecord, bool, error) { return db.FinishedRun("c", "h") }, 0, false, ""},
		{"any experiment", func() (RunRecord, bool, error) { return db.FinishedRunAnyExperiment("h") }, late.ID(), true, "finished"},
		{"any experiment, unknown hash", func() (RunRecord, bool, error) { return db.FinishedRunAnyExperiment("x") }, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, ok, err := tt.find()
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || rec.ID != tt.wantID || rec.Status != tt.wantStatus {
				t.Errorf("got id %d ok %v status %q, want id %d ok %v status %q",
					rec.ID, ok, rec.Status, tt.wantID, tt.wantOK, tt.wantStatus)
			}
		})
	}
	// Newest means finished last, even by a run started first.
	second := start("a", "g")
	if err := second.Finish(1); err != nil {
		t.Fatal(err)
	}
	if err := early.Finish(1); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := db.FinishedRun("a", "g"); rec.ID != early.ID() {
		t.Errorf("FinishedRun(a, g) = run %d, want %d, finished last", rec.ID, early.ID())
	}
}

func TestRunRecordFields(t *testing.T) {
	db := openTemp(t)
	teacher := mustStart(t, db, RunInfo{Experiment: "exp", ConfigHash: "t", Model: "inflated", Config: `{}`})
	if err := teacher.Finish(1); err != nil {
		t.Fatal(err)
	}
	r := mustStart(t, db, RunInfo{Experiment: "exp", ConfigHash: "s", Model: "inflated>base", Codes: 16,
		Schedule: "n+k>n", Seed: -3, Dataset: "emoji", Protocol: "style", TeacherRunID: teacher.ID(), Config: `{}`})
	ckpt := filepath.Join(filepath.Dir(db.Path()), "ckpt", "s.gob")
	if err := r.SetCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(2); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.FinishedRunAnyExperiment("s")
	if err != nil || !ok {
		t.Fatalf("FinishedRunAnyExperiment: ok=%v err=%v", ok, err)
	}
	want := RunRecord{ID: r.ID(), Experiment: "exp", ConfigHash: "s", Model: "inflated>base", Schedule: "n+k>n",
		Dataset: "emoji", Protocol: "style", Status: "finished", Checkpoint: filepath.Join("ckpt", "s.gob"),
		Codes: 16, Seed: -3, TeacherRunID: teacher.ID()}
	if got != want {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
}

func TestCheckpointPath(t *testing.T) {
	db := openTemp(t)
	dir := filepath.Dir(db.Path())
	outside := filepath.Join(t.TempDir(), "ckpt.gob")
	tests := []struct {
		name, path, stored string
	}{
		{"inside", filepath.Join(dir, "ckpt", "a.gob"), filepath.Join("ckpt", "a.gob")},
		{"beside the database", filepath.Join(dir, "b.gob"), "b.gob"},
		{"outside", outside, outside},
		{"sibling with a common prefix", dir + "-x/c.gob", dir + "-x/c.gob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustStart(t, db, RunInfo{Experiment: "exp", ConfigHash: tt.name, Config: `{}`})
			if err := r.SetCheckpoint(tt.path); err != nil {
				t.Fatal(err)
			}
			var stored sql.NullString
			if err := db.SQL().QueryRow(`SELECT checkpoint FROM runs WHERE id = ?`, r.ID()).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored.String != tt.stored {
				t.Errorf("stored %q, want %q", stored.String, tt.stored)
			}
			if got := db.CheckpointPath(RunRecord{Checkpoint: stored.String}); got != tt.path {
				t.Errorf("CheckpointPath = %q, want %q", got, tt.path)
			}
		})
	}
	if got := db.CheckpointPath(RunRecord{}); got != "" {
		t.Errorf("CheckpointPath of a run without checkpoint = %q, want empty", got)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	// Two handles opened at once on a new file: one creates the schema, the
	// other waits for it.
	dbs := make([]*DB, 2)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = Open(path) })
	}
	wg.Wait()
	for i, db := range dbs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer db.Close()
	}
	if _, err := dbs[0].EnsureExperiment("exp", `{}`); err != nil {
		t.Fatal(err)
	}

	const steps = 1000
	ids := make([]int64, 4)
	for g := range 4 {
		wg.Go(func() {
			db := dbs[g%2]
			r, err := db.StartRun(RunInfo{Experiment: "exp", ConfigHash: fmt.Sprint(g), Config: `{}`,
				Params: map[string]string{"g": fmt.Sprint(g)}})
			if err != nil {
				errs[g] = err
				return
			}
			ids[g] = r.ID()
			for s := range steps {
				if err := r.LogStep(s, map[string]float64{"loss": float64(g), "lr": 1}); err != nil {
					errs[g] = err
					return
				}
			}
			if err := r.RecordResults("test", map[string]float64{"rsum": float64(g)}); err != nil {
				errs[g] = err
				return
			}
			errs[g] = r.Finish(1)
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", g, err)
		}
	}
	for g, id := range ids {
		if n := count(t, dbs[1], `SELECT count(*) FROM steps WHERE run_id = ? AND (name = 'lr' OR value = ?)`, id, g); n != 2*steps {
			t.Errorf("writer %d: %d step rows, want %d", g, n, 2*steps)
		}
	}
	if n := count(t, dbs[0], `SELECT count(*) FROM run_summary WHERE status = 'finished' AND rsum IS NOT NULL`); n != 4 {
		t.Errorf("%d finished runs with results, want 4", n)
	}
}

func BenchmarkLogStep(b *testing.B) {
	db := openTemp(b)
	r := mustStart(b, db, RunInfo{Experiment: "exp", ConfigHash: "h", Config: `{}`})
	values := map[string]float64{"loss": 0.5, "lr": 1e-4, "grad_norm": 1.5}
	b.ResetTimer()
	for s := range b.N {
		if err := r.LogStep(s, values); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.Finish(0); err != nil {
		b.Fatal(err)
	}
}

func TestOpenOddFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#1%20.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created under its exact name: %v", err)
	}
}
