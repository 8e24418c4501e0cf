package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure geometry. The PNG is rendered at pngDPI so that labels stay legible
// when the image is shown at its natural size. figHeight is the height of
// the plot itself: a figure's key goes below it and adds to the height.
const (
	figWidth    = 7 * vg.Inch
	figHeight   = 4.5 * vg.Inch
	pngDPI      = 150
	glyphRadius = vg.Length(3)
	seedRadius  = vg.Length(1.6) // the small dot of one seed beside its configuration's mean
	labelGap    = vg.Length(2)
	margin      = vg.Length(8) // keeps the rightmost labels off the image edge
)

// figureArea is the part of a figure-sized canvas that the figure is drawn in.
func figureArea(c vg.CanvasSizer) draw.Canvas {
	return draw.Crop(draw.New(c), 0, -margin, 0, -margin/2)
}

// chart is a figure of the report: a file name stem, the Markdown caption,
// its height, and how to draw it on a canvas of figWidth x height. draw
// returns where it put the data, the labels and the key, which the tests
// check (no label covers another or a point; the key covers no data).
type chart struct {
	stem, caption string
	height        vg.Length
	draw          func(c draw.Canvas) layout
}

// layout is where a drawn chart put things, in canvas coordinates.
type layout struct {
	data     []vg.Rectangle // the data area of each panel
	labels   []vg.Rectangle // the labels of points
	marks    []vg.Rectangle // what the labels must not cover: points, seed dots, error bars, lines
	unplaced []string       // labels that found no free place (and were left out)
	key      vg.Rectangle   // the key, under the panels (empty without one)
	keyText  []string       // the key's entries
	// means counts the means over two or more seeds drawn, spreads those
	// drawn with their ± sd (error bars or a band): every one should be.
	means, spreads int
}

// figureFiles are the files of one figure.
type figureFiles struct{ png, svg, pdf string }

// writeChart saves ch as <base>-<stem>.png, .svg and .pdf.
func writeChart(ch chart, base string) (figureFiles, error) {
	f := figureFiles{base + "-" + ch.stem + ".png", base + "-" + ch.stem + ".svg", base + "-" + ch.stem + ".pdf"}
	for _, out := range []struct {
		path string
		c    vg.CanvasWriterTo
	}{
		{f.png, vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, ch.height), vgimg.UseDPI(pngDPI))}},
		{f.svg, vgsvg.New(figWidth, ch.height)},
		{f.pdf, pdfCanvas{vgpdf.New(figWidth, ch.height)}},
	} {
		ch.draw(figureArea(out.c))
		if err := writeTo(out.c, out.path); err != nil {
			return figureFiles{}, err
		}
	}
	return f, nil
}

// pdfCanvas is the PDF canvas given text in its fonts' encoding: vgpdf
// embeds fonts with the Windows-1252 code page, and would show the UTF-8
// bytes of "±" as "Â±".
type pdfCanvas struct{ *vgpdf.Canvas }

func (c pdfCanvas) FillString(f font.Face, pt vg.Point, s string) {
	c.Canvas.FillString(f, pt, toCP1252(s))
}

// cp1252 maps the characters of Windows-1252's 0x80-0x9f range; 0xa0-0xff
// are Unicode's own code points.
var cp1252 = map[rune]byte{'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f}

// toCP1252 encodes s in Windows-1252, a character it lacks as "?".
func toCP1252(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch c, ok := cp1252[r]; {
		case r < 0x80 || r >= 0xa0 && r <= 0xff:
			b = append(b, byte(r))
		case ok:
			b = append(b, c)
		default:
			b = append(b, '?')
		}
	}
	return string(b)
}

// pdfDates are the creation and modification dates that the PDF writer
// takes from the clock.
var pdfDates = regexp.MustCompile(`/(CreationDate|ModDate) \(D:[0-9]{14}\)`)

// writeTo writes the drawn canvas c to path. A PDF's dates are replaced by a
// fixed one of the same length (so that the cross-reference offsets stay
// right): the same database gives the same bytes.
func writeTo(c vg.CanvasWriterTo, path string) error {
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return fmt.Errorf("reports: writing %s: %w", path, err)
	}
	out := b.Bytes()
	if strings.HasSuffix(path, ".pdf") {
		out = pdfDates.ReplaceAll(out, []byte("/$1 (D:20000101000000)"))
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// heading is a figure's title: the report's title over what the figure
// shows, or nothing when titles are off (title "").
func heading(title, what string) string {
	if title == "" {
		return ""
	}
	return title + "\n" + what
}

// textStyle is the plots' font at size points.
func textStyle(size float64, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(plot.DefaultFont, vg.Points(size)), Handler: plot.DefaultTextHandler}
}

// keyEntry is one entry of a figure's key: its text and the thumbnails
// (line, glyph, band) that draw its sample.
type keyEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

// Key geometry: a key is drawn under the plot, never over the data, in as
// many columns as its widest entry allows.
const (
	keyFontSize = 8.5
	keySample   = vg.Length(22) // width of an entry's sample
	keyGap      = vg.Length(4)  // between sample and text
	keyColGap   = vg.Length(12) // between columns
	keyRowGap   = vg.Length(1.5)
	keyPad      = vg.Length(8) // between the plot and the key
)

// keyLayout places entries in columns across width w.
type keyLayout struct {
	entries []keyEntry
	rows    int
	colW    []vg.Length // width of each column
	rowH    []vg.Length // height of each row
}

func newKeyLayout(entries []keyEntry, w vg.Length) keyLayout {
	k := keyLayout{entries: entries}
	if len(entries) == 0 {
		return k
	}
	sty := textStyle(keyFontSize, color.Black)
	// An entry wider than the whole key is wrapped after its commas.
	for i := range k.entries {
		k.entries[i].text = wrapText(sty, k.entries[i].text, w-keySample-keyGap)
	}
	widest := vg.Length(0)
	for _, e := range k.entries {
		widest = max(widest, sty.Width(e.text))
	}
	cols := max(1, int((w+keyColGap)/(keySample+keyGap+widest+keyColGap)))
	cols = min(cols, len(entries))
	k.rows = (len(entries) + cols - 1) / cols
	cols = (len(entries) + k.rows - 1) / k.rows // no empty column
	k.colW = make([]vg.Length, cols)
	k.rowH = make([]vg.Length, k.rows)
	for i, e := range k.entries {
		col, row := i/k.rows, i%k.rows
		k.colW[col] = max(k.colW[col], keySample+keyGap+sty.Width(e.text))
		k.rowH[row] = max(k.rowH[row], sty.Height(e.text))
	}
	return k
}

// texts are the entries' texts, unwrapped.
func (k keyLayout) texts() []string {
	var out []string
	for _, e := range k.entries {
		out = append(out, strings.ReplaceAll(strings.ReplaceAll(e.text, "\n    ", " "), "\n", " "))
	}
	return out
}

// height is the height the key takes under the plot (0 without entries).
func (k keyLayout) height() vg.Length {
	if len(k.entries) == 0 {
		return 0
	}
	h := keyPad
	for _, rh := range k.rowH {
		h += rh + keyRowGap
	}
	return h
}

// draw draws the key centred at the top of c and returns its extent.
func (k keyLayout) draw(c draw.Canvas) vg.Rectangle {
	if len(k.entries) == 0 {
		return vg.Rectangle{}
	}
	sty := textStyle(keyFontSize, color.Black)
	sty.YAlign = text.YTop
	var total vg.Length
	for _, w := range k.colW {
		total += w
	}
	total += keyColGap * vg.Length(len(k.colW)-1)
	left := c.Min.X + (c.Max.X-c.Min.X-total)/2
	top := c.Max.Y - keyPad
	x := left
	for col, cw := range k.colW {
		y := top
		for row := range k.rows {
			i := col*k.rows + row
			if i >= len(k.entries) {
				break
			}
			e := k.entries[i]
			line := sty.Height("0")
			icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - line}, Max: vg.Point{X: x + keySample, Y: y}}}
			for _, t := range e.thumbs {
				t.Thumbnail(&icon)
			}
			c.FillText(sty, vg.Point{X: x + keySample + keyGap, Y: y}, e.text)
			y -= k.rowH[row] + keyRowGap
		}
		x += cw + keyColGap
	}
	return vg.Rectangle{Min: vg.Point{X: left, Y: top - (k.height() - keyPad)}, Max: vg.Point{X: left + total, Y: top}}
}

// wrapText breaks s after commas into lines no wider than w where it can.
func wrapText(sty text.Style, s string, w vg.Length) string {
	if sty.Width(s) <= w {
		return s
	}
	parts := strings.SplitAfter(s, ", ")
	var lines []string
	cur := ""
	for _, p := range parts {
		if cur != "" && sty.Width(cur+p) > w {
			lines = append(lines, strings.TrimRight(cur, " "))
			cur = "    " + p
			continue
		}
		cur += p
	}
	return strings.Join(append(lines, cur), "\n")
}

// splitKey divides the figure area c into the plot (top) and the key under it.
func splitKey(c draw.Canvas, k keyLayout) (plotC, keyC draw.Canvas) {
	h := k.height()
	plotC = draw.Crop(c, 0, 0, h, 0)
	keyC = c
	keyC.Max.Y = c.Min.Y + h
	return plotC, keyC
}

// keyWidth is the width a key may take: the figure's, less the margins.
const keyWidth = figWidth - margin

// pointLabel is the short label (a configuration's number) of a point.
type pointLabel struct {
	text   string
	at     vg.Point // the point, in canvas coordinates
	colour color.Color
}

// placedLabel is where a label went: box, and whether a leader line joins
// it to its point (when it sits away from it).
type placedLabel struct {
	pointLabel
	box    vg.Rectangle
	leader bool
}

// labelFontSize is the size of the point labels.
const labelFontSize = 8

// placeLabels finds each label a place in area where it covers no mark and
// no other label: beside its point if it can (right, left, above, below,
// then diagonally), else at the nearest free spot of the area, joined to the
// point by a leader line. Labels are placed in order of rank (the highest
// point first, then left to right). A label that finds no place at all is
// returned in unplaced, to be left out (its point stays keyed by glyph and
// colour).
func placeLabels(labels []pointLabel, marks []vg.Rectangle, area vg.Rectangle) (placed []placedLabel, unplaced []string) {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(labels[b].at.Y, labels[a].at.Y); c != 0 {
			return c
		}
		return cmp.Compare(labels[a].at.X, labels[b].at.X)
	})
	sty := textStyle(labelFontSize, color.Black)
	taken := slices.Clone(marks)
	const pad = vg.Length(1) // labels keep this far from anything
	free := func(b vg.Rectangle) bool {
		grown := vg.Rectangle{Min: b.Min.Sub(vg.Point{X: pad, Y: pad}), Max: b.Max.Add(vg.Point{X: pad, Y: pad})}
		return inside(b, area) && !overlapsAny(grown, taken)
	}
	for _, i := range order {
		l := labels[i]
		w, h := sty.Width(l.text), sty.Height(l.text)
		d := glyphRadius + labelGap
		box := func(minX, minY vg.Length) vg.Rectangle {
			return vg.Rectangle{Min: vg.Point{X: minX, Y: minY}, Max: vg.Point{X: minX + w, Y: minY + h}}
		}
		near := []vg.Rectangle{
			box(l.at.X+d, l.at.Y-h/2), box(l.at.X-d-w, l.at.Y-h/2), // right, left
			box(l.at.X-w/2, l.at.Y+d), box(l.at.X-w/2, l.at.Y-d-h), // above, below
			box(l.at.X+d*0.7, l.at.Y+d*0.7), box(l.at.X-d*0.7-w, l.at.Y+d*0.7),
			box(l.at.X+d*0.7, l.at.Y-d*0.7-h), box(l.at.X-d*0.7-w, l.at.Y-d*0.7-h),
		}
		var got *placedLabel
		for _, b := range near {
			if free(b) {
				got = &placedLabel{pointLabel: l, box: b}
				break
			}
		}
		if got == nil {
			// The nearest free spot on a grid over the area, by the distance
			// from the point to the label's centre.
			step := h / 2
			type spot struct {
				b    vg.Rectangle
				dist vg.Length
			}
			var spots []spot
			for y := area.Min.Y; y+h <= area.Max.Y; y += step {
				for x := area.Min.X; x+w <= area.Max.X; x += step {
					b := box(x, y)
					c := vg.Point{X: x + w/2, Y: y + h/2}
					spots = append(spots, spot{b, vg.Length(math.Hypot(float64(c.X-l.at.X), float64(c.Y-l.at.Y)))})
				}
			}
			slices.SortStableFunc(spots, func(a, b spot) int { return cmp.Compare(a.dist, b.dist) })
			for _, s := range spots {
				if free(s.b) {
					got = &placedLabel{pointLabel: l, box: s.b, leader: true}
					break
				}
			}
		}
		if got == nil {
			unplaced = append(unplaced, l.text)
			continue
		}
		taken = append(taken, got.box)
		placed = append(placed, *got)
	}
	return placed, unplaced
}

// drawLabels draws placed labels, with a thin leader line from the point
// to each label that sits away from it.
func drawLabels(c draw.Canvas, placed []placedLabel) {
	sty := textStyle(labelFontSize, color.Black)
	for _, l := range placed {
		if l.leader {
			to := nearestPoint(l.box, l.at)
			dx, dy := float64(to.X-l.at.X), float64(to.Y-l.at.Y)
			if n := math.Hypot(dx, dy); n > float64(glyphRadius) {
				from := vg.Point{X: l.at.X + vg.Length(dx/n)*glyphRadius, Y: l.at.Y + vg.Length(dy/n)*glyphRadius}
				c.StrokeLine2(draw.LineStyle{Color: l.colour, Width: vg.Points(0.5)}, from.X, from.Y, to.X, to.Y)
			}
		}
		s := sty
		s.Color = l.colour
		r := s.Rectangle(l.text)
		c.FillText(s, l.box.Min.Sub(r.Min), l.text)
	}
}

// nearestPoint is the point of r nearest to p.
func nearestPoint(r vg.Rectangle, p vg.Point) vg.Point {
	return vg.Point{X: min(max(p.X, r.Min.X), r.Max.X), Y: min(max(p.Y, r.Min.Y), r.Max.Y)}
}

func inside(r, area vg.Rectangle) bool {
	return r.Min.X >= area.Min.X && r.Max.X <= area.Max.X && r.Min.Y >= area.Min.Y && r.Max.Y <= area.Max.Y
}

func overlaps(r, o vg.Rectangle) bool {
	return r.Min.X < o.Max.X && o.Min.X < r.Max.X && r.Min.Y < o.Max.Y && o.Min.Y < r.Max.Y
}

func overlapsAny(r vg.Rectangle, others []vg.Rectangle) bool {
	for _, o := range others {
		if overlaps(r, o) {
			return true
		}
	}
	return false
}

// around is the square of half-side r around p.
func around(p vg.Point, r vg.Length) vg.Rectangle {
	return vg.Rectangle{Min: vg.Point{X: p.X - r, Y: p.Y - r}, Max: vg.Point{X: p.X + r, Y: p.Y + r}}
}

// segmentMarks covers the segment from a to b with small squares, so that
// labels keep off a line.
func segmentMarks(a, b vg.Point) []vg.Rectangle {
	n := int(math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y))/2) + 1
	out := make([]vg.Rectangle, 0, n+1)
	for i := 0; i <= n; i++ {
		t := vg.Length(float64(i) / float64(n))
		out = append(out, around(vg.Point{X: a.X + t*(b.X-a.X), Y: a.Y + t*(b.Y-a.Y)}, 1))
	}
	return out
}

// scatterPoint is one configuration in a scatter figure: the mean over its
// seeds with ± sd on each axis (NaN: no bar), and each seed's own point.
type scatterPoint struct {
	group      int // index into summary.groups: colour, glyph and number
	x, y       float64
	xsd, ysd   float64
	seeds      plotter.XYs
	annotation string // added to the key entry, e.g. "Pareto front"
}

// scatterLogX draws a scatter figure with a log x axis: one glyph per
// configuration at its mean, error bars of ± sd over seeds on both axes,
// a small dot per seed, a number beside each glyph placed where it covers
// nothing, and the key (number, glyph, configuration) under the plot.
// extra, when not nil, draws more (a Pareto front).
func scatterLogX(s summary, pts []scatterPoint, title, xLabel, yLabel string, extra *scatterExtra) chart {
	// Axis ranges from the points, their seeds and their bars; the bars'
	// lower ends that a log axis cannot show are clamped to its minimum.
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, pt := range pts {
		xs := []float64{pt.x}
		ys := []float64{pt.y}
		if !math.IsNaN(pt.xsd) && pt.x-pt.xsd > 0 {
			xs = append(xs, pt.x-pt.xsd)
		}
		if !math.IsNaN(pt.xsd) {
			xs = append(xs, pt.x+pt.xsd)
		}
		if !math.IsNaN(pt.ysd) {
			ys = append(ys, pt.y-pt.ysd, pt.y+pt.ysd)
		}
		for _, sd := range pt.seeds {
			xs, ys = append(xs, sd.X), append(ys, sd.Y)
		}
		for _, x := range xs {
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
		for _, y := range ys {
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	}
	var entries []keyEntry
	if extra != nil {
		entries = append(entries, extra.entry)
	}
	for _, pt := range pts {
		_, gs := groupStyle(pt.group)
		sc, _ := plotter.NewScatter(plotter.XYs{{}})
		sc.GlyphStyle = gs
		t := strconv.Itoa(pt.group+1) + "  " + s.groups[pt.group].label
		if pt.annotation != "" {
			t += " (" + pt.annotation + ")"
		}
		entries = append(entries, keyEntry{text: t, thumbs: []plot.Thumbnailer{sc}})
	}
	render := func(c draw.Canvas) layout {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = xLabel
		// A centred label's padding box is placed at the arithmetic mean of
		// the axis range, which on a log scale sits near the right end and
		// wastes a band of the figure; a right-aligned label avoids that.
		p.X.Label.Position = draw.PosRight
		p.Y.Label.Text = yLabel
		p.Y.Tick.Marker = plainTicks{}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Add(plotter.NewGrid())
		// Fixed ranges: the plotters' own would be empty for a single point
		// (the log scale then divides by zero) and would put the extreme
		// points on the frame, leaving their labels no room. They reach
		// out to the powers of ten around the points too, so that the log
		// axis always shows at least two labelled ticks.
		p.X.Min, p.X.Max = 0.5, 2
		p.Y.Min, p.Y.Max = 0, 1
		if len(pts) > 0 {
			pad := 0.08 * (ymax - ymin)
			if pad == 0 {
				pad = 1
			}
			p.X.Min = math.Min(xmin/4, math.Pow(10, math.Floor(math.Log10(xmin))))
			p.X.Max = math.Max(xmax*4, math.Pow(10, math.Ceil(math.Log10(xmax))))
			p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
		}
		if extra != nil {
			extra.add(p)
		}
		k := newKeyLayout(slices.Clone(entries), keyWidth)
		plotC, keyC := splitKey(c, k)
		dc := p.DataCanvas(plotC)
		trX, trY := p.Transforms(&dc)
		at := func(x, y float64) vg.Point { return vg.Point{X: trX(x), Y: trY(y)} }
		clampX := func(x float64) float64 { return math.Max(x, p.X.Min) }

		var out layout
		out.data = []vg.Rectangle{dc.Rectangle}
		var labels []pointLabel
		p.Draw(plotC)
		if extra != nil {
			out.marks = append(out.marks, extra.marks(trX, trY)...)
		}
		for _, pt := range pts {
			ls, gs := groupStyle(pt.group)
			bar := draw.LineStyle{Color: ls.Color, Width: vg.Points(0.8)}
			capW := vg.Length(2.5)
			m := at(pt.x, pt.y)
			if !math.IsNaN(pt.ysd) {
				out.means++
			}
			if pt.ysd == 0 {
				out.spreads++ // a bar of no length: the seeds agree
			}
			if !math.IsNaN(pt.ysd) && pt.ysd > 0 {
				out.spreads++
				lo, hi := at(pt.x, pt.y-pt.ysd), at(pt.x, pt.y+pt.ysd)
				dc.StrokeLine2(bar, m.X, lo.Y, m.X, hi.Y)
				dc.StrokeLine2(bar, m.X-capW, lo.Y, m.X+capW, lo.Y)
				dc.StrokeLine2(bar, m.X-capW, hi.Y, m.X+capW, hi.Y)
				out.marks = append(out.marks, vg.Rectangle{Min: vg.Point{X: m.X - capW, Y: lo.Y}, Max: vg.Point{X: m.X + capW, Y: hi.Y}})
			}
			if !math.IsNaN(pt.xsd) && pt.xsd > 0 {
				lo, hi := at(clampX(pt.x-pt.xsd), pt.y), at(pt.x+pt.xsd, pt.y)
				dc.StrokeLine2(bar, lo.X, m.Y, hi.X, m.Y)
				if pt.x-pt.xsd > p.X.Min {
					dc.StrokeLine2(bar, lo.X, m.Y-capW, lo.X, m.Y+capW)
				}
				dc.StrokeLine2(bar, hi.X, m.Y-capW, hi.X, m.Y+capW)
				out.marks = append(out.marks, vg.Rectangle{Min: vg.Point{X: lo.X, Y: m.Y - capW}, Max: vg.Point{X: hi.X, Y: m.Y + capW}})
			}
			seed := draw.GlyphStyle{Color: withAlpha(ls.Color, 0xb0), Shape: draw.CircleGlyph{}, Radius: seedRadius}
			for _, sd := range pt.seeds {
				q := at(sd.X, sd.Y)
				dc.DrawGlyph(seed, q)
				out.marks = append(out.marks, around(q, seedRadius))
			}
			dc.DrawGlyph(gs, m)
			out.marks = append(out.marks, around(m, glyphRadius))
			labels = append(labels, pointLabel{text: strconv.Itoa(pt.group + 1), at: m, colour: ls.Color})
		}
		placed, unplaced := placeLabels(labels, out.marks, dc.Rectangle)
		drawLabels(dc, placed)
		for _, l := range placed {
			out.labels = append(out.labels, l.box)
		}
		out.unplaced = unplaced
		out.key, out.keyText = k.draw(keyC), k.texts()
		return out
	}
	return chart{height: figHeight + newKeyLayout(slices.Clone(entries), keyWidth).height(), draw: render}
}

// scatterExtra is what a scatter figure draws besides its points (the
// Pareto front): its key entry (the key's first), the plotters it adds,
// and the marks they make, which labels must not cover.
type scatterExtra struct {
	entry keyEntry
	add   func(p *plot.Plot)
	marks func(trX, trY func(float64) vg.Length) []vg.Rectangle
}

// withAlpha is c with alpha a (premultiplied).
func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	f := float64(a) / 255
	return color.NRGBA64{R: uint16(r), G: uint16(g), B: uint16(b), A: uint16(f * 0xffff)}
}

// interactionsChart plots each configuration's rSum (mean ± sd over seeds,
// and each seed) against its interactions per pair (log scale). It also
// returns the finished runs it could not plot (no rSum, or no positive
// interaction count).
func interactionsChart(s summary, title string) (chart, []Row) {
	var pts []scatterPoint
	var skipped []Row
	for i, g := range s.groups {
		pt := scatterPoint{group: i}
		var xs, ys []float64
		for _, r := range g.bySeed() {
			if math.IsNaN(r.RSum) || !(r.Interactions > 0) {
				skipped = append(skipped, r)
				continue
			}
			xs, ys = append(xs, r.Interactions), append(ys, r.RSum)
			pt.seeds = append(pt.seeds, plotter.XY{X: r.Interactions, Y: r.RSum})
		}
		if len(xs) == 0 {
			continue
		}
		pt.x, pt.xsd = meanAndSD(xs)
		pt.y, pt.ysd = meanAndSD(ys)
		if len(pt.seeds) < 2 {
			pt.seeds = nil // the mean is the seed
		}
		pts = append(pts, pt)
	}
	// Skipped runs in the order of the rows, as the report lists them.
	slices.SortStableFunc(skipped, compareRows)
	what := "rSum against interactions per pair (mean ± sd over seeds; dots: seeds)"
	if len(pts) == 0 {
		what += " (no finished run to plot)"
	}
	ch := scatterLogX(s, pts, heading(title, what), "interactions per text-image pair (log scale)", "rSum (sum of six recalls, %)", nil)
	ch.stem = "rsum-vs-interactions"
	ch.caption = "rSum against interactions per text-image pair (log scale): each configuration's mean over seeds with ± sd (error bars) and its seeds (small dots); the numbers are the configurations listed under the plot"
	return ch, skipped
}

// meanAndSD is the mean and sample standard deviation of xs (NaN sd for one).
func meanAndSD(xs []float64) (mean, sd float64) {
	g := group{}
	for _, x := range xs {
		g.runs = append(g.runs, Row{RSum: x})
	}
	m, d, _ := g.stat(rsum)
	return m, d
}
