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
//	best    [-metric M] [-split S] [-lowest] [filters]
//	                            configurations (an experiment's runs with
//	                            the same params but the seed) ranked by
//	                            their mean over seeds of S.M (default: the
//	                            validation rSum, val.rsum; -lowest: lowest
//	                            first), with seeds, sd and per-seed values
//	export  -format csv|json [filters]
//	                            run_summary rows and every param, to stdout
//	merge   SHARD...            fold shard databases into -db (idempotent)
//
// Filters: -experiment NAME, -status S, -model M, -param key=value
// (repeatable). -db may also come after the command. Opening a database of an older schema migrates it; a newer
// one is refused with the versions named, a damaged one (PRAGMA
// quick_check) with what to do. A query reads one snapshot of the
// database, so that a sweep writing meanwhile does not tear its output.
// merge refuses a shard that is the -db file itself, under any name.
package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/inflateshrink/inflateshrink/framework/store"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "results:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "results:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

const usage = `usage: results [-db results.db] <command> [flags] [args]

commands:
  experiments                  list experiments with their runs by status
  runs    [filters]            list runs
  show    ID                   everything recorded about one run
  compare [-all] ID ID...      runs side by side, only the rows that differ
  best    [-metric rsum] [-split val] [-lowest] [filters]
                               configurations (an experiment's runs with the same
                               params but the seed) ranked by their mean over seeds
                               of the metric (default: validation rSum; -split test
                               for the test split), highest first (-lowest: lowest)
  export  -format csv|json [filters]
                               run_summary rows with every param, to stdout
  merge   SHARD...             fold shard databases into -db (idempotent)

filters: -experiment NAME  -status running|finished|failed|interrupted
         -model CHAIN  -param key=value (repeatable)
`

func run(args []string, stdout, stderr io.Writer) error {
	top := flag.NewFlagSet("results", flag.ContinueOnError)
	top.SetOutput(stderr)
	dbPath := top.String("db", "results.db", "results database `path`")
	top.Usage = func() { fmt.Fprint(stderr, usage); top.PrintDefaults() }
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if top.NArg() == 0 {
		top.Usage()
		return usageError{errors.New("no command")}
	}
	cmd, rest := top.Arg(0), top.Args()[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(dbPath, "db", *dbPath, "results database `path` (also accepted before the command)")
	var f filter
	addFilters := func() {
		fs.StringVar(&f.experiment, "experiment", "", "only runs of experiment `name`")
		fs.StringVar(&f.status, "status", "", "only runs of `status` running, finished, failed or interrupted")
		fs.StringVar(&f.model, "model", "", "only runs of model (chain) `m`")
		fs.Var(&f.params, "param", "only runs whose param `key=value` (repeatable), e.g. -param train.epochs=30")
	}
	nargs := 0 // positional arguments wanted, -1: any
	var all, lowest *bool
	var metric, split, format *string
	switch cmd {
	case "experiments":
	case "runs":
		addFilters()
	case "show":
		nargs = 1
	case "compare":
		all = fs.Bool("all", false, "show every row, not only those that differ")
		nargs = -1
	case "best":
		metric = fs.String("metric", "rsum", "results `name` to rank by")
		split = fs.String("split", "val", "results `split` of the metric: val (choose on validation) or test")
		lowest = fs.Bool("lowest", false, "the lowest mean is best (ranks, latency)")
		addFilters()
	case "export":
		format = fs.String("format", "csv", "`format` csv or json")
		addFilters()
	case "merge":
		nargs = -1
	default:
		top.Usage()
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if nargs >= 0 && fs.NArg() != nargs {
		return usageError{fmt.Errorf("%s: want %d arguments, got %q", cmd, nargs, fs.Args())}
	}
	if cmd == "merge" {
		return merge(*dbPath, fs.Args(), stdout)
	}
	if _, err := os.Stat(*dbPath); err != nil {
		return fmt.Errorf("no results database at %s (-db): %w", *dbPath, err)
	}
	db, err := store.Open(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// Every command reads in one transaction, so that a sweep writing
	// meanwhile cannot tear what it shows (a run's status and its steps,
	// a run listed and its params).
	return store.Snapshot(db.SQL(), func(r store.Reader) error {
		q := query{db: r, out: stdout}
		switch cmd {
		case "experiments":
			return q.experiments()
		case "runs":
			return q.runs(f)
		case "show":
			id, err := runID(fs.Arg(0))
			if err != nil {
				return err
			}
			return q.show(id)
		case "compare":
			if fs.NArg() < 2 {
				return usageError{errors.New("compare: want at least two run ids")}
			}
			var ids []int64
			for _, a := range fs.Args() {
				id, err := runID(a)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return q.compare(ids, *all)
		case "best":
			return q.best(f, *split, *metric, *lowest)
		default: // export
			if *format != "csv" && *format != "json" {
				return usageError{fmt.Errorf("export: -format %q: want csv or json", *format)}
			}
			return q.export(f, *format)
		}
	})
}

func runID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usageError{fmt.Errorf("run id %q: want a positive integer", s)}
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

// where is the filter as SQL over run_summary s.
func (f filter) where() (string, []any) {
	conds, args := []string{"1"}, []any{}
	for _, c := range []struct{ col, v string }{{"s.experiment", f.experiment}, {"s.status", f.status}, {"s.model", f.model}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	for _, p := range f.params {
		conds = append(conds, "EXISTS (SELECT 1 FROM params p WHERE p.run_id = s.run_id AND p.key = ? AND p.value = ?)")
		args = append(args, p[0], p[1])
	}
	return strings.Join(conds, " AND "), args
}

type query struct {
	db  store.Reader
	out io.Writer
}

// table prints rows of a query, tab-aligned, NULL as "-".
func (q query) table(sqlText string, args ...any) (int, error) {
	rows, err := q.db.Query(sqlText, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	tw := tabwriter.NewWriter(q.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	n := 0
	for rows.Next() {
		vals, err := scanStrings(rows, len(cols))
		if err != nil {
			return n, err
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, tw.Flush()
}

func scanStrings(rows *sql.Rows, n int) ([]string, error) {
	raw := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, r := range raw {
		out[i] = "-"
		if r.Valid {
			out[i] = r.String
		}
	}
	return out, nil
}

func (q query) experiments() error {
	_, err := q.table(`SELECT e.name AS experiment, e.created_at AS created,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id) AS runs,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'finished') AS finished,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'failed') AS failed,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'interrupted') AS interrupted,
		(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND status = 'running') AS running,
		(SELECT count(*) FROM experiment_definitions d WHERE d.experiment_id = e.id) AS definitions
		FROM experiments e ORDER BY e.id`)
	return err
}

const runColumns = `s.run_id AS id, s.experiment, s.model, s.codes, s.seed, s.dataset, s.status,
	printf('%.2f', s.rsum) AS rsum, printf('%.4f', s.query_ms) AS query_ms, s.started_at`

func (q query) runs(f filter) error {
	where, args := f.where()
	n, err := q.table(`SELECT `+runColumns+` FROM run_summary s WHERE `+where+` ORDER BY s.run_id`, args...)
	if err == nil && n == 0 {
		fmt.Fprintln(q.out, "(no runs match)")
	}
	return err
}

// fields returns everything recorded about a run as "section.key" -> value.
func (q query) fields(id int64) (map[string]string, error) {
	out := map[string]string{}
	rows, err := q.db.Query(`SELECT e.name AS experiment, r.id, r.uid, r.model, r.codes, r.schedule, r.seed, r.dataset,
		r.protocol, r.status, r.error, r.teacher_run_id, r.config_hash, r.checkpoint, r.started_at, r.finished_at,
		r.train_seconds, r.owner, r.heartbeat_at
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?`, id)
	if err != nil {
		return nil, err
	}
	cols, _ := rows.Columns()
	found := rows.Next()
	if found {
		vals, err := scanStrings(rows, len(cols))
		if err != nil {
			rows.Close()
			return nil, err
		}
		for i, c := range cols {
			out["run."+c] = vals[i]
		}
	}
	rows.Close()
	if !found {
		return nil, fmt.Errorf("no run %d", id)
	}
	for _, s := range []struct{ prefix, query string }{
		{"param.", `SELECT key, value FROM params WHERE run_id = ?`},
		{"", `SELECT split || '.' || name, printf('%!.17g', value) FROM results WHERE run_id = ?`},
		{"latency.", `SELECT name, printf('%!.17g', value) FROM latency WHERE run_id = ?`},
		{"env.", `SELECT key, value FROM environment WHERE run_id = ?`},
		// The ranks themselves are too many to show: how many queries each holds.
		{"ranks.", `SELECT split || '.' || direction, (length(ranks) / 4) || ' queries' FROM ranks WHERE run_id = ?`},
	} {
		rows, err := q.db.Query(s.query, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			var v sql.NullString
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[s.prefix+k] = v.String
			if !v.Valid {
				out[s.prefix+k] = "-"
			}
		}
		rows.Close()
	}
	return out, nil
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
	var n int
	var first, last sql.NullFloat64
	err = q.db.QueryRow(`SELECT count(DISTINCT step),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'loss' ORDER BY step LIMIT 1),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'loss' ORDER BY step DESC LIMIT 1)
		FROM steps WHERE run_id = ?1`, id).Scan(&n, &first, &last)
	if err != nil {
		return err
	}
	fmt.Fprintf(q.out, "steps\t%d (loss %s -> %s)\n", n, nullFloat(first), nullFloat(last))
	var stack sql.NullString
	if err := q.db.QueryRow(`SELECT stack FROM runs WHERE id = ?`, id).Scan(&stack); err != nil {
		return err
	}
	if stack.Valid {
		fmt.Fprintf(q.out, "stack:\n%s\n", stack.String)
	}
	return nil
}

func nullFloat(f sql.NullFloat64) string {
	if !f.Valid {
		return "-"
	}
	return strconv.FormatFloat(f.Float64, 'g', 6, 64)
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
	where, args := f.where()
	args = append([]any{split, metric}, args...)
	rows, err := q.db.Query(`SELECT s.run_id, s.experiment, s.model, s.codes, s.schedule, s.dataset, s.protocol, s.seed, x.value
		FROM run_summary s JOIN results x ON x.run_id = s.run_id AND x.split = ? AND x.name = ?
		WHERE s.status = 'finished' AND x.value IS NOT NULL AND `+where+`
		ORDER BY s.run_id`, args...)
	if err != nil {
		return err
	}
	type found struct {
		id, seed                                 int64
		exp, model, codes, sched, data, protocol string
		value                                    float64
	}
	var runs []found
	for rows.Next() {
		var r found
		if err := rows.Scan(&r.id, &r.exp, &r.model, &r.codes, &r.sched, &r.data, &r.protocol, &r.seed, &r.value); err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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
		params := map[string]string{"dataset": r.data, "protocol": r.protocol}
		if err := q.params(r.id, params); err != nil {
			return err
		}
		params["model"], params["codes"], params["schedule"] = r.model, r.codes, r.sched
		delete(params, "seed")
		key := r.exp
		for _, k := range sortedKeys(params) {
			key += "\x00" + k + "=" + params[k]
		}
		c := byKey[key]
		if c == nil {
			c = &config{experiment: r.exp, model: r.model, params: params, values: map[int64]float64{}, runs: map[int64]int64{}}
			byKey[key] = c
			configs = append(configs, c)
		}
		if _, ok := c.values[r.seed]; !ok {
			c.seeds = append(c.seeds, r.seed)
		}
		c.values[r.seed], c.runs[r.seed] = r.value, r.id // runs come in id order: a seed's newest run wins
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

// params adds the params of run id (an int64 or its decimal text) to m.
func (q query) params(id any, m map[string]string) error {
	rows, err := q.db.Query(`SELECT key, value FROM params WHERE run_id = ?`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		m[k] = v
	}
	return rows.Err()
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

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (q query) export(f filter, format string) error {
	where, args := f.where()
	rows, err := q.db.Query(`SELECT s.* FROM run_summary s WHERE `+where+` ORDER BY s.run_id`, args...)
	if err != nil {
		return err
	}
	cols, _ := rows.Columns()
	var records [][]string
	var ids []string
	for rows.Next() {
		vals, err := scanStrings(rows, len(cols))
		if err != nil {
			rows.Close()
			return err
		}
		records = append(records, vals)
		ids = append(ids, vals[1]) // run_id
	}
	rows.Close()
	// One column per param key any exported run has.
	params := map[string]map[string]string{}
	keySet := map[string]string{}
	for _, id := range ids {
		params[id] = map[string]string{}
		if err := q.params(id, params[id]); err != nil {
			return err
		}
		for k := range params[id] {
			keySet[k] = ""
		}
	}
	keys := sortedKeys(keySet)
	header := append([]string(nil), cols...)
	for _, k := range keys {
		header = append(header, "param."+k)
	}
	for i, r := range records {
		for _, k := range keys {
			v, ok := params[ids[i]][k]
			if !ok {
				v = "-"
			}
			r = append(r, v)
		}
		records[i] = r
	}
	if format == "json" {
		out := make([]map[string]any, len(records))
		for i, r := range records {
			m := map[string]any{}
			for j, h := range header {
				if r[j] == "-" {
					m[h] = nil
				} else if x, err := strconv.ParseFloat(r[j], 64); err == nil && j < len(cols) {
					m[h] = x
				} else {
					m[h] = r[j]
				}
			}
			out[i] = m
		}
		enc := json.NewEncoder(q.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := csv.NewWriter(q.out)
	w.Write(header)
	for _, r := range records {
		for j := range r {
			if r[j] == "-" {
				r[j] = ""
			}
		}
		w.Write(r)
	}
	w.Flush()
	return w.Error()
}

func merge(dbPath string, shards []string, stdout io.Writer) error {
	if len(shards) == 0 {
		return usageError{errors.New("merge: no shard given")}
	}
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
