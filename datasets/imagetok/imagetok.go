package imagetok

import (
	"fmt"
	"image"
	"image/color"
	"regexp"
	"strconv"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// Settings are the tokenisation parameters; a zero field takes its default.
type Settings struct {
	Size int // thumbnail side in pixels (default 24)
	Grid int // patches per side (default 4)
	Cell int // cells per patch side, each the average of its pixels (default 3)
	// Context, when positive, adds to every token the whole thumbnail
	// averaged down to Context x Context cells (default 0: none), so that
	// each region also says what the whole picture is.
	Context int
}

func (s Settings) withDefaults() Settings {
	if s.Size == 0 {
		s.Size = 24
	}
	if s.Grid == 0 {
		s.Grid = 4
	}
	if s.Cell == 0 {
		s.Cell = 3
	}
	return s
}

// check reports settings that cannot tile a thumbnail exactly.
func (s Settings) check() error {
	if s.Size < 1 || s.Grid < 1 || s.Cell < 1 || s.Size%(s.Grid*s.Cell) != 0 {
		return fmt.Errorf("imagetok: size %d is not a positive multiple of grid %d x cell %d", s.Size, s.Grid, s.Cell)
	}
	if s.Context < 0 || s.Context > 0 && s.Size%s.Context != 0 {
		return fmt.Errorf("imagetok: size %d is not a multiple of context %d", s.Size, s.Context)
	}
	return nil
}

// RegionDim is the length of every token: Cell*Cell RGB values, then
// Context*Context more, and x, y.
func (s Settings) RegionDim() int {
	s = s.withDefaults()
	return 3*s.Cell*s.Cell + 3*s.Context*s.Context + 2
}

// Thumbnail is the package function Thumbnail at s.Size, for settings
// that tile it.
func (s Settings) Thumbnail(img image.Image) ([]uint8, error) {
	s = s.withDefaults()
	if err := s.check(); err != nil {
		return nil, err
	}
	return Thumbnail(img, s.Size)
}

// Thumbnail composites img over white and scales it to n x n RGB pixels
// (row-major, 3 bytes a pixel), keeping its aspect ratio: the longer side
// fills the thumbnail and the shorter one is centred between white bands.
// Each output pixel is the area-weighted average of the source pixels it
// covers, so no detail is dropped by point sampling.
func Thumbnail(img image.Image, n int) ([]uint8, error) {
	if n < 1 {
		return nil, fmt.Errorf("imagetok: thumbnail side %d < 1", n)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("imagetok: empty image %v", b)
	}
	side := max(w, h)
	// The image sits in a side x side square at offset (ox, oy); output
	// pixel (X, Y) covers the square [X, X+1) * side/n horizontally.
	ox, oy := float64(side-w)/2, float64(side-h)/2
	scale := float64(side) / float64(n)
	sum := make([]float64, 3*n*n)
	area := make([]float64, n*n)
	// Visit each source pixel once and split it over the output pixels
	// it overlaps (at most 2 x 2 when the image shrinks, a handful when
	// it grows).
	for y := range h {
		y0, y1 := (float64(y)+oy)/scale, (float64(y)+oy+1)/scale
		for x := range w {
			x0, x1 := (float64(x)+ox)/scale, (float64(x)+ox+1)/scale
			r, g, bl := over(img.At(b.Min.X+x, b.Min.Y+y))
			for Y := int(y0); Y < n && float64(Y) < y1; Y++ {
				dy := min(y1, float64(Y+1)) - max(y0, float64(Y))
				if dy <= 0 {
					continue
				}
				for X := int(x0); X < n && float64(X) < x1; X++ {
					dx := min(x1, float64(X+1)) - max(x0, float64(X))
					if dx <= 0 {
						continue
					}
					a := dx * dy
					k := Y*n + X
					sum[3*k] += a * r
					sum[3*k+1] += a * g
					sum[3*k+2] += a * bl
					area[k] += a
				}
			}
		}
	}
	out := make([]uint8, 3*n*n)
	for k, a := range area {
		for c := range 3 {
			v := 255.0 // the white bands
			if a > 0 {
				// Parts of a band pixel not covered by the image are white too.
				v = sum[3*k+c] + 255*(1-a)
			}
			out[3*k+c] = uint8(min(255, max(0, v+0.5)))
		}
	}
	return out, nil
}

// over returns c composited over white, each channel in [0, 255].
func over(c color.Color) (r, g, b float64) {
	// RGBA is alpha-premultiplied 16-bit: white shows through 1 - alpha.
	cr, cg, cb, ca := c.RGBA()
	white := float64(0xffff - ca)
	return (float64(cr) + white) / 257, (float64(cg) + white) / 257, (float64(cb) + white) / 257
}

// Tokens cuts a thumbnail made by Thumbnail with the same settings into
// Grid*Grid region tokens, row by row from the top left (see the package
// documentation for their layout).
func (s Settings) Tokens(thumb []uint8) ([][]float32, error) {
	s = s.withDefaults()
	if err := s.check(); err != nil {
		return nil, err
	}
	n := s.Size
	if len(thumb) != 3*n*n {
		return nil, fmt.Errorf("imagetok: thumbnail has %d bytes, want %d for %d x %d RGB", len(thumb), 3*n*n, n, n)
	}
	patch := n / s.Grid
	var context []float32
	if s.Context > 0 {
		context = cells(thumb, n, 0, 0, n, s.Context)
	}
	out := make([][]float32, 0, s.Grid*s.Grid)
	for gy := range s.Grid {
		for gx := range s.Grid {
			tok := make([]float32, 0, s.RegionDim())
			tok = append(tok, cells(thumb, n, gx*patch, gy*patch, patch, s.Cell)...)
			tok = append(tok, context...)
			// Patch centres at (g+0.5)/Grid in [0, 1], mapped to [-1, 1].
			tok = append(tok, (2*float32(gx)+1)/float32(s.Grid)-1, (2*float32(gy)+1)/float32(s.Grid)-1)
			out = append(out, tok)
		}
	}
	return out, nil
}

// cells averages the side x side square at (x0, y0) of an n x n RGB
// thumbnail down to k x k cells, row by row, each RGB mapped from
// [0, 255] to [-1, 1].
func cells(thumb []uint8, n, x0, y0, side, k int) []float32 {
	cell := side / k
	norm := float32(2) / (255 * float32(cell*cell))
	out := make([]float32, 0, 3*k*k)
	for cy := range k {
		for cx := range k {
			var sum [3]int
			for y := y0 + cy*cell; y < y0+(cy+1)*cell; y++ {
				for x := x0 + cx*cell; x < x0+(cx+1)*cell; x++ {
					for c := range 3 {
						sum[c] += int(thumb[3*(y*n+x)+c])
					}
				}
			}
			for c := range 3 {
				out = append(out, float32(sum[c])*norm-1)
			}
		}
	}
	return out
}

// Defaults returns s with its zero fields set to their defaults.
func (s Settings) Defaults() Settings { return s.withDefaults() }

// NumTokens is the number of tokens of a picture: Grid*Grid.
func (s Settings) NumTokens() int {
	s = s.withDefaults()
	return s.Grid * s.Grid
}

// Name is the settings' short name, "s<Size>g<Grid>c<Cell>" with the
// defaults filled in ("s24g4c3" for the zero value), followed by
// "k<Context>" when Context is positive. A data set tokenised with other
// settings than the defaults is registered as "<set>@<Name>" (see
// Variants).
func (s Settings) Name() string {
	s = s.withDefaults()
	name := fmt.Sprintf("s%dg%dc%d", s.Size, s.Grid, s.Cell)
	if s.Context > 0 {
		name += fmt.Sprintf("k%d", s.Context)
	}
	return name
}

var settingsName = regexp.MustCompile(`^s([0-9]+)g([0-9]+)c([0-9]+)(?:k([0-9]+))?$`)

// ParseSettings reads a Name back; it refuses a name that is not of that
// form or settings that do not tile their thumbnail.
func ParseSettings(name string) (Settings, error) {
	m := settingsName.FindStringSubmatch(name)
	if m == nil {
		return Settings{}, fmt.Errorf("imagetok: tokenisation %q is not of the form s<size>g<grid>c<cell>[k<context>]", name)
	}
	var v [4]int
	for i := range v {
		if m[i+1] == "" {
			continue // no context
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n < 1 {
			return Settings{}, fmt.Errorf("imagetok: tokenisation %q: %q is not a positive number", name, m[i+1])
		}
		v[i] = n
	}
	s := Settings{Size: v[0], Grid: v[1], Cell: v[2], Context: v[3]}
	return s, s.check()
}

// Raw reports whether each cell is one thumbnail pixel (Size = Grid*Cell):
// a token then holds its patch's raw pixels, and the model's learned
// Linear(RegionDim -> d) projection is a learned patch embedding.
func (s Settings) Raw() bool {
	s = s.withDefaults()
	return s.Size == s.Grid*s.Cell
}

// ThumbSizes are the thumbnail sides the caches of the real data sets
// store for every picture, all made from the same rendering: 24 (the
// default, what every data set without a variant uses) and 48.
var ThumbSizes = []int{24, 48}

// Variants are the tokenisations other than the default under which every
// real image set is registered, as "<set>@<Name>" (for example
// "emoji-style-small@s24g8c3"). Each uses a size of ThumbSizes:
//
//	s24g8c3   64 tokens of 29: raw 3 x 3-pixel patches of the 24-pixel thumbnail (a finer grid)
//	s24g6c4   36 tokens of 50: raw 4 x 4-pixel patches
//	s24g4c6   16 tokens of 110: raw 6 x 6-pixel patches, the default grid without averaging
//	s24g3c8    9 tokens of 194: raw 8 x 8-pixel patches
//	s24g2c12   4 tokens of 434: raw 12 x 12-pixel quarters
//	s24g1c24   1 token of 1,730: the whole raw thumbnail (no regions to interact with)
//	s48g8c6   64 tokens of 110: raw 6 x 6-pixel patches of the 48-pixel thumbnail
//	s48g4c12  16 tokens of 434: raw 12 x 12-pixel patches of the 48-pixel thumbnail
//	s24g1c12   1 token of 434: the whole thumbnail in 12 x 12 cells of 2 x 2 pixels
//	s24g4c3k8   16 tokens of 221: the default tokens, each with the whole thumbnail in 8 x 8 cells
//	s24g4c3k12  16 tokens of 461: the same with 12 x 12 cells
//	s24g4c3k24  16 tokens of 1,757: the same with the whole raw thumbnail
var Variants = []Settings{
	{Size: 24, Grid: 8, Cell: 3},
	{Size: 24, Grid: 6, Cell: 4},
	{Size: 24, Grid: 4, Cell: 6},
	{Size: 24, Grid: 3, Cell: 8},
	{Size: 24, Grid: 2, Cell: 12},
	{Size: 24, Grid: 1, Cell: 24},
	{Size: 48, Grid: 8, Cell: 6},
	{Size: 48, Grid: 4, Cell: 12},
	{Size: 24, Grid: 1, Cell: 12},
	{Size: 24, Grid: 4, Cell: 3, Context: 8},
	{Size: 24, Grid: 4, Cell: 3, Context: 12},
	{Size: 24, Grid: 4, Cell: 3, Context: 24},
}

// Thumbnails makes img's thumbnail at every side of ThumbSizes, in that
// order: what the caches store for a picture.
func Thumbnails(img image.Image) ([][]uint8, error) {
	out := make([][]uint8, len(ThumbSizes))
	for k, n := range ThumbSizes {
		th, err := Thumbnail(img, n)
		if err != nil {
			return nil, err
		}
		out[k] = th
	}
	return out, nil
}

// TokensOf tokenises the thumbnail of side s.Size among thumbs, the
// thumbnails of one picture at the sides sizes (a cache's ThumbSizes).
func (s Settings) TokensOf(sizes []int, thumbs [][]uint8) ([][]float32, error) {
	s = s.withDefaults()
	for k, n := range sizes {
		if n == s.Size && k < len(thumbs) {
			return s.Tokens(thumbs[k])
		}
	}
	return nil, fmt.Errorf("imagetok: tokenisation %s needs %d-pixel thumbnails, the cache holds sides %v", s.Name(), s.Size, sizes)
}

// Describe says in words what s makes of a picture, e.g. "16 tokens of
// 29 values (s24g4c3: 4 x 4 patches of a 24-pixel thumbnail, 3 x 3 cells
// each)".
func Describe(s Settings) string {
	s = s.withDefaults()
	how := fmt.Sprintf("%d x %d cells each", s.Cell, s.Cell)
	if s.Raw() {
		how = "raw pixels"
	}
	if s.Context > 0 {
		how += fmt.Sprintf(", with the whole thumbnail in %d x %d cells", s.Context, s.Context)
	}
	return fmt.Sprintf("%d tokens of %d values (%s: %d x %d patches of a %d-pixel thumbnail, %s)",
		s.NumTokens(), s.RegionDim(), s.Name(), s.Grid, s.Grid, s.Size, how)
}

// Picture is the largest of thumbs, the thumbnails of one picture at the
// sides sizes (a cache's ThumbSizes), as a datasets.Picture: what search
// results show. It is the zero Picture when thumbs holds none.
func Picture(sizes []int, thumbs [][]uint8) datasets.Picture {
	var p datasets.Picture
	for k, n := range sizes {
		if k < len(thumbs) && n > p.Side && len(thumbs[k]) == 3*n*n {
			p = datasets.Picture{Side: n, RGB: thumbs[k]}
		}
	}
	return p
}
