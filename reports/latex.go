package reports

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// LatexTable renders the finished runs as LaTeX to paste into a paper
// (booktabs and graphicx), two floats with a caption and a label each,
// with the marks of ConfigTable: one row per configuration, the
// configuration with the highest mean validation rSum in bold, $^\dagger$
// on an rSum the seed-aware bootstrap does not find significantly
// different from the best's, $^\ddagger$ on a seed that did not converge
// (on the rSum of its configuration in the one-column table).
//
//   - A table for one column of a two-column paper (label tab:<experiment>):
//     the settings that differ between configurations, the test recalls
//     (mean over seeds), rSum (mean ± sd) and query latency.
//   - A table* across both columns (label tab:<experiment>-full): every
//     column of ConfigTable.
//
// Each is scaled down to its width when it is wider (\resizebox), never up.
// Values have the same decimals down a column. Settings that most
// configurations do not have (a cross encoder's), or every setting when
// more than maxSettingColumns vary, are in the caption, keyed to the
// configuration's number as a superscript on the model, rather than
// columns.
func LatexTable(rows []Row) string { return latexTable(summarize(rows)) }

// latexLabelChars are the characters an experiment name may not bring into
// a \label.
var latexLabelChars = regexp.MustCompile(`[^A-Za-z0-9:.-]+`)

func latexTable(s summary) string {
	experiment := "results"
	if len(s.groups) > 0 && s.groups[0].runs[0].Experiment != "" {
		experiment = s.groups[0].runs[0].Experiment
	}
	label := "tab:" + latexLabelChars.ReplaceAllString(experiment, "-")
	var b strings.Builder
	b.WriteString("% Rendered from results.db by package reports; requires \\usepackage{booktabs} and \\usepackage{graphicx}.\n")
	fmt.Fprintf(&b, "%% Two floats: a table for one column (\\ref{%s}: recalls, rSum and query latency) and a table* across both (\\ref{%s-full}: every column of the report).\n", label, label)
	b.WriteString(latexFloat(s, false, label))
	b.WriteString("\n")
	b.WriteString(latexFloat(s, true, label+"-full"))
	return b.String()
}

// latexFloat is one table float: compact (one column) or full (table*).
func latexFloat(s summary, full bool, label string) string {
	keys, listed, _ := s.settingColumns()
	marks, notes := s.settingNotes(listed)
	cols := s.columns()
	// The compact table: recalls as means, rSum as mean ± sd, query ms;
	// the seeds only when configurations differ in them (else the caption
	// says how many).
	var seedCounts []int
	for _, g := range s.groups {
		if n := len(g.seeds()); !slices.Contains(seedCounts, n) {
			seedCounts = append(seedCounts, n)
		}
	}
	showSeeds := full || len(seedCounts) > 1
	if !full {
		cols = slices.DeleteFunc(cols, func(c column) bool {
			return c.head == "val rSum" || c.head == "epoch" || c.head == "rSum per seed" || c.head == "interactions" || c.head == "index floats/image"
		})
		for i := range cols {
			if strings.Contains(cols[i].head, "R@") {
				cols[i].cell = meanOnly(cols[i].cell)
			}
			if cols[i].head == "query ms" {
				cols[i].latex = "ms"
			}
		}
	}
	first := 1 + len(keys) // 0-based index of the first value column
	if showSeeds {
		first++
	}
	recall := first + slices.IndexFunc(cols, func(c column) bool { return c.head == "i2t R@1" })
	n := first + len(cols)

	var b strings.Builder
	env, width := "table", `\columnwidth`
	if full {
		env, width = "table*", `\textwidth`
	}
	fmt.Fprintf(&b, "\\begin{%s}[t]\n\\centering\n", env)
	fmt.Fprintf(&b, "\\resizebox{\\ifdim\\width>%s%s\\else\\width\\fi}{!}{%%\n", width, width)
	b.WriteString("\\begin{tabular}{l" + strings.Repeat("l", len(keys)))
	if showSeeds {
		b.WriteString("r")
	}
	b.WriteString(strings.Repeat("r", len(cols)) + "}\n\\toprule\n")
	// Columns are 1-based in \cmidrule.
	b.WriteString(strings.Repeat(" &", recall) + " \\multicolumn{3}{c}{Image $\\to$ text} & \\multicolumn{3}{c}{Text $\\to$ image}" +
		strings.Repeat(" &", n-recall-6) + " \\\\\n")
	fmt.Fprintf(&b, "\\cmidrule(lr){%d-%d}\\cmidrule(lr){%d-%d}\nModel", recall+1, recall+3, recall+4, recall+6)
	for _, k := range keys {
		b.WriteString(" & " + latexEscape(k))
	}
	if showSeeds {
		b.WriteString(" & Seeds")
	}
	for _, c := range cols {
		b.WriteString(" & " + c.latex)
	}
	b.WriteString(" \\\\\n\\midrule\n")
	if len(s.groups) == 0 {
		fmt.Fprintf(&b, "\\multicolumn{%d}{c}{No finished runs.} \\\\\n", n)
	}
	bold := func(s string) string { return "\\textbf{" + s + "}" }
	for i, g := range s.groups {
		name := latexEscape(g.model)
		if i == s.best {
			name = bold(name)
		}
		if marks[i] != "" {
			name += "$^{" + marks[i] + "}$"
		}
		b.WriteString(name)
		for _, k := range keys {
			b.WriteString(" & " + latexEscape(g.identityValue(k)))
		}
		if showSeeds {
			fmt.Fprintf(&b, " & %d", len(g.seeds()))
		}
		for _, c := range cols {
			text := s.tableCell(c, i, bold, "$^\\dagger$")
			if text == "" {
				text = "--"
			}
			if !full && c.head == "rSum" && text != "--" && slices.ContainsFunc(g.runs, g.notConverged) {
				if t, ok := strings.CutSuffix(text, "$^\\dagger$"); ok {
					text = t + "$^{\\dagger\\ddagger}$"
				} else {
					text += "$^\\ddagger$"
				}
			}
			text = strings.NewReplacer(" ± ", " $\\pm$ ", notConvergedMark, "$^\\ddagger$").Replace(text)
			b.WriteString(" & " + text)
		}
		b.WriteString(" \\\\\n")
	}
	b.WriteString("\\bottomrule\n\\end{tabular}}\n")
	fmt.Fprintf(&b, "\\caption{%s}\n\\label{%s}\n\\end{%s}\n", latexCaption(s, full, len(seedCounts) == 1, notes), label, env)
	return b.String()
}

// meanOnly turns a mean ± sd cell into its mean.
func meanOnly(cell func(group) string) func(group) string {
	return func(g group) string {
		text, _, _ := strings.Cut(cell(g), " ± ")
		return text
	}
}

// latexCaption says what a table shows, in the caption of its float.
func latexCaption(s summary, full, sameSeeds bool, notes []settingNote) string {
	var rows []Row
	for _, g := range s.groups {
		rows = append(rows, g.runs...)
	}
	var parts []string
	if len(rows) > 0 {
		parts = append(parts, fmt.Sprintf("Experiment \\texttt{%s} on %s (protocol %s)",
			latexEscape(rows[0].Experiment), latexEscape(distinct(rows, func(r Row) string { return r.Dataset })),
			latexEscape(distinct(rows, func(r Row) string { return r.Protocol }))))
	}
	seeds := "its seeds"
	if sameSeeds && len(s.groups) > 0 {
		seeds = fmt.Sprintf("%d seeds", len(s.groups[0].seeds()))
	}
	if full {
		parts = append(parts, fmt.Sprintf("one row per configuration, each value the mean $\\pm$ sd over %s: validation rSum and the epoch each seed selected, "+
			"test recalls (\\%%) and rSum, the rSum of each seed, interactions per text-image pair, query latency (ms per text query over the test gallery) and index floats per image", seeds))
	} else {
		parts = append(parts, fmt.Sprintf("test recalls (\\%%, mean over %s), rSum and query latency (mean $\\pm$ sd; ms: per text query over the test gallery)", seeds))
	}
	if s.best >= 0 {
		parts = append(parts, "bold: the highest mean validation rSum")
	}
	if s.anyNotSignificant() {
		parts = append(parts, fmt.Sprintf("$^\\dagger$ not shown to differ from the best rSum (seed-aware bootstrap, %d resamples: "+
			"the 95\\%% interval contains 0, the seeds disagree in sign, or it cannot be tested)", BootstrapResamples))
	}
	if s.anyNotConverged() {
		what := "did not converge"
		if !full {
			what = "a seed did not converge"
		}
		parts = append(parts, fmt.Sprintf("$^\\ddagger$ %s: validation rSum below %.0f\\%% of its configuration's best seed's", what, 100*convergedShare))
	}
	for _, n := range notes {
		parts = append(parts, fmt.Sprintf("$^{%s}$ %s: %s", n.mark, latexEscape(n.model), latexEscape(n.text)))
	}
	if len(parts) == 0 {
		return "No finished runs."
	}
	for i, p := range parts {
		if p != "" && p[0] >= 'a' && p[0] <= 'z' {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ". ") + "."
}

// latexEscape protects the characters LaTeX treats specially in a model
// label such as "inflated>base (k=8)".
func latexEscape(s string) string {
	return strings.NewReplacer(`\`, `\textbackslash{}`, `&`, `\&`, `%`, `\%`, `$`, `\$`, `#`, `\#`,
		`_`, `\_`, `{`, `\{`, `}`, `\}`, `>`, `$>$`, `<`, `$<$`, `~`, `\textasciitilde{}`, `^`, `\textasciicircum{}`).Replace(s)
}
