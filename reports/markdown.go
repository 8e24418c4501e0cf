package reports

import (
	"fmt"
	"math"
	"strings"
)

// citation is the paper the reports reproduce.
const citation = `H. Liu, T. Yu, P. Li, "Inflate and Shrink: Enriching and Reducing Interactions ` +
	`for Fast Text-Image Retrieval", EMNLP 2021`

// MarkdownTable renders every finished run (other runs are left out:
// their metrics are missing) as one line, in the order of rows: its
// validation rSum (‡ when it stayed below 90% of its configuration's best
// seed's), the selected epoch of the epochs trained, the test recalls and
// rSum, cost and training time. Recalls and rSum have one decimal, query
// ms three significant digits; missing values read "n/a". A model whose
// runs differ in codes or schedule gets them appended to its name.
// Nothing is in bold: a best is chosen per configuration (ConfigTable),
// never per run. Without finished runs it returns a one-line note.
func MarkdownTable(rows []Row) string {
	done := finished(rows)
	if len(done) == 0 {
		return "_No finished runs._\n"
	}
	l := newLabeller(done)
	groups := map[string]group{}
	for _, g := range groupRuns(done, l) {
		groups[g.label] = g
	}
	var b strings.Builder
	b.WriteString("| Model | Seed | val rSum | epoch | i2t R@1 | R@5 | R@10 | t2i R@1 | R@5 | R@10 | rSum | interactions | query ms | index floats/image | train s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range done {
		label := l.label(r)
		val := fixed(r.ValRSum, 1)
		if groups[label].notConverged(r) {
			val += notConvergedMark
		}
		epoch := epochText(r.SelectedEpoch)
		if !math.IsNaN(r.EpochsTrained) {
			epoch += " of " + epochText(r.EpochsTrained)
		}
		cells := []string{cell(label), fmt.Sprint(r.Seed), val, epoch,
			fixed(r.I2T[0], 1), fixed(r.I2T[1], 1), fixed(r.I2T[2], 1),
			fixed(r.T2I[0], 1), fixed(r.T2I[1], 1), fixed(r.T2I[2], 1),
			fixed(r.RSum, 1), count(r.Interactions), sig3(r.QueryMs), count(r.IndexFloats), fixed(r.TrainSeconds, 1)}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// chanceSection states the rSum that random scores reach on the test set and,
// for each model, whether its rSum is at least ten times that: a model below
// it has barely learned anything, whatever its rank among the others.
func chanceSection(rows []Row, l labeller) string {
	var b strings.Builder
	var chances []float64
	for _, r := range finished(rows) {
		if !math.IsNaN(r.ChanceRSum) && !containsFloat(chances, r.ChanceRSum) {
			chances = append(chances, r.ChanceRSum)
		}
	}
	switch len(chances) {
	case 0:
		b.WriteString("chance rSum for this test set: n/a (not recorded by any finished run)\n")
		return b.String()
	case 1:
		fmt.Fprintf(&b, "chance rSum for this test set: %s (10x: %s)\n\n", sig3(chances[0]), sig3(10*chances[0]))
	default:
		var vs []string
		for _, c := range chances {
			vs = append(vs, fmt.Sprintf("%s (10x: %s)", sig3(c), sig3(10*c)))
		}
		fmt.Fprintf(&b, "chance rSum differs between runs (different test sets?): %s; each model below is held to its own runs' chance level.\n\n",
			strings.Join(vs, ", "))
	}
	for _, g := range groupRuns(rows, l) {
		mean, _, n := g.stat(rsum)
		chance, _, _ := g.stat(func(r Row) float64 { return r.ChanceRSum })
		switch {
		case n == 0 || math.IsNaN(chance):
			fmt.Fprintf(&b, "- %s: cannot tell (rSum or chance level not recorded)\n", g.label)
		case mean >= 10*chance:
			fmt.Fprintf(&b, "- %s: rSum %s >= 10x chance (%s): yes\n", g.label, fixed(mean, 1), sig3(10*chance))
		default:
			fmt.Fprintf(&b, "- %s: rSum %s < 10x chance (%s): no, close to chance\n", g.label, fixed(mean, 1), sig3(10*chance))
		}
	}
	return b.String()
}

func containsFloat(xs []float64, x float64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// claim is one of the paper's comparisons: better's rSum should exceed worse's.
type claim struct {
	better, worse string
	says          string
}

var claims = []claim{
	{"inflated", "base", "inflating the encoders with learnable codes makes late interaction more accurate"},
	{"inflated>base", "base", "a base model distilled from the inflated teacher beats base trained alone"},
	{"inflated>base>fast", "fast", "a fast model at the end of the shrink chain beats fast trained alone"},
	{"base", "fast", "late interaction (base) is more accurate than the dual encoder (fast)"},
}

// findings checks each of the paper's claims against the measured rSums
// (means over seeds where there are several) and says plainly which hold.
func findings(rows []Row, l labeller) string {
	gs := groupRuns(rows, l)
	var b strings.Builder
	for _, c := range claims {
		fmt.Fprintf(&b, "- **%s vs %s** (paper: %s): ", c.better, c.worse, c.says)
		var better, worse []group
		for _, g := range gs {
			if _, _, n := g.stat(rsum); n == 0 {
				continue
			}
			switch g.model {
			case c.better:
				better = append(better, g)
			case c.worse:
				worse = append(worse, g)
			}
		}
		if len(better) == 0 || len(worse) == 0 {
			var missing []string
			for _, m := range []struct {
				name string
				gs   []group
			}{{c.better, better}, {c.worse, worse}} {
				if len(m.gs) == 0 {
					missing = append(missing, m.name)
				}
			}
			fmt.Fprintf(&b, "cannot be checked: no finished %s run with an rSum.\n", strings.Join(missing, " or "))
			continue
		}
		var parts []string
		for _, gb := range better {
			for _, gw := range worse {
				parts = append(parts, compare(gb, gw))
			}
		}
		if len(parts) == 1 {
			b.WriteString(parts[0] + "\n")
		} else {
			b.WriteString("one comparison per configuration:\n")
			for _, p := range parts {
				b.WriteString("  - " + p + "\n")
			}
		}
		if c.better == "base" && c.worse == "fast" {
			for _, gb := range better {
				for _, gw := range worse {
					if s := speed(gb, gw); s != "" {
						b.WriteString("  " + s + "\n")
					}
				}
			}
		}
	}
	return b.String()
}

// compare states by how much a's test rSum beats b's, or that it does
// not, and whether the seed-aware test establishes the gap. It calls a
// gap significant only when the test does (interval and per-seed signs),
// and keeps the spread heuristic ("weak evidence") for gaps it cannot test.
func compare(a, b group) string {
	ma, sa, na := a.stat(rsum)
	mb, sb, nb := b.stat(rsum)
	diff := ma - mb
	var s string
	if na > 1 || nb > 1 {
		s = fmt.Sprintf("%s rSum %s vs %s %s (mean ± sd over seeds), difference %+.1f: ",
			a.label, meanSD(ma, sa, na), b.label, meanSD(mb, sb, nb), diff)
	} else {
		s = fmt.Sprintf("%s rSum %s vs %s %s, difference %+.1f: ", a.label, fixed(ma, 1), b.label, fixed(mb, 1), diff)
	}
	d, why := compareGroups(a, b)
	test := differenceText(d, why)
	switch sig := d != nil && d.Significant(); {
	case sig && d.Mean > 0:
		s += fmt.Sprintf("%s beats %s by %.1f rSum, as the paper claims (%s).", a.label, b.label, diff, test)
	case sig:
		s += fmt.Sprintf("%s does not beat %s: it is %.1f rSum lower (%s): not reproduced here.", a.label, b.label, -diff, test)
	case diff > 0:
		s += fmt.Sprintf("%s's mean rSum is %.1f higher, as the paper claims, but the gap is not established (%s).", a.label, diff, test)
	default:
		s += fmt.Sprintf("%s does not beat %s (%s): not reproduced here.", a.label, b.label, test)
	}
	if d != nil {
		return s
	}
	switch spread := math.Max(nanToZero(sa), nanToZero(sb)); {
	case na < 2 && nb < 2:
		s += " (One seed each: more seeds would tell the gap from noise.)"
	case math.Abs(diff) <= spread:
		s += fmt.Sprintf(" (The gap is within the seed-to-seed spread, sd up to %.1f: weak evidence.)", spread)
	}
	return s
}

// differenceText states a seed-aware comparison: the difference, its 95%
// interval, the per-seed differences of paired seeds and the verdict; or,
// when d is nil, why there is no test.
func differenceText(d *Difference, why string) string {
	if d == nil {
		return "no significance test: " + why
	}
	s := fmt.Sprintf("seed-aware bootstrap: %+.1f, 95%% interval [%+.1f, %+.1f]", d.Mean, d.Lo, d.Hi)
	if d.Paired {
		s += ", per seed " + perSeedText(*d)
	}
	if d.Significant() {
		return s + ": significant"
	}
	return s + ": not significant, " + d.Why()
}

// speed compares what the accurate model and the cheap model cost per query.
func speed(accurate, cheap group) string {
	ia, _, _ := accurate.stat(func(r Row) float64 { return r.Interactions })
	ic, _, _ := cheap.stat(func(r Row) float64 { return r.Interactions })
	qa, _, _ := accurate.stat(func(r Row) float64 { return r.QueryMs })
	qc, _, _ := cheap.stat(func(r Row) float64 { return r.QueryMs })
	var parts []string
	if !math.IsNaN(ia) && !math.IsNaN(ic) {
		parts = append(parts, fmt.Sprintf("interactions per pair: %s for %s against %s for %s",
			count(ic), cheap.label, count(ia), accurate.label))
	}
	if !math.IsNaN(qa) && !math.IsNaN(qc) && qc > 0 {
		parts = append(parts, fmt.Sprintf("a text query takes %s ms against %s ms (%sx faster)",
			sig3(qc), sig3(qa), sig3(qa/qc)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Cost: " + strings.Join(parts, "; ") + "."
}

func meanSD(mean, sd float64, n int) string {
	if n < 2 {
		return fixed(mean, 1) + " (1 seed)"
	}
	return fmt.Sprintf("%s ± %s (%d seeds)", fixed(mean, 1), fixed(sd, 1), n)
}

func nanToZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// problemsSection lists every run that did not finish, with its error
// message verbatim: a failure must be visible, never silently dropped.
func problemsSection(rows []Row) string {
	var b strings.Builder
	for _, r := range rows {
		if r.Finished() {
			continue
		}
		fmt.Fprintf(&b, "- run %d: %s (codes %d, schedule %q), seed %d: **%s**, started %s\n",
			r.RunID, r.Model, r.Codes, r.Schedule, r.Seed, r.Status, orUnknown(r.StartedAt))
		if r.Error != "" {
			fence := strings.Repeat("`", max(3, longestRun(r.Error, '`')+1))
			fmt.Fprintf(&b, "\n  %s\n", fence)
			for line := range strings.SplitSeq(strings.TrimRight(r.Error, "\n"), "\n") {
				b.WriteString("  " + line + "\n")
			}
			fmt.Fprintf(&b, "  %s\n\n", fence)
		} else if r.Status == StatusFailed {
			b.WriteString("  (no error message recorded)\n")
		}
	}
	if b.Len() == 0 {
		return "None: every run finished.\n"
	}
	return b.String()
}

// longestRun is the length of the longest run of c in s, so that a code fence
// around s can be made longer than any fence inside it.
func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := range len(s) {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
