package framework

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/models"
)

// TestTrainingStateIsPrivate: a training state resumes only the trial
// that saved it; another experiment's or config's file, or a damaged one,
// is refused with a message naming the file, and nothing is resumed.
func TestTrainingStateIsPrivate(t *testing.T) {
	dir := t.TempDir()
	c := tinyConfig()
	saved, err := openTrainingState(dir, "a", c)
	if err != nil || saved.resume != nil {
		t.Fatalf("fresh state: %+v, %v", saved, err)
	}
	if err := saved.save(models.TrainState{Epoch: 3, Step: 30}); err != nil {
		t.Fatal(err)
	}
	got, err := openTrainingState(dir, "a", c)
	if err != nil || got.resume == nil || got.resume.Epoch != 3 {
		t.Fatalf("own state: %+v, %v", got.resume, err)
	}
	other := c
	other.Train.Margin = 0.3
	if s, err := openTrainingState(dir, "b", c); err != nil || s.resume != nil {
		t.Errorf("experiment b resumed from a's state: %+v, %v", s.resume, err)
	}
	good, err := os.ReadFile(saved.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		experiment string
		config     Config
		content    []byte
		want       string
	}{
		{"another experiment's file", "b", c, good, `belongs to experiment "a"`},
		{"another config's file", "a", other, good, "config " + c.Hash()},
		{"damaged", "a", c, func() []byte { b := slices.Clone(good); b[len(b)-5] ^= 1; return b }(), "damaged"},
		{"truncated", "a", c, good[:len(good)/2], "training state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, _ := openTrainingState(dir, tc.experiment, tc.config)
			if err := os.WriteFile(target.path, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := openTrainingState(dir, tc.experiment, tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), target.path) || s.resume != nil {
				t.Errorf("resume %+v, err %v; want a refusal naming %s and %q", s.resume, err, target.path, tc.want)
			}
		})
	}
}

// TestRemoveStaleTemps: a temporary file whose writer no longer runs is
// removed; this process's, and files that are not temporaries, are kept.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	dead := "a.resume.tmp2147483647-123" // above any pid_max: no such process
	live := filepath.Base(strings.Replace(models.TempPattern(filepath.Join(dir, "b.ckpt")), "*", "456", 1))
	for _, name := range []string{dead, live, "c.ckpt", "d.resume"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := removeStaleTemps(dir)
	if err != nil || !slices.Equal(removed, []string{dead}) {
		t.Fatalf("removed %v, %v; want [%s]", removed, err, dead)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{live, "c.ckpt", "d.resume"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
