package reports

import (
	"fmt"
	"math"
	"strings"
)

// latexColumn is one numeric column of the LaTeX table.
type latexColumn struct {
	head   string
	value  func(Row) float64
	digits int
	higher bool // higher is better (recalls, rSum); else lower (cost)
}

var latexColumns = []latexColumn{
	{`R@1`, func(r Row) float64 { return r.I2T[0] }, 1, true},
	{`R@5`, func(r Row) float64 { return r.I2T[1] }, 1, true},
	{`R@10`, func(r Row) float64 { return r.I2T[2] }, 1, true},
	{`R@1`, func(r Row) float64 { return r.T2I[0] }, 1, true},
	{`R@5`, func(r Row) float64 { return r.T2I[1] }, 1, true},
	{`R@10`, func(r Row) float64 { return r.T2I[2] }, 1, true},
	{`rSum`, rsum, 1, true},
	{`Inter.`, func(r Row) float64 { return r.Interactions }, 0, false},
	{`Query ms`, func(r Row) float64 { return r.QueryMs }, 3, false},
}

// LatexTable renders the finished runs as a booktabs table to paste into a
// paper: one row per model (runs of several seeds as mean $\pm$ sd, with
// the number of seeds), the best mean of each column in bold (highest for
// recalls and rSum, lowest for interactions and query time).
func LatexTable(rows []Row) string {
	l := newLabeller(finished(rows))
	groups := groupRuns(rows, l)
	var b strings.Builder
	b.WriteString("% Rendered from results.db by package reports; requires \\usepackage{booktabs}.\n")
	b.WriteString("\\begin{tabular}{l r " + strings.Repeat("r", len(latexColumns)) + "}\n\\toprule\n")
	b.WriteString(" & & \\multicolumn{3}{c}{Image $\\to$ text} & \\multicolumn{3}{c}{Text $\\to$ image} & & & \\\\\n")
	b.WriteString("\\cmidrule(lr){3-5}\\cmidrule(lr){6-8}\nModel & Seeds")
	for _, c := range latexColumns {
		b.WriteString(" & " + c.head)
	}
	b.WriteString(" \\\\\n\\midrule\n")
	if len(groups) == 0 {
		fmt.Fprintf(&b, "\\multicolumn{%d}{c}{No finished runs.} \\\\\n", 2+len(latexColumns))
	}
	best := make([]float64, len(latexColumns))
	for i, c := range latexColumns {
		best[i] = math.NaN()
		for _, g := range groups {
			if m, _, n := g.stat(c.value); n > 0 && (math.IsNaN(best[i]) || (c.higher && m > best[i]) || (!c.higher && m < best[i])) {
				best[i] = m
			}
		}
	}
	for _, g := range groups {
		b.WriteString(latexEscape(g.label))
		fmt.Fprintf(&b, " & %d", len(g.runs))
		for i, c := range latexColumns {
			m, sd, n := g.stat(c.value)
			cellText := "--"
			if n > 0 {
				cellText = fixed(m, c.digits)
				if !math.IsNaN(sd) {
					cellText += " $\\pm$ " + fixed(sd, c.digits)
				}
				if m == best[i] {
					cellText = "\\textbf{" + cellText + "}"
				}
			}
			b.WriteString(" & " + cellText)
		}
		b.WriteString(" \\\\\n")
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
