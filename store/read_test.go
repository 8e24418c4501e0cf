package store

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/internal/readonly"
)

// smallDB writes a closed database of a few runs at dir/results.db, with
// no -wal or -shm file left beside it, as a copied or committed one is.
func smallDB(t testing.TB, dir string, runs, steps int) string {
	t.Helper()
	path := filepath.Join(dir, "results.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		r := mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: fmt.Sprint(i), Model: "base", Seed: int64(i),
			Params: map[string]string{"seed": fmt.Sprint(i)}})
		for s := 1; s <= steps; s++ {
			if err := r.LogStep(s, map[string]float64{"loss": 1 / float64(s), "lr": 0.1, "grad_norm": float64(i + s)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Finish(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Fatalf("closing %s left %s", path, path+suffix)
		}
	}
	return path
}

func countRuns(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM runs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenDamaged: random bytes written into a database are found when it
// is opened, by either open, with the file named and a way out.
func TestOpenDamaged(t *testing.T) {
	tests := []struct {
		name   string
		offset func(size int64) int64
		n      int
	}{
		// A whole page in the middle: the steps table's b-tree.
		{name: "middle page", offset: func(size int64) int64 { return size / 2 / 4096 * 4096 }, n: 4096},
		// Across a page boundary: the start of a page is its header.
		{name: "a kilobyte mid-file", offset: func(size int64) int64 { return size/2/4096*4096 - 512 }, n: 1024},
		{name: "header", offset: func(int64) int64 { return 0 }, n: 100},
	}
	openers := []struct {
		name string
		open func(path string) (func() error, error)
	}{
		{"Open", func(path string) (func() error, error) {
			db, err := Open(path)
			if err != nil {
				return nil, err
			}
			return db.Close, nil
		}},
		{"OpenReadOnly", func(path string) (func() error, error) {
			db, err := OpenReadOnly(path)
			if err != nil {
				return nil, err
			}
			return db.Close, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := smallDB(t, t.TempDir(), 10, 300)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			junk := make([]byte, tt.n)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(junk, tt.offset(fi.Size())); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			for _, o := range openers {
				closeDB, err := o.open(path)
				if err == nil {
					closeDB()
					t.Errorf("%s(%s) of a damaged %d-byte file succeeded", o.name, path, fi.Size())
					continue
				}
				for _, want := range []string{path, "is damaged", "quick_check", "restore it from a backup", ".recover"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s(%s) error %q lacks %q", o.name, path, err, want)
					}
				}
			}
		})
	}
}

// BenchmarkQuickCheck measures PRAGMA quick_check, which every open runs,
// on a database of 3 MB (20 runs of 1000 steps).
func BenchmarkQuickCheck(b *testing.B) {
	path := smallDB(b, b.TempDir(), 20, 1000)
	db, err := OpenReadOnly(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		if err := quickCheck(db, path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenReadOnly: a read-only open reads a database in a directory where
// nothing can be created (SQLite's WAL would create -shm there), and
// otherwise sees other connections' writes, so it is not opened immutable
// needlessly.
func TestOpenReadOnly(t *testing.T) {
	src := smallDB(t, t.TempDir(), 3, 2)
	tests := []struct {
		name     string
		dir      func(t *testing.T) string // holding results.db
		writable bool
	}{
		{name: "writable directory", dir: func(t *testing.T) string {
			dir := t.TempDir()
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "results.db"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, writable: true},
		{name: "read-only directory", dir: func(t *testing.T) string { return readonly.Dir(t, src) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tt.dir(t), "results.db")
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			db, err := OpenReadOnly(path)
			if err != nil {
				t.Fatalf("OpenReadOnly(%s): %v", path, err)
			}
			defer db.Close()
			if n := countRuns(t, db); n != 3 {
				t.Errorf("OpenReadOnly(%s) reads %d runs, want 3", path, n)
			}
			if _, err := db.Exec(`DELETE FROM runs`); err == nil {
				t.Errorf("OpenReadOnly(%s) allowed a write", path)
			}
			if tt.writable {
				w := openAt(t, path)
				mustStart(t, w, RunInfo{Experiment: "e", ConfigHash: "new"})
				if n := countRuns(t, db); n != 4 {
					t.Errorf("OpenReadOnly(%s) reads %d runs after another connection added one, want 4", path, n)
				}
				return
			}
			after, err := os.ReadFile(path)
			if err != nil || string(after) != string(before) {
				t.Errorf("OpenReadOnly(%s) changed the file (%v)", path, err)
			}
		})
	}
	if _, err := OpenReadOnly(filepath.Join(t.TempDir(), "none.db")); err == nil || !strings.Contains(err.Error(), "none.db") {
		t.Errorf("OpenReadOnly of a missing file: error %v, want one naming it", err)
	}
}

// TestReadOnlyDSN: the URI of a read-only open escapes the path, and is
// immutable (no -shm, no locking) only when asked.
func TestReadOnlyDSN(t *testing.T) {
	tests := []struct {
		name, path string
		immutable  bool
		want       string
	}{
		{"plain", "/d/results.db", false, "file:/d/results.db?mode=ro&_busy_timeout=10000"},
		{"immutable", "/d/results.db", true, "file:/d/results.db?mode=ro&immutable=1"},
		{"odd name", "/d/a?b#c%.db", true, "file:/d/a%3fb%23c%25.db?mode=ro&immutable=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readOnlyDSN(tt.path, tt.immutable); got != tt.want {
				t.Errorf("readOnlyDSN(%q, %t) = %q, want %q", tt.path, tt.immutable, got, tt.want)
			}
		})
	}
}

// TestOpenUnwritableDirectory: Open says that the directory is not
// writable, rather than SQLite's "no such file or directory" (a new
// file) or "attempt to write a readonly database" (an existing one).
func TestOpenUnwritableDirectory(t *testing.T) {
	dir := readonly.Dir(t, smallDB(t, t.TempDir(), 1, 1))
	tests := []struct {
		name, path, want string
	}{
		{"new database", filepath.Join(dir, "new.db"), "store: cannot create " + filepath.Join(dir, "new.db") + ": directory " + dir + " is not writable"},
		{"existing database", filepath.Join(dir, "results.db"), "store: cannot open " + filepath.Join(dir, "results.db") + " for writing: directory " + dir + " is not writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) in a read-only directory succeeded", tt.path)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Open(%s) error %q, want %q", tt.path, err, tt.want)
			}
		})
	}
}

// TestMergeItself: merging a database into itself, under any name, is
// refused at once rather than after the busy timeout.
func TestMergeItself(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.db")
	db := openAt(t, path)
	mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: "h"})
	symlink := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(path, symlink); err != nil {
		t.Fatal(err)
	}
	hardlink := filepath.Join(dir, "hard.db")
	if err := os.Link(path, hardlink); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, shard string }{
		{"same path", path},
		{"other spelling", dir + "/./../" + filepath.Base(dir) + "/results.db"},
		{"symbolic link", symlink},
		{"hard link", hardlink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := db.Merge(tt.shard)
			if err == nil || !strings.Contains(err.Error(), "store: merge "+tt.shard+": that file is the database being merged into") {
				t.Errorf("Merge(%s) into %s: error %v, want it refused as the same file", tt.shard, path, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Merge(%s) into %s took %v to refuse", tt.shard, path, d)
			}
		})
	}
	if n := count(t, db, `SELECT count(*) FROM runs`); n != 1 {
		t.Errorf("%d runs after merging into itself, want 1", n)
	}
}

// TestSnapshot: every query of a Snapshot sees the database as of its
// first one, while another connection goes on writing, unblocked.
func TestSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db := openAt(t, path)
	mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: "first"})
	// A writer that would fail fast, not wait, if the snapshot held the lock.
	w, err := sql.Open("sqlite3", uriPath(path)+"?_busy_timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var inside []int
	err = Snapshot(db.SQL(), func(r Reader) error {
		for i := range 3 {
			var n int
			if err := r.QueryRow(`SELECT count(*) FROM runs`).Scan(&n); err != nil {
				return err
			}
			inside = append(inside, n)
			if _, err := w.Exec(`INSERT INTO runs(uid, experiment_id, config_hash, model, codes, schedule, seed,
				dataset, protocol, status, started_at, config) SELECT ?, experiment_id, ?, model, codes, schedule, seed,
				dataset, protocol, status, started_at, config FROM runs LIMIT 1`, fmt.Sprint("w", i), fmt.Sprint("w", i)); err != nil {
				return fmt.Errorf("write during the snapshot: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(inside) != "[1 1 1]" {
		t.Errorf("runs counted inside the snapshot = %v, want [1 1 1]", inside)
	}
	if n := count(t, db, `SELECT count(*) FROM runs`); n != 4 {
		t.Errorf("runs after the snapshot = %d, want 4", n)
	}
}
