package imagetok

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestThumbnail(t *testing.T) {
	// A 2 x 1 image, opaque red then transparent, in a 2 x 2 thumbnail:
	// it is centred vertically, so each output pixel of the top row is
	// half image, half white band.
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	img.Set(1, 0, color.NRGBA{})
	got, err := Settings{Size: 2, Grid: 1, Cell: 1}.Thumbnail(img)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{255, 128, 128, 255, 255, 255, 255, 128, 128, 255, 255, 255}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestThumbnailAverages(t *testing.T) {
	// A 4 x 4 checkerboard of black and white averages to grey in 2 x 2.
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for y := range 4 {
		for x := range 4 {
			if (x+y)%2 == 0 {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	got, err := Settings{Size: 2, Grid: 1, Cell: 1}.Thumbnail(img)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 128 {
			t.Fatalf("byte %d = %d, want 128", i, v)
		}
	}
}

func TestTokens(t *testing.T) {
	s := Settings{Size: 4, Grid: 2, Cell: 1}
	th := make([]uint8, 3*16)
	for i := range th {
		th[i] = 255
	}
	th[0], th[1], th[2] = 0, 0, 0 // pixel (0, 0) black
	got, err := s.Tokens(th)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{
		{0.5, 0.5, 0.5, -0.5, -0.5}, // top left: a quarter black
		{1, 1, 1, 0.5, -0.5},
		{1, 1, 1, -0.5, 0.5},
		{1, 1, 1, 0.5, 0.5},
	}
	if len(got) != len(want) {
		t.Fatalf("%d tokens, want %d", len(got), len(want))
	}
	for i := range want {
		for k := range want[i] {
			if math.Abs(float64(got[i][k]-want[i][k])) > 1e-6 {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	}
	if s.RegionDim() != 5 || (Settings{}).RegionDim() != 29 {
		t.Errorf("RegionDim %d and default %d, want 5 and 29", s.RegionDim(), Settings{}.RegionDim())
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"untileable", func() error { _, err := (Settings{Size: 10, Grid: 4, Cell: 1}).Tokens(nil); return err }(), "size 10"},
		{"short thumbnail", func() error { _, err := (Settings{}).Tokens(make([]uint8, 5)); return err }(), "5 bytes, want 1728"},
		{"empty image", func() error { _, err := (Settings{}).Thumbnail(image.NewRGBA(image.Rect(0, 0, 0, 3))); return err }(), "empty image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", tc.err, tc.want)
			}
		})
	}
}

type payload struct {
	Name  string
	Thumb []uint8
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.cache")
	in := payload{"hello", []uint8{1, 2, 3}}
	if err := WriteCache(path, "x", 3, in); err != nil {
		t.Fatal(err)
	}
	var out payload
	if err := ReadCache(path, "x", 3, &out, "setup x"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("read %v, wrote %v", out, in)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sub", "*.tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	good, _ := os.ReadFile(path)
	for _, tc := range []struct {
		name    string
		data    []byte // nil: remove the file
		kind    string
		version uint32
		want    string
	}{
		{"missing", nil, "x", 3, "does not exist"},
		{"other kind", good, "y", 3, "not a y cache"},
		{"other version", good, "x", 4, "version 3, this program reads version 4"},
		{"truncated", good[:len(good)-1], "x", 3, "the header promises"},
		{"truncated header", good[:10], "x", 3, "truncated header"},
		{"corrupt", append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1), "x", 3, "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "c")
			os.Remove(p)
			if tc.data != nil {
				os.WriteFile(p, tc.data, 0o644)
			}
			var out payload
			err := ReadCache(p, tc.kind, tc.version, &out, "setup x")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) || !strings.HasSuffix(err.Error(), "run: setup x") {
				t.Errorf("error %v, want one naming %s, containing %q and ending with the command", err, p, tc.want)
			}
			if tc.data == nil && !errors.Is(err, ErrNotSetUp) {
				t.Errorf("error %v does not wrap ErrNotSetUp", err)
			}
		})
	}
}

func TestDir(t *testing.T) {
	t.Setenv(EnvDir, "/some/where")
	if d, err := Dir(); err != nil || d != "/some/where" {
		t.Errorf("Dir() = %q, %v; want /some/where", d, err)
	}
}

func TestRasterise(t *testing.T) {
	if _, err := exec.LookPath("rsvg-convert"); err != nil {
		t.Skip("rsvg-convert not installed (apt-get install librsvg2-bin)")
	}
	svg, err := os.ReadFile("testdata/square.svg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := Rasterise(svg, 16)
	if err != nil {
		t.Fatal(err)
	}
	// Left half blue, right half transparent.
	if r, g, b, a := img.At(3, 8).RGBA(); r != 0 || g != 0 || b != 0xffff || a != 0xffff {
		t.Errorf("left pixel %v %v %v %v, want opaque blue", r, g, b, a)
	}
	if _, _, _, a := img.At(12, 8).RGBA(); a != 0 {
		t.Errorf("right pixel alpha %v, want transparent", a)
	}
	if _, err := Rasterise([]byte("<svg"), 16); err == nil || !strings.Contains(err.Error(), "rsvg-convert") {
		t.Errorf("error %v for a broken SVG, want one from rsvg-convert", err)
	}
}

func TestRasteriseGo(t *testing.T) {
	svg, err := os.ReadFile("testdata/square.svg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := RasteriseGo(svg, 16)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, a := img.At(3, 8).RGBA(); r != 0 || g != 0 || b != 0xffff || a != 0xffff {
		t.Errorf("left pixel %v %v %v %v, want opaque blue", r, g, b, a)
	}
	if _, _, _, a := img.At(12, 8).RGBA(); a != 0 {
		t.Errorf("right pixel alpha %v, want transparent", a)
	}
	// A gradient defined after its use, as some iconify sets write it:
	// moved first, it fills the square (red at the left, blue at the right).
	late, err := os.ReadFile("testdata/late-gradient.svg")
	if err != nil {
		t.Fatal(err)
	}
	img, err = RasteriseGo(late, 16)
	if err != nil {
		t.Fatal(err)
	}
	r0, _, b0, a0 := img.At(1, 8).RGBA()
	r1, _, b1, _ := img.At(14, 8).RGBA()
	if a0 != 0xffff || r0 <= b0 || b1 <= r1 {
		t.Errorf("gradient: left %v/%v alpha %v, right %v/%v; want opaque, red to blue", r0, b0, a0, r1, b1)
	}
	if _, err := RasteriseGo([]byte("no svg here"), 16); err == nil {
		t.Error("no error for a document without <svg>")
	}
}
