package reports

import (
	"fmt"
	"strings"
)

// LatexTable renders the finished runs as a booktabs table to paste into a
// paper: one row per configuration (runs of several seeds as mean $\pm$
// sd, with the number of seeds), the best mean of each column in bold
// (highest for recalls and rSum, lowest for cost), and $^\dagger$ on an rSum
// whose difference from the best the paired bootstrap over test queries
// does not find significant (see ConfigTable).
func LatexTable(rows []Row) string { return latexTable(summarize(rows)) }

func latexTable(s summary) string {
	var b strings.Builder
	n := 2 + len(metricColumns)
	b.WriteString("% Rendered from results.db by package reports; requires \\usepackage{booktabs}.\n")
	b.WriteString("\\begin{tabular}{l r " + strings.Repeat("r", len(metricColumns)) + "}\n\\toprule\n")
	b.WriteString(" & & \\multicolumn{3}{c}{Image $\\to$ text} & \\multicolumn{3}{c}{Text $\\to$ image}" + strings.Repeat(" &", len(metricColumns)-6) + " \\\\\n")
	b.WriteString("\\cmidrule(lr){3-5}\\cmidrule(lr){6-8}\nModel & Seeds")
	for _, c := range metricColumns {
		b.WriteString(" & " + c.latex)
	}
	b.WriteString(" \\\\\n\\midrule\n")
	if len(s.groups) == 0 {
		fmt.Fprintf(&b, "\\multicolumn{%d}{c}{No finished runs.} \\\\\n", n)
	}
	best := s.bestMeans()
	dagger := false
	for i, g := range s.groups {
		b.WriteString(latexEscape(g.label))
		fmt.Fprintf(&b, " & %d", len(g.seeds()))
		for j, c := range metricColumns {
			text, isBest := s.cellText(g, c, best[j])
			switch {
			case text == "":
				text = "--"
			case isBest:
				text = "\\textbf{" + text + "}"
			}
			text = strings.Replace(text, " ± ", " $\\pm$ ", 1)
			if j == rsumColumn && s.notSignificant(i) {
				text += "$^\\dagger$"
				dagger = true
			}
			b.WriteString(" & " + text)
		}
		b.WriteString(" \\\\\n")
	}
	if dagger {
		b.WriteString("\\midrule\n")
		fmt.Fprintf(&b, "\\multicolumn{%d}{l}{\\footnotesize $^\\dagger$ not significantly different from the best rSum (paired bootstrap over test queries, %d resamples, 95\\%%).} \\\\\n",
			n, BootstrapResamples)
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
