package imagetok

import (
	"fmt"
	"image"
	"image/color"
)

// Settings are the tokenisation parameters; a zero field takes its default.
type Settings struct {
	Size int // thumbnail side in pixels (default 24)
	Grid int // patches per side (default 4)
	Cell int // cells per patch side, each the average of its pixels (default 3)
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
	return nil
}

// RegionDim is the length of every token: Cell*Cell RGB values and x, y.
func (s Settings) RegionDim() int {
	s = s.withDefaults()
	return 3*s.Cell*s.Cell + 2
}

// Thumbnail composites img over white and scales it to Size x Size RGB
// pixels (row-major, 3 bytes a pixel), keeping its aspect ratio: the longer
// side fills the thumbnail and the shorter one is centred between white
// bands. Each output pixel is the area-weighted average of the source
// pixels it covers, so no detail is dropped by point sampling.
func (s Settings) Thumbnail(img image.Image) ([]uint8, error) {
	s = s.withDefaults()
	if err := s.check(); err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("imagetok: empty image %v", b)
	}
	n := s.Size
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
	cell := patch / s.Cell
	norm := float32(2) / (255 * float32(cell*cell))
	out := make([][]float32, 0, s.Grid*s.Grid)
	for gy := range s.Grid {
		for gx := range s.Grid {
			tok := make([]float32, 0, s.RegionDim())
			for cy := range s.Cell {
				for cx := range s.Cell {
					var sum [3]int
					for y := gy*patch + cy*cell; y < gy*patch+(cy+1)*cell; y++ {
						for x := gx*patch + cx*cell; x < gx*patch+(cx+1)*cell; x++ {
							for c := range 3 {
								sum[c] += int(thumb[3*(y*n+x)+c])
							}
						}
					}
					for c := range 3 {
						tok = append(tok, float32(sum[c])*norm-1)
					}
				}
			}
			// Patch centres at (g+0.5)/Grid in [0, 1], mapped to [-1, 1].
			tok = append(tok, (2*float32(gx)+1)/float32(s.Grid)-1, (2*float32(gy)+1)/float32(s.Grid)-1)
			out = append(out, tok)
		}
	}
	return out, nil
}

// Defaults returns s with its zero fields set to their defaults.
func (s Settings) Defaults() Settings { return s.withDefaults() }
