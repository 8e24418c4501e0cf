package all

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

func TestRegistered(t *testing.T) {
	names := datasets.Names()
	for _, want := range []string{"emoji-style", "emoji-style-small", "emoji-concept", "emoji-style-keywords", "tuxpaint", "coco", "f30k"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is not registered (have %v)", want, names)
		}
	}
}

func TestNotSetUp(t *testing.T) {
	t.Setenv("INFLATESHRINK_DATA", t.TempDir())
	t.Setenv("INFLATESHRINK_SCAN", "")
	dir := os.Getenv("INFLATESHRINK_DATA")
	for name, hint := range map[string]string{
		"emoji-style":       "run: go run ./datasets/setup emoji",
		"emoji-style-small": "run: go run ./datasets/setup emoji-small",
		"tuxpaint":          "run: go run ./datasets/setup tuxpaint",
		"f30k":              "set INFLATESHRINK_SCAN",
	} {
		_, err := datasets.Load(name)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), hint) {
			t.Errorf("%s from an empty folder: error %v, want one naming %s and saying %q", name, err, dir, hint)
		}
	}
}
