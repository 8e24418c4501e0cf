package store

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// flushEvery is how many buffered step rows trigger a write: one transaction
// per few hundred rows keeps LogStep at microseconds per call.
const flushEvery = 200

// RunInfo describes a run about to start.
type RunInfo struct {
	Experiment   string // must exist (EnsureExperiment)
	ConfigHash   string // identifies the resolved config; FinishedRun looks runs up by it
	Model        string // base | inflated | fast | inflated>base | inflated>base>fast | any chain joined by '>'
	Codes        int    // learnable codes k of the chain's inflated stage (0 if none)
	Schedule     string // fragments per side of each stage, e.g. "n+k>n>1", "n", "1"
	Seed         int64
	Dataset      string
	Protocol     string
	TeacherRunID int64             // 0 = none (first stage)
	Config       string            // resolved config, JSON
	Params       map[string]string // flattened resolved config, one row per key
	Env          map[string]string // environment (see package environ)
}

// Run is a run being recorded, returned by StartRun. End it with Finish or
// Fail: until then its steps are partly buffered in memory.
type Run struct {
	db *DB
	id int64

	mu    sync.Mutex
	steps []stepRow     // buffered, not yet written
	ended bool          // Finish, Fail or Interrupt succeeded
	stop  chan struct{} // closed when the run ends, to stop the heartbeat
}

type stepRow struct {
	step  int
	name  string
	value float64
}

// StartRun records a run with status 'running', started now, with its params
// and environment, in one transaction. Until the run ends, a goroutine
// records a heartbeat every HeartbeatEvery, so that MarkStale can tell it
// from a run whose process died.
func (db *DB) StartRun(info RunInfo) (*Run, error) {
	if info.ConfigHash == "" {
		return nil, fmt.Errorf("store: start run of experiment %q: empty ConfigHash", info.Experiment)
	}
	var id int64
	err := db.inTx(func(tx *sql.Tx) (err error) {
		id, err = insertRun(tx, info)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: start run of experiment %q, config %s: %w", info.Experiment, info.ConfigHash, err)
	}
	return db.running(id), nil
}

// running is the Run of the row id just inserted, its heartbeat started.
func (db *DB) running(id int64) *Run {
	r := &Run{db: db, id: id, stop: make(chan struct{})}
	go r.heartbeat()
	return r
}

// insertRun inserts info as a running run owned by this process, with its
// params and environment, and returns its id.
func insertRun(tx *sql.Tx, info RunInfo) (int64, error) {
	var teacher any // NULL for a first stage
	if info.TeacherRunID != 0 {
		teacher = info.TeacherRunID
	}
	var id int64
	err := func() error {
		var expID int64
		err := tx.QueryRow(`SELECT id FROM experiments WHERE name = ?`, info.Experiment).Scan(&expID)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("experiment not recorded (call EnsureExperiment first)")
		}
		if err != nil {
			return err
		}
		t := now()
		res, err := tx.Exec(`INSERT INTO runs(uid, experiment_id, config_hash, model, codes, schedule, seed,
			dataset, protocol, status, teacher_run_id, started_at, config, owner, heartbeat_at)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
			newUID(), expID, info.ConfigHash, info.Model, info.Codes, info.Schedule, info.Seed,
			info.Dataset, info.Protocol, teacher, t, info.Config, self.String(), t)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := insertPairs(tx, `INSERT INTO params(run_id, key, value) VALUES(?, ?, ?)`, id, info.Params); err != nil {
			return fmt.Errorf("params: %w", err)
		}
		if err := insertPairs(tx, `INSERT INTO environment(run_id, key, value) VALUES(?, ?, ?)`, id, info.Env); err != nil {
			return fmt.Errorf("environment: %w", err)
		}
		return nil
	}()
	return id, err
}

// heartbeat records that the run's process is alive until the run ends or
// the database is closed.
func (r *Run) heartbeat() {
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			_, err := r.db.sql.Exec(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`, now(), r.id)
			if err != nil && !isBusy(err) {
				return // closed database: nothing left to keep alive
			}
		}
	}
}

func insertPairs(tx *sql.Tx, query string, id int64, m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	stmt, err := tx.Prepare(query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for k, v := range m {
		if _, err := stmt.Exec(id, k, v); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	return nil
}

// ID returns the run's id in the runs table.
func (r *Run) ID() int64 { return r.id }

// LogStep records per-step training values (loss, lr, grad_norm, ...), one
// row (run_id, step, name, value) each; logging the same step and name again
// replaces the value. Rows are buffered and written every 200 rows and by
// Finish and Fail, so most calls only append to memory.
func (r *Run) LogStep(step int, values map[string]float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return fmt.Errorf("store: log step %d of run %d: run already ended", step, r.id)
	}
	for name, v := range values {
		r.steps = append(r.steps, stepRow{step, name, v})
	}
	if len(r.steps) < flushEvery {
		return nil
	}
	if err := r.db.inTx(r.writeSteps); err != nil {
		return fmt.Errorf("store: log step %d of run %d: %w", step, r.id, err)
	}
	r.steps = r.steps[:0]
	return nil
}

// writeSteps writes the buffered steps in tx; the caller empties the buffer
// once tx commits, so a failed write is retried by the next one.
func (r *Run) writeSteps(tx *sql.Tx) error {
	if len(r.steps) == 0 {
		return nil
	}
	stmt, err := tx.Prepare(`INSERT OR REPLACE INTO steps(run_id, step, name, value) VALUES(?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, s := range r.steps {
		if _, err := stmt.Exec(r.id, s.step, s.name, realValue(s.value)); err != nil {
			return fmt.Errorf("step %d %q: %w", s.step, s.name, err)
		}
	}
	return nil
}

// RecordResults stores evaluation metrics under a split name ("test", "val",
// "test-fold0", ...), replacing earlier values of the same split and name.
func (r *Run) RecordResults(split string, values map[string]float64) error {
	if split == "" {
		return fmt.Errorf("store: record results of run %d: empty split", r.id)
	}
	err := r.db.inTx(func(tx *sql.Tx) error {
		return insertValues(tx, `INSERT OR REPLACE INTO results(run_id, split, name, value) VALUES(?, ?, ?, ?)`,
			values, r.id, split)
	})
	if err != nil {
		return fmt.Errorf("store: record results %q of run %d: %w", split, r.id, err)
	}
	return nil
}

// RecordLatency stores cost and latency values (query_ms, encode_text_ms,
// interactions, index_floats, ...), replacing earlier values of the same name.
func (r *Run) RecordLatency(values map[string]float64) error {
	err := r.db.inTx(func(tx *sql.Tx) error {
		return insertValues(tx, `INSERT OR REPLACE INTO latency(run_id, name, value) VALUES(?, ?, ?)`,
			values, r.id)
	})
	if err != nil {
		return fmt.Errorf("store: record latency of run %d: %w", r.id, err)
	}
	return nil
}

// insertValues executes query once per value with args, name and the value
// appended.
func insertValues(tx *sql.Tx, query string, values map[string]float64, args ...any) error {
	stmt, err := tx.Prepare(query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for name, v := range values {
		if _, err := stmt.Exec(append(args, name, realValue(v))...); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
	}
	return nil
}

// SetCheckpoint records the run's checkpoint file. A path inside the
// database's directory is stored relative to it, so that the directory can
// be moved as a whole; any other path is stored absolute.
func (r *Run) SetCheckpoint(path string) error {
	if path == "" {
		return fmt.Errorf("store: set checkpoint of run %d: empty path", r.id)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: set checkpoint of run %d to %s: %w", r.id, path, err)
	}
	stored := storedPath(r.db.dir, abs)
	err = r.db.inTx(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE runs SET checkpoint = ? WHERE id = ?`, stored, r.id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set checkpoint of run %d to %s: %w", r.id, path, err)
	}
	return nil
}

// storedPath is the absolute path abs as stored for a database in dir:
// relative to dir when inside it, so that the directory can move as a whole.
func storedPath(dir, abs string) string {
	if rel, err := filepath.Rel(dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return abs
}

// Finish writes the buffered steps and marks the run finished now, after
// trainSeconds of training, in one transaction.
func (r *Run) Finish(trainSeconds float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return fmt.Errorf("store: finish run %d: run already ended", r.id)
	}
	err := r.db.inTx(func(tx *sql.Tx) error {
		if err := r.writeSteps(tx); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE runs SET status = 'finished', finished_at = ?, train_seconds = ? WHERE id = ?`,
			now(), realValue(trainSeconds), r.id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", r.id, err)
	}
	r.end()
	return nil
}

func (r *Run) end() {
	r.steps, r.ended = nil, true
	close(r.stop)
}

// Fail writes the buffered steps and marks the run failed now, with
// cause.Error() as its error and, when cause (or an error it wraps) has a
// method Stack() string, that stack. If the steps cannot be written the run
// is still marked failed, and Fail reports why the steps were lost.
func (r *Run) Fail(cause error) error { return r.stopWith("failed", cause) }

// Interrupt is Fail for a run stopped from outside (Ctrl-C, a cancelled
// context) rather than by its own fault: the status is 'interrupted'.
func (r *Run) Interrupt(cause error) error { return r.stopWith("interrupted", cause) }

func (r *Run) stopWith(status string, cause error) error {
	verb := map[string]string{"failed": "fail", "interrupted": "interrupt"}[status]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return fmt.Errorf("store: %s run %d: run already ended", verb, r.id)
	}
	msg := "unknown error (called with nil)"
	var stack any // NULL unless cause carries one
	if cause != nil {
		msg = cause.Error()
		var s interface{ Stack() string }
		if errors.As(cause, &s) {
			stack = s.Stack()
		}
	}
	mark := func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE runs SET status = ?, error = ?, stack = ?, finished_at = ? WHERE id = ?`,
			status, msg, stack, now(), r.id)
		return err
	}
	stepsErr := r.db.inTx(func(tx *sql.Tx) error {
		if err := r.writeSteps(tx); err != nil {
			return err
		}
		return mark(tx)
	})
	if stepsErr == nil {
		r.end()
		return nil
	}
	if err := r.db.inTx(mark); err != nil {
		return fmt.Errorf("store: %s run %d: %w", verb, r.id, errors.Join(stepsErr, err))
	}
	r.end()
	return fmt.Errorf("store: %s run %d: marked %s, but its buffered steps were lost: %w", verb, r.id, status, stepsErr)
}
