package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/internal/cli/clitest"
	"github.com/inflateshrink/inflateshrink/store"
)

type failure struct{ msg, stack string }

func (f failure) Error() string { return f.msg }
func (f failure) Stack() string { return f.stack }

// fixture writes five runs of experiment "e" and one of "f", model base,
// schedule "1", params lr, dim, seed and code (text "0042" in the config),
// each finished one with loss at steps 1 and 2 (and lr 0.5 at step 1),
// ranks i2t 1 2 3 and t2i 1 1 4 2 9 1 on test, and a test and a
// validation rSum: run 1 (e, lr 0.1,
// seed 1, test 100, val 105), run 2 (e, lr 0.01, seed 1, test 150, val
// 155), run 3 failed with a stack, run 4 (f, lr 0.1, seed 1, test 300,
// val 305), run 5 (e, lr 0.1, seed 2, test 140, val 135), run 6 (e, lr
// 0.01, seed 2, test 80, val 95). In e, lr 0.01 has the higher mean
// validation rSum (125 against 120) and the lower mean test rSum (115
// against 120), and its best run (2) is the best of e on either split.
func fixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, e := range []string{"e", "f"} {
		if _, err := db.EnsureExperiment(e, `{}`); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		exp, lr   string
		seed      int64
		rsum, val float64
		fail      bool
	}{{"e", "0.1", 1, 100, 105, false}, {"e", "0.01", 1, 150, 155, false}, {"e", "1", 1, 0, 0, true}, {"f", "0.1", 1, 300, 305, false},
		{"e", "0.1", 2, 140, 135, false}, {"e", "0.01", 2, 80, 95, false}} {
		run, err := db.StartRun(store.RunInfo{Experiment: r.exp, ConfigHash: fmt.Sprint(r.exp, r.lr, r.seed), Model: "base", Schedule: "1",
			Seed: r.seed, Dataset: "d", Protocol: "p", Config: fmt.Sprintf(`{"lr":%s,"dim":16,"seed":%d,"code":"0042"}`, r.lr, r.seed),
			Params: map[string]string{"lr": r.lr, "dim": "16", "seed": fmt.Sprint(r.seed), "code": "0042"},
			Env:    map[string]string{"host": "h"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.fail {
			if err := run.Fail(failure{"panic: boom", "goroutine 7 [running]"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		run.LogStep(1, map[string]float64{"loss": 2, "lr": 0.5})
		run.LogStep(2, map[string]float64{"loss": 1})
		if err := run.RecordResults("test", map[string]float64{"rsum": r.rsum, "t2i_medr": 1000 / r.rsum}); err != nil {
			t.Fatal(err)
		}
		if err := run.RecordResults("val", map[string]float64{"rsum": r.val, "epoch": 3, "epochs": 4}); err != nil {
			t.Fatal(err)
		}
		if err := run.RecordRanks("test", []int{1, 2, 3}, []int{1, 1, 4, 2, 9, 1}); err != nil {
			t.Fatal(err)
		}
		if err := run.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func results(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, &out)
	return out.String(), err
}

func TestQueries(t *testing.T) {
	db := fixture(t)
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of the output
		notWant []string
	}{
		{"experiments", []string{"experiments"}, []string{"e           ", "f "}, nil},
		{"runs by status", []string{"runs", "-status", "failed"}, []string{"\n3   e"}, []string{"\n1 ", "\n2 "}},
		{"runs by param", []string{"runs", "-param", "lr=0.01"}, []string{"\n2 "}, []string{"\n1 ", "\n3 "}},
		{"runs by experiment", []string{"runs", "-experiment", "f"}, []string{"\n4 "}, []string{"\n1 "}},
		{"no match", []string{"runs", "-param", "lr=7"}, []string{"(no runs match)"}, nil},
		{"show", []string{"show", "3"}, []string{"run.status", "failed", "panic: boom", "stack:\ngoroutine 7 [running]", "param.lr", "env.host"}, nil},
		{"show steps", []string{"show", "1"}, []string{"steps\t2 (loss 2 -> 1)", "test.rsum", "100.0", "ranks.test.i2t              3 queries", "ranks.test.t2i              6 queries"}, nil},
		{"compare", []string{"compare", "1", "2"}, []string{"param.lr", "0.1", "0.01", "test.rsum", "equal rows not shown"}, []string{"param.dim", "env.host"}},
		{"compare all", []string{"compare", "-all", "1", "2"}, []string{"param.dim"}, nil},
		{"show validation", []string{"show", "2"}, []string{"val.epoch", "val.rsum", "155.0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := results(t, append([]string{"-db", db}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestBest: best ranks configurations by their mean over seeds, on
// validation unless told otherwise, and shows every seed.
func TestBest(t *testing.T) {
	db := fixture(t)
	tests := []struct {
		name string
		args []string
		want []string // the output's lines after the header, whitespace collapsed
	}{
		{"validation by default", []string{"best", "-experiment", "e"}, []string{
			"1 e base lr=0.01 2 125 42.43 1: 155, 2: 95 2,6",
			"2 e base lr=0.1 2 120 21.21 1: 105, 2: 135 1,5"}},
		{"test on request", []string{"best", "-experiment", "e", "-split", "test"}, []string{
			"1 e base lr=0.1 2 120 28.28 1: 100, 2: 140 1,5",
			"2 e base lr=0.01 2 115 49.5 1: 150, 2: 80 2,6"}},
		{"every experiment, one seed", []string{"best"}, []string{
			"1 f base lr=0.1 1 305 - 1: 305 4",
			"2 e base lr=0.01 2 125 42.43 1: 155, 2: 95 2,6",
			"3 e base lr=0.1 2 120 21.21 1: 105, 2: 135 1,5"}},
		{"lowest", []string{"best", "-split", "test", "-metric", "t2i_medr", "-lowest", "-param", "lr=0.1"}, []string{
			"1 f base - 1 3.333 - 1: 3.333 4",
			"2 e base - 2 8.571 2.02 1: 10, 2: 7.143 1,5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := results(t, append([]string{"-db", db}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if !strings.HasPrefix(lines[0], "rank ") || !strings.Contains(lines[0], "per seed") {
				t.Errorf("header %q", lines[0])
			}
			var got []string
			for _, l := range lines[1:] {
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("best:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestExport(t *testing.T) {
	db := fixture(t)
	out, err := results(t, "-db", db, "export", "-format", "csv", "-experiment", "e")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	lr := slices.Index(recs[0], "param.lr")
	if len(recs) != 6 || recs[0][0] != "experiment" || lr < 0 || !slices.Contains(recs[0], "param.seed") || !slices.IsSorted(recs[0][slices.Index(recs[0], "param.code"):]) {
		t.Fatalf("csv: %d records, header %q; want a header and 5 runs, the params last, sorted, param.lr and param.seed among them", len(recs), recs[0])
	}
	if i := slices.Index(recs[0], "val_rsum"); i < 0 || recs[2][i] != "155" {
		t.Errorf("csv: val_rsum column %d, run 2's %q; want 155", i, recs[2][max(i, 0)])
	}
	if recs[2][lr] != "0.01" {
		t.Errorf("run 2 param.lr = %q", recs[2][lr])
	}
	out, err = results(t, "-db", db, "export", "-format", "json", "-status", "finished")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 5 || rows[1]["rsum"] != 150.0 || rows[1]["val_rsum"] != 155.0 || rows[1]["param.lr"] != 0.01 || rows[0]["error"] != nil {
		t.Errorf("json rows %v", rows)
	}
}

func TestBadInput(t *testing.T) {
	db := fixture(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"-db", db}, "no command"},
		{"unknown command", []string{"-db", db, "frobnicate"}, `unknown command "frobnicate"`},
		{"missing database", []string{"-db", filepath.Join(t.TempDir(), "none.db"), "runs"}, "no results database at"},
		{"bad id", []string{"-db", db, "show", "x"}, `run id "x"`},
		{"no such run", []string{"-db", db, "show", "99"}, "no run 99"},
		{"one id to compare", []string{"-db", db, "compare", "1"}, "at least two"},
		{"bad param", []string{"-db", db, "runs", "-param", "lr"}, `"lr": want key=value`},
		{"bad format", []string{"-db", db, "export", "-format", "xml"}, `-format "xml"`},
		{"merge nothing", []string{"-db", db, "merge"}, "no shard"},
		{"no run with the metric", []string{"-db", db, "best", "-status", "failed"},
			`no finished run matching the filters has a result "rsum" in split "val"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := results(t, tc.args...)
			if err == nil || !strings.Contains(err.Error()+out, tc.want) {
				t.Errorf("err %v, output %q; want an error containing %q", err, out, tc.want)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db := fixture(t)
	s, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SQL().Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = results(t, "-db", db, "runs")
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Errorf("err %v, want the versions named", err)
	}
}

func TestMergeCommand(t *testing.T) {
	shard := fixture(t)
	db := filepath.Join(t.TempDir(), "results.db")
	out, err := results(t, "-db", db, "merge", shard)
	if err != nil || !strings.Contains(out, "6 runs added") {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	out, err = results(t, "merge", "-db", db, shard) // -db after the command too
	if err != nil || !strings.Contains(out, "0 runs added, 6 already merged") {
		t.Errorf("merge again: %v\n%s", err, out)
	}
	// A shard whose experiment e was defined otherwise conflicts.
	other := fixture(t)
	s, err := store.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	s.SQL().Exec(`UPDATE experiments SET definition = '{"x":1}' WHERE name = 'e'`)
	s.Close()
	out, err = results(t, "-db", db, "merge", other)
	if err == nil || errors.As(err, new(*cli.UsageError)) || !strings.Contains(out, `conflict: experiment "e" is defined otherwise`) {
		t.Errorf("conflicting merge: %v\n%s", err, out)
	}
}

// TestMergeIntoItself: a shard that is the -db file, under any name, is
// refused before anything is merged, not after the busy timeout.
func TestMergeIntoItself(t *testing.T) {
	db := fixture(t)
	shard := fixture(t)
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, self string }{
		{"same path", db},
		{"other spelling", filepath.Dir(db) + "/./" + filepath.Base(db)},
		{"symbolic link", link},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := results(t, "-db", db, "merge", shard, tt.self)
			want := "merge: shard " + tt.self + " is the file of -db " + db
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("merge %s into -db %s: err %v, output %q; want an error containing %q", tt.self, db, err, out, want)
			}
			if strings.Contains(out, "runs added") {
				t.Errorf("merge %s %s into -db %s merged the first shard before refusing:\n%s", shard, tt.self, db, out)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("merge %s into -db %s took %v to refuse", tt.self, db, d)
			}
		})
	}
}

// TestShowDuringWrites: show reads a run in one snapshot while another
// connection records it, so its status and steps agree: the writer logs
// the run's one step as it finishes it, in one transaction.
func TestShowDuringWrites(t *testing.T) {
	path := fixture(t)
	w, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	started, done := make(chan int64), make(chan struct{})
	go func() {
		defer close(done)
		defer close(started)
		for i := range 100 {
			run, err := w.StartRun(store.RunInfo{Experiment: "e", ConfigHash: fmt.Sprint("w", i), Model: "base", Config: `{}`})
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			started <- run.ID()
			if err := run.LogStep(1, map[string]float64{"loss": 2}); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			// Finish at varying moments of the show that reads the run.
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			if err := run.Finish(1); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	defer func() { <-done }()
	status := regexp.MustCompile(`(?m)^run\.status\s+(\S+)$`)
	steps := regexp.MustCompile(`(?m)^steps\t(\d+) `)
	for id := range started {
		out, err := results(t, "-db", path, "show", fmt.Sprint(id))
		if err != nil {
			t.Fatalf("show %d of %s during writes: %v\n%s", id, path, err, out)
		}
		s, n := status.FindStringSubmatch(out), steps.FindStringSubmatch(out)
		if s == nil || n == nil {
			t.Fatalf("show %d of %s: no status or steps in\n%s", id, path, out)
		}
		if want := map[string]string{"running": "0", "finished": "1"}[s[1]]; n[1] != want {
			t.Errorf("show %d of %s: run %s with %s steps, want %s", id, path, s[1], n[1], want)
		}
	}
}

// TestMain runs the results command itself, instead of the tests, in the
// processes that execResults starts.
func TestMain(m *testing.M) { clitest.Main(m, "RESULTS_TEST_COMMAND", main) }

// execResults runs the results command line args in a process of its own,
// as a user would.
func execResults(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return clitest.Exec(t, "RESULTS_TEST_COMMAND", args...)
}

// TestHelp: -h prints the usage of results, or of the command it follows
// with that command's own flags, to stdout, and exits 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string // in stdout
		notWant []string
	}{
		{[]string{"-h"}, []string{"usage: results [-db results.db] <command>", "  experiments ", "  export ", "  merge ", "-db path"}, nil},
		{[]string{"experiments", "-h"}, []string{"usage: results [-db results.db] experiments\n", "-db path"}, []string{"-status"}},
		{[]string{"runs", "-h"}, []string{"usage: results [-db results.db] runs [filters]", "-status status", "-param key=value"}, []string{"-metric", "-format"}},
		{[]string{"show", "-h"}, []string{"usage: results [-db results.db] show ID"}, []string{"-status"}},
		{[]string{"compare", "-h"}, []string{"usage: results [-db results.db] compare [-all] ID ID...", "-all"}, []string{"-status"}},
		{[]string{"best", "-h"}, []string{"usage: results [-db results.db] best ", "-metric name", "-split split", "-lowest", "-experiment name"}, []string{"-format"}},
		{[]string{"export", "-h"}, []string{"usage: results [-db results.db] export ", "-what runs|steps|ranks", "-format csv|json", "-split split", "-model m"}, []string{"-metric"}},
		{[]string{"merge", "-h"}, []string{"usage: results [-db results.db] merge SHARD..."}, []string{"-status"}},
		{[]string{"-db", "x.db", "runs", "--help"}, []string{"usage: results [-db results.db] runs"}, nil},
	}
	for _, tt := range tests {
		stdout, stderr, code := execResults(t, tt.args...)
		if code != 0 || stderr != "" {
			t.Errorf("results %q: exit %d, stderr %q; want 0 and nothing", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("results %q: stdout lacks %q:\n%s", tt.args, w, stdout)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(stdout, w) {
				t.Errorf("results %q: stdout has %q, another command's flag:\n%s", tt.args, w, stdout)
			}
		}
	}
}

// TestUsageErrors: a usage error exits 2 and prints its message once, to
// stderr, with where to find the usage; another error exits 1.
func TestUsageErrors(t *testing.T) {
	db := fixture(t)
	tests := []struct {
		args []string
		code int
		want string // once in stderr
		help string // the pointer to the usage
	}{
		{nil, 2, "results: no command: want experiments, runs, show, compare, best, export or merge", "results -h"},
		{[]string{"-db", db, "frobnicate"}, 2, `results: unknown command "frobnicate": want experiments, runs`, "results -h"},
		{[]string{"-x"}, 2, "results: flag provided but not defined: -x", "results -h"},
		{[]string{"-db", db, "runs", "-x"}, 2, "results runs: flag provided but not defined: -x", "results runs -h"},
		{[]string{"-db", db, "runs", "extra"}, 2, `results runs: unexpected arguments ["extra"]`, "results runs -h"},
		{[]string{"-db", db, "runs", "-param", "lr"}, 2, `results runs: invalid value "lr" for flag -param: "lr": want key=value`, "results runs -h"},
		{[]string{"-db", db, "show"}, 2, "results show: want one run id", "results show -h"},
		{[]string{"-db", db, "show", "x"}, 2, `results show: run id "x": want a positive integer`, "results show -h"},
		{[]string{"-db", db, "compare", "1"}, 2, "results compare: want at least two run ids", "results compare -h"},
		{[]string{"-db", db, "export", "-format", "xml"}, 2, `results export: -format "xml": want csv or json`, "results export -h"},
		{[]string{"-db", db, "runs", "-status", "done"}, 2, `results runs: -status "done": want running, finished, failed or interrupted`, "results runs -h"},
		{[]string{"-db", db, "merge"}, 2, "results merge: no shard given", "results merge -h"},
		{[]string{"-db", db, "show", "99"}, 1, "results: no run 99", ""},
		{[]string{"-db", filepath.Join(t.TempDir(), "none.db"), "runs"}, 1, "results: no results database at", ""},
	}
	for _, tt := range tests {
		stdout, stderr, code := execResults(t, tt.args...)
		if code != tt.code {
			t.Errorf("results %q: exit %d, want %d\n%s", tt.args, code, tt.code, stderr)
		}
		if n := strings.Count(stderr, tt.want); n != 1 {
			t.Errorf("results %q: stderr has %q %d times, want once:\n%s", tt.args, tt.want, n, stderr)
		}
		if tt.help != "" && !strings.Contains(stderr, "run '"+tt.help+"' for usage") {
			t.Errorf("results %q: stderr does not point to %q:\n%s", tt.args, tt.help, stderr)
		}
		if stdout != "" {
			t.Errorf("results %q: stdout %q, want nothing", tt.args, stdout)
		}
	}
}

// TestInvalidFilterValues: a filter value that the database does not
// record at all is a usage error listing the valid values, not "no runs
// match"; a value of a known param key that no run has is still an empty
// answer.
func TestInvalidFilterValues(t *testing.T) {
	db := fixture(t)
	tests := []struct {
		args []string
		want string // the error
	}{
		{[]string{"runs", "-status", "done"}, `runs: -status "done": want running, finished, failed or interrupted`},
		{[]string{"export", "-status", "done"}, `export: -status "done": want running, finished, failed or interrupted`},
		{[]string{"best", "-status", "done"}, `best: -status "done": want running, finished, failed or interrupted`},
		{[]string{"runs", "-experiment", "g"}, `runs: -experiment "g": no such experiment; want e or f`},
		{[]string{"runs", "-model", "fast"}, `runs: -model "fast": no run has this model; want base`},
		{[]string{"runs", "-param", "lrr=0.1"}, `runs: -param "lrr=0.1": no run has param lrr; want code, dim, lr or seed`},
		{[]string{"best", "-metric", "nope"}, `best: -metric "nope": no result of split "val" has this name; want epoch, epochs or rsum`},
		{[]string{"best", "-split", "test", "-metric", "r1"}, `best: -metric "r1": no result of split "test" has this name; want rsum or t2i_medr`},
		{[]string{"best", "-split", "train"}, `best: -split "train": no result has this split; want test or val`},
		{[]string{"export", "-what", "curves"}, `export: -what "curves": want runs, steps or ranks`},
		{[]string{"export", "-what", "ranks", "-split", "val"}, `export: -split "val": no ranks have this split; want test`},
		{[]string{"export", "-split", "test"}, `export: -split "test": only -what ranks has splits`},
	}
	for _, tt := range tests {
		out, err := results(t, append([]string{"-db", db}, tt.args...)...)
		var u *cli.UsageError
		if !errors.As(err, &u) || strings.TrimPrefix(u.Command, "results ")+": "+err.Error() != tt.want {
			t.Errorf("results %q: error %v, want the usage error %q", tt.args, err, tt.want)
		}
		if out != "" {
			t.Errorf("results %q: printed %q", tt.args, out)
		}
	}
	out, err := results(t, "-db", db, "runs", "-experiment", "f", "-param", "lr=0.01")
	if err != nil || !strings.Contains(out, "(no runs match)") {
		t.Errorf("runs of known values that no run has together: %v\n%s", err, out)
	}
}

// TestExportJSONTypes: JSON export keeps each value's type: numbers are
// numbers, text is text even when it reads as a number (schedule "1",
// param code "0042"), params are typed as the run's config has them, and
// the keys keep the column order.
func TestExportJSONTypes(t *testing.T) {
	db := fixture(t)
	out, err := results(t, "-db", db, "export", "-format", "json", "-experiment", "f")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1:\n%s", len(rows), out)
	}
	want := map[string]any{
		"experiment": "f", "run_id": 4.0, "model": "base", "codes": 0.0, "schedule": "1", "seed": 1.0, "dataset": "d",
		"status": "finished", "error": nil, "rsum": 300.0, "i2t_r1": nil, "config_hash": "f0.11", "val_rsum": 305.0,
		"selected_epoch": 3.0, "param.lr": 0.1, "param.dim": 16.0, "param.seed": 1.0, "param.code": "0042",
	}
	for k, w := range want {
		if g, ok := rows[0][k]; !ok || g != w {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	if !strings.HasPrefix(out, `[`+"\n"+`{"experiment":"f","run_id":4,"model":"base","codes":0,"schedule":"1",`) {
		t.Errorf("keys out of column order:\n%s", out)
	}
	// CSV writes the stored text.
	out, err = results(t, "-db", db, "export", "-experiment", "f")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv: %v, %d records\n%s", err, len(recs), out)
	}
	for k, w := range map[string]string{"schedule": "1", "rsum": "300", "error": "", "param.code": "0042", "param.lr": "0.1"} {
		if i := slices.Index(recs[0], k); i < 0 || recs[1][i] != w {
			t.Errorf("csv %s: column %d of %q, want %q", k, i, recs[1], w)
		}
	}
}

// TestExportSteps: -what steps writes a record per run and step with a
// field per value name, empty (null) where the step logged none.
func TestExportSteps(t *testing.T) {
	db := fixture(t)
	out, err := results(t, "-db", db, "export", "-what", "steps", "-param", "lr=0.01")
	if err != nil {
		t.Fatal(err)
	}
	want := `experiment,run_id,model,seed,step,loss,lr
e,2,base,1,1,2,0.5
e,2,base,1,2,1,
e,6,base,2,1,2,0.5
e,6,base,2,2,1,
`
	if out != want {
		t.Errorf("csv steps:\n%s\nwant:\n%s", out, want)
	}
	out, err = results(t, "-db", db, "export", "-what", "steps", "-format", "json", "-experiment", "f")
	if err != nil {
		t.Fatal(err)
	}
	want = `[
{"experiment":"f","run_id":4,"model":"base","seed":1,"step":1,"loss":2,"lr":0.5},
{"experiment":"f","run_id":4,"model":"base","seed":1,"step":2,"loss":1,"lr":null}
]
`
	if out != want {
		t.Errorf("json steps:\n%s\nwant:\n%s", out, want)
	}
	out, err = results(t, "-db", db, "export", "-what", "steps", "-format", "json", "-status", "failed")
	if err != nil || out != "[]\n" {
		t.Errorf("json steps of a run that logged none: %v, %q; want []", err, out)
	}
}

// TestExportRanks: -what ranks decodes the ranks blobs: in CSV a row per
// query, in JSON an array per run, split and direction.
func TestExportRanks(t *testing.T) {
	db := fixture(t)
	out, err := results(t, "-db", db, "export", "-what", "ranks", "-experiment", "f")
	if err != nil {
		t.Fatal(err)
	}
	want := `experiment,run_id,model,seed,split,direction,query,rank
f,4,base,1,test,i2t,0,1
f,4,base,1,test,i2t,1,2
f,4,base,1,test,i2t,2,3
f,4,base,1,test,t2i,0,1
f,4,base,1,test,t2i,1,1
f,4,base,1,test,t2i,2,4
f,4,base,1,test,t2i,3,2
f,4,base,1,test,t2i,4,9
f,4,base,1,test,t2i,5,1
`
	if out != want {
		t.Errorf("csv ranks:\n%s\nwant:\n%s", out, want)
	}
	out, err = results(t, "-db", db, "export", "-what", "ranks", "-format", "json", "-split", "test", "-param", "lr=0.01", "-param", "seed=2")
	if err != nil {
		t.Fatal(err)
	}
	want = `[
{"experiment":"e","run_id":6,"model":"base","seed":2,"split":"test","direction":"i2t","ranks":[1,2,3]},
{"experiment":"e","run_id":6,"model":"base","seed":2,"split":"test","direction":"t2i","ranks":[1,1,4,2,9,1]}
]
`
	if out != want {
		t.Errorf("json ranks:\n%s\nwant:\n%s", out, want)
	}
}
