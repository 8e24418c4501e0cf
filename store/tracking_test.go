package store

import (
	"bytes"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// migrated writes a database with the statements (an old schema and its
// rows, meta's schema_version included), then opens it with Open, which
// migrates it, and checks that it reached SchemaVersion. The statements
// run with the pragmas migrate sets, which rebuilding runs (version 2)
// needs.
func migrated(t *testing.T, statements ...string) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append([]string{`PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON`}, statements...) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if n := count(t, db, `SELECT count(*) FROM meta WHERE key = 'schema_version' AND value = ?`, fmt.Sprint(SchemaVersion)); n != 1 {
		t.Errorf("schema_version not %d after migration", SchemaVersion)
	}
	return db
}

// TestMigrateFromV1 opens a database written by schema version 1 and finds
// every row kept, every run given a uid, and the new status usable.
func TestMigrateFromV1(t *testing.T) {
	db := migrated(t, schemaV1,
		`INSERT INTO meta VALUES('schema_version', '1')`,
		`INSERT INTO experiments VALUES(1, 'e', '{"a":1}', '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO runs(id, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol, status, started_at, finished_at, config)
			VALUES(1, 1, 'h1', 'inflated', 4, 'n+k', 1, 'd', 'p', 'finished', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:01:00.000000000Z', '{}')`,
		`INSERT INTO runs(id, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol, status, teacher_run_id, started_at, config)
			VALUES(2, 1, 'h2', 'inflated>base', 4, 'n+k>n', 1, 'd', 'p', 'running', 1, '2026-01-01T00:02:00.000000000Z', '{}')`,
		`INSERT INTO params VALUES(1, 'dim', '32')`,
		`INSERT INTO steps VALUES(1, 1, 'loss', 0.5)`,
		`INSERT INTO results VALUES(1, 'test', 'rsum', 123.5)`,
		`INSERT INTO latency VALUES(1, 'query_ms', 0.25)`,
		`INSERT INTO environment VALUES(1, 'hostname', 'h')`)
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM runs`, 2},
		{`SELECT count(DISTINCT uid) FROM runs WHERE length(uid) = 32`, 2},
		{`SELECT count(*) FROM runs WHERE id = 2 AND teacher_run_id = 1 AND status = 'running'`, 1},
		{`SELECT count(*) FROM params WHERE key = 'dim' AND value = '32'`, 1}, {`SELECT count(*) FROM steps`, 1},
		{`SELECT count(*) FROM latency`, 1}, {`SELECT count(*) FROM environment`, 1},
		{`SELECT count(*) FROM run_summary WHERE run_id = 1 AND rsum = 123.5 AND query_ms = 0.25`, 1},
		{`SELECT count(*) FROM experiment_definitions WHERE definition = '{"a":1}'`, 1},
	} {
		if n := count(t, db, c.query); n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
	// Foreign keys still hold after the rebuild of runs.
	if _, err := db.SQL().Exec(`INSERT INTO params VALUES(99, 'k', 'v')`); err == nil {
		t.Error("a param of a missing run was accepted after migration")
	}
	marked, err := db.MarkStale()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(marked, []int64{2}) {
		t.Errorf("MarkStale marked %v, want the v1 run left running, [2]", marked)
	}
	if rec, ok, err := db.FinishedRun("e", "h1"); err != nil || !ok || rec.ID != 1 {
		t.Errorf("FinishedRun after migration = %+v, %v, %v", rec, ok, err)
	}
}

func TestMarkStale(t *testing.T) {
	db := openTemp(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("no process to outlive: %v", err)
	}
	old := time.Now().Add(-2 * StaleAfter).UTC().Format(timeFormat)
	cases := []struct {
		name, owner, heartbeat string
		stale                  bool
	}{
		{"this process", self.String(), now(), false},
		{"dead process", owner{self.host, dead.Process.Pid, self.start}.String(), now(), true},
		{"recycled pid", owner{self.host, self.pid, "1"}.String(), now(), true},
		{"other host, recent heartbeat", owner{"elsewhere", 1, "5"}.String(), now(), false},
		{"other host, old heartbeat", owner{"elsewhere", 1, "5"}.String(), old, true},
	}
	var want []int64
	for _, c := range cases {
		r := mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: c.name, Config: `{}`})
		if _, err := db.SQL().Exec(`UPDATE runs SET owner = ?, heartbeat_at = ? WHERE id = ?`, c.owner, c.heartbeat, r.ID()); err != nil {
			t.Fatal(err)
		}
		if c.stale {
			want = append(want, r.ID())
		}
	}
	got, err := db.MarkStale()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MarkStale marked %v, want %v", got, want)
	}
	if n := count(t, db, `SELECT count(*) FROM runs WHERE status = 'interrupted' AND error LIKE 'interrupted: %'`); n != len(want) {
		t.Errorf("%d runs interrupted with a reason, want %d", n, len(want))
	}
	if got, err := db.MarkStale(); err != nil || len(got) != 0 {
		t.Errorf("MarkStale again marked %v, %v; want none", got, err)
	}
}

type stackError struct{ msg, stack string }

func (e stackError) Error() string { return e.msg }
func (e stackError) Stack() string { return e.stack }

func TestInterruptAndStack(t *testing.T) {
	db := openTemp(t)
	a := mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: "a", Config: `{}`})
	if err := a.LogStep(1, map[string]float64{"loss": 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.Interrupt(errors.New("context canceled")); err != nil {
		t.Fatal(err)
	}
	b := mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: "b", Config: `{}`})
	if err := b.Fail(fmt.Errorf("stage: %w", stackError{"panic: boom", "goroutine 1 [running]:\nmain.f()"})); err != nil {
		t.Fatal(err)
	}
	if err := a.Fail(errors.New("x")); err == nil {
		t.Error("Fail after Interrupt succeeded")
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM runs WHERE id = 1 AND status = 'interrupted' AND error = 'context canceled' AND stack IS NULL AND finished_at IS NOT NULL`, 1},
		{`SELECT count(*) FROM steps WHERE run_id = 1`, 1},
		{`SELECT count(*) FROM runs WHERE id = 2 AND status = 'failed' AND error = 'stage: panic: boom' AND stack LIKE 'goroutine 1 %'`, 1},
		{`SELECT count(*) FROM run_summary WHERE status = 'interrupted'`, 1},
	} {
		if n := count(t, db, c.query); n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
}

var (
	stressProcs = flag.Int("stress.procs", 6, "writer processes of TestMultiProcessWriters")
	stressRuns  = flag.Int("stress.runs", 3, "runs per writer process")
	stressSteps = flag.Int("stress.steps", 1000, "steps per run")
)

// TestMultiProcessWriters starts several processes (this test binary again)
// that write runs into one new database at the same moment, and counts
// every row. go test ./store -run MultiProcess -stress.procs=32
// -stress.steps=20000 is the long variant.
func TestMultiProcessWriters(t *testing.T) {
	if path := os.Getenv("STORE_STRESS_DB"); path != "" {
		stressWriter(t, path)
		return
	}
	if testing.Short() {
		*stressProcs, *stressSteps = 3, 300
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.db")
	procs := make([]*exec.Cmd, *stressProcs)
	outs := make([]bytes.Buffer, *stressProcs)
	start := time.Now().Add(300 * time.Millisecond)
	for i := range procs {
		procs[i] = exec.Command(exe, "-test.run=^TestMultiProcessWriters$", "-test.v",
			"-stress.runs="+strconv.Itoa(*stressRuns), "-stress.steps="+strconv.Itoa(*stressSteps))
		procs[i].Env = append(os.Environ(), "STORE_STRESS_DB="+path, "STORE_STRESS_WRITER="+strconv.Itoa(i),
			"STORE_STRESS_START="+strconv.FormatInt(start.UnixNano(), 10))
		procs[i].Stdout, procs[i].Stderr = &outs[i], &outs[i]
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Errorf("writer %d: %v\n%s", i, err, outs[i].String())
		}
		if strings.Contains(outs[i].String(), "locked") {
			t.Errorf("writer %d reported a lock:\n%s", i, outs[i].String())
		}
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs := *stressProcs * *stressRuns
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM experiments`, 1},
		{`SELECT count(*) FROM runs WHERE status = 'finished'`, runs},
		{`SELECT count(*) FROM runs`, runs},
		{`SELECT count(*) FROM steps`, runs * *stressSteps * 2},
		{`SELECT count(*) FROM results`, runs},
		{`SELECT count(*) FROM params`, runs},
		// each run's own values, not another's
		{`SELECT count(*) FROM steps s JOIN params p ON p.run_id = s.run_id AND p.key = 'writer' WHERE s.name = 'loss' AND s.value = CAST(p.value AS REAL)`, runs * *stressSteps},
	} {
		if n := count(t, db, c.query); n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
}

func stressWriter(t *testing.T, path string) {
	w := os.Getenv("STORE_STRESS_WRITER")
	if ns, err := strconv.ParseInt(os.Getenv("STORE_STRESS_START"), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, ns)))
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.EnsureExperiment("stress", `{"procs":"many"}`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, *stressRuns)
	for k := range *stressRuns {
		wg.Go(func() {
			r, err := db.StartRun(RunInfo{Experiment: "stress", ConfigHash: w + "/" + strconv.Itoa(k), Config: `{}`,
				Params: map[string]string{"writer": w}})
			if err != nil {
				errs[k] = err
				return
			}
			v, _ := strconv.ParseFloat(w, 64)
			for s := range *stressSteps {
				if err := r.LogStep(s, map[string]float64{"loss": v, "lr": 1}); err != nil {
					errs[k] = err
					return
				}
			}
			if err := r.RecordResults("test", map[string]float64{"rsum": v}); err != nil {
				errs[k] = err
				return
			}
			errs[k] = r.Finish(1)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateFromV2 opens a database written by schema version 2 (the
// schema before per-query ranks): its runs stay readable, have no ranks,
// and new runs can record some.
func TestMigrateFromV2(t *testing.T) {
	db := migrated(t, schemaV1, schemaV2,
		`INSERT INTO meta VALUES('schema_version', '2')`,
		`INSERT INTO experiments VALUES(1, 'e', '{}', '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO runs(id, uid, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol, status, started_at, finished_at, config)
			VALUES(1, 'u1', 1, 'h1', 'base', 0, 'n', 1, 'd', 'p', 'finished', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:01:00.000000000Z', '{}')`,
		`INSERT INTO results VALUES(1, 'test', 'rsum', 123.5)`)
	if n := count(t, db, `SELECT count(*) FROM run_summary WHERE run_id = 1 AND rsum = 123.5`); n != 1 {
		t.Errorf("the version 2 run is not readable after migration")
	}
	if _, ok, err := db.Ranks(1, "test", I2T); ok || err != nil {
		t.Errorf("Ranks of a version 2 run: ok %v, error %v; want none, no error", ok, err)
	}
	run, err := db.StartRun(RunInfo{Experiment: "e", ConfigHash: "h2", Model: "base", Schedule: "n", Config: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.RecordRanks("test", []int{1, 2}, []int{3, 1, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := db.Ranks(run.ID(), "test", T2I); !ok || err != nil || !reflect.DeepEqual(got, []int{3, 1, 1, 2}) {
		t.Errorf("Ranks after migration = %v, %v, %v", got, ok, err)
	}
}

// TestMigrateFromV3 opens a database written by schema version 3 (the
// view before validation columns): run_summary is recreated with every
// column of version 3 in its place and val_rsum, selected_epoch and
// epochs_trained appended, read from split 'val' where a run has it and
// NULL where it has none; rows and ranks are kept.
func TestMigrateFromV3(t *testing.T) {
	db := migrated(t, schemaV1, schemaV2, schemaV3,
		`INSERT INTO meta VALUES('schema_version', '3')`,
		`INSERT INTO experiments VALUES(1, 'e', '{}', '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO runs(id, uid, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol, status, started_at, finished_at, config)
			VALUES(1, 'u1', 1, 'h1', 'base', 0, 'n', 1, 'd', 'p', 'finished', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:01:00.000000000Z', '{}')`,
		`INSERT INTO runs(id, uid, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol, status, started_at, finished_at, config)
			VALUES(2, 'u2', 1, 'h2', 'base', 0, 'n', 2, 'd', 'p', 'finished', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:01:00.000000000Z', '{}')`,
		`INSERT INTO results VALUES(1, 'test', 'rsum', 123.5)`,
		`INSERT INTO results VALUES(2, 'test', 'rsum', 200)`,
		`INSERT INTO results VALUES(2, 'val', 'rsum', 210.5)`,
		`INSERT INTO results VALUES(2, 'val', 'epoch', 7)`,
		`INSERT INTO results VALUES(2, 'val', 'epochs', 9)`,
		`INSERT INTO latency VALUES(1, 'query_ms', 0.25)`,
		`INSERT INTO ranks VALUES(1, 'test', 'i2t', X'0100000004000000')`) // ranks 1 and 4, little-endian uint32
	tests := []struct {
		name string
		id   int64
		want map[string]any
	}{
		{"no validation results", 1, map[string]any{"rsum": 123.5, "query_ms": 0.25, "val_rsum": nil, "selected_epoch": nil, "epochs_trained": nil}},
		{"validation results", 2, map[string]any{"rsum": 200.0, "query_ms": nil, "val_rsum": 210.5, "selected_epoch": 7.0, "epochs_trained": 9.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(t, db, tt.id) // also checks the column order
			for k, w := range tt.want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("run_summary %s = %#v, want %#v", k, got[k], w)
				}
			}
		})
	}
	if got, ok, err := db.Ranks(1, "test", I2T); !ok || err != nil || !reflect.DeepEqual(got, []int{1, 4}) {
		t.Errorf("Ranks after migration = %v, %v, %v", got, ok, err)
	}
}
