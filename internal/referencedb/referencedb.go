// Package referencedb gives tests a private, uncompressed copy of the
// committed reference database, reference/results.db.gz. It is committed
// compressed (45 MB instead of 123 MB, most of it the step history), and
// SQLite opening it in place would leave -shm and -wal files in
// reference/ besides.
package referencedb

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Path is the committed file, relative to the repository root.
const Path = "reference/results.db.gz"

// Copy decompresses the reference database found at root/Path into a
// temporary directory of t and returns the copy's path; t is skipped when
// there is no reference database.
func Copy(t *testing.T, root string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, Path))
	if err != nil {
		t.Skipf("no reference database: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("referencedb: %s: %v", Path, err)
	}
	path := filepath.Join(t.TempDir(), "results.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatalf("referencedb: %s: %v", Path, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
