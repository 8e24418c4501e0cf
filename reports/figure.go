package reports

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure geometry. The PNG is rendered at pngDPI so that labels stay legible
// when the image is shown at its natural size.
const (
	figWidth    = 7 * vg.Inch
	figHeight   = 4.5 * vg.Inch
	pngDPI      = 150
	glyphRadius = vg.Length(3)
	labelGap    = vg.Length(5)
	margin      = vg.Length(8) // keeps the rightmost labels off the image edge
)

// figureArea is the part of a figure-sized canvas that the plot is drawn in.
func figureArea(c vg.CanvasSizer) draw.Canvas {
	return draw.Crop(draw.New(c), 0, -margin, 0, -margin/2)
}

// writeFigure saves the figure of rows as PNG and SVG and returns the
// finished runs it could not plot.
func writeFigure(rows []Row, l labeller, title, pngPath, svgPath string) (skipped []Row, err error) {
	p, _, skipped, err := newFigure(rows, l, title)
	if err != nil {
		return nil, err
	}
	if err := save(p, pngPath, vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, figHeight), vgimg.UseDPI(pngDPI))}); err != nil {
		return nil, err
	}
	if err := save(p, svgPath, vgsvg.New(figWidth, figHeight)); err != nil {
		return nil, err
	}
	return skipped, nil
}

// newFigure plots rSum against interactions per pair (log scale), one
// labelled point per finished run. It also returns the labels, placed, and
// the finished runs it could not plot (no rSum, or no positive interaction
// count).
func newFigure(rows []Row, l labeller, title string) (p *plot.Plot, labels []*plotter.Labels, skipped []Row, err error) {
	var pts []Row
	for _, r := range finished(rows) {
		if math.IsNaN(r.RSum) || !(r.Interactions > 0) {
			skipped = append(skipped, r)
			continue
		}
		pts = append(pts, r)
	}

	p = plot.New()
	p.Title.Text = title + "\nrSum against interactions per pair"
	p.X.Label.Text = "interactions per text-image pair (log scale)"
	// A centred label's padding box is placed at the arithmetic mean of the
	// axis range, which on a log scale sits near the right end and wastes a
	// band of the figure; a right-aligned label avoids that.
	p.X.Label.Position = draw.PosRight
	p.Y.Label.Text = "rSum (sum of six recalls, %)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	// Fixed ranges: the plotters' own would be empty for a single point (the
	// log scale then divides by zero) and would put the extreme points on the
	// frame, leaving their labels no room.
	p.X.Min, p.X.Max = 0.5, 2
	p.Y.Min, p.Y.Max = 0, 1
	if len(pts) > 0 {
		xmin, xmax := math.Inf(1), math.Inf(-1)
		ymin, ymax := math.Inf(1), math.Inf(-1)
		for _, r := range pts {
			xmin, xmax = math.Min(xmin, r.Interactions), math.Max(xmax, r.Interactions)
			ymin, ymax = math.Min(ymin, r.RSum), math.Max(ymax, r.RSum)
		}
		pad := 0.08 * (ymax - ymin)
		if pad == 0 {
			pad = 1
		}
		// Reach out to the powers of ten around the points too, so that the
		// log axis always shows at least two labelled ticks.
		p.X.Min = math.Min(xmin/4, math.Pow(10, math.Floor(math.Log10(xmin))))
		p.X.Max = math.Max(xmax*4, math.Pow(10, math.Ceil(math.Log10(xmax))))
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	} else {
		p.Title.Text += " (no finished run to plot)"
	}

	// One colour and glyph per model variant, one label per run in the
	// colour of its point.
	names := runLabels(pts, l)
	var variants []string
	labels = make([]*plotter.Labels, len(pts))
	for i, r := range pts {
		v := l.label(r)
		k := slices.Index(variants, v)
		if k < 0 {
			variants = append(variants, v)
			k = len(variants) - 1
		}
		colour := plotutil.DarkColors[k%len(plotutil.DarkColors)]
		xy := plotter.XYs{{X: r.Interactions, Y: r.RSum}}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reports: plotting run %d: %w", r.RunID, err)
		}
		s.GlyphStyle.Color = colour
		s.GlyphStyle.Shape = plotutil.Shape(k)
		s.GlyphStyle.Radius = glyphRadius
		labels[i], err = plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: []string{names[i]}})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reports: labelling run %d: %w", r.RunID, err)
		}
		labels[i].TextStyle[0].Color = colour
		labels[i].TextStyle[0].YAlign = text.YCenter
		p.Add(s, labels[i])
	}
	placeLabels(p, labels)
	return p, labels, skipped, nil
}

func save(p *plot.Plot, path string, c vg.CanvasWriterTo) error {
	p.Draw(figureArea(c))
	return writeTo(c, path)
}

// writeTo writes the drawn canvas c to path.
func writeTo(c vg.CanvasWriterTo, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reports: %w", cerr)
		}
	}()
	if _, err := c.WriteTo(f); err != nil {
		return fmt.Errorf("reports: writing %s: %w", path, err)
	}
	return nil
}

// runLabels names each point by its model variant, adding the seed where a
// variant has several runs so that every point can be told apart.
func runLabels(pts []Row, l labeller) []string {
	n := map[string]int{}
	for _, r := range pts {
		n[l.label(r)]++
	}
	out := make([]string, len(pts))
	for i, r := range pts {
		out[i] = l.label(r)
		if n[out[i]] > 1 {
			out[i] += fmt.Sprintf(" s%d", r.Seed)
		}
	}
	return out
}

// placeLabels moves each single-point label (its Offset and horizontal
// alignment) so that no two labels overlap each other or any point: runs of
// several seeds, and a model beside its distilled twin, sit at the same x with
// nearly the same rSum. Labels are placed greedily, top to bottom, at the first
// free spot in order of distance from the point: right, left, then shifted up
// or down by half a line at a time. The data area depends on how far labels
// stick out of it (the plot pads for them), so placement is repeated on the
// area the previous placement gives.
func placeLabels(p *plot.Plot, labels []*plotter.Labels) {
	if len(labels) == 0 {
		return
	}
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(labels[b].XYs[0].Y, labels[a].XYs[0].Y); c != 0 {
			return c
		}
		return cmp.Compare(labels[a].XYs[0].X, labels[b].XYs[0].X)
	})
	for range 3 {
		dc := p.DataCanvas(figureArea(vgimg.NewWith(vgimg.UseWH(figWidth, figHeight))))
		trX, trY := p.Transforms(&dc)
		anchor := func(l *plotter.Labels) vg.Point {
			return vg.Point{X: trX(l.XYs[0].X), Y: trY(l.XYs[0].Y)}
		}
		var taken []vg.Rectangle
		for _, l := range labels {
			a := anchor(l)
			r := vg.Point{X: glyphRadius, Y: glyphRadius}
			taken = append(taken, vg.Rectangle{Min: a.Sub(r), Max: a.Add(r)})
		}
		for _, i := range order {
			l := labels[i]
			st := &l.TextStyle[0]
			box := func(c candidate) vg.Rectangle {
				s := *st
				s.XAlign = c.align
				return s.Rectangle(l.Labels[0]).Add(anchor(l)).Add(c.offset)
			}
			cands := candidates(st.Height(l.Labels[0]))
			best := cands[0]
			for _, c := range cands {
				b := box(c)
				if inside(b, dc.Rectangle) && !overlapsAny(b, taken) {
					best = c
					break
				}
			}
			st.XAlign, l.Offset = best.align, best.offset
			taken = append(taken, box(best))
		}
	}
}

// candidate is one place for a label relative to its point.
type candidate struct {
	align  text.XAlignment
	offset vg.Point
}

// candidates lists label places nearest first for a label of height h.
func candidates(h vg.Length) []candidate {
	var cs []candidate
	for _, dy := range []vg.Length{0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2, 3, -3, 4, -4} {
		cs = append(cs,
			candidate{text.XLeft, vg.Point{X: labelGap, Y: dy * h}},
			candidate{text.XRight, vg.Point{X: -labelGap, Y: dy * h}})
	}
	return cs
}

func inside(r, area vg.Rectangle) bool {
	return r.Min.X >= area.Min.X && r.Max.X <= area.Max.X && r.Min.Y >= area.Min.Y && r.Max.Y <= area.Max.Y
}

func overlapsAny(r vg.Rectangle, others []vg.Rectangle) bool {
	for _, o := range others {
		if r.Min.X < o.Max.X && o.Min.X < r.Max.X && r.Min.Y < o.Max.Y && o.Min.Y < r.Max.Y {
			return true
		}
	}
	return false
}
