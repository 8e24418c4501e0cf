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
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxK is the largest cut-off of the recall@K curves: past it every model
// of interest is near 100%.
const maxK = 50

// groupStyle gives group i the same colour, glyph and dashes in every figure.
func groupStyle(i int) (draw.LineStyle, draw.GlyphStyle) {
	c := plotutil.Color(i)
	ls := draw.LineStyle{Color: c, Width: vg.Points(1.5), Dashes: plotutil.Dashes(i / len(plotutil.DefaultColors))}
	gs := draw.GlyphStyle{Color: c, Shape: plotutil.Shape(i), Radius: glyphRadius}
	return ls, gs
}

// newPlot is a plot with a title (none when title is ""), axis labels and
// a grid. Its key is drawn under it (keyedChart), never over the data.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// plainTicks are gonum's default ticks labelled with the digits they need
// ("250", "0.4"), not a fixed precision ("250.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = plainNumber(ts[i].Value)
		}
	}
	return ts
}

// plainNumber formats x with the digits it needs, rounding away float noise
// (0.30000000000000004 reads 0.3).
func plainNumber(x float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 10, 64), 64)
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// lineEntry is a key entry drawn as a line sample (and a glyph, when gs is
// not nil).
func lineEntry(label string, ls draw.LineStyle, gs *draw.GlyphStyle) keyEntry {
	l := &plotter.Line{LineStyle: ls}
	e := keyEntry{text: label, thumbs: []plot.Thumbnailer{l}}
	if gs != nil {
		sc, _ := plotter.NewScatter(plotter.XYs{{}})
		sc.GlyphStyle = *gs
		e.thumbs = append(e.thumbs, sc)
	}
	return e
}

// keyedChart is a chart of one plot, made afresh by mk for each drawing,
// with its key under it. after, when not nil, draws on the data area once
// the plot is drawn and reports the labels it placed.
func keyedChart(stem, caption string, entries []keyEntry, mk func() *plot.Plot, after func(p *plot.Plot, dc draw.Canvas) []vg.Rectangle) chart {
	return keyedChartCounting(stem, caption, entries, func(*layout) *plot.Plot { return mk() }, after)
}

// keyedChartCounting is keyedChart whose mk also counts, in the layout,
// the means it draws and their spreads.
func keyedChartCounting(stem, caption string, entries []keyEntry, mk func(out *layout) *plot.Plot, after func(p *plot.Plot, dc draw.Canvas) []vg.Rectangle) chart {
	render := func(c draw.Canvas) layout {
		var out layout
		p := mk(&out)
		k := newKeyLayout(slices.Clone(entries), keyWidth)
		plotC, keyC := splitKey(c, k)
		p.Draw(plotC)
		dc := p.DataCanvas(plotC)
		out.data = []vg.Rectangle{dc.Rectangle}
		if after != nil {
			out.labels = after(p, dc)
		}
		out.key, out.keyText = k.draw(keyC), k.texts()
		return out
	}
	return chart{stem: stem, caption: caption, draw: render,
		height: figHeight + newKeyLayout(slices.Clone(entries), keyWidth).height()}
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
				parts = append(parts, ParamText(k, id[k]))
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
	var entries []keyEntry
	for si, sr := range series {
		ls, gs := groupStyle(si)
		entries = append(entries, lineEntry(sr.label, ls, &gs))
	}
	mk := func(out *layout) *plot.Plot {
		xl := "codes k per side"
		if logX {
			xl += " (log2 scale)"
		}
		p := newPlot(heading(title, "rSum against the number of codes k (mean ± sd over seeds)"), xl, "rSum (sum of six recalls, %)")
		var ticks []plot.Tick
		for _, k := range ks {
			ticks = append(ticks, plot.Tick{Value: pos(k), Label: strconv.Itoa(k)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = pos(ks[0])-0.3, pos(ks[len(ks)-1])+0.3
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
				if n > 1 {
					out.means++
					out.spreads++ // the error bars below
				}
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
		}
		return p
	}
	return keyedChartCounting("rsum-vs-codes", "rSum against codes k per side, mean ± sd over seeds (error bars)", entries, mk, nil), true
}

func firstPositive(ks []int) int {
	for _, k := range ks {
		if k > 0 {
			return k
		}
	}
	return 1
}

// ParetoFront returns the indices of the points no other point beats on
// both axes (lower x, higher y), in order of x; of equal points, the
// first. The dashboard draws the same front.
func ParetoFront(xs, ys []float64) []int {
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

// latencyChart plots each configuration's rSum against its query latency
// (log scale), both the mean ± sd over seeds, with each seed as a dot, and
// joins the Pareto front of the means: the configurations no other is both
// faster and more accurate than.
func latencyChart(s summary, title string) (chart, bool) {
	var pts []scatterPoint
	var xs, ys []float64
	for i, g := range s.groups {
		pt := scatterPoint{group: i}
		var lx, ly []float64
		for _, r := range g.bySeed() {
			if r.QueryMs > 0 && !math.IsNaN(r.RSum) {
				lx, ly = append(lx, r.QueryMs), append(ly, r.RSum)
				pt.seeds = append(pt.seeds, plotter.XY{X: r.QueryMs, Y: r.RSum})
			}
		}
		if len(lx) == 0 {
			continue
		}
		pt.x, pt.xsd = meanAndSD(lx)
		pt.y, pt.ysd = meanAndSD(ly)
		if len(pt.seeds) < 2 {
			pt.seeds = nil
		}
		pts, xs, ys = append(pts, pt), append(xs, pt.x), append(ys, pt.y)
	}
	if len(pts) == 0 {
		return chart{}, false
	}
	front := ParetoFront(xs, ys)
	var fxy plotter.XYs
	for _, i := range front {
		fxy = append(fxy, plotter.XY{X: xs[i], Y: ys[i]})
		pts[i].annotation = "Pareto front"
	}
	frontStyle := draw.LineStyle{Color: grey, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	extra := &scatterExtra{
		entry: lineEntry("Pareto front (of the means)", frontStyle, nil),
		add: func(p *plot.Plot) {
			if line, err := plotter.NewLine(fxy); err == nil {
				line.LineStyle = frontStyle
				p.Add(line)
			}
		},
		marks: func(trX, trY func(float64) vg.Length) []vg.Rectangle {
			var out []vg.Rectangle
			for i := 1; i < len(fxy); i++ {
				out = append(out, segmentMarks(vg.Point{X: trX(fxy[i-1].X), Y: trY(fxy[i-1].Y)}, vg.Point{X: trX(fxy[i].X), Y: trY(fxy[i].Y)})...)
			}
			return out
		},
	}
	ch := scatterLogX(s, pts, heading(title, "rSum against query latency (mean ± sd over seeds; dots: seeds); dashed: Pareto front"),
		"query latency, ms per text query over the whole gallery (log scale)", "rSum (sum of six recalls, %)", extra)
	ch.stem = "rsum-vs-latency"
	ch.caption = "rSum against query latency (log scale): each configuration's mean over seeds with ± sd on both axes (error bars) and its seeds (small dots); the dashed line joins the Pareto front of the means; the numbers are the configurations listed under the plot"
	return ch, true
}

// curveBins bounds the points per training curve: a run of thousands of
// steps is averaged over consecutive steps so that the line stays legible.
const curveBins = 150

// stage is the kind of training a run's loss curve records.
type stage int

const (
	firstStage   stage = iota // trained on the data
	distillStage              // a student trained from its teacher (knowledge distillation)
	crossStage                // the cross encoder of a re-ranking cascade (model "...>>cross")
)

// stageOf tells what a run's logged loss is: a re-ranking cascade (its
// schedule has ">>") logs its cross encoder's training, which has a
// teacher run (the first stage) but is no distillation.
func stageOf(r Row) stage {
	switch {
	case strings.Contains(r.Schedule, ">>") || strings.HasSuffix(r.Model, ">>cross"):
		return crossStage
	case r.TeacherRunID != 0:
		return distillStage
	}
	return firstStage
}

// boundary is a change of regime during training, at a step: the end of
// the InfoNCE warm-up, or the learning-rate decay.
type boundary struct {
	step   float64
	warmup bool // else the decay
	label  string
}

// Styles of the boundary lines.
var (
	warmupStyle = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	decayStyle  = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}
)

// runBoundaries are the boundaries in a run's training, from its params
// (train.warmup_epochs, train.decay_epoch, and for a cross encoder
// cross.epochs against train.epochs, as framework/cross.go scales it) and
// the first step of each epoch (starts, from the logged epochs; or, when
// none was logged, nsteps spread evenly over the epochs trained). The
// warm-up (InfoNCE before the hinge) is a first stage's, unless its loss is
// InfoNCE throughout.
func runBoundaries(r Row, st stage, starts []int, nsteps int) []boundary {
	param := func(k string) int {
		v, err := strconv.Atoi(r.Params[k])
		if err != nil {
			return 0
		}
		return v
	}
	stepOf := func(epoch int) (float64, bool) {
		if epoch < len(starts) && starts[epoch] > 0 {
			return float64(starts[epoch]), true
		}
		if len(starts) == 0 && r.EpochsTrained > 0 && float64(epoch) < r.EpochsTrained {
			return math.Round(float64(epoch)*float64(nsteps)/r.EpochsTrained) + 1, true
		}
		return 0, false
	}
	var out []boundary
	if w := param("train.warmup_epochs"); st == firstStage && w > 0 && r.Params["train.loss"] != "infonce" {
		if x, ok := stepOf(w); ok {
			out = append(out, boundary{step: x, warmup: true, label: fmt.Sprintf("InfoNCE warm-up ends after epoch %d", w)})
		}
	}
	if d := param("train.decay_epoch"); d > 0 {
		if st == crossStage {
			epochs := max(param("train.epochs"), 1)
			ce := param("cross.epochs")
			if ce == 0 {
				ce = epochs
			}
			d = max(1, ce*d/epochs)
		}
		factor := r.Params["train.decay_factor"]
		if factor == "" {
			factor = "decayed"
		} else {
			factor = "×" + factor
		}
		if x, ok := stepOf(d); ok {
			out = append(out, boundary{step: x, label: fmt.Sprintf("learning rate %s after epoch %d", factor, d)})
		}
	}
	return out
}

// lossChart plots the loss against the step, the mean over a
// configuration's seeds with a band of ± sd, one line per configuration
// whose runs train the given stage: first stages (trained on the data),
// distillation stages (a student from its teacher) or the cross encoders
// of re-ranking cascades. Vertical lines mark where the InfoNCE warm-up
// ends and where the learning rate decays. It returns false when no such
// run logged a loss.
func lossChart(s summary, steps map[int64][]float64, starts map[int64][]int, st stage, title string) (chart, bool) {
	type curve struct {
		group          int
		mean           plotter.XYs
		bandLo, bandHi []plotter.XYs // the runs of bins with a sd
		multi          int           // points of the mean over two or more seeds
	}
	var curves []curve
	var bounds []boundary
	for i, g := range s.groups {
		var runs [][]float64
		for _, r := range g.bySeed() {
			if stageOf(r) != st || len(steps[r.RunID]) == 0 {
				continue
			}
			runs = append(runs, steps[r.RunID])
			for _, b := range runBoundaries(r, st, starts[r.RunID], len(steps[r.RunID])) {
				if !slices.Contains(bounds, b) {
					bounds = append(bounds, b)
				}
			}
		}
		if len(runs) == 0 {
			continue
		}
		n := 0
		for _, r := range runs {
			n = max(n, len(r))
		}
		width := (n + curveBins - 1) / curveBins
		cv := curve{group: i}
		var lo, hi plotter.XYs
		flush := func() {
			if len(lo) > 1 {
				cv.bandLo, cv.bandHi = append(cv.bandLo, lo), append(cv.bandHi, hi)
			}
			lo, hi = nil, nil
		}
		for start := 0; start < n; start += width {
			var vs, xs []float64
			for _, r := range runs {
				var v, x, cnt float64
				for j := start; j < min(start+width, len(r)); j++ {
					if !math.IsNaN(r[j]) {
						v += r[j]
						x += float64(j + 1)
						cnt++
					}
				}
				if cnt > 0 {
					vs, xs = append(vs, v/cnt), append(xs, x/cnt)
				}
			}
			if len(vs) == 0 {
				flush()
				continue
			}
			m, sd := meanAndSD(vs)
			x, _ := meanAndSD(xs)
			cv.mean = append(cv.mean, plotter.XY{X: x, Y: m})
			if math.IsNaN(sd) {
				flush()
				continue
			}
			cv.multi++
			lo, hi = append(lo, plotter.XY{X: x, Y: m - sd}), append(hi, plotter.XY{X: x, Y: m + sd})
		}
		flush()
		curves = append(curves, cv)
	}
	if len(curves) == 0 {
		return chart{}, false
	}
	slices.SortStableFunc(bounds, func(a, b boundary) int { return cmp.Compare(a.step, b.step) })
	var kind, stem string
	switch st {
	case firstStage:
		kind, stem = "training loss of first stages (trained on the data)", "training-curves"
	case distillStage:
		kind, stem = "distillation loss of shrink stages (student from teacher)", "distillation-curves"
	default:
		kind, stem = "training loss of the cross encoders of re-ranking cascades (>>cross)", "cross-encoder-curves"
	}
	var entries []keyEntry
	for _, cv := range curves {
		ls, _ := groupStyle(cv.group)
		entries = append(entries, lineEntry(s.groups[cv.group].label, ls, nil))
	}
	hasWarmup := slices.ContainsFunc(bounds, func(b boundary) bool { return b.warmup })
	hasDecay := slices.ContainsFunc(bounds, func(b boundary) bool { return !b.warmup })
	if hasWarmup {
		entries = append(entries, lineEntry("end of the InfoNCE warm-up (then the hinge)", warmupStyle, nil))
	}
	if hasDecay {
		entries = append(entries, lineEntry("learning-rate decay", decayStyle, nil))
	}
	mk := func(out *layout) *plot.Plot {
		p := newPlot(heading(title, kind+" (mean over seeds, band: ± sd)"), "training step", "loss")
		for _, cv := range curves {
			ls, _ := groupStyle(cv.group)
			out.means += cv.multi
			for j := range cv.bandLo {
				out.spreads += len(cv.bandLo[j])
				ring := slices.Clone(cv.bandHi[j])
				for k := len(cv.bandLo[j]) - 1; k >= 0; k-- {
					ring = append(ring, cv.bandLo[j][k])
				}
				if band, err := plotter.NewPolygon(ring); err == nil {
					band.Color = withAlpha(ls.Color, 0x40)
					band.LineStyle.Width = 0
					p.Add(band)
				}
			}
		}
		for _, cv := range curves {
			line, err := plotter.NewLine(cv.mean)
			if err != nil {
				continue
			}
			line.LineStyle, _ = groupStyle(cv.group)
			p.Add(line)
		}
		return p
	}
	after := func(p *plot.Plot, dc draw.Canvas) []vg.Rectangle { return drawBoundaries(p, dc, bounds) }
	caption := strings.ToUpper(kind[:1]) + kind[1:] + " against the step, mean over seeds with a band of ± sd"
	if hasWarmup || hasDecay {
		caption += "; vertical lines: where the InfoNCE warm-up hands over to the hinge (dashed) and where the learning rate decays (dotted)"
	}
	return keyedChartCounting(stem, caption, entries, mk, after), true
}

// drawBoundaries draws a vertical line at each boundary across the data
// area, labelled along it at the top (left of the line, else right of it;
// a label that would cover another is left out: the key names the lines).
// It returns the labels' boxes.
func drawBoundaries(p *plot.Plot, dc draw.Canvas, bounds []boundary) []vg.Rectangle {
	trX, _ := p.Transforms(&dc)
	var boxes []vg.Rectangle
	sty := textStyle(7.5, color.Gray{Y: 60})
	sty.Rotation = math.Pi / 2
	sty.XAlign = text.XRight
	for _, b := range bounds {
		if b.step < p.X.Min || b.step > p.X.Max {
			continue
		}
		x := trX(b.step)
		ls := decayStyle
		if b.warmup {
			ls = warmupStyle
		}
		dc.StrokeLine2(ls, x, dc.Min.Y, x, dc.Max.Y)
		top := vg.Point{X: x, Y: dc.Max.Y - 3}
		for _, side := range []struct {
			dx    vg.Length
			align text.YAlignment
		}{{-1.5, text.YBottom}, {1.5, text.YTop}} {
			s := sty
			s.YAlign = side.align
			at := vg.Point{X: top.X + side.dx, Y: top.Y}
			box := s.Rectangle(b.label).Add(at)
			if inside(box, dc.Rectangle) && !overlapsAny(box, boxes) {
				dc.FillText(s, at, b.label)
				boxes = append(boxes, box)
				break
			}
		}
	}
	return boxes
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
	var groups []int
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
			if !slices.Contains(groups, i) {
				groups = append(groups, i)
			}
		}
	}
	if len(lines) == 0 {
		return chart{}, false
	}
	var entries []keyEntry
	for _, gi := range groups {
		ls, gs := groupStyle(gi)
		ls.Width = vg.Points(1)
		entries = append(entries, lineEntry(s.groups[gi].label, ls, &gs))
	}
	mk := func() *plot.Plot {
		p := newPlot(heading(title, "validation rSum during training, one line per run; marker: the selected checkpoint"),
			"epochs trained", "validation rSum (sum of six recalls, %)")
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
		}
		return p
	}
	return keyedChart("validation-curves",
		"Validation rSum against the epochs trained, one line per run (colour: configuration); the marker is the checkpoint each run selected and evaluated on test",
		entries, mk, nil), true
}

// recallBars are the cut-offs at which the recall@K curves show ± sd over
// seeds.
var recallBars = []int{1, 5, 10, 20, 50}

// recallChart plots recall@K for K = 1..maxK in both directions, from the
// stored per-query ranks, the mean over a configuration's seeds, with
// error bars of ± sd over seeds at the cut-offs of recallBars (each
// configuration's shifted a little sideways, so that they do not hide each
// other). It returns false when no run stored ranks.
func recallChart(s summary, title string) (chart, bool) {
	type curve struct {
		group int
		mean  [2]plotter.XYs
		sd    [2][]float64 // at each K, NaN for one seed
	}
	var curves []curve
	for i, g := range s.groups {
		byseed := g.ranksBySeed()
		if len(byseed) == 0 {
			continue
		}
		seeds := make([]int64, 0, len(byseed))
		for sd := range byseed {
			seeds = append(seeds, sd)
		}
		slices.Sort(seeds)
		cv := curve{group: i}
		for k := 1; k <= maxK; k++ {
			for dir := range 2 {
				var vs []float64
				for _, sd := range seeds {
					q := byseed[sd].I2T
					if dir == 1 {
						q = byseed[sd].T2I
					}
					vs = append(vs, metrics.Recall(q, k))
				}
				m, sd := meanAndSD(vs)
				cv.mean[dir] = append(cv.mean[dir], plotter.XY{X: float64(k), Y: m})
				cv.sd[dir] = append(cv.sd[dir], sd)
			}
		}
		curves = append(curves, cv)
	}
	if len(curves) == 0 {
		return chart{}, false
	}
	var entries []keyEntry
	for _, cv := range curves {
		ls, _ := groupStyle(cv.group)
		entries = append(entries, lineEntry(s.groups[cv.group].label, ls, nil))
	}
	// Each configuration's bars sit at K times a factor around 1, the
	// whole spread within ±12%.
	dodge := func(j int) float64 {
		if len(curves) < 2 {
			return 1
		}
		return math.Exp(0.24 * (float64(j)/float64(len(curves)-1) - 0.5))
	}
	k := newKeyLayout(slices.Clone(entries), keyWidth)
	render := func(c draw.Canvas) layout {
		plotC, keyC := splitKey(c, k)
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(12)}
		var out layout
		for col, dir := range []string{"image to text", "text to image"} {
			what := "recall@K, " + dir + " (mean ± sd over seeds)"
			t := heading(title, what)
			if t == "" {
				t = dir // the panel still says which direction it shows
			}
			p := newPlot(t, "K (log scale)", "recall@K (%)")
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.ConstantTicks{{Value: 1, Label: "1"}, {Value: 5, Label: "5"}, {Value: 10, Label: "10"}, {Value: 20, Label: "20"}, {Value: 50, Label: "50"}}
			p.X.Min, p.X.Max = 1/dodge(len(curves)-1)/1.02, maxK*dodge(len(curves)-1)*1.02
			p.Y.Min, p.Y.Max = 0, 100
			for j, cv := range curves {
				ls, _ := groupStyle(cv.group)
				line, err := plotter.NewLine(cv.mean[col])
				if err != nil {
					continue
				}
				line.LineStyle = ls
				p.Add(line)
				var bars struct {
					plotter.XYs
					plotter.YErrors
				}
				for _, kk := range recallBars {
					if sd := cv.sd[col][kk-1]; !math.IsNaN(sd) {
						out.means++
						out.spreads++
						bars.XYs = append(bars.XYs, plotter.XY{X: float64(kk) * dodge(j), Y: cv.mean[col][kk-1].Y})
						bars.YErrors = append(bars.YErrors, struct{ Low, High float64 }{sd, sd})
					}
				}
				if len(bars.XYs) > 0 {
					if eb, err := plotter.NewYErrorBars(bars); err == nil {
						eb.LineStyle = draw.LineStyle{Color: ls.Color, Width: vg.Points(0.8)}
						eb.CapWidth = vg.Points(3)
						p.Add(eb)
					}
				}
			}
			tc := tiles.At(plotC, col, 0)
			p.Draw(tc)
			out.data = append(out.data, p.DataCanvas(tc).Rectangle)
		}
		out.key, out.keyText = k.draw(keyC), k.texts()
		return out
	}
	return chart{stem: "recall-at-k", height: figHeight + k.height(), draw: render,
		caption: fmt.Sprintf("Recall@K for K = 1 to %d, both directions, from the stored per-query ranks: mean over seeds, with error bars of ± sd over seeds at K = 1, 5, 10, 20 and 50", maxK)}, true
}

// grey draws what is not a configuration (the Pareto front).
var grey = color.Gray{Y: 110}
