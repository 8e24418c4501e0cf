package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// OpenReadOnly opens the results database at path for reading only: it
// never creates, migrates or writes the file, so that a committed
// results.db stays as it is whatever its schema version. Like Open, it runs
// PRAGMA quick_check and refuses a damaged file.
//
// A WAL database is read through its -shm file, which SQLite creates beside
// the database even for a read-only connection. When the directory is not
// writable and no writer has left a -wal or -journal file there, no process
// can be changing the database, so it is opened immutable (no -shm, no
// locks); otherwise a plain read-only open sees other processes' writes.
func OpenReadOnly(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("store: open read-only: empty database path")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	immutable := !dirWritable(filepath.Dir(path)) && !exists(path+"-wal") && !exists(path+"-journal")
	sdb, err := sql.Open("sqlite3", readOnlyDSN(path, immutable))
	if err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	// sql.Open is lazy: the check is also what proves the file readable.
	if err := quickCheck(sdb, path); err != nil {
		sdb.Close()
		if errors.As(err, new(*damagedError)) {
			return nil, err
		}
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	return sdb, nil
}

// readOnlyDSN is the SQLite URI for reading the database at path; see
// OpenReadOnly for when immutable is right.
func readOnlyDSN(path string, immutable bool) string {
	u := uriPath(path) + "?mode=ro"
	if immutable {
		return u + "&immutable=1"
	}
	return u + "&_busy_timeout=10000"
}

// dirWritable reports whether files can be created in dir. access(2) also
// answers for root, whom a read-only mount or an immutable directory still
// stops, unlike mode bits.
func dirWritable(dir string) bool {
	const wOK = 2 // W_OK of <unistd.h>, the same on every Unix
	return syscall.Access(dir, wOK) == nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// quickCheck runs PRAGMA quick_check on db, the database at path, and
// returns a *damagedError when it finds damage. It reads every page, so its
// cost grows with the file: 14 ms for a 3 MB results.db (20 runs of 1000
// steps, BenchmarkQuickCheck) and 130 ms for a 48 MB one (300 runs of 800
// steps), measured on a busy 2-core machine. That is cheap beside any sweep
// or report, and catches damage before a migration rewrites the file or a
// report renders half of it. (quick_check is integrity_check without the
// checks that index contents match their tables and UNIQUE constraints hold,
// which cost more.)
func quickCheck(db *sql.DB, path string) error {
	rows, err := db.Query(`PRAGMA quick_check(3)`) // the first few problems say enough
	if err != nil {
		return asDamaged(path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		// A row may hold several problems, one a line, under a heading.
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); line != "ok" && line != "" && !strings.HasPrefix(line, "*** in database") {
				problems = append(problems, line)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return asDamaged(path, err)
	}
	if len(problems) > 0 {
		return &damagedError{path, strings.Join(problems, "; ")}
	}
	return nil
}

// asDamaged returns err as a *damagedError when it is SQLite finding the
// file damaged (or not a database at all), and err itself otherwise (busy,
// say, which Open retries).
func asDamaged(path string, err error) error {
	var e sqlite3.Error
	if errors.As(err, &e) && (e.Code == sqlite3.ErrCorrupt || e.Code == sqlite3.ErrNotADB) {
		return &damagedError{path, err.Error()}
	}
	return err
}

// damagedError is a database file that PRAGMA quick_check (or the open
// itself) found damaged.
type damagedError struct{ path, problem string }

func (e *damagedError) Error() string {
	return fmt.Sprintf("store: %s is damaged (PRAGMA quick_check: %s): restore it from a backup, "+
		"or recover what is readable with: sqlite3 %s .recover | sqlite3 recovered.db", e.path, e.problem, e.path)
}

// Reader runs read queries: *sql.DB and *sql.Tx are Readers, and so is
// what Snapshot hands out.
type Reader interface {
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

// Snapshot calls f with a Reader whose queries all see db as of one moment:
// they run in one read transaction, so runs that other processes (or
// goroutines) add meanwhile are either wholly seen or not at all. In WAL
// mode those writers carry on; they are not blocked by the snapshot.
//
// It issues BEGIN DEFERRED itself rather than calling db.BeginTx, because
// the connections of a DB from Open begin IMMEDIATE (_txlock), which would
// take the write lock for a read.
func Snapshot(db *sql.DB, f func(Reader) error) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: read snapshot: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return fmt.Errorf("store: read snapshot: %w", err)
	}
	err = f(connReader{conn})
	if _, rbErr := conn.ExecContext(ctx, `ROLLBACK`); rbErr != nil {
		// Never hand a connection inside a transaction back to the pool.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(err, fmt.Errorf("store: read snapshot: ending it: %w", rbErr))
	}
	return err
}

// connReader runs queries on one connection, inside Snapshot's transaction.
type connReader struct{ c *sql.Conn }

func (r connReader) Query(query string, args ...any) (*sql.Rows, error) {
	return r.c.QueryContext(context.Background(), query, args...)
}

func (r connReader) QueryRow(query string, args ...any) *sql.Row {
	return r.c.QueryRowContext(context.Background(), query, args...)
}
