package reports

import (
	"database/sql"
	"math"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// fixtureSchema stands in for framework/store's view: a table with the view's
// exact columns, and the environment and results tables.
const fixtureSchema = `
CREATE TABLE run_summary(experiment TEXT, run_id INTEGER, model TEXT, codes INTEGER, schedule TEXT,
	seed INTEGER, dataset TEXT, protocol TEXT, status TEXT, error TEXT,
	i2t_r1 REAL, i2t_r5 REAL, i2t_r10 REAL, t2i_r1 REAL, t2i_r5 REAL, t2i_r10 REAL, rsum REAL,
	i2t_medr REAL, t2i_medr REAL, chance_rsum REAL, test_images REAL, test_captions REAL,
	interactions REAL, query_ms REAL, index_floats REAL, encode_text_ms REAL, encode_image_ms REAL,
	train_seconds REAL, teacher_run_id INTEGER, config_hash TEXT, started_at TEXT, finished_at TEXT);
CREATE TABLE environment(run_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run_id, key));
CREATE TABLE results(run_id INTEGER, split TEXT, name TEXT, value REAL);
`

// openFixture creates a database in a temporary directory holding runs and
// their environment.
func openFixture(t *testing.T, runs []Row, env map[int64]map[string]string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(fixtureSchema); err != nil {
		t.Fatal(err)
	}
	null := func(x float64) any {
		if math.IsNaN(x) {
			return nil
		}
		return x
	}
	for _, r := range runs {
		var errText, teacher, finishedAt any
		if r.Error != "" {
			errText = r.Error
		}
		if r.TeacherRunID != 0 {
			teacher = r.TeacherRunID
		}
		if r.FinishedAt != "" {
			finishedAt = r.FinishedAt
		}
		_, err := db.Exec(`INSERT INTO run_summary VALUES(?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?, ?,?,?,?,?, ?,?,?,?,?)`,
			r.Experiment, r.RunID, r.Model, r.Codes, r.Schedule, r.Seed, r.Dataset, r.Protocol, r.Status, errText,
			null(r.I2T[0]), null(r.I2T[1]), null(r.I2T[2]), null(r.T2I[0]), null(r.T2I[1]), null(r.T2I[2]),
			null(r.RSum), null(r.I2TMedR), null(r.T2IMedR), null(r.ChanceRSum), null(r.TestImages), null(r.TestCaptions),
			null(r.Interactions), null(r.QueryMs), null(r.IndexFloats), null(r.EncodeTextMs), null(r.EncodeImageMs),
			null(r.TrainSeconds), teacher, r.ConfigHash, r.StartedAt, finishedAt)
		if err != nil {
			t.Fatal(err)
		}
	}
	for id, kv := range env {
		for k, v := range kv {
			if _, err := db.Exec(`INSERT INTO environment VALUES(?,?,?)`, id, k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return db
}

// run builds a finished run of experiment "paper" whose recalls are derived
// from rsum, so that every number differs from run to run.
func run(id int64, model string, seed int64, rsum, interactions, queryMs float64) Row {
	nan := math.NaN()
	r := Row{
		Experiment: "paper", RunID: id, Model: model, Seed: seed, Schedule: "n",
		Dataset: "synthetic", Protocol: "1k", Status: StatusFinished,
		I2TMedR: 2, T2IMedR: 3, ChanceRSum: 9.6, TestImages: 1000, TestCaptions: 5000,
		Interactions: interactions, QueryMs: queryMs, IndexFloats: math.Sqrt(interactions) * 64,
		EncodeTextMs: 0.5, EncodeImageMs: 0.7, TrainSeconds: 100 + float64(id) + 0.25,
		ConfigHash: "h", StartedAt: "2025-01-01T00:00:00Z", FinishedAt: "2025-01-01T01:00:00Z",
	}
	// Six recalls summing to rsum, each with two decimals so that rounding to
	// one decimal is exercised.
	w := [6]float64{0.12, 0.18, 0.20, 0.10, 0.18, 0.22}
	var sum float64
	for i := range 5 {
		v := math.Round(rsum*w[i]*100+float64(id)) / 100
		if i < 3 {
			r.I2T[i] = v
		} else {
			r.T2I[i-3] = v
		}
		sum += v
	}
	r.T2I[2] = math.Round((rsum-sum)*100) / 100
	r.RSum = rsum
	if math.IsNaN(rsum) {
		r.I2T, r.T2I = [3]float64{nan, nan, nan}, [3]float64{nan, nan, nan}
	}
	switch model {
	case "inflated":
		r.Codes, r.Schedule = 32, "n+k"
	case "inflated>base":
		r.Codes, r.Schedule = 32, "n+k>n"
	case "inflated>base>fast":
		r.Codes, r.Schedule = 32, "n+k>n>1"
	case "fast":
		r.Schedule = "1"
	}
	return r
}

// unfinished turns a run into one that failed or is still running: no metrics.
func unfinished(r Row, status, errText string) Row {
	nan := math.NaN()
	r.Status, r.Error, r.FinishedAt = status, errText, ""
	r.I2T, r.T2I = [3]float64{nan, nan, nan}, [3]float64{nan, nan, nan}
	r.RSum, r.I2TMedR, r.T2IMedR, r.ChanceRSum, r.TestImages, r.TestCaptions = nan, nan, nan, nan, nan, nan
	r.Interactions, r.QueryMs, r.IndexFloats, r.EncodeTextMs, r.EncodeImageMs, r.TrainSeconds = nan, nan, nan, nan, nan, nan
	return r
}

// paperRuns are the paper's five models on one seed, one failed and one
// running run, in scrambled run order.
func paperRuns() []Row {
	return []Row{
		run(3, "fast", 1, 301.27, 1, 0.0123456),
		unfinished(run(6, "inflated", 2, 0, 4096, 0), StatusFailed, "models: loss diverged at step 120\nNaN in gradient of layer 2"),
		run(1, "base", 1, 400.5, 1024, 3.4567),
		run(5, "inflated>base>fast", 1, 320.04, 1, 0.0125),
		run(2, "inflated", 1, 420.86, 4096, 12.345),
		run(4, "inflated>base", 1, 410.33, 1024, 3.5),
		unfinished(run(7, "base", 2, 0, 1024, 0), StatusRunning, ""),
	}
}
