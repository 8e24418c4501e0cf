package store

import (
	"database/sql"
	"fmt"
)

// Since schema version 5 a run's params hold every key of its config at
// the value the run used (framework.Config.Params). Runs recorded before
// left out the keys that their config's JSON form omits at the default
// (so that earlier hashes held), and runs recorded before the authors'
// recipe became the default lack the keys of that recipe. completeParams
// is what those runs used; Open's migration to version 5 writes it into
// the database, and the reads of params (ExperimentParams, RunValues)
// apply it too, so that a database read without being migrated (by
// OpenReadOnly) reads the same. No reader of params needs to know a
// default.
func completeParams(p map[string]string) {
	if len(p) == 0 {
		return // no params recorded (a run being written): nothing to complete
	}
	if _, ok := p["train.reduction"]; !ok {
		// Recorded before train.reduction, train.batches,
		// train.validate_every and train.patience existed: losses averaged
		// over the batch, batches of distinct images, no validation, and
		// a hinge (called "hinge-l8" then) without each anchor's own pair
		// in its L8 sum.
		if l := p["train.loss"]; l == "" || l == "hinge-l8" {
			p["train.loss"] = "hinge-l8-masked"
		}
		for k, v := range map[string]string{"train.reduction": "mean", "train.batches": "images", "train.validate_every": "0", "train.patience": "0"} {
			p[k] = v
		}
	}
	for k, v := range map[string]string{"code_sides": "both", "train.loss": "hinge-l8", "train.precision": "fp32"} {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	if _, cross := p["cross.top_k"]; cross {
		if _, ok := p["cross.hard_negatives"]; !ok {
			p["cross.hard_negatives"] = "0" // the in-batch negatives of earlier cascades
		}
	}
}

// completeRecordedParams is the migration to schema version 5: it adds to
// each run's params the keys completeParams fills, with their values.
func completeRecordedParams(tx *sql.Tx) error {
	recorded, err := byRun[string](tx, "params", `SELECT run_id, key, value FROM params`)
	if err != nil {
		return err
	}
	insert, err := tx.Prepare(`INSERT INTO params(run_id, key, value) VALUES(?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for id, p := range recorded {
		complete := make(map[string]string, len(p))
		for k, v := range p {
			complete[k] = v
		}
		completeParams(complete)
		for k, v := range complete {
			if old, ok := p[k]; ok {
				if old != v {
					// train.loss of a run before train.reduction: renamed.
					if _, err := tx.Exec(`UPDATE params SET value = ? WHERE run_id = ? AND key = ?`, v, id, k); err != nil {
						return fmt.Errorf("run %d, param %s: %w", id, k, err)
					}
				}
				continue
			}
			if _, err := insert.Exec(id, k, v); err != nil {
				return fmt.Errorf("run %d, param %s: %w", id, k, err)
			}
		}
	}
	return nil
}
