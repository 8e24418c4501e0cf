package store

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The reads below serve a live view of a database that sweeps are
// writing (the dashboard): what runs, how far it got, what failed.

// StoredSchemaVersion is the schema version a database records in meta, as
// written there (a database of another program may hold anything).
func StoredSchemaVersion(q Reader) (string, error) {
	var v string
	if err := q.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return "", fmt.Errorf("store: reading the schema version: %w", err)
	}
	return v, nil
}

// DefinedExperiments lists every experiment the database defines, with
// or without runs, by name.
func DefinedExperiments(q Reader) ([]string, error) {
	return textColumn(q, "listing experiments", `SELECT name FROM experiments ORDER BY name`)
}

// RunGroup counts the runs of one experiment that share a status and a
// data set. An experiment without runs has one group with Runs 0 and
// empty Status and Dataset.
type RunGroup struct {
	Experiment, Status, Dataset string
	Runs                        int
	LastActivity                string // the latest start or finish among them
}

// RunGroups returns the groups of every defined experiment, ordered by
// experiment name.
func RunGroups(q Reader) ([]RunGroup, error) {
	rs, err := q.Query(`SELECT e.name, r.status, r.dataset, count(r.id), max(max(r.started_at, coalesce(r.finished_at, '')))
		FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id
		GROUP BY e.name, r.status, r.dataset ORDER BY e.name`)
	if err != nil {
		return nil, fmt.Errorf("store: run groups: %w", err)
	}
	defer rs.Close()
	var out []RunGroup
	for rs.Next() {
		var (
			g                     RunGroup
			status, dataset, last sql.NullString
		)
		if err := rs.Scan(&g.Experiment, &status, &dataset, &g.Runs, &last); err != nil {
			return nil, fmt.Errorf("store: run groups: %w", err)
		}
		g.Status, g.Dataset, g.LastActivity = status.String, dataset.String, last.String
		out = append(out, g)
	}
	return out, rs.Err()
}

// RunActivity is a run's identity and its times, for a status view.
type RunActivity struct {
	ID                                 int64
	Experiment, Model, Dataset, Status string
	Seed                               int64
	Error                              string
	StartedAt, FinishedAt, HeartbeatAt string
}

const selectActivity = `SELECT r.id, e.name, r.model, r.dataset, r.status, r.seed, r.error, r.started_at, r.finished_at, r.heartbeat_at
	FROM runs r JOIN experiments e ON e.id = r.experiment_id `

func activities(q Reader, what, query string, args ...any) ([]RunActivity, error) {
	rs, err := q.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	var out []RunActivity
	for rs.Next() {
		var (
			a                       RunActivity
			errText, finished, beat sql.NullString
		)
		if err := rs.Scan(&a.ID, &a.Experiment, &a.Model, &a.Dataset, &a.Status, &a.Seed, &errText, &a.StartedAt, &finished, &beat); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		a.Error, a.FinishedAt, a.HeartbeatAt = errText.String, finished.String, beat.String
		out = append(out, a)
	}
	return out, rs.Err()
}

// RunningRuns returns the runs recorded as running, in id order.
func RunningRuns(q Reader) ([]RunActivity, error) {
	return activities(q, "running runs", selectActivity+`WHERE r.status = 'running' ORDER BY r.id`)
}

// LatestFailures returns the limit failed or interrupted runs that ended
// last (by finish, else start), newest first.
func LatestFailures(q Reader, limit int) ([]RunActivity, error) {
	return activities(q, "latest failures", selectActivity+`WHERE r.status IN ('failed', 'interrupted')
		ORDER BY coalesce(r.finished_at, r.started_at) DESC, r.id DESC LIMIT ?`, limit)
}

// StatusCounts counts every run of the database by status.
func StatusCounts(q Reader) (map[string]int, error) {
	rs, err := q.Query(`SELECT status, count(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: counting runs: %w", err)
	}
	defer rs.Close()
	out := map[string]int{}
	for rs.Next() {
		var (
			status string
			n      int
		)
		if err := rs.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("store: counting runs: %w", err)
		}
		out[status] = n
	}
	return out, rs.Err()
}

// RunValues returns the values a run recorded under keys in table params
// or environment (every key when keys is empty). Params are complete
// however old the record (see completeParams).
func RunValues(q Reader, table string, id int64, keys ...string) (map[string]string, error) {
	if table != "params" && table != "environment" {
		return nil, fmt.Errorf("store: run values of table %q: want params or environment", table)
	}
	byID, err := byRun[string](q, fmt.Sprintf("%s of run %d", table, id),
		`SELECT run_id, key, value FROM `+table+` WHERE run_id = ?`, id)
	if err != nil {
		return nil, err
	}
	values := byID[id]
	if values == nil {
		return map[string]string{}, nil
	}
	if table == "params" {
		completeParams(values)
	}
	if len(keys) == 0 {
		return values, nil
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if v, ok := values[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// Progress is how far a run's logged steps go. Step is 0 for a run that
// logged none; FirstOfEpoch1 is the first step logged in epoch 1 (from 0),
// 0 while the first epoch lasts; the Last values are NaN where none was
// logged.
type Progress struct {
	Step, FirstOfEpoch1   int
	LastEpoch             float64
	LastLoss, LastValRSum float64
	HasEpoch              bool
}

// RunProgress reads the progress of run id.
func RunProgress(q Reader, id int64) (Progress, error) {
	var (
		p           Progress
		step, first sql.NullInt64
		epoch       sql.NullFloat64
	)
	err := q.QueryRow(`SELECT
		(SELECT max(step) FROM steps WHERE run_id = ?1),
		(SELECT min(step) FROM steps WHERE run_id = ?1 AND name = 'epoch' AND value >= 1),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'epoch' ORDER BY step DESC LIMIT 1)`, id).
		Scan(&step, &first, &epoch)
	if err != nil {
		return Progress{}, fmt.Errorf("store: progress of run %d: %w", id, err)
	}
	p.Step, p.FirstOfEpoch1, p.LastEpoch, p.HasEpoch = int(step.Int64), int(first.Int64), epoch.Float64, epoch.Valid
	for name, dst := range map[string]*float64{"loss": &p.LastLoss, "val_rsum": &p.LastValRSum} {
		var v sql.NullFloat64
		err := q.QueryRow(`SELECT value FROM steps WHERE run_id = ? AND name = ? ORDER BY step DESC LIMIT 1`, id, name).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Progress{}, fmt.Errorf("store: progress of run %d: %w", id, err)
		}
		*dst = nanIfNull(v)
	}
	return p, nil
}

// RanksSplits returns, for each run of experiment that stored ranks, the
// splits it stored them for, sorted.
func RanksSplits(q Reader, experiment string) (map[int64][]string, error) {
	return splitsOf(q, fmt.Sprintf("ranks splits of experiment %q", experiment),
		`SELECT DISTINCT run_id, split FROM ranks WHERE `+ofExperiment+` ORDER BY run_id, split`, experiment)
}

// RunRanksSplits returns the splits run id stored ranks for, sorted.
func RunRanksSplits(q Reader, id int64) ([]string, error) {
	byID, err := splitsOf(q, fmt.Sprintf("ranks splits of run %d", id),
		`SELECT DISTINCT run_id, split FROM ranks WHERE run_id = ? ORDER BY split`, id)
	return byID[id], err
}

func splitsOf(q Reader, what, query string, args ...any) (map[int64][]string, error) {
	if ok, err := HasTable(q, "ranks"); !ok || err != nil {
		return map[int64][]string{}, err
	}
	rs, err := q.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rs.Close()
	out := map[int64][]string{}
	for rs.Next() {
		var (
			id    int64
			split string
		)
		if err := rs.Scan(&id, &split); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out[id] = append(out[id], split)
	}
	return out, rs.Err()
}

// Span is how far a run's logged steps go: its last step, and the first
// step logged in epoch 1 (from 0; 0 when there is none).
type Span struct{ Last, FirstOfEpoch1 int }

// ExperimentSpans returns the span of each run of experiment that logged a
// step.
func ExperimentSpans(q Reader, experiment string) (map[int64]Span, error) {
	out := map[int64]Span{}
	if ok, err := HasTable(q, "steps"); !ok || err != nil {
		return out, err
	}
	rs, err := q.Query(`SELECT run_id, max(step), min(CASE WHEN name = 'epoch' AND value >= 1 THEN step END) FROM steps
		WHERE `+ofExperiment+` GROUP BY run_id`, experiment)
	if err != nil {
		return nil, fmt.Errorf("store: step spans of experiment %q: %w", experiment, err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id    int64
			last  int
			first sql.NullInt64
		)
		if err := rs.Scan(&id, &last, &first); err != nil {
			return nil, fmt.Errorf("store: step spans of experiment %q: %w", experiment, err)
		}
		out[id] = Span{Last: last, FirstOfEpoch1: int(first.Int64)}
	}
	return out, rs.Err()
}

// Binning spreads a run's steps 1..Total over Bins bins: step s falls in
// bin floor((s-1)·Bins/Total).
type Binning struct {
	Bins  int
	Total float64
}

// Bin is the mean of a run's values in one bin, with the sum and count
// of the steps averaged.
type Bin struct {
	Bin              int
	Mean, StepSum, N float64
}

// BinnedSteps returns the values named name of the runs of axes, averaged
// per bin of each run's binning, in no particular order. SQLite does the
// binning: a 20-epoch run logs thousands of values, and reading each
// into Go costs seconds for a sweep where the aggregate takes a tenth of
// one.
func BinnedSteps(q Reader, name string, axes map[int64]Binning) (map[int64][]Bin, error) {
	out := map[int64][]Bin{}
	if len(axes) == 0 {
		return out, nil
	}
	// The binning of each run, as SQL literals: numbers, not user text.
	var values []string
	for id, b := range axes {
		values = append(values, fmt.Sprintf("(%d, %d, %s)", id, b.Bins, strconv.FormatFloat(b.Total, 'f', -1, 64)))
	}
	rs, err := q.Query(`WITH axis(run_id, bins, total) AS (VALUES `+strings.Join(values, ", ")+`)
		SELECT s.run_id, CAST((s.step - 1) * a.bins / a.total AS INTEGER) AS bin,
			avg(s.value), sum(s.step), count(*)
		FROM steps s JOIN axis a ON a.run_id = s.run_id
		WHERE s.name = ? AND s.value IS NOT NULL
		GROUP BY s.run_id, bin`, name)
	if err != nil {
		return nil, fmt.Errorf("store: binned %s: %w", name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id int64
			b  Bin
		)
		if err := rs.Scan(&id, &b.Bin, &b.Mean, &b.StepSum, &b.N); err != nil {
			return nil, fmt.Errorf("store: binned %s: %w", name, err)
		}
		out[id] = append(out[id], b)
	}
	return out, rs.Err()
}

// StepsOfRuns returns the values named name that the runs ids logged, by
// run and step; NULL values are left out.
func StepsOfRuns(q Reader, name string, ids []int64) (map[int64]map[int]float64, error) {
	out := map[int64]map[int]float64{}
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rs, err := q.Query(`SELECT run_id, step, value FROM steps WHERE name = ? AND value IS NOT NULL AND run_id IN (`+strings.Join(list, ", ")+`)`, name)
	if err != nil {
		return nil, fmt.Errorf("store: steps %s: %w", name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id   int64
			step int
			v    float64
		)
		if err := rs.Scan(&id, &step, &v); err != nil {
			return nil, fmt.Errorf("store: steps %s: %w", name, err)
		}
		if out[id] == nil {
			out[id] = map[int]float64{}
		}
		out[id][step] = v
	}
	return out, rs.Err()
}

func nanIfNull(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}
