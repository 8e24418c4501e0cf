package reports

import (
	"fmt"
	"strings"
)

// LatexTable renders the finished runs as a booktabs table to paste into a
// paper, with the columns and marks of ConfigTable: one row per
// configuration (the number of seeds, each value as mean $\pm$ sd over
// seeds, the selected epochs and the test rSum of each seed), the
// configuration with the highest mean validation rSum in bold,
// $^\dagger$ on an rSum the seed-aware bootstrap does not find
// significantly different from the best's, and $^\ddagger$ on a seed that
// did not converge.
func LatexTable(rows []Row) string { return latexTable(summarize(rows)) }

func latexTable(s summary) string {
	var b strings.Builder
	n := 2 + len(columns)
	b.WriteString("% Rendered from results.db by package reports; requires \\usepackage{booktabs}.\n")
	b.WriteString("\\begin{tabular}{l r " + strings.Repeat("r", len(columns)) + "}\n\\toprule\n")
	first := 3 + firstRecallColumn // LaTeX columns are 1-based, after Model and Seeds
	b.WriteString(strings.Repeat(" &", first-1) + " \\multicolumn{3}{c}{Image $\\to$ text} & \\multicolumn{3}{c}{Text $\\to$ image}" +
		strings.Repeat(" &", n-first-5) + " \\\\\n")
	fmt.Fprintf(&b, "\\cmidrule(lr){%d-%d}\\cmidrule(lr){%d-%d}\nModel & Seeds", first, first+2, first+3, first+5)
	for _, c := range columns {
		b.WriteString(" & " + c.latex)
	}
	b.WriteString(" \\\\\n\\midrule\n")
	if len(s.groups) == 0 {
		fmt.Fprintf(&b, "\\multicolumn{%d}{c}{No finished runs.} \\\\\n", n)
	}
	bold := func(s string) string { return "\\textbf{" + s + "}" }
	for i, g := range s.groups {
		label := latexEscape(g.label)
		if i == s.best {
			label = bold(label)
		}
		b.WriteString(label)
		fmt.Fprintf(&b, " & %d", len(g.seeds()))
		for _, c := range columns {
			text := s.tableCell(c, i, bold, "$^\\dagger$")
			if text == "" {
				text = "--"
			}
			text = strings.NewReplacer(" ± ", " $\\pm$ ", notConvergedMark, "$^\\ddagger$").Replace(text)
			b.WriteString(" & " + text)
		}
		b.WriteString(" \\\\\n")
	}
	var notes []string
	if s.best >= 0 {
		notes = append(notes, "bold: the highest mean validation rSum")
	}
	if s.anyNotSignificant() {
		notes = append(notes, fmt.Sprintf("$^\\dagger$ not shown to differ from the best rSum (seed-aware bootstrap, %d resamples: "+
			"the 95\\%% interval contains 0, the seeds disagree in sign, or it cannot be tested)", BootstrapResamples))
	}
	if s.anyNotConverged() {
		notes = append(notes, fmt.Sprintf("$^\\ddagger$ did not converge: validation rSum below %.0f\\%% of its configuration's best seed's", 100*convergedShare))
	}
	if len(notes) > 0 {
		b.WriteString("\\midrule\n")
		for _, note := range notes {
			fmt.Fprintf(&b, "\\multicolumn{%d}{l}{\\footnotesize %s.} \\\\\n", n, note)
		}
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n")
	return b.String()
}

// latexEscape protects the characters LaTeX treats specially in a model
// label such as "inflated>base (k=8)".
func latexEscape(s string) string {
	return strings.NewReplacer(`\`, `\textbackslash{}`, `&`, `\&`, `%`, `\%`, `$`, `\$`, `#`, `\#`,
		`_`, `\_`, `{`, `\{`, `}`, `\}`, `>`, `$>$`, `<`, `$<$`, `~`, `\textasciitilde{}`, `^`, `\textasciicircum{}`).Replace(s)
}
