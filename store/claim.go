package store

import (
	"database/sql"
	"errors"
	"fmt"
)

// Claim is what ClaimRun found for a trial.
type Claim int

const (
	// Claimed: no finished run and no live one; a run was started for
	// the caller, who trains the trial.
	Claimed Claim = iota
	// Finished: the trial has a finished run; the caller uses it.
	Finished
	// Taken: a live process (this one or another, on any host sharing the
	// database) is running the trial now; the caller waits and asks again.
	Taken
)

// ClaimRun starts a run of info unless its trial (experiment and config
// hash) is finished or running in a live process, all in one write
// transaction, so that any number of processes on one database train
// each trial once. A running run whose process is gone (see MarkStale) is
// marked interrupted on the way, and the trial is claimed. With Claimed
// the returned Run is started; with Finished the record is the finished
// run; with Taken neither.
func (db *DB) ClaimRun(info RunInfo) (*Run, RunRecord, Claim, error) {
	if info.ConfigHash == "" {
		return nil, RunRecord{}, 0, fmt.Errorf("store: claim run of experiment %q: empty ConfigHash", info.Experiment)
	}
	var (
		id    int64
		claim Claim
	)
	err := db.inTx(func(tx *sql.Tx) error {
		id, claim = 0, Claimed
		var status, owner, heartbeat string
		rows, err := tx.Query(`SELECT r.id, r.status, COALESCE(r.owner, ''), COALESCE(r.heartbeat_at, r.started_at)
			FROM runs r JOIN experiments e ON e.id = r.experiment_id
			WHERE e.name = ? AND r.config_hash = ? AND r.status IN ('finished', 'running')`, info.Experiment, info.ConfigHash)
		if err != nil {
			return err
		}
		var stale []int64
		var why []string
		for rows.Next() {
			var runID int64
			if err := rows.Scan(&runID, &status, &owner, &heartbeat); err != nil {
				rows.Close()
				return err
			}
			switch reason, isStale := staleness(owner, heartbeat); {
			case status == "finished":
				claim = Finished
			case isStale:
				stale, why = append(stale, runID), append(why, reason)
			case claim != Finished:
				claim = Taken
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, runID := range stale {
			if _, err := tx.Exec(`UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status = 'running'`,
				"interrupted: "+why[i], now(), runID); err != nil {
				return err
			}
		}
		if claim != Claimed {
			return nil
		}
		id, err = insertRun(tx, info)
		return err
	})
	if err != nil {
		return nil, RunRecord{}, 0, fmt.Errorf("store: claim run of experiment %q, config %s: %w", info.Experiment, info.ConfigHash, err)
	}
	switch claim {
	case Finished:
		rec, ok, err := db.FinishedRun(info.Experiment, info.ConfigHash)
		if err == nil && !ok {
			err = fmt.Errorf("store: claim run of experiment %q, config %s: its finished run is gone", info.Experiment, info.ConfigHash)
		}
		return nil, rec, Finished, err
	case Taken:
		return nil, RunRecord{}, Taken, nil
	}
	return db.running(id), RunRecord{}, Claimed, nil
}

// Invalidate marks a finished run failed with reason, when what it left
// cannot be used (its checkpoint is damaged or gone), so that its trial is
// trained again and the record says why the earlier run no longer counts.
func (db *DB) Invalidate(id int64, reason string) error {
	err := db.inTx(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE runs SET status = 'failed', error = ? WHERE id = ? AND status = 'finished'`, reason, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: invalidate run %d: %w", id, err)
	}
	return nil
}

// Flush writes the steps logged so far, so that a process killed later
// loses none of them (a run resumed from a checkpoint copies the steps up
// to it: see CopyResumedSteps).
func (r *Run) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.db.inTx(r.writeSteps); err != nil {
		return fmt.Errorf("store: flush steps of run %d: %w", r.id, err)
	}
	r.steps = r.steps[:0]
	return nil
}

// CopyResumedSteps copies into r the steps up to step upTo of the newest
// interrupted run of r's trial, the run whose training state r resumes, so
// that r holds the whole history (that run's own copied steps included,
// when it had resumed too). It returns that run's id, 0 when there is none.
func (r *Run) CopyResumedSteps(upTo int) (from int64, err error) {
	err = r.db.inTx(func(tx *sql.Tx) error {
		from = 0
		err := tx.QueryRow(`SELECT p.id FROM runs p JOIN runs r ON r.experiment_id = p.experiment_id AND r.config_hash = p.config_hash
			WHERE r.id = ? AND p.id != r.id AND p.status = 'interrupted' ORDER BY p.id DESC LIMIT 1`, r.id).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT OR IGNORE INTO steps(run_id, step, name, value)
			SELECT ?, step, name, value FROM steps WHERE run_id = ? AND step <= ?`, r.id, from, upTo)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: copy resumed steps into run %d: %w", r.id, err)
	}
	return from, nil
}
