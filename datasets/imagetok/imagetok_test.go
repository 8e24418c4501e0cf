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
	"slices"
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
	checkSquare(t, Rasterise)
	if _, err := Rasterise([]byte("<svg"), 16); err == nil || !strings.Contains(err.Error(), "rsvg-convert") {
		t.Errorf("error %v for a broken SVG, want one from rsvg-convert", err)
	}
}

// checkSquare rasterises testdata/square.svg at 16 pixels with rasterise:
// its left half is opaque blue, its right half transparent.
func checkSquare(t *testing.T, rasterise func([]byte, int) (image.Image, error)) {
	t.Helper()
	svg, err := os.ReadFile("testdata/square.svg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := rasterise(svg, 16)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, a := img.At(3, 8).RGBA(); r != 0 || g != 0 || b != 0xffff || a != 0xffff {
		t.Errorf("left pixel %v %v %v %v, want opaque blue", r, g, b, a)
	}
	if _, _, _, a := img.At(12, 8).RGBA(); a != 0 {
		t.Errorf("right pixel alpha %v, want transparent", a)
	}
}

func TestRasteriseGo(t *testing.T) {
	checkSquare(t, RasteriseGo)
	// A gradient defined after its use, as some iconify sets write it:
	// moved first, it fills the square (red at the left, blue at the right).
	late, err := os.ReadFile("testdata/late-gradient.svg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := RasteriseGo(late, 16)
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

// grey4 is a 4 x 4 thumbnail whose pixel k (row-major) is grey 17k, so
// its token value is g(k) = 2k/15 - 1.
func grey4() []uint8 {
	th := make([]uint8, 3*16)
	for k := range 16 {
		for c := range 3 {
			th[3*k+c] = uint8(17 * k)
		}
	}
	return th
}

// g is grey4's token value of pixel k.
func g(k int) float32 { return 2*float32(k)/15 - 1 }

// rgb repeats a grey value three times.
func rgb(vs ...float32) []float32 {
	var out []float32
	for _, v := range vs {
		out = append(out, v, v, v)
	}
	return out
}

func TestTokenisations(t *testing.T) {
	// An 8 x 8 white thumbnail with pixels (0, 0) and (1, 1) black.
	dots := make([]uint8, 3*64)
	for i := range dots {
		dots[i] = 255
	}
	for _, k := range []int{0, 9} {
		dots[3*k], dots[3*k+1], dots[3*k+2] = 0, 0, 0
	}
	for _, tc := range []struct {
		name  string
		s     Settings
		thumb []uint8
		want  map[int][]float32 // token index -> token
		n     int               // tokens
	}{
		{
			// Raw pixels: each 2 x 2-pixel patch's pixels row by row, then
			// its centre.
			name: "raw 2x2 patches", s: Settings{Size: 4, Grid: 2, Cell: 2}, thumb: grey4(), n: 4,
			want: map[int][]float32{
				0: append(rgb(g(0), g(1), g(4), g(5)), -0.5, -0.5),
				1: append(rgb(g(2), g(3), g(6), g(7)), 0.5, -0.5),
				3: append(rgb(g(10), g(11), g(14), g(15)), 0.5, 0.5),
			},
		},
		{
			// The finest grid: one pixel a token, centres at +-0.25, +-0.75.
			name: "one pixel a patch", s: Settings{Size: 4, Grid: 4, Cell: 1}, thumb: grey4(), n: 16,
			want: map[int][]float32{
				0:  append(rgb(g(0)), -0.75, -0.75),
				6:  append(rgb(g(6)), 0.25, -0.25),
				15: append(rgb(g(15)), 0.75, 0.75),
			},
		},
		{
			// Context: each 2 x 2 patch averaged to one cell, then the
			// whole thumbnail averaged to one cell (grey 7.5 * 17: 0).
			name: "context", s: Settings{Size: 4, Grid: 2, Cell: 1, Context: 1}, thumb: grey4(), n: 4,
			want: map[int][]float32{
				0: append(rgb(g(0)/4+g(1)/4+g(4)/4+g(5)/4, 0), -0.5, -0.5),
				3: append(rgb(g(10)/4+g(11)/4+g(14)/4+g(15)/4, 0), 0.5, 0.5),
			},
		},
		{
			// Averaged cells of a larger thumbnail: the top-left cell
			// averages two black and two white pixels to grey (0).
			name: "2x2-pixel cells", s: Settings{Size: 8, Grid: 2, Cell: 2}, thumb: dots, n: 4,
			want: map[int][]float32{
				0: append(rgb(0, 1, 1, 1), -0.5, -0.5),
				3: append(rgb(1, 1, 1, 1), 0.5, 0.5),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Tokens(tc.thumb)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || tc.s.NumTokens() != tc.n {
				t.Fatalf("%d tokens (NumTokens %d), want %d", len(got), tc.s.NumTokens(), tc.n)
			}
			for k, want := range tc.want {
				if len(got[k]) != tc.s.RegionDim() || len(want) != tc.s.RegionDim() {
					t.Fatalf("token %d has %d values, want RegionDim %d (%d)", k, len(got[k]), tc.s.RegionDim(), len(want))
				}
				for i := range want {
					if math.Abs(float64(got[k][i]-want[i])) > 1e-6 {
						t.Fatalf("token %d = %v, want %v", k, got[k], want)
					}
				}
			}
		})
	}
}

func TestSettingsNames(t *testing.T) {
	for _, tc := range []struct {
		name      string
		s         Settings
		raw       bool
		tokens    int
		regionDim int
	}{
		{"s24g4c3", Settings{}.Defaults(), false, 16, 29},
		{"s24g8c3", Settings{Size: 24, Grid: 8, Cell: 3}, true, 64, 29},
		{"s24g4c6", Settings{Size: 24, Grid: 4, Cell: 6}, true, 16, 110},
		{"s48g8c6", Settings{Size: 48, Grid: 8, Cell: 6}, true, 64, 110},
		{"s48g4c3", Settings{Size: 48, Grid: 4, Cell: 3}, false, 16, 29},
		{"s24g2c12k8", Settings{Size: 24, Grid: 2, Cell: 12, Context: 8}, true, 4, 3*144 + 3*64 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSettings(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.s || s.Name() != tc.name || s.Raw() != tc.raw || s.NumTokens() != tc.tokens || s.RegionDim() != tc.regionDim {
				t.Errorf("parsed %+v (name %s, raw %v, %d tokens of %d); want %+v, raw %v, %d of %d",
					s, s.Name(), s.Raw(), s.NumTokens(), s.RegionDim(), tc.s, tc.raw, tc.tokens, tc.regionDim)
			}
		})
	}
	if got := (Settings{}).Name(); got != "s24g4c3" {
		t.Errorf("the zero Settings are named %q, want s24g4c3", got)
	}
	for _, bad := range []struct{ name, want string }{
		{"s24g4", "not of the form"},
		{"24g4c3", "not of the form"},
		{"s10g4c3", "size 10 is not a positive multiple"},
		{"s0g1c1", "not a positive number"},
		{"s24g4c3k0", "not a positive number"},
		{"s24g4c3k5", "not a multiple of context 5"},
		{"s24g4c3k", "not of the form"},
	} {
		if _, err := ParseSettings(bad.name); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSettings(%q): error %v, want one containing %q", bad.name, err, bad.want)
		}
	}
}

func TestVariants(t *testing.T) {
	seen := map[string]bool{Settings{}.Name(): true}
	for _, v := range Variants {
		if err := v.check(); err != nil {
			t.Errorf("variant %s: %v", v.Name(), err)
		}
		if seen[v.Name()] {
			t.Errorf("variant %s twice (or the default)", v.Name())
		}
		seen[v.Name()] = true
		if !slices.Contains(ThumbSizes, v.Size) {
			t.Errorf("variant %s needs %d-pixel thumbnails, the caches store %v", v.Name(), v.Size, ThumbSizes)
		}
	}
	if !slices.Contains(ThumbSizes, Settings{}.Defaults().Size) {
		t.Errorf("the caches store %v, not the default size", ThumbSizes)
	}
	if got, want := Describe(Settings{}), "16 tokens of 29 values (s24g4c3: 4 x 4 patches of a 24-pixel thumbnail, 3 x 3 cells each)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := Describe(Variants[0]); !strings.Contains(got, "raw pixels") {
		t.Errorf("Describe(%s) = %q, want it to say raw pixels", Variants[0].Name(), got)
	}
}

func TestThumbnails(t *testing.T) {
	// A 48 x 48 picture with a red left half: every stored size keeps the
	// split, and the default size is what Settings.Thumbnail makes.
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			c := color.RGBA{R: 255, G: 255, B: 255, A: 255}
			if x < 24 {
				c = color.RGBA{R: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	thumbs, err := Thumbnails(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(thumbs) != len(ThumbSizes) {
		t.Fatalf("%d thumbnails, want %d", len(thumbs), len(ThumbSizes))
	}
	for k, n := range ThumbSizes {
		th := thumbs[k]
		if len(th) != 3*n*n {
			t.Fatalf("side %d: %d bytes", n, len(th))
		}
		left, right := th[3*(n/2*n):3*(n/2*n)+3], th[3*(n/2*n+n-1):3*(n/2*n+n)]
		if !slices.Equal(left, []uint8{255, 0, 0}) || !slices.Equal(right, []uint8{255, 255, 255}) {
			t.Errorf("side %d: left %v, right %v; want red and white", n, left, right)
		}
	}
	def, err := Settings{}.Thumbnail(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def, thumbs[slices.Index(ThumbSizes, 24)]) {
		t.Error("the stored 24-pixel thumbnail differs from the default tokenisation's")
	}
	// TokensOf takes the thumbnail of the settings' side.
	for _, s := range append([]Settings{{}}, Variants...) {
		tok, err := s.TokensOf(ThumbSizes, thumbs)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != s.NumTokens() || len(tok[0]) != s.RegionDim() || tok[0][0] != 1 || tok[0][1] != -1 {
			t.Errorf("%s: %d tokens of %d, first values %v; want %d of %d, red", s.Name(), len(tok), len(tok[0]), tok[0][:3], s.NumTokens(), s.RegionDim())
		}
	}
	if _, err := (Settings{Size: 12, Grid: 4, Cell: 3}).TokensOf(ThumbSizes, thumbs); err == nil || !strings.Contains(err.Error(), "needs 12-pixel thumbnails") {
		t.Errorf("error %v for a side the cache lacks", err)
	}
	if _, err := Thumbnail(img, 0); err == nil {
		t.Error("no error for a 0-pixel thumbnail")
	}
}
