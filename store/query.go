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
}

// Runs returns the runs that match f, in the order they were started.
func (db *DB) Runs(f RunFilter) ([]RunRecord, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ column, value string }{
		{"e.name", f.Experiment}, {"r.model", f.Model}, {"r.status", f.Status},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	query := selectRun
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ")
	}
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
