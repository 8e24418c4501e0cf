package dashboard

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

// costAxis is one cost measure that accuracy is plotted against.
type costAxis struct {
	Key   string `json:"key"` // the run_summary column
	Label string `json:"label"`
	cost  func(*run) num
}

var costAxes = []costAxis{
	{"interactions", "interactions per (caption, image) pair", func(r *run) num { return r.Interactions }},
	{"query_ms", "query latency (ms per caption, whole gallery)", func(r *run) num { return r.QueryMs }},
	{"index_floats", "index size (floats per image)", func(r *run) num { return r.IndexFloats }},
}

// costPoint is one run on an accuracy-cost chart.
type costPoint struct {
	RunID  int64   `json:"run_id"`
	Config int     `json:"config"`
	Label  string  `json:"label"` // the configuration's
	Model  string  `json:"model"`
	Seed   int64   `json:"seed"`
	X      float64 `json:"x"` // cost
	Y      float64 `json:"y"` // test rSum
}

// cost answers /api/cost?experiment=NAME: for each cost axis, the finished
// runs that have both numbers, and the Pareto front among them.
//
// The points and the front are runs, not configuration means as in the
// reports' latency figure: hovering must name a run, and the front then
// says which trained models no other beats on both accuracy and cost.
func (s *Server) cost(r *http.Request, db store.Reader) (any, error) {
	name, runs, err := experimentRuns(r, db)
	if err != nil {
		return nil, err
	}
	cs := configs(runs)
	type axis struct {
		costAxis
		Points []costPoint `json:"points"`
		Front  []int64     `json:"front"` // run ids, in order of cost
	}
	out := struct {
		Experiment string `json:"experiment"`
		Axes       []axis `json:"axes"`
	}{Experiment: name}
	for _, a := range costAxes {
		ax := axis{costAxis: a, Points: []costPoint{}, Front: []int64{}}
		var xs, ys []float64
		for _, r := range runs {
			x := a.cost(r)
			if r.Status != statusFinished || !x.ok() || !r.RSum.ok() {
				continue
			}
			ax.Points = append(ax.Points, costPoint{RunID: r.ID, Config: r.Config, Label: cs[r.Config].Label,
				Model: r.Model, Seed: r.Seed, X: float64(x), Y: float64(r.RSum)})
			xs, ys = append(xs, float64(x)), append(ys, float64(r.RSum))
		}
		for _, i := range reports.ParetoFront(xs, ys) {
			ax.Front = append(ax.Front, ax.Points[i].RunID)
		}
		out.Axes = append(out.Axes, ax)
	}
	return out, nil
}

// runBrief names a run in a comparison.
type runBrief struct {
	ID         int64  `json:"run_id"`
	Experiment string `json:"experiment"`
	Model      string `json:"model"`
	Seed       int64  `json:"seed"`
	Dataset    string `json:"dataset"`
	Status     string `json:"status"`
}

// loadRun reads one run, with its params, wherever its experiment.
func loadRun(db store.Reader, id int64) (*run, error) {
	rec, ok, err := store.RunByID(db, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("no run %d", id)
	}
	runs, err := loadRuns(db, rec.Experiment)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("run %d vanished from its experiment %q", id, rec.Experiment)
}

// twoRuns reads the runs of the request's parameters a and b.
func twoRuns(r *http.Request, db store.Reader) (a, b *run, err error) {
	var ids [2]int64
	for i, p := range []string{"a", "b"} {
		if ids[i], err = intParam(r, p, 0); err != nil {
			return nil, nil, err
		}
		if ids[i] == 0 {
			return nil, nil, badRequest("parameter %s (a run id) is missing", p)
		}
	}
	if a, err = loadRun(db, ids[0]); err != nil {
		return nil, nil, err
	}
	if b, err = loadRun(db, ids[1]); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

func brief(r *run) runBrief {
	return runBrief{ID: r.ID, Experiment: r.Experiment, Model: r.Model, Seed: r.Seed, Dataset: r.Dataset, Status: r.Status}
}

// diff answers /api/diff?a=ID&b=ID: the params in which two runs differ
// (every other param is the same: Same counts them), and their metrics
// side by side.
func (s *Server) diff(r *http.Request, db store.Reader) (any, error) {
	a, b, err := twoRuns(r, db)
	if err != nil {
		return nil, err
	}
	type change struct {
		Key string  `json:"key"`
		A   *string `json:"a"` // null: the run has no such param
		B   *string `json:"b"`
	}
	type metric struct {
		Name string `json:"name"`
		A    num    `json:"a"`
		B    num    `json:"b"`
	}
	out := struct {
		A       runBrief `json:"a"`
		B       runBrief `json:"b"`
		Params  []change `json:"params"`
		Same    int      `json:"same"`
		Metrics []metric `json:"metrics"`
	}{A: brief(a), B: brief(b), Params: []change{}}
	keys := map[string]bool{}
	for k := range a.Params {
		keys[k] = true
	}
	for k := range b.Params {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, reports.KeyOrder)
	for _, k := range sorted {
		va, oka := a.Params[k]
		vb, okb := b.Params[k]
		if oka && okb && va == vb {
			out.Same++
			continue
		}
		c := change{Key: k}
		if oka {
			c.A = &va
		}
		if okb {
			c.B = &vb
		}
		out.Params = append(out.Params, c)
	}
	for _, m := range []struct {
		name string
		f    func(*run) num
	}{
		{"rsum", func(r *run) num { return r.RSum }},
		{"val_rsum", func(r *run) num { return r.ValRSum }},
		{"i2t_r1", func(r *run) num { return r.I2TR1 }},
		{"t2i_r1", func(r *run) num { return r.T2IR1 }},
		{"interactions", func(r *run) num { return r.Interactions }},
		{"query_ms", func(r *run) num { return r.QueryMs }},
		{"index_floats", func(r *run) num { return r.IndexFloats }},
		{"train_seconds", func(r *run) num { return r.TrainSeconds }},
	} {
		out.Metrics = append(out.Metrics, metric{m.name, m.f(a), m.f(b)})
	}
	return out, nil
}
