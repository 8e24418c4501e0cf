package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// bootstrapText compares two groups' rSum with the paired bootstrap and
// states the difference a - b with its 95% interval, or why it cannot.
func bootstrapText(a, b group) (text string, significant bool) {
	d, err := PairedBootstrap(a.ranksBySeed(), b.ranksBySeed(), BootstrapResamples, BootstrapSeed)
	if err != nil {
		return "no significance test: " + strings.TrimPrefix(err.Error(), "reports: bootstrap: "), false
	}
	verdict := "significant"
	if !d.Significant() {
		verdict = "not significant"
	}
	return fmt.Sprintf("paired bootstrap: %+.1f, 95%% interval [%+.1f, %+.1f], %s", d.Mean, d.Lo, d.Hi, verdict), d.Significant()
}

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
		var gs []group
		for _, gi := range sr.groups {
			g := s.groups[gi]
			if m, _, n := g.stat(rsum); n > 0 {
				ks, ys, gs = append(ks, float64(g.runs[0].Codes)), append(ys, m), append(gs, g)
			}
		}
		if len(gs) < 2 {
			continue
		}
		best := 0
		for i := range ys {
			if ys[i] > ys[best] {
				best = i
			}
		}
		var pts []string
		for i := range ks {
			pts = append(pts, fmt.Sprintf("k=%g: %s", ks[i], fixed(ys[i], 1)))
		}
		fmt.Fprintf(&b, "- **Codes, %s**: rSum %s. Per code added: %+.2f rSum (least-squares slope over k)",
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
		// Inflating against the fewest codes (no codes when the sweep has k = 0).
		if best != 0 {
			t, sig := bootstrapText(gs[best], gs[0])
			fmt.Fprintf(&b, " The best, k=%g, against k=%g: %s.", ks[best], ks[0], t)
			switch {
			case ks[0] == 0 && sig:
				b.WriteString(" Inflating helps here, as the paper claims.")
			case ks[0] == 0:
				b.WriteString(" The gain is not significant: the paper's claim that inflating helps is not reproduced here.")
			}
		} else {
			fmt.Fprintf(&b, " More codes do not beat k=%g", ks[0])
			if ks[0] == 0 {
				b.WriteString(": the paper's claim that inflating helps is not reproduced here")
			}
			b.WriteString(".")
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
		case !strings.Contains(sched, ">>"): // a re-ranking cascade is no late-interaction model
			late = append(late, i)
		}
	}
	if len(ones) < 2 {
		return ""
	}
	mean := func(i int) float64 { m, _, _ := s.groups[i].stat(rsum); return m }
	slices.SortStableFunc(ones, func(a, b int) int {
		if mean(a) > mean(b) {
			return -1
		}
		if mean(a) < mean(b) {
			return 1
		}
		return 0
	})
	top := s.groups[ones[0]]
	var b strings.Builder
	fmt.Fprintf(&b, "- **At 1x1** (one fragment per side, as cheap as a dual encoder), the most accurate is %s (schedule %s), rSum %s",
		top.label, top.runs[0].Schedule, fixed(mean(ones[0]), 1))
	if len(late) > 0 {
		bl := late[0]
		for _, i := range late {
			if mean(i) > mean(bl) {
				bl = i
			}
		}
		fmt.Fprintf(&b, ", %.0f%% of the best late-interaction configuration's (%s, %s)",
			100*mean(ones[0])/mean(bl), s.groups[bl].label, fixed(mean(bl), 1))
	}
	b.WriteString(". Against it:\n")
	for _, i := range ones[1:] {
		t, _ := bootstrapText(top, s.groups[i])
		fmt.Fprintf(&b, "  - %s (schedule %s): rSum %s; %s\n", s.groups[i].label, s.groups[i].runs[0].Schedule, fixed(mean(i), 1), t)
	}
	return b.String()
}

func costFindings(s summary) string {
	type pt struct {
		g             group
		r, ms, floats float64
	}
	var pts []pt
	for _, g := range s.groups {
		r, _, n := g.stat(rsum)
		ms, _, nm := g.stat(func(r Row) float64 { return r.QueryMs })
		fl, _, _ := g.stat(func(r Row) float64 { return r.IndexFloats })
		if n > 0 && nm > 0 && ms > 0 {
			pts = append(pts, pt{g, r, ms, fl})
		}
	}
	if len(pts) < 2 {
		return ""
	}
	acc, fast := 0, 0
	for i, p := range pts {
		if p.r > pts[acc].r {
			acc = i
		}
		if p.ms < pts[fast].ms {
			fast = i
		}
	}
	if acc == fast {
		return fmt.Sprintf("- **Cost**: %s is both the most accurate (rSum %s) and the fastest (%s ms per query, %s floats per image).\n",
			pts[acc].g.label, fixed(pts[acc].r, 1), sig3(pts[acc].ms), count(pts[acc].floats))
	}
	a, f := pts[acc], pts[fast]
	return fmt.Sprintf("- **Cost**: the most accurate, %s (rSum %s), takes %s ms per text query and stores %s floats per image; "+
		"the fastest, %s (rSum %s), %s ms and %s floats: %sx the latency and %sx the index for %+.1f rSum.\n",
		a.g.label, fixed(a.r, 1), sig3(a.ms), count(a.floats), f.g.label, fixed(f.r, 1), sig3(f.ms), count(f.floats),
		sig3(a.ms/f.ms), sig3(a.floats/f.floats), a.r-f.r)
}
