package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// RunFilter selects runs; a zero field matches every run.
type RunFilter struct {
	Experiment string // experiment name
	Model      string // the model or chain, as recorded ("inflated>base")
	Status     string // "finished", "failed", "running" or "interrupted"
	// Params are key=value pairs of the run's flattened config, all of
	// which must match.
	Params [][2]string
}

// runColumns name a filter's columns in a query.
type runColumns struct{ experiment, model, status, id string }

var (
	ofRuns    = runColumns{"e.name", "r.model", "r.status", "r.id"}           // runs r JOIN experiments e
	ofSummary = runColumns{"s.experiment", "s.model", "s.status", "s.run_id"} // run_summary s
)

// where is f as an SQL condition over the columns c ("1" for every run),
// with its arguments.
func (f RunFilter) where(c runColumns) (string, []any) {
	conds, args := []string{"1"}, []any{}
	for _, x := range []struct{ column, value string }{
		{c.experiment, f.Experiment}, {c.model, f.Model}, {c.status, f.Status},
	} {
		if x.value != "" {
			conds = append(conds, x.column+" = ?")
			args = append(args, x.value)
		}
	}
	for _, p := range f.Params {
		conds = append(conds, "EXISTS (SELECT 1 FROM params p WHERE p.run_id = "+c.id+" AND p.key = ? AND p.value = ?)")
		args = append(args, p[0], p[1])
	}
	return strings.Join(conds, " AND "), args
}

// Runs returns the runs that match f, in the order they were started.
func (db *DB) Runs(f RunFilter) ([]RunRecord, error) {
	where, args := f.where(ofRuns)
	query := selectRun + "WHERE " + where
	rows, err := db.sql.Query(query+" ORDER BY r.id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: runs %+v: %w", f, err)
	}
	defer rows.Close()
	var runs []RunRecord
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: runs %+v: %w", f, err)
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// RunByID returns the run with that id as q holds it (a DB from
// OpenReadOnly, say); ok is false when there is none.
func RunByID(q Reader, id int64) (r RunRecord, ok bool, err error) {
	r, err = scanRun(q.QueryRow(selectRun+`WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return RunRecord{}, false, nil
	}
	if err != nil {
		return RunRecord{}, false, fmt.Errorf("store: run %d: %w", id, err)
	}
	return r, true, nil
}

// Results returns the metrics a run recorded for split ("val" or "test"),
// by name; a metric recorded as non-finite (stored NULL) is left out.
func (db *DB) Results(runID int64, split string) (map[string]float64, error) {
	rows, err := db.sql.Query(`SELECT name, value FROM results WHERE run_id = ? AND split = ? AND value IS NOT NULL`, runID, split)
	if err != nil {
		return nil, fmt.Errorf("store: results of run %d (%s): %w", runID, split, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var (
			name  string
			value float64
		)
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("store: results of run %d (%s): %w", runID, split, err)
		}
		out[name] = value
	}
	return out, rows.Err()
}
