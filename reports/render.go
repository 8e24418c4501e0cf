package reports

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/store"
)

// Settings controls rendering. The zero value gives the defaults.
type Settings struct {
	Title string // default: "Inflate and Shrink: <experiment>"
	// NoFigureTitles draws the figures without titles, to go into a paper
	// whose captions say what they show (the zero value draws them). The
	// panels of the recall@K figure keep their direction.
	NoFigureTitles bool
}

// Render writes the report of an experiment into dir (created if need be)
// and returns the paths written: dir/<experiment>.md (Markdown, GitHub
// renders it), dir/<experiment>.html (the same report as one
// self-contained page, figures inline), dir/<experiment>.tex (booktabs
// tables in table environments, with caption and label), then each figure
// as PNG, SVG and PDF: rSum against interactions, rSum against codes (when
// the experiment varies them), rSum against query latency with its Pareto
// front, training, distillation and cross-encoder curves (when steps were
// logged), validation rSum against the epoch (when it was logged),
// recall@K (when ranks were stored). It reads only the
// database (run_summary, params, ranks, steps, environment, results); the
// same database gives the same bytes.
func Render(db *sql.DB, experiment, dir string, s Settings) ([]string, error) {
	if experiment == "" || experiment == "." || experiment == ".." || strings.ContainsAny(experiment, `/\`) {
		return nil, fmt.Errorf("reports: experiment name %q cannot name a file", experiment)
	}
	d, err := readExperiment(db, experiment)
	if err != nil {
		return nil, err
	}
	rows, env, transfer := d.rows, d.env, d.transfer
	title := s.Title
	if title == "" {
		title = "Inflate and Shrink: " + experiment
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: creating report directory: %w", err)
	}
	base := filepath.Join(dir, experiment)
	md, htmlPath, tex := base+".md", base+".html", base+".tex"
	paths := []string{md, htmlPath, tex}

	l := newLabeller(rows)
	sum := summarize(rows)
	figTitle := title
	if s.NoFigureTitles {
		figTitle = ""
	}
	var figs []figureRef
	var skipped []Row
	for _, ch := range charts(sum, d.steps, d.starts, d.valCurves, figTitle, &skipped) {
		f, err := writeChart(ch, base)
		if err != nil {
			return nil, err
		}
		paths = append(paths, f.png, f.svg, f.pdf)
		figs = append(figs, figureRef{caption: ch.caption, figureFiles: f})
	}

	text := report(rows, sum, env, l, title, experiment, figs, skipped)
	if transfer != "" {
		text += "\n" + transfer
	}
	images := map[string][]byte{}
	for _, f := range figs {
		b, err := os.ReadFile(f.png)
		if err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
		images[filepath.Base(f.png)] = b
	}
	for _, out := range []struct{ path, text string }{
		{md, text}, {htmlPath, HTML(title, text, images)}, {tex, latexTable(sum)},
	} {
		if err := os.WriteFile(out.path, []byte(out.text), 0o644); err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
	}
	return paths, nil
}

// experimentData is what a report reads of an experiment.
type experimentData struct {
	rows      []Row
	env       map[int64]map[string]string
	steps     map[int64][]float64
	starts    map[int64][]int
	valCurves map[int64][]valPoint
	transfer  string
}

// readExperiment reads everything in one snapshot, so that runs recorded
// meanwhile (a sweep still running, another process) are wholly in the
// report or wholly out of it.
func readExperiment(db *sql.DB, experiment string) (d experimentData, err error) {
	err = store.Snapshot(db, func(q store.Reader) (err error) {
		if d.rows, err = load(q, experiment); err != nil {
			return err
		}
		if d.env, err = loadEnvironment(q, experiment); err != nil {
			return err
		}
		if d.steps, err = loadLoss(q, experiment); err != nil {
			return err
		}
		if d.starts, err = loadEpochStarts(q, experiment); err != nil {
			return err
		}
		if d.valCurves, err = loadValidationCurves(q, experiment); err != nil {
			return err
		}
		d.transfer, err = transferSection(q, experiment)
		return err
	})
	return d, err
}

// charts are the report's figures, in the report's order: rSum against
// interactions (always, and the finished runs it cannot plot go to
// skipped), then each of the others that the database has data for.
func charts(sum summary, steps map[int64][]float64, starts map[int64][]int, valCurves map[int64][]valPoint, title string, skipped *[]Row) []chart {
	first, sk := interactionsChart(sum, title)
	*skipped = sk
	out := []chart{first}
	for _, mk := range []func() (chart, bool){
		func() (chart, bool) { return codesChart(sum, title) },
		func() (chart, bool) { return latencyChart(sum, title) },
		func() (chart, bool) { return lossChart(sum, steps, starts, firstStage, title) },
		func() (chart, bool) { return lossChart(sum, steps, starts, distillStage, title) },
		func() (chart, bool) { return lossChart(sum, steps, starts, crossStage, title) },
		func() (chart, bool) { return validationChart(sum, valCurves, title) },
		func() (chart, bool) { return recallChart(sum, title) },
	} {
		if ch, ok := mk(); ok {
			out = append(out, ch)
		}
	}
	return out
}

// figureRef is a figure written for the report.
type figureRef struct {
	caption string
	figureFiles
}

// loadLoss returns, for each run of the experiment, its logged loss by step
// (index step-1; NaN where a step has none). A database without a steps
// table has none.
func loadLoss(q store.Reader, experiment string) (map[int64][]float64, error) {
	steps, err := store.ExperimentSteps(q, experiment, "loss")
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out := map[int64][]float64{}
	for id, values := range steps {
		for _, sv := range values {
			for len(out[id]) < sv.Step-1 {
				out[id] = append(out[id], math.NaN())
			}
			out[id] = append(out[id], sv.Value)
		}
	}
	return out, nil
}

// loadEpochStarts returns, for each run of the experiment that logged its
// epoch at each step (steps named epoch, 0-based), the first step of each
// epoch (index: the epoch; 0 for an epoch with no step logged). A database
// without a steps table has none.
func loadEpochStarts(q store.Reader, experiment string) (map[int64][]int, error) {
	starts, err := store.ExperimentEpochStarts(q, experiment)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return starts, nil
}

// valPoint is one evaluation of a run on the validation split during
// training: after how many epochs, and the validation rSum.
type valPoint struct{ epoch, rsum float64 }

// loadValidationCurves returns, for each run of the experiment that logged
// its validation rSum during training (steps named val_rsum), the curve in
// step order. The epoch of a point is one more than the 0-based epoch
// logged at the same step (the epochs trained when validation ran), or
// the point's position in the curve where no epoch was logged.
func loadValidationCurves(q store.Reader, experiment string) (map[int64][]valPoint, error) {
	vals, err := store.ExperimentSteps(q, experiment, "val_rsum")
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out := map[int64][]valPoint{}
	if len(vals) == 0 {
		return out, nil
	}
	epochs, err := store.ExperimentSteps(q, experiment, "epoch")
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	for id, values := range vals {
		epochAt := map[int]float64{}
		for _, e := range epochs[id] {
			epochAt[e.Step] = e.Value
		}
		for _, v := range values {
			x := float64(len(out[id]) + 1)
			if e, ok := epochAt[v.Step]; ok {
				x = e + 1
			}
			out[id] = append(out[id], valPoint{x, v.Value})
		}
	}
	return out, nil
}

// Experiments lists the experiments that have runs, by name.
func Experiments(db *sql.DB) ([]string, error) {
	names, err := store.Experiments(db)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return names, nil
}

// loadEnvironment returns, for each run of the experiment, its environment
// key/value pairs.
func loadEnvironment(q store.Reader, experiment string) (map[int64]map[string]string, error) {
	env, err := store.ExperimentEnvironment(q, experiment)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
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
func report(rows []Row, sum summary, env map[int64]map[string]string, l labeller, title, experiment string, figs []figureRef, skipped []Row) string {
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
	fmt.Fprintf(&b, "- Device: %s\n", distinct(rows, func(r Row) string {
		switch dev := get(r, "device"); dev {
		case "unknown", "cpu":
			return "cpu" // runs recorded before the device was: every one ran on the CPU
		default:
			return dev + " (" + get(r, "gpu.name") + ", CUDA " + get(r, "gpu.driver_cuda") + ")"
		}
	}))
	fmt.Fprintf(&b, "- Command: %s\n", distinct(rows, func(r Row) string { return "`" + get(r, "command") + "`" }))

	fmt.Fprintf(&b, "- Seeds: %s\n\n", seedList(allSeeds(rows)))

	b.WriteString("## Results\n\n")
	b.WriteString("One row per configuration (every setting but the seed), in two tables: the accuracy, then the selected epochs, the rSum of each seed and the cost; " +
		"settings that most configurations lack are listed under them, keyed by the configuration's number (as in the figures). Each value is the mean ± sd over its seeds " +
		"(the mean alone for one seed). Each run keeps the checkpoint with the best validation rSum and evaluates the test set once, on it: " +
		"val rSum is that checkpoint's validation rSum, epoch the epoch it was taken at (one per seed). " +
		"Recalls in percent on the test set; rSum is the sum of the six, and rSum per seed its value for each seed in seed order; " +
		"interactions are fragment similarities per text-image pair; query ms is the time to score and rank " +
		"the whole test gallery for one text query; index floats/image is what the index stores per image. ")
	if sum.best >= 0 {
		b.WriteString("Bold: the best configuration, the one with the highest mean validation rSum (chosen on validation, never on test). " +
			"†: the seed-aware test does not find this rSum significantly different from the best's (or cannot test it). ")
	} else {
		b.WriteString("No run has validation results, so no configuration is chosen as the best: nothing is in bold and nothing is compared with a best. ")
	}
	fmt.Fprintf(&b, "%s: a seed that did not converge (validation rSum below %.0f%% of its configuration's best seed's; see below).\n\n",
		notConvergedMark, 100*convergedShare)
	b.WriteString(configTable(sum))
	b.WriteString("\n### Significance against the best\n\n")
	b.WriteString(significanceSection(sum))
	b.WriteString("\n### Runs that did not converge\n\n")
	b.WriteString(convergenceSection(sum))

	b.WriteString("\n## Chance level\n\n")
	b.WriteString(chanceSection(rows, l))

	b.WriteString("\n## Findings\n\n")
	b.WriteString(findings(rows, l))
	b.WriteString(sweepFindings(sum))
	if isPaperData(rows) {
		b.WriteString("\n## Differences from the authors' recipe\n\n")
		b.WriteString(recipeSection(rows))
	}
	if isPaperComparison(rows) {
		b.WriteString("\n## Published anchors\n\n")
		b.WriteString(anchorsSection())
	}

	b.WriteString("\n## Figures\n")
	for _, f := range figs {
		png, svg, pdf := filepath.Base(f.png), filepath.Base(f.svg), filepath.Base(f.pdf)
		fmt.Fprintf(&b, "\n%s (vector versions: [%s](%s), [%s](%s)).\n\n![%s](%s)\n", f.caption, svg, svg, pdf, pdf, f.caption, png)
	}
	for _, r := range skipped {
		fmt.Fprintf(&b, "\nNot plotted against interactions: run %d (%s, seed %d): rSum %s, interactions %s.\n",
			r.RunID, l.label(r), r.Seed, fixed(r.RSum, 1), count(r.Interactions))
	}

	b.WriteString("\n## Missing runs\n\n")
	b.WriteString(missingSection(rows))
	b.WriteString("\n## Failed or unfinished runs\n\n")
	b.WriteString(problemsSection(rows))
	b.WriteString("\n## Every run\n\n")
	b.WriteString(MarkdownTable(rows))
	return b.String()
}

// allSeeds lists the distinct seeds of the runs, sorted.
func allSeeds(rows []Row) []int64 {
	return group{runs: rows}.seeds()
}
