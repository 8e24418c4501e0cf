package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// summary is an experiment's finished runs grouped by configuration (every
// identity value but the seed), with each configuration's rSum compared to
// the best one's by the paired bootstrap.
type summary struct {
	groups []group
	l      labeller
	keys   []string // identity keys (model aside) that differ between groups: the table's columns
	best   int      // index of the group with the highest mean rSum, -1 if none
	// vsBest[i] is group i's difference from the best group (best minus
	// group i); nil for the best group itself and where it cannot be
	// computed, with the reason in untested[i].
	vsBest   []*Difference
	untested []string
}

func summarize(rows []Row) summary {
	// Labels from every run, failed ones too, so that they match the
	// missing-runs list.
	l := newLabeller(rows)
	s := summary{groups: groupRuns(rows, l), l: l, best: -1}
	var firsts []Row
	for _, g := range s.groups {
		firsts = append(firsts, g.runs[0])
	}
	for _, k := range varyingKeys(firsts) {
		if k != "model" {
			s.keys = append(s.keys, k)
		}
	}
	bestMean := math.Inf(-1)
	for i, g := range s.groups {
		if m, _, n := g.stat(rsum); n > 0 && m > bestMean {
			s.best, bestMean = i, m
		}
	}
	s.vsBest = make([]*Difference, len(s.groups))
	s.untested = make([]string, len(s.groups))
	if s.best < 0 {
		return s
	}
	best := s.groups[s.best].ranksBySeed()
	for i, g := range s.groups {
		if i == s.best {
			continue
		}
		d, err := PairedBootstrap(best, g.ranksBySeed(), BootstrapResamples, BootstrapSeed)
		if err != nil {
			s.untested[i] = strings.TrimPrefix(err.Error(), "reports: bootstrap: ")
			continue
		}
		s.vsBest[i] = &d
	}
	return s
}

// ranksBySeed maps each seed of the group to its newest run's ranks, for
// the runs that stored them.
func (g group) ranksBySeed() map[int64]metrics.QueryRanks {
	out := map[int64]metrics.QueryRanks{}
	newest := map[int64]int64{}
	for _, r := range g.runs {
		if r.HasRanks() && r.RunID > newest[r.Seed] {
			out[r.Seed], newest[r.Seed] = r.Ranks, r.RunID
		}
	}
	return out
}

// seeds lists the distinct seeds of the group's finished runs, sorted.
func (g group) seeds() []int64 {
	var s []int64
	for _, r := range g.runs {
		if !slices.Contains(s, r.Seed) {
			s = append(s, r.Seed)
		}
	}
	slices.Sort(s)
	return s
}

// notSignificant reports whether group i's rSum differs from the best by
// less than the bootstrap can tell from zero.
func (s summary) notSignificant(i int) bool {
	return s.vsBest[i] != nil && !s.vsBest[i].Significant()
}

// metricColumn is one numeric column of the configuration tables.
type metricColumn struct {
	head   string // Markdown
	latex  string
	value  func(Row) float64
	format func(float64) string
	higher bool // higher is better (recalls, rSum); else lower (cost)
}

func oneDecimal(x float64) string { return fixed(x, 1) }

var metricColumns = []metricColumn{
	{"i2t R@1", `R@1`, func(r Row) float64 { return r.I2T[0] }, oneDecimal, true},
	{"R@5", `R@5`, func(r Row) float64 { return r.I2T[1] }, oneDecimal, true},
	{"R@10", `R@10`, func(r Row) float64 { return r.I2T[2] }, oneDecimal, true},
	{"t2i R@1", `R@1`, func(r Row) float64 { return r.T2I[0] }, oneDecimal, true},
	{"R@5", `R@5`, func(r Row) float64 { return r.T2I[1] }, oneDecimal, true},
	{"R@10", `R@10`, func(r Row) float64 { return r.T2I[2] }, oneDecimal, true},
	{"rSum", `rSum`, rsum, oneDecimal, true},
	{"interactions", `Inter.`, func(r Row) float64 { return r.Interactions }, count, false},
	{"query ms", `Query ms`, func(r Row) float64 { return r.QueryMs }, sig3, false},
	{"index floats/image", `Floats/img`, func(r Row) float64 { return r.IndexFloats }, count, false},
}

// rsumColumn is the index of rSum in metricColumns, the column that
// carries the significance marker.
var rsumColumn = slices.IndexFunc(metricColumns, func(c metricColumn) bool { return c.head == "rSum" })

// bestMeans returns each column's best mean over the groups (NaN where no
// group has the value).
func (s summary) bestMeans() []float64 {
	best := make([]float64, len(metricColumns))
	for i, c := range metricColumns {
		best[i] = math.NaN()
		for _, g := range s.groups {
			if m, _, n := g.stat(c.value); n > 0 && (math.IsNaN(best[i]) || (c.higher && m > best[i]) || (!c.higher && m < best[i])) {
				best[i] = m
			}
		}
	}
	return best
}

// cellText formats a column of a group as "mean ± sd" (the mean alone for
// one run, "" when unknown) and says whether it is the column's best.
func (s summary) cellText(g group, c metricColumn, best float64) (text string, isBest bool) {
	m, sd, n := g.stat(c.value)
	if n == 0 {
		return "", false
	}
	text = c.format(m)
	// A cost fixed by the configuration (interactions, index size) has a
	// deviation of exactly 0 that says nothing; a recall's 0 says the seeds
	// agreed, and is shown.
	if !math.IsNaN(sd) && (sd != 0 || c.higher) {
		text += " ± " + c.format(sd)
	}
	return text, m == best
}

// identityValue is a group's value of an identity key.
func (g group) identityValue(key string) string {
	if v, ok := g.runs[0].identity()[key]; ok {
		return v
	}
	return na
}

// ConfigTable renders the finished runs as one Markdown table row per
// configuration: the model, one column per identity key that differs
// between configurations, the seeds, and each metric as mean ± sd over
// seeds, the best of each column in bold. A † marks an rSum whose
// difference from the best the paired bootstrap over test queries does not
// find significant.
func ConfigTable(rows []Row) string { return configTable(summarize(rows)) }

func configTable(s summary) string {
	if len(s.groups) == 0 {
		return "_No finished runs._\n"
	}
	best := s.bestMeans()
	var b strings.Builder
	head := []string{"Model"}
	align := []string{"---"}
	for _, k := range s.keys {
		head, align = append(head, k), append(align, "---")
	}
	head, align = append(head, "seeds"), append(align, "---:")
	for _, c := range metricColumns {
		head, align = append(head, c.head), append(align, "---:")
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Join(align, "|") + "|\n")
	for i, g := range s.groups {
		cells := []string{cell(g.model)}
		for _, k := range s.keys {
			cells = append(cells, cell(g.identityValue(k)))
		}
		cells = append(cells, fmt.Sprint(len(g.seeds())))
		for j, c := range metricColumns {
			text, isBest := s.cellText(g, c, best[j])
			switch {
			case text == "":
				text = na
			case isBest:
				text = "**" + text + "**"
			}
			if j == rsumColumn && s.notSignificant(i) {
				text += " †"
			}
			cells = append(cells, text)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// significanceSection lists each configuration's rSum difference from the
// best with its 95% interval, and says which the bootstrap cannot tell
// from the best.
func significanceSection(s summary) string {
	if s.best < 0 {
		return "No finished run with an rSum: nothing to compare.\n"
	}
	var b strings.Builder
	bestLabel := s.groups[s.best].label
	fmt.Fprintf(&b, "Paired bootstrap over test queries (%d resamples, seed %d; image and caption queries resampled, the same draw for every seed and both configurations; seeds paired): "+
		"rSum of the best configuration, **%s**, minus each other's, with its 95%% interval. "+
		"† in the tables: the interval contains 0, so the difference is not significant.\n\n",
		BootstrapResamples, BootstrapSeed, cell(bestLabel))
	b.WriteString("| Configuration | rSum difference from the best | 95% interval | paired seeds | significant |\n|---|---:|---:|---|---|\n")
	for i, g := range s.groups {
		if i == s.best {
			continue
		}
		d := s.vsBest[i]
		if d == nil {
			fmt.Fprintf(&b, "| %s | n/a | n/a | none | not tested: %s |\n", cell(g.label), cell(s.untested[i]))
			continue
		}
		sig := "yes"
		if !d.Significant() {
			sig = "**no** †"
		}
		fmt.Fprintf(&b, "| %s | %+.1f | [%+.1f, %+.1f] | %s | %s |\n", cell(g.label), d.Mean, d.Lo, d.Hi, seedList(d.Seeds), sig)
	}
	return b.String()
}

func seedList(seeds []int64) string {
	var s []string
	for _, x := range seeds {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}

// missingSection lists configurations with fewer finished seeds than the
// experiment's seeds (every seed any run has): the gaps a mean over seeds
// would otherwise hide.
func missingSection(rows []Row) string {
	var all []int64
	for _, r := range rows {
		if !slices.Contains(all, r.Seed) {
			all = append(all, r.Seed)
		}
	}
	slices.Sort(all)
	l := newLabeller(rows)
	var labels []string
	have := map[string][]int64{}
	for _, r := range rows {
		lab := l.label(r)
		if !slices.Contains(labels, lab) {
			labels = append(labels, lab)
		}
		if r.Finished() && !slices.Contains(have[lab], r.Seed) {
			have[lab] = append(have[lab], r.Seed)
		}
	}
	var b strings.Builder
	for _, lab := range labels {
		var missing []int64
		for _, s := range all {
			if !slices.Contains(have[lab], s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(&b, "- %s: %d of %d seeds finished; missing seed %s\n", lab, len(have[lab]), len(all), seedList(missing))
		}
	}
	if b.Len() == 0 {
		return fmt.Sprintf("None: every configuration finished every seed (%s).\n", seedList(all))
	}
	return b.String()
}
