package store

import (
	"database/sql"
	"fmt"
	"math"
)

// The reads below answer the results command (framework/cmd/results):
// listings for display, everything recorded about a run, and exports.

// Table is an answer for display: its columns, and rows of text with
// NULL as "-".
type Table struct {
	Columns []string
	Rows    [][]string
}

func table(q Reader, what, query string, args ...any) (Table, error) {
	rows, err := q.Query(query, args...)
	if err != nil {
		return Table{}, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	t := Table{}
	if t.Columns, err = rows.Columns(); err != nil {
		return Table{}, fmt.Errorf("store: %s: %w", what, err)
	}
	for rows.Next() {
		row, err := scanText(rows, len(t.Columns))
		if err != nil {
			return Table{}, fmt.Errorf("store: %s: %w", what, err)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, rows.Err()
}

// scanText scans a row of n columns as text, NULL as "-".
func scanText(rows *sql.Rows, n int) ([]string, error) {
	raw := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, r := range raw {
		out[i] = "-"
		if r.Valid {
			out[i] = r.String
		}
	}
	return out, nil
}

// ExperimentOverview has a row per experiment, in the order they were
// defined: experiment, created, runs, finished, failed, interrupted,
// running, definitions (how many definitions it has had).
func ExperimentOverview(q Reader) (Table, error) {
	return table(q, "experiment overview", `SELECT e.name AS experiment, e.created_at AS created,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id) AS runs,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'finished') AS finished,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'failed') AS failed,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'interrupted') AS interrupted,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'running') AS running,
		(SELECT count(*) FROM experiment_definitions d WHERE d.experiment_id = e.id) AS definitions
		FROM experiments e ORDER BY e.id`)
}

// RunListing has a row per run f selects, in id order: id, experiment,
// model, codes, seed, dataset, status, rsum (2 decimals), query_ms (4
// decimals), started_at.
func RunListing(q Reader, f RunFilter) (Table, error) {
	where, args := f.where(ofSummary)
	return table(q, "run listing", `SELECT s.run_id AS id, s.experiment, s.model, s.codes, s.seed, s.dataset, s.status,
		printf('%.2f', s.rsum) AS rsum, printf('%.4f', s.query_ms) AS query_ms, s.started_at
		FROM run_summary s WHERE `+where+` ORDER BY s.run_id`, args...)
}

// RunFields returns everything recorded about run id as text, by
// "section.key": run.<column> of the runs table, param.<key>,
// <split>.<metric> (17 significant digits), latency.<name>, env.<key>,
// and ranks.<split>.<direction> (how many queries). ok is false when
// there is no such run.
func RunFields(q Reader, id int64) (fields map[string]string, ok bool, err error) {
	run, err := table(q, fmt.Sprintf("run %d", id), `SELECT e.name AS experiment, r.id, r.uid, r.model, r.codes, r.schedule,
		r.seed, r.dataset, r.protocol, r.status, r.error, r.teacher_run_id, r.config_hash, r.checkpoint, r.started_at,
		r.finished_at, r.train_seconds, r.owner, r.heartbeat_at
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?`, id)
	if err != nil || len(run.Rows) == 0 {
		return nil, false, err
	}
	fields = map[string]string{}
	for i, c := range run.Columns {
		fields["run."+c] = run.Rows[0][i]
	}
	params, err := RunValues(q, "params", id) // complete, however old
	if err != nil {
		return nil, false, err
	}
	for k, v := range params {
		fields["param."+k] = v
	}
	for _, s := range []struct{ prefix, query string }{
		{"", `SELECT split || '.' || name, printf('%!.17g', value) FROM results WHERE run_id = ?`},
		{"latency.", `SELECT name, printf('%!.17g', value) FROM latency WHERE run_id = ?`},
		{"env.", `SELECT key, value FROM environment WHERE run_id = ?`},
		// The ranks themselves are too many to show: how many queries each holds.
		{"ranks.", `SELECT split || '.' || direction, (length(ranks) / 4) || ' queries' FROM ranks WHERE run_id = ?`},
	} {
		t, err := table(q, fmt.Sprintf("run %d", id), s.query, id)
		if err != nil {
			return nil, false, err
		}
		for _, r := range t.Rows {
			fields[s.prefix+r[0]] = r[1]
		}
	}
	return fields, true, nil
}

// StepSummary is how many steps a run logged, its first and last loss
// (NaN without one), and the stack of a run that panicked ("" otherwise).
type StepSummary struct {
	Steps           int
	FirstLoss, Loss float64
	Stack           string
}

// RunStepSummary reads the step summary of run id.
func RunStepSummary(q Reader, id int64) (StepSummary, error) {
	var (
		s           StepSummary
		first, last sql.NullFloat64
		stack       sql.NullString
	)
	err := q.QueryRow(`SELECT count(DISTINCT step),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'loss' ORDER BY step LIMIT 1),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'loss' ORDER BY step DESC LIMIT 1),
		(SELECT stack FROM runs WHERE id = ?1)
		FROM steps WHERE run_id = ?1`, id).Scan(&s.Steps, &first, &last, &stack)
	if err != nil {
		return StepSummary{}, fmt.Errorf("store: steps of run %d: %w", id, err)
	}
	s.FirstLoss, s.Loss, s.Stack = nanIfNull(first), nanIfNull(last), stack.String
	return s, nil
}

// RunMetric is one run's value of one metric, with what identifies its
// configuration.
type RunMetric struct {
	RunID, Seed                                           int64
	Experiment, Model, Codes, Schedule, Dataset, Protocol string
	Value                                                 float64
}

// FinishedMetrics returns split.metric of the finished runs f selects
// that recorded a finite one, in id order.
func FinishedMetrics(q Reader, f RunFilter, split, metric string) ([]RunMetric, error) {
	where, args := f.where(ofSummary)
	what := fmt.Sprintf("%s.%s of the runs %+v", split, metric, f)
	rows, err := q.Query(`SELECT s.run_id, s.experiment, s.model, s.codes, s.schedule, s.dataset, s.protocol, s.seed, x.value
		FROM run_summary s JOIN results x ON x.run_id = s.run_id AND x.split = ? AND x.name = ?
		WHERE s.status = 'finished' AND x.value IS NOT NULL AND `+where+`
		ORDER BY s.run_id`, append([]any{split, metric}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []RunMetric
	for rows.Next() {
		var m RunMetric
		if err := rows.Scan(&m.RunID, &m.Experiment, &m.Model, &m.Codes, &m.Schedule, &m.Dataset, &m.Protocol, &m.Seed, &m.Value); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RunConfig returns the config run id recorded, as JSON text.
func RunConfig(q Reader, id int64) (string, error) {
	var config string
	if err := q.QueryRow(`SELECT config FROM runs WHERE id = ?`, id).Scan(&config); err != nil {
		return "", fmt.Errorf("store: config of run %d: %w", id, err)
	}
	return config, nil
}

// SummaryRecords returns the run_summary rows of the runs f selects, in
// id order, every column with the type SQLite holds (int64, float64,
// string, []byte, or nil for NULL), and the columns' names.
func SummaryRecords(q Reader, f RunFilter) (columns []string, records [][]any, err error) {
	where, args := f.where(ofSummary)
	rows, err := q.Query(`SELECT s.* FROM run_summary s WHERE `+where+` ORDER BY s.run_id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: run_summary of the runs %+v: %w", f, err)
	}
	defer rows.Close()
	if columns, err = rows.Columns(); err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		r := make([]any, len(columns))
		ptrs := make([]any, len(columns))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("store: run_summary of the runs %+v: %w", f, err)
		}
		records = append(records, r)
	}
	return columns, records, rows.Err()
}

// StepNames lists the names the runs f selects logged steps under.
func StepNames(q Reader, f RunFilter) ([]string, error) {
	where, args := f.where(ofSummary)
	return textColumn(q, "step names", `SELECT DISTINCT st.name FROM steps st
		WHERE st.run_id IN (SELECT s.run_id FROM run_summary s WHERE `+where+`) ORDER BY st.name`, args...)
}

// StepRecord is one logged value, with its run's identity.
type StepRecord struct {
	Experiment, Model, Name string
	RunID, Seed, Step       int64
	Value                   float64 // NaN where it was not finite (stored NULL)
}

// EachStep calls fn on every value the runs f selects logged, ordered by
// run, then step.
func EachStep(q Reader, f RunFilter, fn func(StepRecord) error) error {
	where, args := f.where(ofSummary)
	rows, err := q.Query(`SELECT e.name, r.id, r.model, r.seed, st.step, st.name, st.value
		FROM steps st JOIN runs r ON r.id = st.run_id JOIN experiments e ON e.id = r.experiment_id
		WHERE st.run_id IN (SELECT s.run_id FROM run_summary s WHERE `+where+`) ORDER BY r.id, st.step`, args...)
	if err != nil {
		return fmt.Errorf("store: steps of the runs %+v: %w", f, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s     StepRecord
			value sql.NullFloat64
		)
		if err := rows.Scan(&s.Experiment, &s.RunID, &s.Model, &s.Seed, &s.Step, &s.Name, &value); err != nil {
			return fmt.Errorf("store: steps of the runs %+v: %w", f, err)
		}
		s.Value = math.NaN()
		if value.Valid {
			s.Value = value.Float64
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RanksRecord is the ranks of one run, split and direction, with the
// run's identity.
type RanksRecord struct {
	Experiment, Model, Split, Direction string
	RunID, Seed                         int64
	Ranks                               []int
}

// EachRanks calls fn on the stored ranks of the runs f selects (of split
// only, unless it is ""), ordered by run, split and direction.
func EachRanks(q Reader, f RunFilter, split string, fn func(RanksRecord) error) error {
	where, args := f.where(ofSummary)
	query := `SELECT e.name, r.id, r.model, r.seed, k.split, k.direction, k.ranks
		FROM ranks k JOIN runs r ON r.id = k.run_id JOIN experiments e ON e.id = r.experiment_id
		WHERE k.run_id IN (SELECT s.run_id FROM run_summary s WHERE ` + where + `)`
	if split != "" {
		query += ` AND k.split = ?`
		args = append(args, split)
	}
	rows, err := q.Query(query+` ORDER BY r.id, k.split, k.direction`, args...)
	if err != nil {
		return fmt.Errorf("store: ranks of the runs %+v: %w", f, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r    RanksRecord
			blob []byte
		)
		if err := rows.Scan(&r.Experiment, &r.RunID, &r.Model, &r.Seed, &r.Split, &r.Direction, &blob); err != nil {
			return fmt.Errorf("store: ranks of the runs %+v: %w", f, err)
		}
		if r.Ranks, err = DecodeRanks(blob); err != nil {
			return fmt.Errorf("store: ranks %q %s of run %d: %w", r.Split, r.Direction, r.RunID, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// What the database records, for checking a filter or a request against
// it: each list sorted.

// RecordedModels lists the models of every run.
func RecordedModels(q Reader) ([]string, error) {
	return textColumn(q, "models", `SELECT DISTINCT model FROM runs ORDER BY model`)
}

// RecordedParamKeys lists the param keys of every run.
func RecordedParamKeys(q Reader) ([]string, error) {
	return textColumn(q, "param keys", `SELECT DISTINCT key FROM params ORDER BY key`)
}

// RecordedResultSplits lists the splits of every result.
func RecordedResultSplits(q Reader) ([]string, error) {
	return textColumn(q, "result splits", `SELECT DISTINCT split FROM results ORDER BY split`)
}

// RecordedMetrics lists the names of the results of split.
func RecordedMetrics(q Reader, split string) ([]string, error) {
	return textColumn(q, "result names", `SELECT DISTINCT name FROM results WHERE split = ? ORDER BY name`, split)
}

// RecordedRanksSplits lists the splits of every stored ranks.
func RecordedRanksSplits(q Reader) ([]string, error) {
	return textColumn(q, "ranks splits", `SELECT DISTINCT split FROM ranks ORDER BY split`)
}
