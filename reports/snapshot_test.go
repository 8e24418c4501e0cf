package reports

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/store"
)

// TestLoadDuringWrites: loading and rendering while another connection
// records runs never fails, and each load is one consistent state of the
// database: every run has its params, and no run shows the validation
// results that the writer records only after finishing it.
func TestLoadDuringWrites(t *testing.T) {
	tests := []struct {
		name string
		open func(t *testing.T, path string) *sql.DB
	}{
		{"read-only open", func(t *testing.T, path string) *sql.DB {
			db, err := store.OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
		{"store.Open", func(t *testing.T, path string) *sql.DB {
			db, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db.SQL()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.db")
			w, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.EnsureExperiment("e", "{}"); err != nil {
				t.Fatal(err)
			}
			writeRun(t, w, 0) // Load wants at least one run
			db := tt.open(t, path)

			// The writer records a run, in several transactions as training
			// does (about 1 ms), as each load (about 20 ms) or render
			// begins.
			loading, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for i := 1; ; i++ {
					if _, ok := <-loading; !ok {
						return
					}
					if err := tryWriteRun(w, i); err != nil {
						t.Errorf("writer: %v", err)
						return
					}
				}
			}()
			defer func() { close(loading); <-done }()

			write := func() {
				select {
				case loading <- struct{}{}:
				case <-done:
					t.FailNow() // the writer reported why
				}
			}
			seen := 0
			for i := range 60 {
				write()
				if i == 30 { // rendering is slow: once
					if _, err := Render(db, "e", t.TempDir(), Settings{}); err != nil {
						t.Fatalf("Render of %s during writes: %v", path, err)
					}
					write()
				}
				rows, err := Load(db, "e")
				if err != nil {
					t.Fatalf("Load of %s during writes: %v", path, err)
				}
				if len(rows) < seen {
					t.Errorf("load %d of %s: %d runs after %d", i, path, len(rows), seen)
				}
				seen = len(rows)
				for _, r := range rows {
					if r.Params["seed"] != fmt.Sprint(r.Seed) {
						t.Errorf("load %d of %s: run %d (seed %d) has params %v", i, path, r.RunID, r.Seed, r.Params)
					}
					if !r.Finished() && r.HasValidation() {
						t.Errorf("load %d of %s: run %d is %s but has the validation results recorded after it finished", i, path, r.RunID, r.Status)
					}
				}
			}
		})
	}
}

// tryWriteRun records a finished run of seed i as training does, then its
// validation results.
func tryWriteRun(db *store.DB, i int) error {
	run, err := db.StartRun(store.RunInfo{Experiment: "e", ConfigHash: fmt.Sprint(i), Model: "base", Schedule: "n", Seed: int64(i),
		Dataset: "synthetic", Protocol: "1k", Config: "{}", Params: map[string]string{"model": "base", "seed": fmt.Sprint(i)},
		Env: map[string]string{"host": "h"}})
	if err != nil {
		return err
	}
	if err := run.LogStep(1, map[string]float64{"loss": 2, "epoch": 0}); err != nil {
		return err
	}
	if err := run.RecordResults("test", map[string]float64{"rsum": 100 + float64(i%7), "chance_rsum": 3, "n_images": 2, "n_captions": 4}); err != nil {
		return err
	}
	if err := run.RecordRanks("test", []int{1, 2}, []int{1, 3, 2, 1}); err != nil {
		return err
	}
	if err := run.Finish(1); err != nil {
		return err
	}
	return run.RecordResults("val", map[string]float64{"rsum": 90, "epoch": 1, "epochs": 1})
}

func writeRun(t *testing.T, db *store.DB, i int) {
	t.Helper()
	if err := tryWriteRun(db, i); err != nil {
		t.Fatal(err)
	}
}

// TestLoadersSkipOtherRuns: the loaders of params, ranks and validation
// results fill the rows given and skip the experiment's other runs (outside
// a snapshot, runs recorded after the rows were read), rather than
// dereferencing a nil row.
func TestLoadersSkipOtherRuns(t *testing.T) {
	runs := paperRuns()
	for i, r := range runs {
		runs[i] = validated(r, 300, 5, 10)
		runs[i].Params = map[string]string{"seed": fmt.Sprint(r.Seed)}
		runs[i].Ranks = metrics.QueryRanks{I2T: []int{1, 2}, T2I: []int{2, 1}}
	}
	db := openFixture(t, runs, nil)
	tests := []struct {
		name   string
		load   func(store.Reader, string, []Row) error
		filled func(Row) bool
	}{
		{"params", loadParams, func(r Row) bool { return r.Params["seed"] == fmt.Sprint(runs[0].Seed) }},
		{"ranks", loadRanks, Row.HasRanks},
		{"validation", loadValidation, Row.HasValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := []Row{{Experiment: "paper", RunID: runs[0].RunID, Seed: runs[0].Seed}}
			if err := tt.load(db, "paper", rows); err != nil {
				t.Fatalf("loading the %s of run %d of %d: %v", tt.name, rows[0].RunID, len(runs), err)
			}
			if !tt.filled(rows[0]) {
				t.Errorf("run %d: %s not loaded: %+v", rows[0].RunID, tt.name, rows[0])
			}
		})
	}
}
