// Package readonly makes directories that a test cannot write in, for the
// tests of commands that must work from a read-only directory.
package readonly

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir returns a new directory holding copies of files, in which no
// file can be created: mode 0555 and, for root, whom modes do not stop, the
// immutable attribute (chattr +i). It skips the test where neither works.
func Dir(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) }) // so that TempDir can remove it
	if canCreateIn(dir) {
		err := exec.Command("chattr", "+i", dir).Run()
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if err != nil || canCreateIn(dir) {
			t.Skipf("cannot make a directory read-only as this user (chattr +i: %v)", err)
		}
	}
	return dir
}

func canCreateIn(dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
