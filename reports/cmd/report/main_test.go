package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/cli/clitest"
	"github.com/inflateshrink/inflateshrink/internal/readonly"
	"github.com/inflateshrink/inflateshrink/store"
)

// fixture writes a results database with two experiments of one finished
// run each, through the store as training would.
func fixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, e := range []string{"alpha", "beta"} {
		if _, err := db.EnsureExperiment(e, "{}"); err != nil {
			t.Fatal(err)
		}
		run, err := db.StartRun(store.RunInfo{Experiment: e, ConfigHash: e, Model: "base", Schedule: "n", Seed: 1,
			Dataset: "synthetic", Protocol: "1k", Config: "{}", Params: map[string]string{"model": "base", "seed": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		r := float64(100 + i)
		if err := run.RecordResults("test", map[string]float64{"i2t_r1": r / 6, "rsum": r, "chance_rsum": 3, "n_images": 2, "n_captions": 4}); err != nil {
			t.Fatal(err)
		}
		if err := run.RecordRanks("test", []int{1, 2}, []int{1, 3, 2, 1}); err != nil {
			t.Fatal(err)
		}
		if err := run.RecordLatency(map[string]float64{"query_ms": 0.5, "interactions": 64, "index_floats": 256}); err != nil {
			t.Fatal(err)
		}
		if err := run.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestRun(t *testing.T) {
	db := fixture(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		files []string // under -out
		want  string   // in the error, "" for none
	}{
		{name: "every experiment", args: nil, files: []string{"alpha/alpha.md", "alpha/alpha.html", "alpha/alpha.tex", "beta/beta.md"}},
		{name: "one experiment", args: []string{"-experiment", "beta"}, files: []string{"beta/beta.html"}},
		{name: "unknown experiment", args: []string{"-experiment", "gamma"}, want: `-experiment "gamma": no runs in `},
		{name: "stray argument", args: []string{"x"}, want: `unexpected arguments ["x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			err := run(append([]string{"-db", db, "-out", out}, tt.args...), io.Discard)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	after, err := os.ReadFile(db)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the report command changed the database (%v)", err)
	}
	if err := run([]string{"-db", filepath.Join(t.TempDir(), "none.db")}, io.Discard); err == nil || !strings.Contains(err.Error(), "report: -db") {
		t.Errorf("missing database: error %v", err)
	}
}

// TestRunReadOnlyDirectory: the report of a database in a directory where
// nothing can be created (SQLite's WAL would create -shm there) renders,
// and leaves the directory as it was.
func TestRunReadOnlyDirectory(t *testing.T) {
	dir := readonly.Dir(t, fixture(t))
	db := filepath.Join(dir, "results.db")
	out := t.TempDir()
	if err := run([]string{"-db", db, "-out", out}, io.Discard); err != nil {
		t.Fatalf("report -db %s in a read-only directory: %v", db, err)
	}
	for _, f := range []string{"alpha/alpha.md", "beta/beta.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("report -db %s: %v", db, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("report -db %s left %d files in its directory, want 1 (the database)", db, len(entries))
	}
}

// TestMain runs the report command itself, instead of the tests, in the
// processes that execReport starts.
func TestMain(m *testing.M) { clitest.Main(m, "REPORT_TEST_COMMAND", main) }

// execReport runs the report command line args in a process of its own,
// as a user would.
func execReport(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return clitest.Exec(t, "REPORT_TEST_COMMAND", args...)
}

// TestHelp: -h prints the usage and the flags to stdout and exits 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"-db", "x.db", "-h"}} {
		stdout, stderr, code := execReport(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("report %q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		for _, w := range []string{"usage: report [-db results.db] [-out report] [-experiment NAME]...", "-db database", "-out directory", "-experiment name"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("report %q: stdout lacks %q:\n%s", args, w, stdout)
			}
		}
	}
}

// TestUsageErrors: a usage error exits 2 and prints its message once, to
// stderr, with where to find the usage; another error exits 1.
func TestUsageErrors(t *testing.T) {
	db := fixture(t)
	out := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string // once in stderr
	}{
		{[]string{"-x"}, 2, "report: flag provided but not defined: -x"},
		{[]string{"-db", db, "-out", out, "stray"}, 2, `report: unexpected arguments ["stray"]`},
		{[]string{"-db", db, "-out", out, "-experiment", "gamma"}, 2, `report: -experiment "gamma": no runs in ` + db + "; want alpha or beta"},
		{[]string{"-db", filepath.Join(t.TempDir(), "none.db")}, 1, "report: -db "},
	}
	for _, tt := range tests {
		stdout, stderr, code := execReport(t, tt.args...)
		if code != tt.code {
			t.Errorf("report %q: exit %d, want %d\n%s", tt.args, code, tt.code, stderr)
		}
		if n := strings.Count(stderr, tt.want); n != 1 {
			t.Errorf("report %q: stderr has %q %d times, want once:\n%s", tt.args, tt.want, n, stderr)
		}
		if pointer := strings.Contains(stderr, "run 'report -h' for usage"); pointer != (tt.code == 2) {
			t.Errorf("report %q: exit %d, pointer to -h %v:\n%s", tt.args, code, pointer, stderr)
		}
		if stdout != "" {
			t.Errorf("report %q: stdout %q, want nothing", tt.args, stdout)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a usage error left %d entries in -out", len(entries))
	}
}
