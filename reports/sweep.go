package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// slope is the least-squares slope of y against x (NaN for fewer than two
// distinct x).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i] / n
		my += ys[i] / n
	}
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}

// oneByOne reports whether a schedule ends with a single fragment per side
// (a dual encoder, trained or shrunk).
func oneByOne(schedule string) bool {
	return schedule == "1" || strings.HasSuffix(schedule, ">1")
}

// sweepFindings answers, from whichever settings the experiment varies,
// the questions a sweep is run for: does inflating help and by how much
// per code added, which schedule keeps the most accuracy at 1x1, and what
// accuracy costs in latency and index size.
func sweepFindings(s summary) string {
	var b strings.Builder
	if slices.Contains(s.keys, "codes") {
		b.WriteString(codesFindings(s))
	}
	b.WriteString(oneByOneFindings(s))
	b.WriteString(costFindings(s))
	return b.String()
}

func codesFindings(s summary) string {
	var b strings.Builder
	for _, sr := range seriesByCodes(s) {
		var ks, ys []float64
		var gi []int
		for _, i := range sr.groups {
			g := s.groups[i]
			if m, _, n := g.stat(rsum); n > 0 {
				ks, ys, gi = append(ks, float64(g.runs[0].Codes)), append(ys, m), append(gi, i)
			}
		}
		if len(gi) < 2 {
			continue
		}
		var pts []string
		for i := range ks {
			pts = append(pts, fmt.Sprintf("k=%g: %s", ks[i], fixed(ys[i], 1)))
		}
		fmt.Fprintf(&b, "- **Codes, %s**: test rSum %s. Per code added: %+.2f rSum (least-squares slope over k)",
			sr.label, strings.Join(pts, ", "), slope(ks, ys))
		var lk, ly []float64
		for i := range ks {
			if ks[i] > 0 {
				lk, ly = append(lk, math.Log2(ks[i])), append(ly, ys[i])
			}
		}
		if sl := slope(lk, ly); len(lk) > 2 && !math.IsNaN(sl) {
			fmt.Fprintf(&b, "; per doubling of k: %+.1f", sl)
		}
		b.WriteString(".")
		// The k chosen on validation against the fewest codes (no codes
		// when the sweep has k = 0).
		best := slices.Index(gi, bestByValidation(s.groups, gi))
		switch {
		case best < 0:
			b.WriteString(" No validation results: no k is chosen as the best.")
		case best == 0:
			fmt.Fprintf(&b, " On validation, more codes do not beat k=%g", ks[0])
			if ks[0] == 0 {
				b.WriteString(": the paper's claim that inflating helps is not reproduced here")
			}
			b.WriteString(".")
		default:
			d, why := compareGroups(s.groups[gi[best]], s.groups[gi[0]])
			fmt.Fprintf(&b, " The best on validation, k=%g, against k=%g on test: %s.", ks[best], ks[0], differenceText(d, why))
			sig := d != nil && d.Significant()
			switch {
			case ks[0] == 0 && sig && d.Mean > 0:
				b.WriteString(" Inflating helps here, as the paper claims.")
			case ks[0] == 0 && sig:
				b.WriteString(" Inflating hurts here: the paper's claim that inflating helps is not reproduced.")
			case ks[0] == 0:
				b.WriteString(" The gap is not established: the paper's claim that inflating helps is not reproduced here.")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func oneByOneFindings(s summary) string {
	var ones, late []int
	for i, g := range s.groups {
		if _, _, n := g.stat(rsum); n == 0 {
			continue
		}
		switch sched := g.runs[0].Schedule; {
		case oneByOne(sched):
			ones = append(ones, i)
		case !strings.Contains(sched, ">>") && sched != "none": // neither a re-ranking cascade nor a non-learned baseline is a late-interaction model
			late = append(late, i)
		}
	}
	if len(ones) < 2 {
		return ""
	}
	mean := func(i int) float64 { m, _, _ := s.groups[i].stat(rsum); return m }
	top := bestByValidation(s.groups, ones)
	var b strings.Builder
	if top < 0 {
		var names []string
		for _, i := range ones {
			names = append(names, fmt.Sprintf("%s (schedule %s, test rSum %s)", s.groups[i].label, s.groups[i].runs[0].Schedule, fixed(mean(i), 1)))
		}
		fmt.Fprintf(&b, "- **At 1x1** (one fragment per side, as cheap as a dual encoder): %s. No validation results: none is chosen as the best.\n",
			strings.Join(names, ", "))
		return b.String()
	}
	g := s.groups[top]
	fmt.Fprintf(&b, "- **At 1x1** (one fragment per side, as cheap as a dual encoder), the best on validation is %s (schedule %s), test rSum %s",
		g.label, g.runs[0].Schedule, fixed(mean(top), 1))
	if bl := bestByValidation(s.groups, late); bl >= 0 {
		fmt.Fprintf(&b, ", %.0f%% of the test rSum of the best late-interaction configuration on validation, %s (%s)",
			100*mean(top)/mean(bl), s.groups[bl].label, fixed(mean(bl), 1))
	}
	b.WriteString(". Against it, on test:\n")
	for _, i := range ones {
		if i == top {
			continue
		}
		d, why := compareGroups(g, s.groups[i])
		fmt.Fprintf(&b, "  - %s (schedule %s): rSum %s; %s\n", s.groups[i].label, s.groups[i].runs[0].Schedule, fixed(mean(i), 1), differenceText(d, why))
	}
	return b.String()
}

func costFindings(s summary) string {
	var idx []int
	for i, g := range s.groups {
		_, _, n := g.stat(rsum)
		ms, _, nm := g.stat(func(r Row) float64 { return r.QueryMs })
		if n > 0 && nm > 0 && ms > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return ""
	}
	type pt struct {
		label         string
		r, ms, floats float64
	}
	at := func(i int) pt {
		g := s.groups[i]
		r, _, _ := g.stat(rsum)
		ms, _, _ := g.stat(func(r Row) float64 { return r.QueryMs })
		fl, _, _ := g.stat(func(r Row) float64 { return r.IndexFloats })
		return pt{g.label, r, ms, fl}
	}
	fast := at(idx[0])
	for _, i := range idx[1:] {
		if p := at(i); p.ms < fast.ms {
			fast = p
		}
	}
	acc := bestByValidation(s.groups, idx)
	if acc < 0 {
		return fmt.Sprintf("- **Cost**: the fastest is %s (test rSum %s, %s ms per text query, %s floats per image); "+
			"no validation results, so none is chosen as the most accurate.\n", fast.label, fixed(fast.r, 1), sig3(fast.ms), count(fast.floats))
	}
	a := at(acc)
	if a.label == fast.label {
		return fmt.Sprintf("- **Cost**: %s is both the best on validation (test rSum %s) and the fastest (%s ms per query, %s floats per image).\n",
			a.label, fixed(a.r, 1), sig3(a.ms), count(a.floats))
	}
	return fmt.Sprintf("- **Cost**: the best on validation, %s (test rSum %s), takes %s ms per text query and stores %s floats per image; "+
		"the fastest, %s (test rSum %s), %s ms and %s floats: %sx the latency and %sx the index for %+.1f rSum.\n",
		a.label, fixed(a.r, 1), sig3(a.ms), count(a.floats), fast.label, fixed(fast.r, 1), sig3(fast.ms), count(fast.floats),
		sig3(a.ms/fast.ms), sig3(a.floats/fast.floats), a.r-fast.r)
}
