package store

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
)

// The readers below take a Reader, so that a report reads every table of
// one experiment inside one Snapshot. Each returns what the database
// holds for the experiment's runs (the runs run_summary lists under that
// experiment), keyed by run id. Tables that older databases lack (params,
// ranks, steps) read as empty.

// RunSummary is a run as the run_summary view shows it. A metric the run
// did not record is NaN.
type RunSummary struct {
	Experiment, Model, Schedule, Dataset, Protocol, Status, Error string
	RunID, Seed, TeacherRunID                                     int64
	Codes                                                         int

	I2T, T2I                                  [3]float64 // R@1, R@5, R@10
	RSum, I2TMedR, T2IMedR                    float64
	ChanceRSum, TestImages, TestCaptions      float64
	Interactions, QueryMs, IndexFloats        float64
	EncodeTextMs, EncodeImageMs, TrainSeconds float64
	ConfigHash, StartedAt, FinishedAt         string
}

// summaryColumns are named rather than selected with * so that the view
// may gain columns without breaking readers.
const summaryColumns = `experiment, run_id, model, codes, schedule, seed, dataset, protocol, status, error,
	i2t_r1, i2t_r5, i2t_r10, t2i_r1, t2i_r5, t2i_r10, rsum, i2t_medr, t2i_medr,
	chance_rsum, test_images, test_captions,
	interactions, query_ms, index_floats, encode_text_ms, encode_image_ms,
	train_seconds, teacher_run_id, config_hash, started_at, finished_at`

// Summaries returns the runs of experiment as run_summary shows them, in
// run id order.
func Summaries(q Reader, experiment string) ([]RunSummary, error) {
	rows, err := q.Query(`SELECT `+summaryColumns+` FROM run_summary WHERE experiment = ? ORDER BY run_id`, experiment)
	if err != nil {
		return nil, fmt.Errorf("store: run_summary of experiment %q: %w", experiment, err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		r, err := scanSummary(rows)
		if err != nil {
			return nil, fmt.Errorf("store: run_summary of experiment %q: %w", experiment, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanSummary(rows *sql.Rows) (RunSummary, error) {
	var (
		exp, model, schedule, dataset, protocol, status, errText sql.NullString
		hash, started, finished                                  sql.NullString
		runID, codes, seed, teacher                              sql.NullInt64
		f                                                        [18]sql.NullFloat64
	)
	dest := []any{&exp, &runID, &model, &codes, &schedule, &seed, &dataset, &protocol, &status, &errText}
	for i := range f {
		dest = append(dest, &f[i])
	}
	dest = append(dest, &teacher, &hash, &started, &finished)
	if err := rows.Scan(dest...); err != nil {
		return RunSummary{}, err
	}
	if !runID.Valid {
		return RunSummary{}, errors.New("run_id is NULL")
	}
	v := func(i int) float64 {
		if !f[i].Valid {
			return math.NaN()
		}
		return f[i].Float64
	}
	return RunSummary{
		Experiment: exp.String, RunID: runID.Int64, Model: model.String, Codes: int(codes.Int64),
		Schedule: schedule.String, Seed: seed.Int64, Dataset: dataset.String, Protocol: protocol.String,
		Status: status.String, Error: errText.String,
		I2T: [3]float64{v(0), v(1), v(2)}, T2I: [3]float64{v(3), v(4), v(5)},
		RSum: v(6), I2TMedR: v(7), T2IMedR: v(8),
		ChanceRSum: v(9), TestImages: v(10), TestCaptions: v(11),
		Interactions: v(12), QueryMs: v(13), IndexFloats: v(14),
		EncodeTextMs: v(15), EncodeImageMs: v(16), TrainSeconds: v(17),
		TeacherRunID: teacher.Int64, ConfigHash: hash.String,
		StartedAt: started.String, FinishedAt: finished.String,
	}, nil
}

// Experiments lists the experiments that have runs, by name.
func Experiments(q Reader) ([]string, error) {
	return textColumn(q, "listing experiments", `SELECT DISTINCT experiment FROM run_summary ORDER BY experiment`)
}

// textColumn reads a query's one text column.
func textColumn(q Reader, what, query string, args ...any) ([]string, error) {
	rs, err := q.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// HasTable reports whether the database has a table or view of that name.
func HasTable(q Reader, name string) (bool, error) {
	var n int
	err := q.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: looking for table %s: %w", name, err)
	}
	return n > 0, nil
}

// ofExperiment restricts a query on run_id to the runs of experiment ?.
const ofExperiment = `run_id IN (SELECT run_id FROM run_summary WHERE experiment = ?)`

// byRun reads (run_id, key, value) rows into maps by run.
func byRun[V any](q Reader, what, query string, args ...any) (map[int64]map[string]V, error) {
	rs, err := q.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	out := map[int64]map[string]V{}
	for rs.Next() {
		var (
			id    int64
			key   string
			value V
		)
		if err := rs.Scan(&id, &key, &value); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		if out[id] == nil {
			out[id] = map[string]V{}
		}
		out[id][key] = value
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// ExperimentParams returns the params of each run of experiment: every
// key of its config at the value it used, however old the record (see
// completeParams).
func ExperimentParams(q Reader, experiment string) (map[int64]map[string]string, error) {
	if ok, err := HasTable(q, "params"); !ok || err != nil {
		return map[int64]map[string]string{}, err
	}
	params, err := byRun[string](q, fmt.Sprintf("params of experiment %q", experiment),
		`SELECT run_id, key, value FROM params WHERE `+ofExperiment, experiment)
	for _, p := range params {
		completeParams(p)
	}
	return params, err
}

// ExperimentEnvironment returns the recorded environment of each run of
// experiment.
func ExperimentEnvironment(q Reader, experiment string) (map[int64]map[string]string, error) {
	return byRun[string](q, fmt.Sprintf("environment of experiment %q", experiment),
		`SELECT run_id, key, value FROM environment WHERE `+ofExperiment, experiment)
}

// RunRanks are a run's per-query ranks in both directions on one split.
type RunRanks struct{ I2T, T2I []int }

// ExperimentRanks returns the stored ranks of split of each run of
// experiment.
func ExperimentRanks(q Reader, experiment, split string) (map[int64]RunRanks, error) {
	out := map[int64]RunRanks{}
	if ok, err := HasTable(q, "ranks"); !ok || err != nil {
		return out, err
	}
	blobs, err := byRun[[]byte](q, fmt.Sprintf("ranks of experiment %q", experiment),
		`SELECT run_id, direction, ranks FROM ranks WHERE split = ? AND `+ofExperiment, split, experiment)
	if err != nil {
		return nil, err
	}
	for id, dirs := range blobs {
		var r RunRanks
		for dir, blob := range dirs {
			ranks, err := DecodeRanks(blob)
			if err != nil {
				return nil, fmt.Errorf("store: ranks of run %d: %w", id, err)
			}
			switch dir {
			case I2T:
				r.I2T = ranks
			case T2I:
				r.T2I = ranks
			}
		}
		out[id] = r
	}
	return out, nil
}

// ExperimentResults returns the named metrics of split recorded by each
// run of experiment (every metric when names is empty); a metric stored
// as NULL (non-finite) is left out.
func ExperimentResults(q Reader, experiment, split string, names ...string) (map[int64]map[string]float64, error) {
	query := `SELECT run_id, name, value FROM results WHERE split = ? AND value IS NOT NULL AND ` + ofExperiment
	args := []any{split, experiment}
	if len(names) > 0 {
		query += ` AND name IN (?` + strings.Repeat(`, ?`, len(names)-1) + `)`
		for _, n := range names {
			args = append(args, n)
		}
	}
	return byRun[float64](q, fmt.Sprintf("%s results of experiment %q", split, experiment), query, args...)
}

// StepValue is one logged value of a run at a step.
type StepValue struct {
	Step  int
	Value float64
}

// ExperimentSteps returns the values named name that each run of
// experiment logged, in step order; steps before 1 and NULL values are
// left out.
func ExperimentSteps(q Reader, experiment, name string) (map[int64][]StepValue, error) {
	out := map[int64][]StepValue{}
	if ok, err := HasTable(q, "steps"); !ok || err != nil {
		return out, err
	}
	what := fmt.Sprintf("steps %s of experiment %q", name, experiment)
	rs, err := q.Query(`SELECT run_id, step, value FROM steps WHERE name = ? AND step >= 1 AND value IS NOT NULL
		AND `+ofExperiment+` ORDER BY run_id, step`, name, experiment)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id int64
			sv StepValue
		)
		if err := rs.Scan(&id, &sv.Step, &sv.Value); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out[id] = append(out[id], sv)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// ExperimentEpochStarts returns, for each run of experiment that logged
// its epoch at its steps (steps named epoch, 0-based), the first step of
// each epoch, by epoch (0 for an epoch with no step logged). SQLite does
// the grouping: a run logs an epoch at every step.
func ExperimentEpochStarts(q Reader, experiment string) (map[int64][]int, error) {
	out := map[int64][]int{}
	if ok, err := HasTable(q, "steps"); !ok || err != nil {
		return out, err
	}
	what := fmt.Sprintf("epoch starts of experiment %q", experiment)
	rs, err := q.Query(`SELECT run_id, CAST(value AS INTEGER) AS epoch, MIN(step) FROM steps
		WHERE name = 'epoch' AND value IS NOT NULL AND value >= 0 AND step >= 1 AND `+ofExperiment+`
		GROUP BY run_id, epoch ORDER BY run_id, epoch`, experiment)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id          int64
			epoch, step int
		)
		if err := rs.Scan(&id, &epoch, &step); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		for len(out[id]) < epoch {
			out[id] = append(out[id], 0)
		}
		out[id] = append(out[id], step)
	}
	return out, rs.Err()
}

// SplitResults are the metrics one run recorded under one split.
type SplitResults struct {
	Split       string
	RunID, Seed int64
	Model       string
	Values      map[string]float64 // NULL (non-finite) values left out
}

// ResultsOfSplits returns the results of the finished runs of experiment
// under every split that starts with prefix ("transfer:", say), ordered
// by split, then run.
func ResultsOfSplits(q Reader, experiment, prefix string) ([]SplitResults, error) {
	rs, err := q.Query(`SELECT r.split, s.run_id, s.model, s.seed, r.name, r.value
		FROM results r JOIN run_summary s ON s.run_id = r.run_id
		WHERE s.experiment = ? AND s.status = 'finished' AND substr(r.split, 1, ?) = ?
		ORDER BY r.split, s.run_id`, experiment, len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("store: %s* results of experiment %q: %w", prefix, experiment, err)
	}
	defer rs.Close()
	var out []SplitResults
	for rs.Next() {
		var (
			split, model, name string
			id, seed           int64
			value              sql.NullFloat64
		)
		if err := rs.Scan(&split, &id, &model, &seed, &name, &value); err != nil {
			return nil, fmt.Errorf("store: %s* results of experiment %q: %w", prefix, experiment, err)
		}
		if n := len(out); n == 0 || out[n-1].Split != split || out[n-1].RunID != id {
			out = append(out, SplitResults{Split: split, RunID: id, Model: model, Seed: seed, Values: map[string]float64{}})
		}
		if value.Valid {
			out[len(out)-1].Values[name] = value.Float64
		}
	}
	return out, rs.Err()
}
