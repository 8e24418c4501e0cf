package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

// SchemaVersion is the version of the schema this package writes. Open
// refuses a database with a newer one.
const SchemaVersion = 5

// migrations[v] upgrades a database from schema version v to v+1; version 0
// is a database without a meta table (a new file). Versions 1-4 change the
// schema (schema_v<v>.sql); version 5 completes the params of runs
// recorded earlier (completeRecordedParams).
var migrations = []func(*sql.Tx) error{
	execSQL(schemaV1), execSQL(schemaV2), execSQL(schemaV3), execSQL(schemaV4),
	completeRecordedParams,
}

// execSQL is the migration that runs the statements of script.
func execSQL(script string) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(script)
		return err
	}
}

var (
	//go:embed schema_v1.sql
	schemaV1 string
	//go:embed schema_v2.sql
	schemaV2 string
	//go:embed schema_v3.sql
	schemaV3 string
	//go:embed schema_v4.sql
	schemaV4 string
)

// timeFormat is RFC 3339 with a fixed nine-digit fraction: time.RFC3339Nano
// drops trailing zeros, which would make "…:05Z" sort after "…:05.1Z".
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func now() string { return time.Now().UTC().Format(timeFormat) }

// DB is an open results database. It is safe for concurrent use.
type DB struct {
	path string // as given to Open
	dir  string // absolute directory of the file, for checkpoint paths
	sql  *sql.DB
}

// Open opens or creates the results database at path: WAL journal, busy
// timeout 10 s, foreign keys on, PRAGMA quick_check (see quickCheck), schema
// created or migrated in one transaction. It fails, naming path, when the
// file cannot be created or written, when it is damaged, or when its schema
// version is newer than SchemaVersion.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	_, statErr := os.Stat(path) // before SQLite creates it
	sdb, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{path: path, dir: filepath.Dir(abs), sql: sdb}
	// sql.Open is lazy: creating the schema is what proves the file usable.
	// SQLite reports busy without calling its busy handler when a connection
	// meets a new file half way through another's switch to WAL (2 in 100
	// simultaneous opens of a new file, measured), so Open retries busy
	// errors itself, for as long as a write would (see inTx).
	deadline := time.Now().Add(writeTimeout)
	for {
		// A damaged file is refused before a migration rewrites it.
		err = quickCheck(sdb, path)
		if err == nil {
			err = db.migrate()
		}
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		sdb.Close()
		if errors.As(err, new(*damagedError)) {
			return nil, err // it names the file and says what to do
		}
		if dirErr := dirNotWritable(path, statErr, err); dirErr != nil {
			return nil, dirErr
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// dirNotWritable explains openErr, SQLite failing to open path for
// writing, when the cause is that path's directory is not writable, and
// returns nil otherwise; statErr is what os.Stat(path) said before. SQLite's
// own messages mislead there: "no such file or directory" when it cannot
// create a file (its last try opens it read-only), and "attempt to write a
// readonly database" when WAL cannot create the -shm file beside an
// existing one.
func dirNotWritable(path string, statErr, openErr error) error {
	var e sqlite3.Error
	if !errors.As(openErr, &e) || (e.Code != sqlite3.ErrCantOpen && e.Code != sqlite3.ErrReadonly) {
		return nil
	}
	isNew := errors.Is(statErr, fs.ErrNotExist)
	if statErr != nil && !isNew {
		return nil
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || dirWritable(dir) {
		return nil
	}
	if isNew {
		return fmt.Errorf("store: cannot create %s: directory %s is not writable", path, dir)
	}
	return fmt.Errorf("store: cannot open %s for writing: directory %s is not writable "+
		"(SQLite keeps the -wal and -shm files beside the database); reports/cmd/report only reads it", path, dir)
}

func isBusy(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && (e.Code == sqlite3.ErrBusy || e.Code == sqlite3.ErrLocked)
}

// dsn is the SQLite URI of the database at path for Open. Each statement
// waits up to 10 s for the lock (_busy_timeout); inTx retries past that.
func dsn(path string) string {
	return uriPath(path) + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"
}

// uriPath escapes the characters that would end or alter the path part of
// an SQLite URI filename.
func uriPath(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// migrate brings the schema to SchemaVersion in one transaction. The
// transaction holds the write lock from its start (_txlock=immediate), so two
// processes opening a new file at once do not both create the tables. It
// runs on a connection of its own with foreign keys off and the legacy
// ALTER TABLE behaviour on, which rebuilding a table that others refer to
// needs (see schema_v2.sql); the connection is closed, not reused, after.
func (db *DB) migrate() error {
	ctx := context.Background()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	// Returning ErrBadConn from Raw closes the connection instead of giving
	// it back to the pool with its pragmas changed.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	// Most opens find the schema current: a read says so without waiting
	// for the write lock, which busy writers may hold for long.
	var current string
	err = conn.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&current)
	if err == nil && current == strconv.Itoa(SchemaVersion) {
		return nil
	}
	if isBusy(err) {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON`); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).Scan(&n); err != nil {
		return err
	}
	version := 0
	if n > 0 {
		var s string
		err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&s)
		if err != nil {
			return fmt.Errorf("reading schema_version: %w", err)
		}
		version, err = strconv.Atoi(s)
		if err != nil || version < 1 {
			return fmt.Errorf("invalid schema_version %q in meta", s)
		}
	}
	if version > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this program's %d: use a newer program", version, SchemaVersion)
	}
	if version == SchemaVersion {
		return nil
	}
	for v := version; v < SchemaVersion; v++ {
		if err := migrations[v](tx); err != nil {
			return fmt.Errorf("migrating schema from version %d: %w", v, err)
		}
	}
	// The rebuild ran without foreign key checks: prove it kept them.
	rows, err := tx.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return fmt.Errorf("migrating schema from version %d: foreign key check failed", version)
	}
	if _, err = tx.Exec(`INSERT INTO meta(key, value) VALUES('schema_version', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, strconv.Itoa(SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// writeTimeout bounds how long inTx keeps retrying a transaction that
// found the database busy. SQLite's busy handler is not fair: with dozens of
// processes writing at once, one writer can lose the lock again and again
// for longer than the busy timeout (measured: 32 processes of 3 writers,
// 20,000 steps each), so a busy error is retried rather than returned.
const writeTimeout = 5 * time.Minute

// inTx runs f in a transaction, committing when f returns nil, and runs it
// again while the database is busy, up to writeTimeout. f must leave
// nothing behind outside the transaction when it fails.
func (db *DB) inTx(f func(tx *sql.Tx) error) error {
	deadline := time.Now().Add(writeTimeout)
	for {
		err := db.tryTx(f)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(5+rand.IntN(45)) * time.Millisecond) // jitter: retries do not collide again
	}
}

func (db *DB) tryTx(f func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return err
	}
	return nil
}

// Close closes the database. Steps still buffered in a Run that was neither
// finished nor failed are lost.
func (db *DB) Close() error { return db.sql.Close() }

// Path returns the path given to Open.
func (db *DB) Path() string { return db.path }

// SQL returns the underlying database handle, for read-only queries by
// reports and tests.
func (db *DB) SQL() *sql.DB { return db.sql }

// RunRecord is a run as stored in the runs table. Checkpoint may be
// relative to the database's directory: resolve it with DB.CheckpointPath.
type RunRecord struct {
	ID int64

	Experiment, ConfigHash, Model, Schedule, Dataset, Protocol, Status string

	Error      string // "" unless failed
	Checkpoint string // as stored, see DB.CheckpointPath

	Codes        int
	Seed         int64
	TeacherRunID int64 // 0 = none
}

const selectRun = `SELECT r.id, e.name, r.config_hash, r.model, r.schedule, r.dataset, r.protocol,
	r.status, r.error, r.checkpoint, r.codes, r.seed, r.teacher_run_id
	FROM runs r JOIN experiments e ON e.id = r.experiment_id `

// newestFinished orders finished runs newest first; id breaks ties between
// runs finished within the same nanosecond (or clock steps backwards).
const newestFinished = ` AND r.status = 'finished' ORDER BY r.finished_at DESC, r.id DESC LIMIT 1`

// FinishedRun returns the newest finished run of the named experiment with
// this config hash; ok is false when there is none.
func (db *DB) FinishedRun(experiment, configHash string) (r RunRecord, ok bool, err error) {
	r, ok, err = db.queryRun(selectRun+`WHERE e.name = ? AND r.config_hash = ?`+newestFinished, experiment, configHash)
	if err != nil {
		err = fmt.Errorf("store: finished run of experiment %q, config %s: %w", experiment, configHash, err)
	}
	return r, ok, err
}

// FinishedRunAnyExperiment returns the newest finished run with this config
// hash in any experiment, so that a stage trained for one experiment (a
// teacher, say) can be reused by another; ok is false when there is none.
func (db *DB) FinishedRunAnyExperiment(configHash string) (r RunRecord, ok bool, err error) {
	r, ok, err = db.queryRun(selectRun+`WHERE r.config_hash = ?`+newestFinished, configHash)
	if err != nil {
		err = fmt.Errorf("store: finished run of config %s: %w", configHash, err)
	}
	return r, ok, err
}

func (db *DB) queryRun(query string, args ...any) (RunRecord, bool, error) {
	r, err := scanRun(db.sql.QueryRow(query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return RunRecord{}, false, nil
	}
	if err != nil {
		return RunRecord{}, false, err
	}
	return r, true, nil
}

// scanRun reads one row of selectRun.
func scanRun(row interface{ Scan(...any) error }) (RunRecord, error) {
	var (
		r            RunRecord
		errMsg, ckpt sql.NullString
		teacher      sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.Experiment, &r.ConfigHash, &r.Model,
		&r.Schedule, &r.Dataset, &r.Protocol, &r.Status, &errMsg, &ckpt, &r.Codes, &r.Seed, &teacher)
	r.Error, r.Checkpoint, r.TeacherRunID = errMsg.String, ckpt.String, teacher.Int64
	return r, err
}

// CheckpointPath resolves rec's checkpoint to an absolute path: a relative
// one is relative to the database's directory. It returns "" when the run
// has no checkpoint.
func (db *DB) CheckpointPath(rec RunRecord) string {
	if rec.Checkpoint == "" || filepath.IsAbs(rec.Checkpoint) {
		return rec.Checkpoint
	}
	return filepath.Join(db.dir, rec.Checkpoint)
}

// realValue converts v for a REAL column: non-finite values become NULL.
func realValue(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
