package reports

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Settings controls rendering. The zero value gives the defaults.
type Settings struct {
	Title string // default: "Inflate and Shrink: <experiment>"
}

// Render writes dir/<experiment>.md (Markdown), the figure
// dir/<experiment>-rsum-vs-interactions.png and .svg, and the LaTeX table
// dir/<experiment>.tex, creating dir, and returns the paths written
// (Markdown, PNG, SVG, LaTeX). It reads only the database:
// the runs from run_summary and their environment from environment.
func Render(db *sql.DB, experiment, dir string, s Settings) ([]string, error) {
	if experiment == "" || experiment == "." || experiment == ".." || strings.ContainsAny(experiment, `/\`) {
		return nil, fmt.Errorf("reports: experiment name %q cannot name a file", experiment)
	}
	rows, err := Load(db, experiment)
	if err != nil {
		return nil, err
	}
	env, err := loadEnvironment(db, experiment)
	if err != nil {
		return nil, err
	}
	title := s.Title
	if title == "" {
		title = "Inflate and Shrink: " + experiment
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: creating report directory: %w", err)
	}
	base := filepath.Join(dir, experiment)
	md := base + ".md"
	png := base + "-rsum-vs-interactions.png"
	svg := base + "-rsum-vs-interactions.svg"

	l := newLabeller(finished(rows))
	skipped, err := writeFigure(rows, l, title, png, svg)
	if err != nil {
		return nil, err
	}
	text := report(rows, env, l, title, experiment, filepath.Base(png), filepath.Base(svg), skipped)
	transfer, err := TransferSection(db, experiment)
	if err != nil {
		return nil, err
	}
	if transfer != "" {
		text += "\n" + transfer
	}
	if err := os.WriteFile(md, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	tex := base + ".tex"
	if err := os.WriteFile(tex, []byte(LatexTable(rows)), 0o644); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return []string{md, png, svg, tex}, nil
}

// loadEnvironment returns, for each run of the experiment, its environment
// key/value pairs.
func loadEnvironment(db *sql.DB, experiment string) (map[int64]map[string]string, error) {
	rs, err := db.Query(`SELECT run_id, key, value FROM environment
		WHERE run_id IN (SELECT run_id FROM run_summary WHERE experiment = ?)`, experiment)
	if err != nil {
		return nil, fmt.Errorf("reports: reading environment of experiment %q: %w", experiment, err)
	}
	defer rs.Close()
	env := map[int64]map[string]string{}
	for rs.Next() {
		var (
			id         int64
			key, value string
		)
		if err := rs.Scan(&id, &key, &value); err != nil {
			return nil, fmt.Errorf("reports: reading environment of experiment %q: %w", experiment, err)
		}
		if env[id] == nil {
			env[id] = map[string]string{}
		}
		env[id][key] = value
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reports: reading environment of experiment %q: %w", experiment, err)
	}
	return env, nil
}

// distinct describes one property of the runs: the single value they share,
// or every distinct value when they disagree.
func distinct(rows []Row, value func(Row) string) string {
	var vs []string
	for _, r := range rows {
		if v := value(r); !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 1 {
		return vs[0]
	}
	slices.Sort(vs)
	return "runs disagree: " + strings.Join(vs, "; ")
}

// report assembles the Markdown report.
func report(rows []Row, env map[int64]map[string]string, l labeller, title, experiment, png, svg string, skipped []Row) string {
	get := func(r Row, key string) string {
		if v, ok := env[r.RunID][key]; ok && v != "" {
			return v
		}
		return "unknown"
	}
	var nFinished, nFailed, nRunning, nInterrupted int
	for _, r := range rows {
		switch r.Status {
		case StatusFinished:
			nFinished++
		case StatusFailed:
			nFailed++
		case StatusRunning:
			nRunning++
		case StatusInterrupted:
			nInterrupted++
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "A reproduction of %s: experiment `%s`, rendered from results.db alone (%d runs: %d finished, %d failed, %d running, %d interrupted).\n\n",
		citation, experiment, len(rows), nFinished, nFailed, nRunning, nInterrupted)

	b.WriteString("## Setup\n\n")
	fmt.Fprintf(&b, "- Data set: %s\n", distinct(rows, func(r Row) string { return r.Dataset }))
	fmt.Fprintf(&b, "- Protocol: %s\n", distinct(rows, func(r Row) string { return r.Protocol }))
	fmt.Fprintf(&b, "- Commit: %s\n", distinct(rows, func(r Row) string {
		switch dirty := get(r, "git_dirty"); dirty {
		case "true":
			return get(r, "git_commit") + " (dirty)"
		case "false":
			return get(r, "git_commit")
		default:
			return get(r, "git_commit") + " (dirty: " + dirty + ")"
		}
	}))
	fmt.Fprintf(&b, "- Go: %s\n", distinct(rows, func(r Row) string {
		if get(r, "os_arch") == "unknown" {
			return get(r, "go_version")
		}
		return get(r, "go_version") + " " + get(r, "os_arch")
	}))
	fmt.Fprintf(&b, "- CPU: %s\n", distinct(rows, func(r Row) string {
		if get(r, "num_cpu") == "unknown" {
			return get(r, "cpu_model")
		}
		return get(r, "cpu_model") + ", " + get(r, "num_cpu") + " CPUs"
	}))
	fmt.Fprintf(&b, "- BLAS: %s\n", distinct(rows, func(r Row) string { return get(r, "blas") }))
	fmt.Fprintf(&b, "- Command: %s\n\n", distinct(rows, func(r Row) string { return "`" + get(r, "command") + "`" }))

	b.WriteString("## Results\n\n")
	b.WriteString("Recalls in percent on the test set; rSum is the sum of the six (best in bold); " +
		"interactions are fragment similarities per text-image pair; query ms is the time to score and rank " +
		"the whole test gallery for one text query; index floats/image is what the index stores per image.\n\n")
	b.WriteString(MarkdownTable(rows))

	b.WriteString("\n## Chance level\n\n")
	b.WriteString(chanceSection(rows, l))

	b.WriteString("\n## Findings\n\n")
	b.WriteString(findings(rows, l))

	b.WriteString("\n## rSum against interactions\n\n")
	fmt.Fprintf(&b, "![rSum against interactions per text-image pair](%s)\n\n(vector version: [%s](%s))\n", png, svg, svg)
	for _, r := range skipped {
		fmt.Fprintf(&b, "\nNot plotted: run %d (%s, seed %d): rSum %s, interactions %s.\n",
			r.RunID, l.label(r), r.Seed, fixed(r.RSum, 1), count(r.Interactions))
	}

	b.WriteString("\n## Failed or unfinished runs\n\n")
	b.WriteString(problemsSection(rows))
	return b.String()
}
