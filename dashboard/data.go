package dashboard

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

// run is one row of run_summary with what the pages need beside it.
type run struct {
	ID         int64  `json:"run_id"`
	Experiment string `json:"experiment"`
	Model      string `json:"model"`
	Codes      int    `json:"codes"`
	Schedule   string `json:"schedule"`
	Seed       int64  `json:"seed"`
	Dataset    string `json:"dataset"`
	Protocol   string `json:"protocol"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	Teacher    int64  `json:"teacher_run_id,omitempty"`

	RSum         num `json:"rsum"`     // test
	ValRSum      num `json:"val_rsum"` // validation, of the selected checkpoint
	I2TR1        num `json:"i2t_r1"`
	T2IR1        num `json:"t2i_r1"`
	Interactions num `json:"interactions"`
	QueryMs      num `json:"query_ms"`
	IndexFloats  num `json:"index_floats"`
	TrainSeconds num `json:"train_seconds"`

	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at,omitempty"`

	Config      int      `json:"config"`       // index into the experiment's configs
	RanksSplits []string `json:"ranks_splits"` // splits with per-query ranks (drill-down)

	Params map[string]string `json:"-"`
}

// Run statuses, as store records them.
const (
	statusFinished = "finished"
	statusRunning  = "running"
)

// loadRuns reads the runs of experiment, in id order, with their params,
// validation rSum and the splits they stored ranks for.
func loadRuns(db store.Reader, experiment string) ([]*run, error) {
	summaries, err := store.Summaries(db, experiment)
	if err != nil {
		return nil, err
	}
	params, err := store.ExperimentParams(db, experiment)
	if err != nil {
		return nil, err
	}
	// Validation rSum from the results table, not run_summary's val_rsum,
	// which a version 3 database (opened read-only, never migrated) lacks.
	val, err := store.ExperimentResults(db, experiment, "val", "rsum")
	if err != nil {
		return nil, err
	}
	splits, err := store.RanksSplits(db, experiment)
	if err != nil {
		return nil, err
	}
	runs := make([]*run, len(summaries))
	for i, s := range summaries {
		r := &run{
			ID: s.RunID, Experiment: s.Experiment, Model: s.Model, Codes: s.Codes, Schedule: s.Schedule,
			Seed: s.Seed, Dataset: s.Dataset, Protocol: s.Protocol, Status: s.Status, Error: s.Error, Teacher: s.TeacherRunID,
			RSum: num(s.RSum), ValRSum: num(math.NaN()), I2TR1: num(s.I2T[0]), T2IR1: num(s.T2I[0]),
			Interactions: num(s.Interactions), QueryMs: num(s.QueryMs), IndexFloats: num(s.IndexFloats), TrainSeconds: num(s.TrainSeconds),
			StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
			Params: params[s.RunID], RanksSplits: splits[s.RunID],
		}
		if v, ok := val[s.RunID]["rsum"]; ok {
			r.ValRSum = num(v)
		}
		if r.Params == nil {
			r.Params = map[string]string{}
		}
		if r.RanksSplits == nil {
			r.RanksSplits = []string{}
		}
		runs[i] = r
	}
	return runs, nil
}

// experimentRuns reads the runs of the request's experiment parameter,
// refusing a missing or unknown one.
func experimentRuns(r *http.Request, db store.Reader) (string, []*run, error) {
	name := r.URL.Query().Get("experiment")
	if name == "" {
		return "", nil, badRequest("parameter experiment is missing")
	}
	runs, err := loadRuns(db, name)
	if err != nil {
		return "", nil, err
	}
	if len(runs) == 0 {
		names, err := experimentNames(db)
		if err != nil {
			return "", nil, err
		}
		if !slices.Contains(names, name) {
			return "", nil, notFound("no experiment %q (experiments: %s)", name, strings.Join(names, ", "))
		}
	}
	// An experiment without runs yet is a sweep about to start: nothing to
	// show, which is no error.
	return name, runs, nil
}

func experimentNames(db store.Reader) ([]string, error) { return store.DefinedExperiments(db) }

// config is a configuration: the runs of an experiment that differ only in
// their seed.
type config struct {
	ID     int               `json:"id"`
	Label  string            `json:"label"`
	Model  string            `json:"model"`
	Params map[string]string `json:"params"` // the identity keys that vary across the experiment, where it has them
	Runs   []int64           `json:"runs"`   // every run, whatever its status, in id order

	runs     []*run
	identity map[string]string
}

// identity is what makes a run's configuration, as the reports define it
// (reports/format.go and reports/load.go), so that the pages group and
// label runs as the reports do: its params without the seed, with the
// model, codes and schedule that run_summary reports, which are the
// chain's own (a chain without an inflated stage ignores the codes param).
// The store completes the params of runs recorded before a key existed.
func identity(r *run) map[string]string {
	id := make(map[string]string, len(r.Params)+3)
	for k, v := range r.Params {
		if k != "seed" {
			id[k] = v
		}
	}
	id["model"] = r.Model
	id["codes"] = strconv.Itoa(r.Codes)
	id["schedule"] = r.Schedule
	return id
}

// paperOrder is the order in which the paper tells its story; other
// chains follow in the order they were first run.
var paperOrder = []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"}

// configs groups runs (of one experiment) into configurations, labelled as
// the reports label them: the model, plus the identity values in which
// that model's runs differ. It sets each run's Config.
func configs(runs []*run) []*config {
	var cs []*config
	byKey := map[string]*config{}
	for _, r := range runs {
		id := identity(r)
		keys := make([]string, 0, len(id))
		for k := range id {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var key strings.Builder
		for _, k := range keys {
			key.WriteString(k + "=" + id[k] + "\x00")
		}
		c := byKey[key.String()]
		if c == nil {
			c = &config{Model: r.Model, identity: id}
			byKey[key.String()] = c
			cs = append(cs, c)
		}
		c.runs = append(c.runs, r)
		c.Runs = append(c.Runs, r.ID)
	}
	// Labels: the keys that vary among the configurations of the same model
	// that finished a run, as the reports' tables label them (a
	// configuration whose runs were all stopped does not widen every
	// other label); among all of them for a model with none finished.
	byModel, finishedByModel := map[string][]map[string]string{}, map[string][]map[string]string{}
	for _, c := range cs {
		byModel[c.Model] = append(byModel[c.Model], c.identity)
		if len(c.finishedRuns()) > 0 {
			finishedByModel[c.Model] = append(finishedByModel[c.Model], c.identity)
		}
	}
	for m, ids := range finishedByModel {
		byModel[m] = ids
	}
	vary := map[string][]string{}
	for m, ids := range byModel {
		vary[m] = reports.VaryingKeys(ids)
	}
	var all []map[string]string
	for _, c := range cs {
		all = append(all, c.identity)
	}
	experimentVary := reports.VaryingKeys(all)
	for _, c := range cs {
		var parts []string
		for _, k := range vary[c.Model] {
			v, ok := c.identity[k]
			if !ok {
				v = "n/a"
			}
			parts = append(parts, reports.ParamText(k, v))
		}
		c.Label = c.Model
		if len(parts) > 0 {
			c.Label += " (" + strings.Join(parts, ", ") + ")"
		}
		c.Params = map[string]string{}
		for _, k := range experimentVary {
			if v, ok := c.identity[k]; ok {
				c.Params[k] = v
			}
		}
	}
	order := func(model string) int {
		if i := slices.Index(paperOrder, model); i >= 0 {
			return i
		}
		return len(paperOrder)
	}
	slices.SortStableFunc(cs, func(a, b *config) int {
		return cmp.Or(order(a.Model)-order(b.Model), cmp.Compare(a.Runs[0], b.Runs[0]))
	})
	for i, c := range cs {
		c.ID = i
		for _, r := range c.runs {
			r.Config = i
		}
	}
	return cs
}

// stat is the mean and sample standard deviation of a metric over the
// seeds where it is known (SD null for fewer than two), and their number.
type stat struct {
	Mean num `json:"mean"`
	SD   num `json:"sd"`
	N    int `json:"n"`
}

func statOf(xs []float64) stat {
	s := stat{Mean: num(math.NaN()), SD: num(math.NaN()), N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	var mean float64
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	s.Mean = num(mean)
	if len(xs) > 1 {
		var v float64
		for _, x := range xs {
			v += (x - mean) * (x - mean) / float64(len(xs)-1)
		}
		s.SD = num(math.Sqrt(v))
	}
	return s
}

// finishedRuns are the runs whose metrics count.
func (c *config) finishedRuns() []*run {
	var out []*run
	for _, r := range c.runs {
		if r.Status == statusFinished {
			out = append(out, r)
		}
	}
	return out
}
