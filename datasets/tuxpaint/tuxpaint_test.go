package tuxpaint

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

func TestPairFiles(t *testing.T) {
	files := map[string][]byte{
		"animals/cat.txt":   []byte("A cat.\nfr.utf8=Un chat.\n"),
		"animals/cat.png":   nil,
		"animals/dog.txt":   []byte("  A dog.  \r\n"),
		"animals/dog.svg":   nil,
		"animals/dog.png":   nil,                        // the SVG is preferred
		"plants/tree.txt":   []byte("\nde.utf8=Baum\n"), // no English line
		"plants/tree.png":   nil,
		"plants/flower.txt": []byte("A flower."), // no picture
		"plants/rose.png":   nil,                 // no text
	}
	got := PairFiles(files)
	want := []Pair{{"animals/cat.png", "A cat."}, {"animals/dog.svg", "A dog."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestThumbnailPNG(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			img.Set(x, y, color.NRGBA{R: 255, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	th, err := thumbnails("red.png", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range imagetok.ThumbSizes {
		if len(th[k]) != 3*n*n || th[k][0] != 255 || th[k][1] != 0 || th[k][2] != 0 {
			t.Errorf("%d-pixel thumbnail: %d bytes, first pixel %v; want %d, red", n, len(th[k]), th[k][:3], 3*n*n)
		}
	}
	if _, err := thumbnails("bad.png", []byte("not a png")); err == nil {
		t.Error("no error for a corrupt PNG")
	}
}

func TestLoadNotSetUp(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, imagetok.Settings{})
	if err == nil || !strings.Contains(err.Error(), CachePath(dir)) || !strings.Contains(err.Error(), SetupCommand) {
		t.Errorf("error %v, want one naming %s and %q", err, CachePath(dir), SetupCommand)
	}
}

// TestRealCache checks the set-up cache when there is one.
func TestRealCache(t *testing.T) {
	dir, err := imagetok.Dir()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(CachePath(dir)); err != nil {
		t.Skipf("no tuxpaint cache at %s (%s)", CachePath(dir), SetupCommand)
	}
	d, err := Load("", imagetok.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(d.Test.Images) < 900 {
		t.Errorf("%d stamps, want about 950", len(d.Test.Images))
	}
}

func TestRegistered(t *testing.T) {
	names := datasets.Names()
	got := Names()
	if len(got) != 1+len(imagetok.Variants) || got[Name] != (imagetok.Settings{}) {
		t.Errorf("Names = %v, want %s and one per variant", got, Name)
	}
	for _, v := range imagetok.Variants {
		name := Name + "@" + v.Name()
		if got[name] != v || !slices.Contains(names, name) {
			t.Errorf("%s: tokenisation %+v, registered %v; want %+v, true", name, got[name], slices.Contains(names, name), v)
		}
	}
	// Each name loads from the one cache (here: none) with its tokens.
	t.Setenv(imagetok.EnvDir, t.TempDir())
	if _, err := datasets.Load(Name + "@" + imagetok.Variants[0].Name()); err == nil || !strings.Contains(err.Error(), SetupCommand) {
		t.Errorf("loading a variant from an empty folder: error %v, want one saying %q", err, SetupCommand)
	}
}

func TestMatching(t *testing.T) {
	for _, tc := range []struct{ dataset, want string }{
		{"emoji-style", "tuxpaint"},
		{"emoji-style-small@s24g8c3", "tuxpaint@s24g8c3"},
		{"emoji-concept@s48g8c6", "tuxpaint@s48g8c6"},
	} {
		if got := Matching(tc.dataset); got != tc.want {
			t.Errorf("Matching(%q) = %q, want %q", tc.dataset, got, tc.want)
		}
	}
	for name := range Names() {
		if Matching(name) != name {
			t.Errorf("Matching(%q) = %q", name, Matching(name))
		}
	}
}
