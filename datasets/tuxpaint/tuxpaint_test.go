package tuxpaint

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"reflect"
	"strings"
	"testing"

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
	th, err := thumbnail(imagetok.Settings{}.Defaults(), "red.png", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if th[0] != 255 || th[1] != 0 || th[2] != 0 {
		t.Errorf("first pixel %v, want red", th[:3])
	}
	if _, err := thumbnail(imagetok.Settings{}.Defaults(), "bad.png", []byte("not a png")); err == nil {
		t.Error("no error for a corrupt PNG")
	}
}

func TestLoadNotSetUp(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
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
	d, err := Load("")
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
