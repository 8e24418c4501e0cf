package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/metrics"
)

// summary is an experiment's finished runs grouped by configuration (every
// identity value but the seed), the best configuration chosen on
// validation, and each other configuration's test rSum compared with the
// best's by the seed-aware bootstrap.
type summary struct {
	groups []group
	l      labeller
	keys   []string // identity keys (model aside) that differ between groups: the table's columns
	// best is the index of the group with the highest mean validation rSum
	// over its seeds, -1 when no group has validation results: the best is
	// never chosen on test numbers.
	best int
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
	s := summary{groups: groupRuns(rows, l), l: l}
	var firsts []Row
	for _, g := range s.groups {
		firsts = append(firsts, g.runs[0])
	}
	for _, k := range varyingKeys(firsts) {
		if k != "model" {
			s.keys = append(s.keys, k)
		}
	}
	s.best = bestByValidation(s.groups, nil)
	s.vsBest = make([]*Difference, len(s.groups))
	s.untested = make([]string, len(s.groups))
	if s.best < 0 {
		return s
	}
	for i, g := range s.groups {
		if i != s.best {
			s.vsBest[i], s.untested[i] = compareGroups(s.groups[s.best], g)
		}
	}
	return s
}

// bestByValidation returns the index of the group with the highest mean
// validation rSum over its seeds among groups[idx] (every group when idx
// is nil), or -1 when none of them has a validation result. A tie goes
// to the first.
func bestByValidation(groups []group, idx []int) int {
	if idx == nil {
		for i := range groups {
			idx = append(idx, i)
		}
	}
	best, bestMean := -1, math.Inf(-1)
	for _, i := range idx {
		if m, _, n := groups[i].stat(valRSum); n > 0 && m > bestMean {
			best, bestMean = i, m
		}
	}
	return best
}

// compareGroups compares a's test rSum with b's by the seed-aware
// bootstrap, or says why it cannot.
func compareGroups(a, b group) (*Difference, string) {
	ra, rb := a.ranksBySeed(), b.ranksBySeed()
	for _, g := range []struct {
		label string
		n     int
	}{{a.label, len(ra)}, {b.label, len(rb)}} {
		switch g.n {
		case 0:
			return nil, g.label + " stored no per-query ranks"
		case 1:
			return nil, g.label + " has one seed with ranks: its seed-to-seed spread is unknown"
		}
	}
	d, err := HierarchicalBootstrap(ra, rb, BootstrapResamples, BootstrapSeed)
	if err != nil {
		return nil, strings.TrimPrefix(err.Error(), "reports: bootstrap: ")
	}
	return &d, ""
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

// bySeed returns the group's runs ordered by seed, then run id.
func (g group) bySeed() []Row {
	runs := slices.Clone(g.runs)
	slices.SortStableFunc(runs, func(a, b Row) int {
		if c := cmp.Compare(a.Seed, b.Seed); c != 0 {
			return c
		}
		return cmp.Compare(a.RunID, b.RunID)
	})
	return runs
}

// notSignificant reports whether group i is marked † in the tables: a
// best was chosen, and the seed-aware test does not find group i's rSum
// significantly different from the best's (or cannot test it).
func (s summary) notSignificant(i int) bool {
	return s.best >= 0 && i != s.best && (s.vsBest[i] == nil || !s.vsBest[i].Significant())
}

// anyNotSignificant reports whether some group is marked †.
func (s summary) anyNotSignificant() bool {
	for i := range s.groups {
		if s.notSignificant(i) {
			return true
		}
	}
	return false
}

// convergedShare is how much of its configuration's best seed's
// validation rSum a run must reach to count as converged.
const convergedShare = 0.9

// bestSeed returns the group's run with the highest validation rSum;
// ok is false when no run of the group has one.
func (g group) bestSeed() (best Row, ok bool) {
	for _, r := range g.runs {
		if r.HasValidation() && (!ok || r.ValRSum > best.ValRSum) {
			best, ok = r, true
		}
	}
	return best, ok
}

// notConverged reports whether run r of the group stayed below
// convergedShare of the group's best seed's validation rSum (false when
// either has no validation result: unknown is not flagged).
func (g group) notConverged(r Row) bool {
	best, ok := g.bestSeed()
	return ok && r.HasValidation() && r.ValRSum < convergedShare*best.ValRSum
}

// notConvergedMark follows a value of a run that did not converge.
const notConvergedMark = "‡"

// column is one column of the configuration tables, Markdown and LaTeX.
type column struct {
	head, latex string
	// cell is a group's text ("" when unknown).
	cell func(g group) string
	// bold: the best configuration's cell is bold; dagger: the column
	// carries the † of a configuration not significantly different from
	// the best.
	bold, dagger bool
	// cost: the column is in the second Markdown table (selected epochs,
	// rSum per seed and cost) rather than the first (accuracy).
	cost bool
}

func oneDecimal(x float64) string { return fixed(x, 1) }

// meanSDColumn is a column of a value's mean ± sd over the group's runs (the
// mean alone for one run). A cost fixed by the configuration
// (interactions, index size) has a deviation of exactly 0 that says
// nothing and is left out (cost: true); a recall's 0 says the seeds
// agreed, and is shown.
func meanSDColumn(value func(Row) float64, format func(float64) string, cost bool) func(group) string {
	return func(g group) string {
		m, sd, n := g.stat(value)
		if n == 0 {
			return ""
		}
		text := format(m)
		if !math.IsNaN(sd) && (sd != 0 || !cost) {
			text += " ± " + format(sd)
		}
		return text
	}
}

// perSeedColumn is a column of a value of each run, by seed, separated by
// " / ", each run that did not converge marked when mark is set.
func perSeedColumn(value func(Row) float64, format func(float64) string, mark bool) func(group) string {
	return func(g group) string {
		var parts []string
		known := false
		for _, r := range g.bySeed() {
			v := value(r)
			known = known || !math.IsNaN(v)
			text := format(v)
			if mark && g.notConverged(r) {
				text += notConvergedMark
			}
			parts = append(parts, text)
		}
		if !known {
			return ""
		}
		return strings.Join(parts, " / ")
	}
}

func epochText(x float64) string {
	if math.IsNaN(x) {
		return na
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func valRSum(r Row) float64 { return r.ValRSum }

func queryMs(r Row) float64 { return r.QueryMs }

// columnDecimals is how many decimals every value of a column gets, so
// that a column reads alike from row to row (and a mean like its sd): two
// significant digits for the smallest mean of the groups, between 0 and 4.
func columnDecimals(groups []group, value func(Row) float64) int {
	smallest := math.Inf(1)
	for _, g := range groups {
		if m, _, n := g.stat(value); n > 0 && m > 0 {
			smallest = math.Min(smallest, m)
		}
	}
	if math.IsInf(smallest, 1) {
		return 2
	}
	return min(4, max(0, 1-int(math.Floor(math.Log10(smallest)))))
}

// columns are the configuration tables' columns for s: recalls and rSum
// with one decimal; query ms with the decimals that its smallest mean
// needs, the same in every row (columnDecimals).
func (s summary) columns() []column {
	ms := columnDecimals(s.groups, queryMs)
	msText := func(x float64) string { return fixed(x, ms) }
	return []column{
		{head: "val rSum", latex: `Val rSum`, cell: meanSDColumn(valRSum, oneDecimal, false), bold: true},
		{head: "epoch", latex: `Epoch`, cell: perSeedColumn(func(r Row) float64 { return r.SelectedEpoch }, epochText, false), cost: true},
		{head: "i2t R@1", latex: `R@1`, cell: meanSDColumn(func(r Row) float64 { return r.I2T[0] }, oneDecimal, false)},
		{head: "R@5", latex: `R@5`, cell: meanSDColumn(func(r Row) float64 { return r.I2T[1] }, oneDecimal, false)},
		{head: "R@10", latex: `R@10`, cell: meanSDColumn(func(r Row) float64 { return r.I2T[2] }, oneDecimal, false)},
		{head: "t2i R@1", latex: `R@1`, cell: meanSDColumn(func(r Row) float64 { return r.T2I[0] }, oneDecimal, false)},
		{head: "R@5", latex: `R@5`, cell: meanSDColumn(func(r Row) float64 { return r.T2I[1] }, oneDecimal, false)},
		{head: "R@10", latex: `R@10`, cell: meanSDColumn(func(r Row) float64 { return r.T2I[2] }, oneDecimal, false)},
		{head: "rSum", latex: `rSum`, cell: meanSDColumn(rsum, oneDecimal, false), bold: true, dagger: true},
		{head: "rSum per seed", latex: `rSum per seed`, cell: perSeedColumn(rsum, oneDecimal, true), cost: true},
		{head: "interactions", latex: `Inter.`, cell: meanSDColumn(func(r Row) float64 { return r.Interactions }, count, true), cost: true},
		{head: "query ms", latex: `Query ms`, cell: meanSDColumn(queryMs, msText, true), cost: true},
		{head: "index floats/image", latex: `Floats/img`, cell: meanSDColumn(func(r Row) float64 { return r.IndexFloats }, count, true), cost: true},
	}
}

// tableCell is group i's text in column c for a table: "" when unknown,
// else the text with the best configuration in bold (through bold) and
// the marks (through dagger) a table format writes its own way.
func (s summary) tableCell(c column, i int, bold func(string) string, dagger string) string {
	text := c.cell(s.groups[i])
	if text == "" {
		return ""
	}
	if c.bold && i == s.best {
		text = bold(text)
	}
	if c.dagger && s.notSignificant(i) {
		text += dagger
	}
	return text
}

// anyNotConverged reports whether some run of the summary did not converge.
func (s summary) anyNotConverged() bool {
	for _, g := range s.groups {
		if slices.ContainsFunc(g.runs, g.notConverged) {
			return true
		}
	}
	return false
}

// identityValue is a group's value of an identity key.
func (g group) identityValue(key string) string {
	if v, ok := g.runs[0].identity()[key]; ok {
		return v
	}
	return na
}

// maxSettingColumns is how many settings the configuration tables show as
// columns: an experiment that varies more (an exploratory sweep) lists each
// configuration's settings under the tables instead, so that the tables
// still fit a page.
const maxSettingColumns = 5

// settingColumns splits the keys that differ between configurations into
// the tables' columns and the keys listed under the tables, one line per
// configuration that has them: the sparse keys that most configurations
// do not have (n/a in more than half of the rows, like the cross encoder's
// settings, which only cascades have), or every key when there are more
// than maxSettingColumns (all).
func (s summary) settingColumns() (cols, listed []string, all bool) {
	for _, k := range s.keys {
		missing := 0
		for _, g := range s.groups {
			if _, ok := g.runs[0].identity()[k]; !ok {
				missing++
			}
		}
		if 2*missing > len(s.groups) {
			listed = append(listed, k)
		} else {
			cols = append(cols, k)
		}
	}
	if len(cols) > maxSettingColumns {
		return nil, s.keys, true
	}
	return cols, listed, false
}

// settingNote is the line under the tables that lists one configuration's
// settings that are not columns.
type settingNote struct {
	mark, model, text string
}

// settingNotes lists, for each configuration that has some of the listed
// settings, its settings ("fast>>cross: cross.epochs=20, ..."), marked
// with the configuration's number (as in the figures' keys). marks[i] is
// group i's mark, "" for none.
func (s summary) settingNotes(listed []string) (marks []string, notes []settingNote) {
	marks = make([]string, len(s.groups))
	for i, g := range s.groups {
		var parts []string
		id := g.runs[0].identity()
		for _, k := range listed {
			if v, ok := id[k]; ok {
				parts = append(parts, k+"="+v)
			}
		}
		if len(parts) == 0 {
			continue
		}
		marks[i] = strconv.Itoa(i + 1)
		notes = append(notes, settingNote{marks[i], g.model, strings.Join(parts, ", ")})
	}
	return marks, notes
}

// ConfigTable renders the finished runs as one row per configuration in
// two Markdown tables, so that each fits a page: first the accuracy (the
// model, one column per identity key that differs between configurations,
// the seeds, the validation rSum and each test recall and rSum as mean ±
// sd over seeds), then the selected epoch and test rSum of each seed and
// the cost. The configuration with the highest mean validation rSum is in
// bold (none without validation results); a † marks an rSum that the
// seed-aware bootstrap does not find significantly different from the
// best's, a ‡ a seed that did not converge (validation rSum below 90% of
// its configuration's best seed's). Settings that most configurations do
// not have (a cross encoder's) are listed under the tables, keyed by the
// configuration's number ([6], as in the figures), rather than as columns
// of n/a; so are all settings when more than maxSettingColumns vary.
func ConfigTable(rows []Row) string { return configTable(summarize(rows)) }

func configTable(s summary) string {
	if len(s.groups) == 0 {
		return "_No finished runs._\n"
	}
	keys, listed, all := s.settingColumns()
	marks, notes := s.settingNotes(listed)
	bold := func(s string) string { return "**" + s + "**" }
	cols := s.columns()
	var b strings.Builder
	for part, cost := range []bool{false, true} {
		if part == 1 {
			b.WriteString("\nThe selected epoch and test rSum of each seed, and the cost, of the same configurations:\n\n")
		}
		head := []string{"Model"}
		align := []string{"---"}
		for _, k := range keys {
			head, align = append(head, k), append(align, "---")
		}
		if !cost {
			head, align = append(head, "seeds"), append(align, "---:")
		}
		for _, c := range cols {
			if c.cost == cost {
				head, align = append(head, c.head), append(align, "---:")
			}
		}
		b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Join(align, "|") + "|\n")
		for i, g := range s.groups {
			label := cell(g.model)
			if i == s.best {
				label = bold(label)
			}
			if marks[i] != "" {
				label += " [" + marks[i] + "]"
			}
			cells := []string{label}
			for _, k := range keys {
				cells = append(cells, cell(g.identityValue(k)))
			}
			if !cost {
				cells = append(cells, fmt.Sprint(len(g.seeds())))
			}
			for _, c := range cols {
				if c.cost != cost {
					continue
				}
				text := s.tableCell(c, i, bold, " †")
				if text == "" {
					text = na
				}
				cells = append(cells, text)
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	if len(notes) > 0 {
		if all {
			b.WriteString("\nThe settings of each configuration (those that differ between configurations):\n\n")
		} else {
			b.WriteString("\nSettings that only these configurations have:\n\n")
		}
		for _, n := range notes {
			fmt.Fprintf(&b, "- [%s] %s: %s\n", n.mark, n.model, n.text)
		}
	}
	return b.String()
}

// significanceSection lists each configuration's rSum difference from the
// best with its 95% interval and per-seed differences, and says which the
// seed-aware test cannot tell from the best.
func significanceSection(s summary) string {
	switch {
	case len(s.groups) == 0:
		return "No finished run: nothing to compare.\n"
	case s.best < 0:
		return "No run has validation results, so no configuration is chosen as the best and none is compared with one: " +
			"the best is chosen on validation only, since choosing it on these test numbers would select on the test set.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Seed-aware bootstrap (%d resamples, seed %d): the test rSum of the best configuration, **%s** (the highest mean validation rSum), "+
		"minus each other's, with its 95%% interval and, for configurations with the same seeds, each seed's difference. %s "+
		"† in the tables: not significant by this rule, or not testable.\n\n",
		BootstrapResamples, BootstrapSeed, cell(s.groups[s.best].label), SignificanceRule)
	b.WriteString("| Configuration | rSum difference from the best | 95% interval | seeds | per-seed differences | significant |\n|---|---:|---:|---|---:|---|\n")
	for i, g := range s.groups {
		if i == s.best {
			continue
		}
		d := s.vsBest[i]
		if d == nil {
			fmt.Fprintf(&b, "| %s | n/a | n/a | n/a | n/a | not tested: %s † |\n", cell(g.label), cell(s.untested[i]))
			continue
		}
		sig := "yes"
		if !d.Significant() {
			sig = "**no**: " + d.Why() + " †"
		}
		fmt.Fprintf(&b, "| %s | %+.1f | [%+.1f, %+.1f] | %s | %s | %s |\n", cell(g.label), d.Mean, d.Lo, d.Hi, seedsText(*d), perSeedText(*d), sig)
	}
	return b.String()
}

// seedsText names the seeds a difference compared.
func seedsText(d Difference) string {
	if d.Paired {
		return seedList(d.SeedsA) + " (paired)"
	}
	return "best: " + seedList(d.SeedsA) + "; this: " + seedList(d.SeedsB)
}

// perSeedText lists a paired difference's per-seed differences.
func perSeedText(d Difference) string {
	if !d.Paired {
		return "n/a (unpaired)"
	}
	var parts []string
	for _, x := range d.PerSeed {
		parts = append(parts, fmt.Sprintf("%+.1f", x))
	}
	return strings.Join(parts, " / ")
}

func seedList(seeds []int64) string {
	var s []string
	for _, x := range seeds {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}

// convergenceSection names the runs whose validation rSum stayed below
// convergedShare of their configuration's best seed's. They stay in
// every mean and test: leaving them out would choose seeds after the
// fact; the tables mark them instead.
func convergenceSection(s summary) string {
	var flagged, unknown []string
	judged := false
	for _, g := range s.groups {
		best, ok := g.bestSeed()
		judged = judged || ok
		for _, r := range g.bySeed() {
			switch {
			case g.notConverged(r):
				flagged = append(flagged, fmt.Sprintf("- run %d (%s, seed %d): validation rSum %s, %.0f%% of its configuration's best seed (seed %d, run %d: %s); test rSum %s\n",
					r.RunID, g.label, r.Seed, fixed(r.ValRSum, 1), 100*r.ValRSum/best.ValRSum, best.Seed, best.RunID, fixed(best.ValRSum, 1), fixed(r.RSum, 1)))
			case ok && !r.HasValidation():
				unknown = append(unknown, fmt.Sprintf("run %d (%s, seed %d)", r.RunID, g.label, r.Seed))
			}
		}
	}
	if !judged {
		return "No run has validation results: convergence cannot be judged.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "A run is flagged (%s in the tables) when its validation rSum is below %.0f%% of the best seed's of its configuration. "+
		"Flagged runs stay in the means and the significance tests: leaving them out would choose seeds after seeing them.\n\n",
		notConvergedMark, 100*convergedShare)
	if len(flagged) == 0 {
		b.WriteString("None: every run with validation results reached it.\n")
	}
	for _, f := range flagged {
		b.WriteString(f)
	}
	if len(unknown) > 0 {
		fmt.Fprintf(&b, "\nNot judged (no validation results): %s.\n", strings.Join(unknown, ", "))
	}
	return b.String()
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
