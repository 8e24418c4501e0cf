package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/metrics"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// maxK is the largest cut-off of the recall@K curves: past it every model
// of interest is near 100%.
const maxK = 50

// chart is a figure of the report: a file name stem, the Markdown caption,
// and how to draw it on a canvas of figWidth x height.
type chart struct {
	stem, caption string
	height        vg.Length
	draw          func(c draw.Canvas)
}

// writeChart saves ch as <base>-<stem>.png and .svg and returns both paths.
func writeChart(ch chart, base string) (pngPath, svgPath string, err error) {
	pngPath, svgPath = base+"-"+ch.stem+".png", base+"-"+ch.stem+".svg"
	for _, out := range []struct {
		path string
		c    vg.CanvasWriterTo
	}{
		{pngPath, vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, ch.height), vgimg.UseDPI(pngDPI))}},
		{svgPath, vgsvg.New(figWidth, ch.height)},
	} {
		ch.draw(figureArea(out.c))
		if err := writeTo(out.c, out.path); err != nil {
			return "", "", err
		}
	}
	return pngPath, svgPath, nil
}

// groupStyle gives group i the same colour, glyph and dashes in every figure.
func groupStyle(i int) (draw.LineStyle, draw.GlyphStyle) {
	c := plotutil.Color(i)
	ls := draw.LineStyle{Color: c, Width: vg.Points(1.5), Dashes: plotutil.Dashes(i / len(plotutil.DefaultColors))}
	gs := draw.GlyphStyle{Color: c, Shape: plotutil.Shape(i), Radius: glyphRadius}
	return ls, gs
}

// newPlot is a plot with a title, axis labels, a grid and a legend that
// does not cover the data (drawn beside it, at the top right).
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(1.5)
	return p
}

// codesSeries groups configurations that differ only in codes k: one line
// of the codes figure each, points sorted by k.
type codesSeries struct {
	label  string
	groups []int // indices into summary.groups
}

func seriesByCodes(s summary) []codesSeries {
	var out []codesSeries
	for i, g := range s.groups {
		var parts []string
		id := g.runs[0].identity()
		for _, k := range s.l.vary[g.model] {
			if k != "codes" && k != "schedule" {
				parts = append(parts, paramText(k, id[k]))
			}
		}
		lab := g.model
		if len(parts) > 0 {
			lab += " (" + strings.Join(parts, ", ") + ")"
		}
		j := slices.IndexFunc(out, func(c codesSeries) bool { return c.label == lab })
		if j < 0 {
			out = append(out, codesSeries{label: lab})
			j = len(out) - 1
		}
		out[j].groups = append(out[j].groups, i)
	}
	for _, c := range out {
		slices.SortStableFunc(c.groups, func(a, b int) int { return cmp.Compare(s.groups[a].runs[0].Codes, s.groups[b].runs[0].Codes) })
	}
	return out
}

// codesChart plots rSum (mean ± sd over seeds) against codes k, one line
// per configuration that the sweep ran at several k. When k spans a decade
// or more the axis is log2, with k = 0 drawn one step left of k = 1. It
// returns false when the experiment does not vary codes.
func codesChart(s summary, title string) (chart, bool) {
	if !slices.Contains(s.keys, "codes") {
		return chart{}, false
	}
	var ks []int
	for _, g := range s.groups {
		if k := g.runs[0].Codes; !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	series := seriesByCodes(s)
	if !slices.ContainsFunc(series, func(c codesSeries) bool { return len(c.groups) > 1 }) {
		return chart{}, false // every line would be a single point
	}
	logX := ks[len(ks)-1] >= 10*max(1, firstPositive(ks))
	pos := func(k int) float64 {
		switch {
		case !logX:
			return float64(k)
		case k == 0:
			return -1
		}
		return math.Log2(float64(k))
	}
	render := func(c draw.Canvas) {
		xl := "codes k per side"
		if logX {
			xl += " (log2 scale)"
		}
		p := newPlot(title+"\nrSum against the number of codes k (mean ± sd over seeds)", xl, "rSum (sum of six recalls, %)")
		var ticks []plot.Tick
		for _, k := range ks {
			ticks = append(ticks, plot.Tick{Value: pos(k), Label: strconv.Itoa(k)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = pos(ks[0])-0.3, pos(ks[len(ks)-1])+0.3
		// The legend goes in the right-hand corner away from the points at
		// the largest k: below them when rSum rises with k, above when it
		// falls.
		var atMax, all []float64
		for _, sr := range series {
			for _, gi := range sr.groups {
				if m, _, n := s.groups[gi].stat(rsum); n > 0 {
					all = append(all, m)
					if s.groups[gi].runs[0].Codes == ks[len(ks)-1] {
						atMax = append(atMax, m)
					}
				}
			}
		}
		p.Legend.Top = len(atMax) > 0 && slices.Max(atMax) < (slices.Min(all)+slices.Max(all))/2
		for si, sr := range series {
			var pts struct {
				plotter.XYs
				plotter.YErrors
			}
			for _, gi := range sr.groups {
				m, sd, n := s.groups[gi].stat(rsum)
				if n == 0 {
					continue
				}
				pts.XYs = append(pts.XYs, plotter.XY{X: pos(s.groups[gi].runs[0].Codes), Y: m})
				e := nanToZero(sd)
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{e, e})
			}
			if len(pts.XYs) == 0 {
				continue
			}
			ls, gs := groupStyle(si)
			line, sc, err := plotter.NewLinePoints(pts.XYs)
			if err != nil {
				continue // NaN-free by construction
			}
			line.LineStyle, sc.GlyphStyle = ls, gs
			bars, err := plotter.NewYErrorBars(pts)
			if err != nil {
				continue
			}
			bars.LineStyle = draw.LineStyle{Color: ls.Color, Width: vg.Points(1)}
			p.Add(line, sc, bars)
			p.Legend.Add(sr.label, line, sc)
		}
		p.Draw(c)
	}
	return chart{stem: "rsum-vs-codes", height: figHeight, draw: render,
		caption: "rSum against codes k per side, mean ± sd over seeds (error bars)"}, true
}

func firstPositive(ks []int) int {
	for _, k := range ks {
		if k > 0 {
			return k
		}
	}
	return 1
}

// paretoFront returns the indices of the points no other point beats on
// both axes (lower x, higher y), in order of x.
func paretoFront(xs, ys []float64) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(xs[a], xs[b]); c != 0 {
			return c
		}
		return cmp.Compare(ys[b], ys[a])
	})
	var front []int
	best := math.Inf(-1)
	for _, i := range idx {
		if ys[i] > best {
			front = append(front, i)
			best = ys[i]
		}
	}
	return front
}

// latencyChart plots each configuration's mean rSum against its mean query
// latency (log scale), and joins the Pareto front: the configurations no
// other is both faster and more accurate than.
func latencyChart(s summary, title string) (chart, bool) {
	var gi []int
	var xs, ys []float64
	for i, g := range s.groups {
		x, _, nx := g.stat(func(r Row) float64 { return r.QueryMs })
		y, _, ny := g.stat(rsum)
		if nx > 0 && ny > 0 && x > 0 {
			gi, xs, ys = append(gi, i), append(xs, x), append(ys, y)
		}
	}
	if len(gi) == 0 {
		return chart{}, false
	}
	front := paretoFront(xs, ys)
	render := func(c draw.Canvas) {
		p := newPlot(title+"\nrSum against query latency (mean over seeds); line: Pareto front",
			"query latency, ms per text query over the whole gallery (log scale)", "rSum (sum of six recalls, %)")
		p.X.Label.Position = draw.PosRight
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		xmin, xmax := slices.Min(xs), slices.Max(xs)
		ymin, ymax := slices.Min(ys), slices.Max(ys)
		pad := max(0.08*(ymax-ymin), 1)
		p.X.Min = math.Min(xmin/4, math.Pow(10, math.Floor(math.Log10(xmin))))
		p.X.Max = math.Max(xmax*4, math.Pow(10, math.Ceil(math.Log10(xmax))))
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
		var fxy plotter.XYs
		for _, i := range front {
			fxy = append(fxy, plotter.XY{X: xs[i], Y: ys[i]})
		}
		if line, err := plotter.NewLine(fxy); err == nil {
			line.LineStyle = draw.LineStyle{Color: plotutil.Color(0), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
			line.LineStyle.Color = grey
			p.Add(line)
			p.Legend.Add("Pareto front", line)
		}
		var labels []*plotter.Labels
		for j, i := range gi {
			_, gs := groupStyle(i)
			xy := plotter.XYs{{X: xs[j], Y: ys[j]}}
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				continue
			}
			sc.GlyphStyle = gs
			name := s.groups[i].label
			if slices.Contains(front, j) {
				name += " *"
			}
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: []string{name}})
			if err != nil {
				continue
			}
			l.TextStyle[0].Color = gs.Color
			l.TextStyle[0].Font.Size = vg.Points(8)
			p.Add(sc, l)
			labels = append(labels, l)
		}
		placeLabels(p, labels)
		p.Draw(c)
	}
	return chart{stem: "rsum-vs-latency", height: figHeight, draw: render,
		caption: "rSum against query latency; the dashed line joins the Pareto front (marked * in the labels)"}, true
}

// curveBins bounds the points per training curve: a run of thousands of
// steps is averaged over consecutive steps so that the line stays legible.
const curveBins = 150

// lossChart plots the loss against the step, the mean over a
// configuration's seeds, one line per configuration whose runs are of the
// given kind: first stages (trained on the data) or distillation stages
// (trained from a teacher). It returns false when no such run logged a loss.
func lossChart(s summary, steps map[int64][]float64, distill bool, title string) (chart, bool) {
	type curve struct {
		group int
		xy    plotter.XYs
	}
	var curves []curve
	for i, g := range s.groups {
		var sum []float64
		var n []int
		for _, r := range g.runs {
			if (r.TeacherRunID != 0) != distill {
				continue
			}
			for st, v := range steps[r.RunID] {
				if math.IsNaN(v) {
					continue
				}
				for len(sum) <= st {
					sum, n = append(sum, 0), append(n, 0)
				}
				sum[st] += v
				n[st]++
			}
		}
		if len(sum) == 0 {
			continue
		}
		width := (len(sum) + curveBins - 1) / curveBins
		var xy plotter.XYs
		for lo := 0; lo < len(sum); lo += width {
			var v, cnt, x float64
			for st := lo; st < min(lo+width, len(sum)); st++ {
				if n[st] > 0 {
					v += sum[st] / float64(n[st])
					x += float64(st + 1)
					cnt++
				}
			}
			if cnt > 0 {
				xy = append(xy, plotter.XY{X: x / cnt, Y: v / cnt})
			}
		}
		curves = append(curves, curve{i, xy})
	}
	if len(curves) == 0 {
		return chart{}, false
	}
	kind, stem := "training loss of first stages", "training-curves"
	if distill {
		kind, stem = "distillation loss of shrink stages (student from teacher)", "distillation-curves"
	}
	render := func(c draw.Canvas) {
		p := newPlot(title+"\n"+kind+" (mean over seeds)", "training step", "loss")
		for _, cv := range curves {
			line, err := plotter.NewLine(cv.xy)
			if err != nil {
				continue
			}
			line.LineStyle, _ = groupStyle(cv.group)
			p.Add(line)
			p.Legend.Add(s.groups[cv.group].label, line)
		}
		p.Draw(c)
	}
	return chart{stem: stem, height: figHeight, draw: render,
		caption: strings.ToUpper(kind[:1]) + kind[1:] + " against the step, mean over seeds"}, true
}

// validationChart plots each run's validation rSum against the epoch, one
// thin line per run in its configuration's colour, with a marker on the
// checkpoint the run selected (its best validation rSum, the one test was
// evaluated on), so that a seed that never took off stands out from its
// configuration's others. It returns false when no run logged validation.
func validationChart(s summary, curves map[int64][]valPoint, title string) (chart, bool) {
	type line struct {
		group    int
		xy       plotter.XYs
		selected plotter.XYs // the selected checkpoint, when the run recorded it
	}
	var lines []line
	for i, g := range s.groups {
		for _, r := range g.bySeed() {
			c := curves[r.RunID]
			if len(c) == 0 {
				continue
			}
			ln := line{group: i}
			for _, p := range c {
				ln.xy = append(ln.xy, plotter.XY{X: p.epoch, Y: p.rsum})
			}
			if r.HasValidation() && !math.IsNaN(r.SelectedEpoch) {
				ln.selected = plotter.XYs{{X: r.SelectedEpoch, Y: r.ValRSum}}
			}
			lines = append(lines, ln)
		}
	}
	if len(lines) == 0 {
		return chart{}, false
	}
	render := func(c draw.Canvas) {
		p := newPlot(title+"\nvalidation rSum during training, one line per run; marker: the selected checkpoint",
			"epochs trained", "validation rSum (sum of six recalls, %)")
		// Curves rise from low values to a plateau: the top left corner is
		// the emptiest, and a seed that stays low (bottom) stays visible.
		p.Legend.Top, p.Legend.Left = true, true
		legend := map[int]bool{}
		for _, ln := range lines {
			l, err := plotter.NewLine(ln.xy)
			if err != nil {
				continue
			}
			ls, gs := groupStyle(ln.group)
			ls.Width = vg.Points(1)
			l.LineStyle = ls
			p.Add(l)
			if len(ln.selected) > 0 {
				if sc, err := plotter.NewScatter(ln.selected); err == nil {
					sc.GlyphStyle = gs
					p.Add(sc)
				}
			}
			if !legend[ln.group] {
				legend[ln.group] = true
				p.Legend.Add(s.groups[ln.group].label, l)
			}
		}
		p.Draw(c)
	}
	return chart{stem: "validation-curves", height: figHeight, draw: render,
		caption: "Validation rSum against the epochs trained, one line per run (colour: configuration); the marker is the checkpoint each run selected and evaluated on test"}, true
}

// recallChart plots recall@K for K = 1..maxK in both directions, from the
// stored per-query ranks, the mean over a configuration's seeds. It returns
// false when no run stored ranks.
func recallChart(s summary, title string) (chart, bool) {
	type curve struct {
		group    int
		i2t, t2i plotter.XYs
	}
	var curves []curve
	for i, g := range s.groups {
		byseed := g.ranksBySeed()
		if len(byseed) == 0 {
			continue
		}
		cv := curve{group: i}
		for k := 1; k <= maxK; k++ {
			var a, b float64
			for _, q := range byseed {
				a += metrics.Recall(q.I2T, k)
				b += metrics.Recall(q.T2I, k)
			}
			n := float64(len(byseed))
			cv.i2t = append(cv.i2t, plotter.XY{X: float64(k), Y: a / n})
			cv.t2i = append(cv.t2i, plotter.XY{X: float64(k), Y: b / n})
		}
		curves = append(curves, cv)
	}
	if len(curves) == 0 {
		return chart{}, false
	}
	render := func(c draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(12)}
		for col, dir := range []string{"image to text", "text to image"} {
			p := newPlot(fmt.Sprintf("%s\nrecall@K, %s (mean over seeds)", title, dir), "K (log scale)", "recall@K (%)")
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.ConstantTicks{{Value: 1, Label: "1"}, {Value: 5, Label: "5"}, {Value: 10, Label: "10"}, {Value: 20, Label: "20"}, {Value: 50, Label: "50"}}
			p.X.Min, p.X.Max = 1, maxK
			p.Y.Min, p.Y.Max = 0, 100
			p.Legend.Top, p.Legend.Left = false, false
			for _, cv := range curves {
				xy := cv.i2t
				if col == 1 {
					xy = cv.t2i
				}
				line, err := plotter.NewLine(xy)
				if err != nil {
					continue
				}
				line.LineStyle, _ = groupStyle(cv.group)
				p.Add(line)
				if col == 1 {
					p.Legend.Add(s.groups[cv.group].label, line)
				}
			}
			p.Draw(tiles.At(c, col, 0))
		}
	}
	return chart{stem: "recall-at-k", height: figHeight, draw: render,
		caption: fmt.Sprintf("Recall@K for K = 1 to %d, both directions, from the stored per-query ranks (mean over seeds)", maxK)}, true
}

// grey draws what is not a configuration (the Pareto front).
var grey = color.Gray{Y: 110}
