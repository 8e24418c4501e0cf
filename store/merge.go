package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MergeReport says what Merge did with a shard's runs.
type MergeReport struct {
	Shard string
	// Added counts runs copied in; Already those the database held from an
	// earlier merge (same uid); Duplicates finished runs of a trial the
	// database holds finished with exactly the same results (a teacher
	// stage trained by several array tasks, say), which are not copied;
	// Running runs not yet ended in the shard, left for a later merge.
	Added, Already, Duplicates, Running int
	// Conflicts describes what was not merged because it disagrees with
	// the database: an experiment defined otherwise, a finished trial with
	// other results, a run whose teacher was not merged.
	Conflicts []string
}

// Merge folds the database at shard (another results database, as an
// array task writes) into db in one transaction; a shard that is db's own
// file (under any name: another spelling, a symbolic or hard link) is
// refused. A run is identified by its
// uid, so merging a shard twice adds nothing the second time; see
// MergeReport for what is reported instead of copied. The shard is opened
// (and migrated to SchemaVersion) first.
func (db *DB) Merge(shard string) (MergeReport, error) {
	rep := MergeReport{Shard: shard}
	// Attaching the database to itself would deadlock on its own write
	// lock until the busy timeout, then fail as "database is locked".
	if db.sameFile(shard) {
		return rep, fmt.Errorf("store: merge %s: that file is the database being merged into (%s); merge the shards, not the database into itself", shard, db.path)
	}
	src, err := Open(shard)
	if err != nil {
		return rep, fmt.Errorf("store: merge: %w", err)
	}
	srcDir := src.dir
	if err := src.Close(); err != nil {
		return rep, fmt.Errorf("store: merge %s: %w", shard, err)
	}
	ctx := context.Background()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return rep, fmt.Errorf("store: merge %s: %w", shard, err)
	}
	defer conn.Close()
	// SQLite cannot attach inside a transaction: attach, merge in one, detach.
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS shard`, shard); err != nil {
		return rep, fmt.Errorf("store: merge: attach %s: %w", shard, err)
	}
	defer conn.ExecContext(ctx, `DETACH DATABASE shard`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("store: merge %s: %w", shard, err)
	}
	defer tx.Rollback()
	if err := merge(tx, &rep, srcDir, db.dir); err != nil {
		return MergeReport{Shard: shard}, fmt.Errorf("store: merge %s: %w", shard, err)
	}
	if err := tx.Commit(); err != nil {
		return MergeReport{Shard: shard}, fmt.Errorf("store: merge %s: %w", shard, err)
	}
	return rep, nil
}

func merge(tx *sql.Tx, rep *MergeReport, srcDir, dstDir string) error {
	experiments := map[int64]int64{} // shard id -> database id; absent: not merged
	rows, err := tx.Query(`SELECT id, name, definition, created_at FROM shard.experiments ORDER BY id`)
	if err != nil {
		return err
	}
	type exp struct {
		id              int64
		name, def, when string
	}
	var exps []exp
	for rows.Next() {
		var e exp
		if err := rows.Scan(&e.id, &e.name, &e.def, &e.when); err != nil {
			rows.Close()
			return err
		}
		exps = append(exps, e)
	}
	rows.Close()
	for _, e := range exps {
		var id int64
		var def string
		err := tx.QueryRow(`SELECT id, definition FROM main.experiments WHERE name = ?`, e.name).Scan(&id, &def)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.Exec(`INSERT INTO main.experiments(name, definition, created_at) VALUES(?, ?, ?)`, e.name, e.def, e.when)
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
			if _, err := tx.Exec(`INSERT INTO main.experiment_definitions(experiment_id, definition, defined_at) VALUES(?, ?, ?)`, id, e.def, e.when); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if d := DiffJSON(def, e.def); len(d) > 0 {
				rep.Conflicts = append(rep.Conflicts, fmt.Sprintf("experiment %q is defined otherwise in the shard (%s): its runs are not merged", e.name, strings.Join(d, "; ")))
				continue
			}
		}
		experiments[e.id] = id
	}

	type run struct {
		id, exp            int64
		teacher            sql.NullInt64
		uid, hash, model   string
		status, experiment string
		checkpoint         sql.NullString
	}
	rows, err = tx.Query(`SELECT r.id, r.experiment_id, r.teacher_run_id, r.uid, r.config_hash, r.model, r.status, e.name, r.checkpoint
		FROM shard.runs r JOIN shard.experiments e ON e.id = r.experiment_id ORDER BY r.id`)
	if err != nil {
		return err
	}
	var runs []run
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.id, &r.exp, &r.teacher, &r.uid, &r.hash, &r.model, &r.status, &r.experiment, &r.checkpoint); err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()

	ids := map[int64]int64{} // shard run id -> database run id
	for _, r := range runs {
		expID, ok := experiments[r.exp]
		if !ok {
			continue // reported with its experiment
		}
		name := fmt.Sprintf("run %d of the shard (experiment %q, %s, config %s)", r.id, r.experiment, r.model, r.hash)
		var have int64
		err := tx.QueryRow(`SELECT id FROM main.runs WHERE uid = ?`, r.uid).Scan(&have)
		if err == nil {
			ids[r.id] = have
			rep.Already++
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if r.status == "running" {
			rep.Running++
			continue
		}
		var teacher any
		if r.teacher.Valid {
			t, ok := ids[r.teacher.Int64]
			if !ok {
				rep.Conflicts = append(rep.Conflicts, fmt.Sprintf("%s: its teacher, run %d of the shard, was not merged", name, r.teacher.Int64))
				continue
			}
			teacher = t
		}
		if r.status == "finished" {
			err := tx.QueryRow(`SELECT id FROM main.runs WHERE experiment_id = ? AND config_hash = ? AND status = 'finished'
				ORDER BY finished_at DESC, id DESC LIMIT 1`, expID, r.hash).Scan(&have)
			if err == nil {
				mine, err := resultLines(tx, "shard", r.id)
				if err != nil {
					return err
				}
				theirs, err := resultLines(tx, "main", have)
				if err != nil {
					return err
				}
				if slices.Equal(mine, theirs) {
					ids[r.id] = have
					rep.Duplicates++
				} else {
					rep.Conflicts = append(rep.Conflicts, fmt.Sprintf("%s: finished with other results than run %d of the database: %s",
						name, have, strings.Join(lineDiff(theirs, mine), "; ")))
				}
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var ckpt any
		if r.checkpoint.Valid {
			p := r.checkpoint.String
			if !filepath.IsAbs(p) {
				p = filepath.Join(srcDir, p)
			}
			ckpt = storedPath(dstDir, p)
		}
		res, err := tx.Exec(`INSERT INTO main.runs(uid, experiment_id, config_hash, model, codes, schedule, seed, dataset,
			protocol, status, error, stack, teacher_run_id, checkpoint, started_at, finished_at, train_seconds, config, owner, heartbeat_at)
			SELECT uid, ?, config_hash, model, codes, schedule, seed, dataset, protocol, status, error, stack, ?, ?,
			started_at, finished_at, train_seconds, config, owner, heartbeat_at FROM shard.runs WHERE id = ?`,
			expID, teacher, ckpt, r.id)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO main.params(run_id, key, value) SELECT ?, key, value FROM shard.params WHERE run_id = ?`,
			`INSERT INTO main.steps(run_id, step, name, value) SELECT ?, step, name, value FROM shard.steps WHERE run_id = ?`,
			`INSERT INTO main.results(run_id, split, name, value) SELECT ?, split, name, value FROM shard.results WHERE run_id = ?`,
			`INSERT INTO main.latency(run_id, name, value) SELECT ?, name, value FROM shard.latency WHERE run_id = ?`,
			`INSERT INTO main.environment(run_id, key, value) SELECT ?, key, value FROM shard.environment WHERE run_id = ?`,
			`INSERT INTO main.ranks(run_id, split, direction, ranks) SELECT ?, split, direction, ranks FROM shard.ranks WHERE run_id = ?`,
		} {
			if _, err := tx.Exec(q, id, r.id); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		ids[r.id] = id
		rep.Added++
	}
	return nil
}

// resultLines lists a run's results as sorted "split/name=value" lines,
// the value printed exactly (NULL for a non-finite one).
func resultLines(tx *sql.Tx, schema string, run int64) ([]string, error) {
	rows, err := tx.Query(`SELECT split || '/' || name || '=' || COALESCE(printf('%!.17g', value), 'NULL')
		FROM `+schema+`.results WHERE run_id = ? ORDER BY split, name`, run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// lineDiff lists the "key=value" lines of b that a lacks, as "key: a -> b".
func lineDiff(a, b []string) []string {
	old := map[string]string{}
	for _, l := range a {
		k, v, _ := strings.Cut(l, "=")
		old[k] = v
	}
	var out []string
	for _, l := range b {
		k, v, _ := strings.Cut(l, "=")
		if o, ok := old[k]; !ok {
			out = append(out, fmt.Sprintf("%s: (absent) -> %s", k, v))
		} else if o != v {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, o, v))
		}
		delete(old, k)
	}
	for k, v := range old {
		out = append(out, fmt.Sprintf("%s: %s -> (absent)", k, v))
	}
	slices.Sort(out)
	return out
}

// sameFile reports whether path names db's file, whatever its spelling or
// links. db.path may be relative to the working directory of Open.
func (db *DB) sameFile(path string) bool {
	a, err := os.Stat(filepath.Join(db.dir, filepath.Base(db.path)))
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
