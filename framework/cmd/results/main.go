// Command results queries and merges results databases without SQL.
//
//	go run ./framework/cmd/results [-db results.db] <command> [flags] [args]
//
// Commands:
//
//	experiments                 list experiments with their runs by status
//	runs    [filters]           list runs
//	show    ID                  everything recorded about one run
//	compare [-all] ID ID...     runs side by side, only the rows that differ
//	best    [-split S] [-metric M] [-lowest] [filters]
//	                            configurations (an experiment's runs with
//	                            the same params but the seed) ranked by
//	                            their mean over seeds of S.M (default: the
//	                            validation rSum, val.rsum; -lowest: lowest
//	                            first), with seeds, sd and per-seed values
//	export  [-what runs|steps|ranks] [-format csv|json] [-split S] [filters]
//	                            run_summary rows and every param, the step
//	                            curves, or the per-query ranks, to stdout
//	merge   SHARD...            fold shard databases into -db (idempotent)
//
// Filters: -experiment NAME, -status S, -model M, -param key=value
// (repeatable). -db may also come after the command.
//
// "results -h" lists the commands and "results <command> -h" shows one
// command's usage and flags, on stdout; both exit 0. A usage error (an
// unknown flag or command, a wrong argument, a filter value that no run can
// have) prints the error once, with a pointer to the help, and exits 2; any
// other failure exits 1. A filter value that the database does not record
// at all (-status done, -model inflate, an unknown -metric or -split) lists
// the valid values, so that a typo does not read as "no runs match".
//
// Export keeps types: in JSON, numbers are numbers and text is text (a
// schedule of "1" stays a string), and params have the types of the run's
// config. It also writes the step curves (steps) and the decoded per-query
// ranks (ranks).
//
// Opening a database of an older schema migrates it; a newer one is
// refused with the versions named, a damaged one (PRAGMA quick_check) with
// what to do. A query reads one snapshot of the database, so that a sweep
// writing meanwhile does not tear its output. merge refuses a shard that
// is the -db file itself, under any name.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/store"
)

func main() {
	os.Exit(exitStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// exitStatus runs the command line args and returns its exit status (see
// cli.Exit: 0, 2 for a mistake in the command line, 1).
func exitStatus(args []string, stdout, stderr io.Writer) int {
	return cli.Exit("results", run(args, stdout), stderr)
}

// command is a subcommand of results: its arguments after the name and
// what it does, in one line for the command list and in full for its help.
type command struct {
	name, args, short, long string
}

var commands = []command{
	{"experiments", "", "list experiments with their runs by status",
		"Experiments lists every experiment with its runs by status and its number of definitions."},
	{"runs", "[filters]", "list runs",
		"Runs lists the runs the filters select, in the order they started."},
	{"show", "ID", "everything recorded about one run",
		"Show prints everything recorded about run ID: the run, its params, results,\n" +
			"latency, environment, ranks, steps and, for a panic, its stack."},
	{"compare", "[-all] ID ID...", "runs side by side, only the rows that differ",
		"Compare shows runs side by side, only the rows that differ (-all: every row)."},
	{"best", "[-split S] [-metric M] [-lowest] [filters]", "configurations ranked by their mean over seeds",
		"Best ranks configurations (an experiment's finished runs with the same params\n" +
			"but the seed) by their mean over seeds of the result S.M, highest first\n" +
			"(-lowest: lowest first), with the seeds, sd, each seed's value and the run\n" +
			"ids. The default, val.rsum, chooses on validation; -split test ranks by the\n" +
			"test split, to report, not to choose."},
	{"export", "[-what runs|steps|ranks] [-format csv|json] [-split S] [filters]", "runs, step curves or per-query ranks, as CSV or JSON",
		"Export writes to stdout, as CSV or as a JSON array of objects (keys in the\n" +
			"order of the CSV columns, numbers as numbers, NULL as an empty cell or null):\n" +
			"\n" +
			"  -what runs   one row per run: the run_summary columns, then one param.<key>\n" +
			"               column per param (in JSON typed as in the run's config)\n" +
			"  -what steps  one row per run and step: experiment, run_id, model, seed,\n" +
			"               step, then one column per value logged (loss, lr, ...)\n" +
			"  -what ranks  the rank of each query's first correct item, per run, split\n" +
			"               and direction (i2t: image queries, t2i: caption queries);\n" +
			"               CSV: one row per query (query is its 0-based position in\n" +
			"               the split), JSON: one object per run, split and direction\n" +
			"               with the ranks as an array; -split keeps one split"},
	{"merge", "SHARD...", "fold shard databases into -db (idempotent)",
		"Merge folds shard databases into -db: runs already there are skipped,\n" +
			"duplicates of finished runs are dropped, and conflicts are listed, not merged."},
}

// topUsage is the help of results itself.
func topUsage() string {
	var b strings.Builder
	b.WriteString("usage: results [-db results.db] <command> [flags] [args]\n\ncommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.short)
	}
	tw.Flush()
	b.WriteString(`
filters (runs, best, export):
  -experiment NAME  -status running|finished|failed|interrupted
  -model CHAIN  -param key=value (repeatable)

'results <command> -h' shows a command's usage and flags.

flags:
`)
	return b.String()
}

// statuses are the values of runs.status.
var statuses = []string{"running", "finished", "failed", "interrupted"}

// exports are the values of export's -what.
var exports = []string{"runs", "steps", "ranks"}

// options are the flags of every command, and the run ids of show and
// compare.
type options struct {
	db     string
	filter filter  // runs, best, export
	all    bool    // compare
	ids    []int64 // show, compare
	metric string  // best
	lowest bool    // best
	split  string  // best, export -what ranks
	format string  // export
	what   string  // export
}

// run runs the command line args, writing its output and help to stdout.
func run(args []string, stdout io.Writer) error {
	var o options
	top := flag.NewFlagSet("results", flag.ContinueOnError)
	top.StringVar(&o.db, "db", "results.db", "results database `path`")
	if err := cli.Parse("results", top, args, stdout, topUsage()); err != nil {
		return err
	}
	if top.NArg() == 0 {
		return cli.Usagef("results", "no command: want %s", oneOf(commandNames()))
	}
	name, rest := top.Arg(0), top.Args()[1:]
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return cli.Usagef("results", "unknown command %q: want %s", name, oneOf(commandNames()))
	}
	c := commands[i]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&o.db, "db", o.db, "results database `path` (also accepted before the command)")
	addFilters := func() {
		f := &o.filter
		fs.StringVar(&f.experiment, "experiment", "", "only runs of experiment `name`")
		fs.StringVar(&f.status, "status", "", "only runs of `status` running, finished, failed or interrupted")
		fs.StringVar(&f.model, "model", "", "only runs of model (chain) `m`")
		fs.Var(&f.params, "param", "only runs whose param `key=value` (repeatable), e.g. -param train.epochs=30")
	}
	switch name {
	case "runs":
		addFilters()
	case "compare":
		fs.BoolVar(&o.all, "all", false, "show every row, not only those that differ")
	case "best":
		fs.StringVar(&o.metric, "metric", "rsum", "results `name` to rank by")
		fs.StringVar(&o.split, "split", "val", "results `split` of the metric: val (choose on validation) or test")
		fs.BoolVar(&o.lowest, "lowest", false, "the lowest mean is best (ranks, latency)")
		addFilters()
	case "export":
		fs.StringVar(&o.what, "what", "runs", "export `runs|steps|ranks`: the runs with their params, the step curves or the per-query ranks")
		fs.StringVar(&o.format, "format", "csv", "write `csv|json`")
		fs.StringVar(&o.split, "split", "", "with -what ranks, only the ranks of `split` (default: every split)")
		addFilters()
	}
	synopsis := strings.TrimSpace("results [-db results.db] " + name + " " + c.args)
	help := fmt.Sprintf("usage: %s\n\n%s\n\nflags:\n", synopsis, c.long)
	command := "results " + name
	if err := cli.Parse(command, fs, rest, stdout, help); err != nil {
		return err
	}
	if err := checkArgs(name, fs.Args(), &o); err != nil {
		return cli.Usage(command, err)
	}
	if name == "merge" {
		return merge(o.db, fs.Args(), stdout)
	}
	if _, err := os.Stat(o.db); err != nil {
		return fmt.Errorf("no results database at %s (-db): %w", o.db, err)
	}
	db, err := store.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	// Every command reads in one transaction, so that a sweep writing
	// meanwhile cannot tear what it shows (a run's status and its steps,
	// a run listed and its params).
	return store.Snapshot(db.SQL(), func(r store.Reader) error {
		q := query{db: r, out: stdout}
		switch name {
		case "runs", "best", "export":
			if err := q.checkFilter(o.filter); err != nil {
				return cli.Usage(command, err)
			}
		}
		switch name {
		case "experiments":
			return q.experiments()
		case "runs":
			return q.runs(o.filter)
		case "show":
			return q.show(o.ids[0])
		case "compare":
			return q.compare(o.ids, o.all)
		case "best":
			if err := q.checkResult(o.split, o.metric); err != nil {
				return cli.Usage(command, err)
			}
			return q.best(o.filter, o.split, o.metric, o.lowest)
		default: // export
			if err := q.checkRanksSplit(o.split); err != nil {
				return cli.Usage(command, err)
			}
			return q.export(o.filter, o.what, o.format, o.split)
		}
	})
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// checkArgs checks what can be checked of a command's arguments and flag
// values without the database, and sets o.ids.
func checkArgs(cmd string, args []string, o *options) error {
	switch cmd {
	case "experiments", "runs", "best", "export":
		if len(args) > 0 {
			return fmt.Errorf("unexpected arguments %q", args)
		}
	case "show":
		if len(args) != 1 {
			return fmt.Errorf("want one run id, got %q", args)
		}
	case "compare":
		if len(args) < 2 {
			return fmt.Errorf("want at least two run ids, got %q", args)
		}
	case "merge":
		if len(args) == 0 {
			return errors.New("no shard given")
		}
	}
	if cmd == "show" || cmd == "compare" {
		for _, a := range args {
			id, err := runID(a)
			if err != nil {
				return err
			}
			o.ids = append(o.ids, id)
		}
	}
	if s := o.filter.status; s != "" && !slices.Contains(statuses, s) {
		return fmt.Errorf("-status %q: want %s", s, oneOf(statuses))
	}
	if cmd == "export" {
		if !slices.Contains(exports, o.what) {
			return fmt.Errorf("-what %q: want %s", o.what, oneOf(exports))
		}
		if o.format != "csv" && o.format != "json" {
			return fmt.Errorf("-format %q: want csv or json", o.format)
		}
		if o.split != "" && o.what != "ranks" {
			return fmt.Errorf("-split %q: only -what ranks has splits", o.split)
		}
	}
	return nil
}

// oneOf lists values as "a, b or c".
func oneOf(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func runID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("run id %q: want a positive integer", s)
	}
	return id, nil
}

// pairs collects repeated key=value flags.
type pairs [][2]string

func (p *pairs) String() string { return fmt.Sprint(*p) }
func (p *pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value", v)
	}
	*p = append(*p, [2]string{k, val})
	return nil
}

type filter struct {
	experiment, status, model string
	params                    pairs
}

// runFilter is f as the store reads it.
func (f filter) runFilter() store.RunFilter {
	return store.RunFilter{Experiment: f.experiment, Status: f.status, Model: f.model, Params: f.params}
}

type query struct {
	db  store.Reader
	out io.Writer
}

// checkFilter refuses a filter value that no run can match, because no
// run has that experiment, model or param key, listing those recorded. (A
// param's value is not checked: that no run of a known key has it is the
// answer to -param lr=7, "no runs match".)
func (q query) checkFilter(f filter) error {
	for _, c := range []struct {
		flag, value, why string
		recorded         func(store.Reader) ([]string, error)
	}{
		{"experiment", f.experiment, "no such experiment", store.DefinedExperiments},
		{"model", f.model, "no run has this model", store.RecordedModels},
	} {
		if c.value == "" {
			continue
		}
		recorded, err := c.recorded(q.db)
		if err != nil {
			return err
		}
		if unrecorded(c.value, recorded) {
			return unknown(fmt.Sprintf("-%s %q", c.flag, c.value), c.why, recorded)
		}
	}
	if len(f.params) == 0 {
		return nil
	}
	keys, err := store.RecordedParamKeys(q.db)
	if err != nil {
		return err
	}
	for _, p := range f.params {
		if unrecorded(p[0], keys) {
			return unknown(fmt.Sprintf("-param %q", p[0]+"="+p[1]), "no run has param "+p[0], keys)
		}
	}
	return nil
}

// checkResult refuses a split, or a metric of the split, that no result
// has, listing those recorded.
func (q query) checkResult(split, metric string) error {
	splits, err := store.RecordedResultSplits(q.db)
	if err != nil {
		return err
	}
	if unrecorded(split, splits) {
		why := "no result has this split"
		if split == "val" {
			why += " (runs recorded before validation was evaluated have none)"
		}
		return unknown(fmt.Sprintf("-split %q", split), why, splits)
	}
	names, err := store.RecordedMetrics(q.db, split)
	if err != nil {
		return err
	}
	if unrecorded(metric, names) {
		return unknown(fmt.Sprintf("-metric %q", metric), fmt.Sprintf("no result of split %q has this name", split), names)
	}
	return nil
}

// checkRanksSplit refuses a split, unless "", that no ranks have, listing
// those that some have.
func (q query) checkRanksSplit(split string) error {
	if split == "" {
		return nil
	}
	splits, err := store.RecordedRanksSplits(q.db)
	if err != nil {
		return err
	}
	if unrecorded(split, splits) {
		return unknown(fmt.Sprintf("-split %q", split), "no ranks have this split", splits)
	}
	return nil
}

// unrecorded reports whether v is not among the values recorded, when
// some are: a database that records none has nothing to list, and the
// query itself says that it finds nothing.
func unrecorded(v string, recorded []string) bool {
	return len(recorded) > 0 && !slices.Contains(recorded, v)
}

// unknown is the error of a flag and its value (-model "x") that is not
// recorded, and why, listing the values that are.
func unknown(flagValue, why string, recorded []string) error {
	return fmt.Errorf("%s: %s; want %s", flagValue, why, oneOf(recorded))
}

// print writes t tab-aligned, a header line first.
func (q query) print(t store.Table) error {
	tw := tabwriter.NewWriter(q.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func (q query) experiments() error {
	t, err := store.ExperimentOverview(q.db)
	if err != nil {
		return err
	}
	return q.print(t)
}

func (q query) runs(f filter) error {
	t, err := store.RunListing(q.db, f.runFilter())
	if err != nil {
		return err
	}
	if err := q.print(t); err != nil {
		return err
	}
	if len(t.Rows) == 0 {
		fmt.Fprintln(q.out, "(no runs match)")
	}
	return nil
}

// fields returns everything recorded about a run as "section.key" -> value.
func (q query) fields(id int64) (map[string]string, error) {
	f, ok, err := store.RunFields(q.db, id)
	if err == nil && !ok {
		err = fmt.Errorf("no run %d", id)
	}
	return f, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (q query) show(id int64) error {
	f, err := q.fields(id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(q.out, 0, 4, 2, ' ', 0)
	for _, k := range sortedKeys(f) {
		fmt.Fprintf(tw, "%s\t%s\n", k, f[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	st, err := store.RunStepSummary(q.db, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(q.out, "steps\t%d (loss %s -> %s)\n", st.Steps, lossText(st.FirstLoss), lossText(st.Loss))
	if st.Stack != "" {
		fmt.Fprintf(q.out, "stack:\n%s\n", st.Stack)
	}
	return nil
}

func lossText(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func (q query) compare(ids []int64, all bool) error {
	runs := make([]map[string]string, len(ids))
	keys := map[string]string{}
	for i, id := range ids {
		f, err := q.fields(id)
		if err != nil {
			return err
		}
		runs[i] = f
		for k := range f {
			keys[k] = ""
		}
	}
	tw := tabwriter.NewWriter(q.out, 0, 4, 2, ' ', 0)
	header := []string{"field"}
	for _, id := range ids {
		header = append(header, "run "+strconv.FormatInt(id, 10))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	same := 0
	for _, k := range sortedKeys(keys) {
		row := []string{k}
		differ := false
		for i, r := range runs {
			v, ok := r[k]
			if !ok {
				v = "(absent)"
			}
			row = append(row, v)
			differ = differ || (i > 0 && v != row[1])
		}
		if !differ {
			same++
			if !all {
				continue
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !all {
		fmt.Fprintf(q.out, "(%d equal rows not shown; -all shows them)\n", same)
	}
	return nil
}

// config is one configuration that best ranks: an experiment's finished
// runs whose params agree but for the seed, with the metric of each seed's
// newest run.
type config struct {
	experiment, model string
	params            map[string]string // without the seed
	seeds             []int64           // sorted
	values            map[int64]float64 // by seed
	runs              map[int64]int64   // by seed: the run the value is from
	mean, sd          float64           // sd NaN for one seed
}

// best ranks configurations by the mean over seeds of split.metric, best
// first: choosing a configuration should rest on every seed, not on its
// luckiest run, and on validation, not on test.
func (q query) best(f filter, split, metric string, lowest bool) error {
	runs, err := store.FinishedMetrics(q.db, f.runFilter(), split, metric)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		hint := ""
		if split == "val" {
			hint = " (runs recorded before validation was evaluated have none; -split test ranks by the test split)"
		}
		return fmt.Errorf("best: no finished run matching the filters has a result %q in split %q%s", metric, split, hint)
	}
	var configs []*config
	byKey := map[string]*config{}
	for _, r := range runs {
		// As in the reports, the chain's model, codes and schedule are the
		// run's own (a chain without an inflated stage ignores the codes
		// param); data set and protocol count where params lack them.
		params := map[string]string{"dataset": r.Dataset, "protocol": r.Protocol}
		recorded, err := store.RunValues(q.db, "params", r.RunID)
		if err != nil {
			return err
		}
		maps.Copy(params, recorded)
		params["model"], params["codes"], params["schedule"] = r.Model, r.Codes, r.Schedule
		delete(params, "seed")
		key := r.Experiment
		for _, k := range sortedKeys(params) {
			key += "\x00" + k + "=" + params[k]
		}
		c := byKey[key]
		if c == nil {
			c = &config{experiment: r.Experiment, model: r.Model, params: params, values: map[int64]float64{}, runs: map[int64]int64{}}
			byKey[key] = c
			configs = append(configs, c)
		}
		if _, ok := c.values[r.Seed]; !ok {
			c.seeds = append(c.seeds, r.Seed)
		}
		c.values[r.Seed], c.runs[r.Seed] = r.Value, r.RunID // runs come in id order: a seed's newest run wins
	}
	for _, c := range configs {
		sort.Slice(c.seeds, func(i, j int) bool { return c.seeds[i] < c.seeds[j] })
		var xs []float64
		for _, s := range c.seeds {
			xs = append(xs, c.values[s])
		}
		c.mean, c.sd = meanSD(xs)
	}
	sort.SliceStable(configs, func(i, j int) bool {
		if lowest {
			return configs[i].mean < configs[j].mean
		}
		return configs[i].mean > configs[j].mean
	})
	// The params that differ between the configurations shown tell them
	// apart; the experiment and model have columns of their own.
	varying := map[string]bool{}
	for _, c := range configs {
		for _, o := range configs {
			for k, v := range c.params {
				if w, ok := o.params[k]; !ok || w != v {
					varying[k] = true
				}
			}
		}
	}
	delete(varying, "model")
	tw := tabwriter.NewWriter(q.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\texperiment\tmodel\tconfig\tseeds\tmean %s.%s\tsd\tper seed\truns\n", split, metric)
	for i, c := range configs {
		var cfg, per, ids []string
		for _, k := range sortedKeys(c.params) {
			if varying[k] {
				cfg = append(cfg, k+"="+c.params[k])
			}
		}
		if len(cfg) == 0 {
			cfg = []string{"-"}
		}
		for _, s := range c.seeds {
			per = append(per, fmt.Sprintf("%d: %s", s, sig4(c.values[s])))
			ids = append(ids, strconv.FormatInt(c.runs[s], 10))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", i+1, c.experiment, c.model, strings.Join(cfg, " "),
			len(c.seeds), sig4(c.mean), sig4(c.sd), strings.Join(per, ", "), strings.Join(ids, ","))
	}
	return tw.Flush()
}

// meanSD is the mean and sample standard deviation of xs (the deviation
// NaN for fewer than two).
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	if len(xs) < 2 {
		return mean, math.NaN()
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean) / float64(len(xs)-1)
	}
	return mean, math.Sqrt(sd)
}

// sig4 formats x with four significant digits and no exponent; "-" for NaN.
func sig4(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// export writes what (runs, steps or ranks) of the runs f selects to
// q.out, as format (csv or json); split, when not "", keeps the ranks of
// that split.
func (q query) export(f filter, what, format, split string) error {
	w := &recordWriter{out: q.out, json: format == "json"}
	var err error
	switch what {
	case "runs":
		err = q.exportRuns(f, w)
	case "steps":
		err = q.exportSteps(f, w)
	default:
		err = q.exportRanks(f, split, w)
	}
	if err != nil {
		return err
	}
	return w.close()
}

// exportRuns writes one record per run: its run_summary columns with the
// types SQLite holds (schedule is text, even "1"), then one param.<key>
// field per param key of any run exported, NULL where a run lacks it.
func (q query) exportRuns(f filter, w *recordWriter) error {
	cols, records, err := store.SummaryRecords(q.db, f.runFilter())
	if err != nil {
		return err
	}
	id := slices.Index(cols, "run_id")
	params := make([]map[string]any, len(records))
	keySet := map[string]string{}
	for i, r := range records {
		if params[i], err = q.runParams(r[id].(int64), w.json); err != nil {
			return err
		}
		for k := range params[i] {
			keySet[k] = ""
		}
	}
	keys := sortedKeys(keySet)
	header := slices.Clone(cols)
	for _, k := range keys {
		header = append(header, "param."+k)
	}
	w.header(header)
	for i, r := range records {
		for _, k := range keys {
			r = append(r, params[i][k]) // nil where run i lacks param k
		}
		if err := w.write(r); err != nil {
			return err
		}
	}
	return nil
}

// runParams returns the params of run id (an int64). They are stored as
// text (framework.Config.Params); typed, a param is the value the run's
// config holds (a number, a boolean, a list), as long as that value
// flattens to the stored text, and the text otherwise.
func (q query) runParams(id int64, typed bool) (map[string]any, error) {
	text, err := store.RunValues(q.db, "params", id)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(text))
	for k, v := range text {
		out[k] = v
	}
	if !typed {
		return out, nil
	}
	config, err := store.RunConfig(q.db, id)
	if err != nil {
		return nil, err
	}
	// Params printed the values json.Unmarshal gives (float64 numbers);
	// json.Number keeps a number's digits as the config has them.
	var plain, exact any
	dec := json.NewDecoder(strings.NewReader(config))
	dec.UseNumber()
	if json.Unmarshal([]byte(config), &plain) != nil || dec.Decode(&exact) != nil {
		return out, nil // not JSON: the params stay text
	}
	plainLeaves, exactLeaves := map[string]any{}, map[string]any{}
	leaves("", plain, plainLeaves)
	leaves("", exact, exactLeaves)
	for k, v := range text {
		if leaf, ok := plainLeaves[k]; ok && fmt.Sprint(leaf) == v {
			out[k] = exactLeaves[k]
		}
	}
	return out, nil
}

// leaves adds the values of a decoded JSON object v that are not objects
// to out under their dotted paths, as framework.Config.Params names them.
func leaves(prefix string, v any, out map[string]any) {
	if obj, ok := v.(map[string]any); ok {
		for k, x := range obj {
			leaves(prefix+k+".", x, out)
		}
		return
	}
	out[strings.TrimSuffix(prefix, ".")] = v
}

// exportSteps writes one record per run and step: experiment, run_id,
// model, seed, step, then one field per name logged at any step of any
// run exported (the steps table's names, sorted), NULL where the step has
// no such value or it was not finite.
func (q query) exportSteps(f filter, w *recordWriter) error {
	names, err := store.StepNames(q.db, f.runFilter())
	if err != nil {
		return err
	}
	fields := []string{"experiment", "run_id", "model", "seed", "step"}
	first := len(fields) // the field of names[0]
	w.header(append(fields, names...))
	field := map[string]int{}
	for i, n := range names {
		field[n] = first + i
	}
	// Each value is one of a step: rec gathers those of the step of run
	// at.run, at.step.
	var (
		rec []any
		at  struct{ run, step int64 }
	)
	err = store.EachStep(q.db, f.runFilter(), func(s store.StepRecord) error {
		if rec != nil && (s.RunID != at.run || s.Step != at.step) {
			if err := w.write(rec); err != nil {
				return err
			}
			rec = nil
		}
		if rec == nil {
			rec = make([]any, len(fields)+len(names))
			copy(rec, []any{s.Experiment, s.RunID, s.Model, s.Seed, s.Step})
			at.run, at.step = s.RunID, s.Step
		}
		if !math.IsNaN(s.Value) {
			rec[field[s.Name]] = s.Value
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rec != nil {
		return w.write(rec)
	}
	return nil
}

// exportRanks writes the ranks of the runs f selects (of split only
// alone, unless it is ""), decoded from the ranks table's little-endian uint32
// blobs: in JSON one record per run, split and direction with the ranks as
// an array; in CSV one row per query, numbered from 0 in the split's
// order, with its rank.
func (q query) exportRanks(f filter, only string, w *recordWriter) error {
	fields := []string{"experiment", "run_id", "model", "seed", "split", "direction"}
	if w.json {
		w.header(append(fields, "ranks"))
	} else {
		w.header(append(fields, "query", "rank"))
	}
	return store.EachRanks(q.db, f.runFilter(), only, func(r store.RanksRecord) error {
		if w.json {
			return w.write([]any{r.Experiment, r.RunID, r.Model, r.Seed, r.Split, r.Direction, r.Ranks})
		}
		rec := []any{r.Experiment, r.RunID, r.Model, r.Seed, r.Split, r.Direction, 0, 0}
		for i, rank := range r.Ranks {
			rec[6], rec[7] = i, rank
			if err := w.write(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordWriter writes records of named fields, as CSV (a header line,
// then a line per record, NULL as an empty cell) or as a JSON array with
// an object per record on a line of its own, its keys in the fields'
// order and its values of their own types (NULL as null).
type recordWriter struct {
	out  io.Writer
	json bool
	csv  *csv.Writer
	keys [][]byte // the fields, JSON-encoded
	n    int      // records written
	buf  bytes.Buffer
}

// header sets the fields of the records to come.
func (w *recordWriter) header(fields []string) {
	if !w.json {
		w.csv = csv.NewWriter(w.out)
		w.csv.Write(fields)
		return
	}
	w.keys = make([][]byte, len(fields))
	for i, f := range fields {
		w.keys[i], _ = json.Marshal(f)
	}
}

// write writes a record of the header's fields.
func (w *recordWriter) write(values []any) error {
	if !w.json {
		cells := make([]string, len(values))
		for i, v := range values {
			cells[i] = cellText(v)
		}
		w.n++
		return w.csv.Write(cells)
	}
	w.buf.Reset()
	if w.n == 0 {
		w.buf.WriteString("[\n{")
	} else {
		w.buf.WriteString(",\n{")
	}
	for i, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("field %s: %w", w.keys[i], err)
		}
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.Write(w.keys[i])
		w.buf.WriteByte(':')
		w.buf.Write(b)
	}
	w.buf.WriteByte('}')
	w.n++
	_, err := w.out.Write(w.buf.Bytes())
	return err
}

// close ends the output.
func (w *recordWriter) close() error {
	if !w.json {
		w.csv.Flush()
		return w.csv.Error()
	}
	end := "\n]\n"
	if w.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(w.out, end)
	return err
}

// cellText is a value as a CSV cell: numbers as Go formats them, NULL
// empty.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

func merge(dbPath string, shards []string, stdout io.Writer) error {
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// Check every shard before merging any, so that a mistake in the list
	// does not leave it half merged.
	self, err := os.Stat(dbPath)
	if err != nil {
		return err
	}
	for _, s := range shards {
		fi, err := os.Stat(s)
		if err != nil {
			return fmt.Errorf("merge: shard %s: %w", s, err)
		}
		if os.SameFile(fi, self) {
			// Attaching it would wait for its own lock, then fail as "database is locked".
			return fmt.Errorf("merge: shard %s is the file of -db %s: merge the shards into it, not the database into itself", s, dbPath)
		}
	}
	var conflicts int
	for _, s := range shards {
		rep, err := db.Merge(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d runs added, %d already merged, %d duplicates of finished runs, %d still running (not merged), %d conflicts\n",
			s, rep.Added, rep.Already, rep.Duplicates, rep.Running, len(rep.Conflicts))
		for _, c := range rep.Conflicts {
			fmt.Fprintf(stdout, "  conflict: %s\n", c)
		}
		conflicts += len(rep.Conflicts)
	}
	if conflicts > 0 {
		return fmt.Errorf("merge: %d conflicts not merged (listed above)", conflicts)
	}
	return nil
}
