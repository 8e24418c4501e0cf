package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/referencedb"
)

// TestReferenceReportsRegenerate renders every experiment of the committed
// reference database again and compares the result, byte for byte, with
// the committed reports: they must be what the database alone gives.
func TestReferenceReportsRegenerate(t *testing.T) {
	const committed = "../../../reference/report"
	db := referencedb.Copy(t, "../../..")
	out := t.TempDir()
	if err := run([]string{"-db", db, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	var n int
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		got, _ := os.ReadFile(path)
		want, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil {
			t.Errorf("%s: rendered but not committed: %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the committed file (regenerate with: gunzip -k reference/results.db.gz && go run ./reports/cmd/report -db reference/results.db -out reference/report)", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no report rendered")
	}
}
