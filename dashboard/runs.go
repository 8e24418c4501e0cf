package dashboard

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

// experimentSummary is a line of the experiments table.
type experimentSummary struct {
	Name     string         `json:"name"`
	Runs     int            `json:"runs"`
	Status   map[string]int `json:"status"` // runs per status
	Datasets []string       `json:"datasets"`
	// LastActivity is the latest start or end of one of its runs (UTC RFC
	// 3339, so it sorts as text): the experiment a sweep works on now has
	// the latest.
	LastActivity string `json:"last_activity"`
}

// experiments answers /api/experiments: every experiment, the most
// recently active first (the pages open on it).
func (s *Server) experiments(r *http.Request, db store.Reader) (any, error) {
	var out []*experimentSummary
	byName := map[string]*experimentSummary{}
	groups, err := store.RunGroups(db)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		e := byName[g.Experiment]
		if e == nil {
			e = &experimentSummary{Name: g.Experiment, Status: map[string]int{}, Datasets: []string{}}
			byName[g.Experiment] = e
			out = append(out, e)
		}
		if g.Runs == 0 { // an experiment without runs
			continue
		}
		e.Runs += g.Runs
		e.Status[g.Status] += g.Runs
		if !slices.Contains(e.Datasets, g.Dataset) {
			e.Datasets = append(e.Datasets, g.Dataset)
		}
		e.LastActivity = max(e.LastActivity, g.LastActivity)
	}
	for _, e := range out {
		slices.Sort(e.Datasets)
	}
	slices.SortStableFunc(out, func(a, b *experimentSummary) int { return cmp.Compare(b.LastActivity, a.LastActivity) })
	return struct {
		Database    string               `json:"database"`
		Experiments []*experimentSummary `json:"experiments"`
	}{s.opt.Name, out}, nil
}

// seed is one finished run of a configuration, a dot of the seeds chart.
type seed struct {
	Seed    int64 `json:"seed"`
	RunID   int64 `json:"run_id"`
	RSum    num   `json:"rsum"`
	ValRSum num   `json:"val_rsum"`
	// NotConverged flags a seed whose validation rSum is below 90% of its
	// configuration's best seed's: the reports' ‡, what makes a
	// configuration bimodal.
	NotConverged bool `json:"not_converged"`
}

// notConverged is the fraction of the best seed's validation rSum below
// which a seed is flagged, as in the reports.
const notConverged = 0.9

// configSummary is a configuration with its seeds and their statistics.
type configSummary struct {
	*config
	Seeds   []seed `json:"seeds"`
	RSum    stat   `json:"rsum"`
	ValRSum stat   `json:"val_rsum"`
}

func summarize(c *config) configSummary {
	cs := configSummary{config: c, Seeds: []seed{}}
	best := 0.0
	var rsums, vals []float64
	for _, r := range c.finishedRuns() {
		if r.ValRSum.ok() {
			best = max(best, float64(r.ValRSum))
			vals = append(vals, float64(r.ValRSum))
		}
		if r.RSum.ok() {
			rsums = append(rsums, float64(r.RSum))
		}
	}
	for _, r := range c.finishedRuns() {
		cs.Seeds = append(cs.Seeds, seed{Seed: r.Seed, RunID: r.ID, RSum: r.RSum, ValRSum: r.ValRSum,
			NotConverged: r.ValRSum.ok() && float64(r.ValRSum) < notConverged*best})
	}
	cs.RSum, cs.ValRSum = statOf(rsums), statOf(vals)
	return cs
}

// runs answers /api/runs?experiment=NAME: its configurations with their
// seeds, and every run.
func (s *Server) runs(r *http.Request, db store.Reader) (any, error) {
	name, runs, err := experimentRuns(r, db)
	if err != nil {
		return nil, err
	}
	cs := configs(runs)
	out := struct {
		Experiment string          `json:"experiment"`
		Varying    []string        `json:"varying"` // the params that tell configurations apart
		Configs    []configSummary `json:"configs"`
		Runs       []*run          `json:"runs"`
	}{Experiment: name, Varying: []string{}, Configs: []configSummary{}, Runs: runs}
	if out.Runs == nil {
		out.Runs = []*run{}
	}
	var ids []map[string]string
	for _, c := range cs {
		out.Configs = append(out.Configs, summarize(c))
		ids = append(ids, c.identity)
	}
	out.Varying = append(out.Varying, reports.VaryingKeys(ids)...)
	return out, nil
}
