package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/store"
)

// maxBins bounds the points of a loss curve: a run logs a loss every step
// (1,860 in a 20-epoch reference run), far more than a chart a few hundred
// pixels wide can show, and averaging them into bins also smooths the
// per-batch noise.
const maxBins = 100

// band is a curve over seeds: at each x, the mean of the seeds' values and
// the lowest and highest of them. With the two to five seeds of a sweep
// the range says more than a standard deviation would.
type band struct {
	X    []float64 `json:"x"`
	Mean []num     `json:"mean"`
	Lo   []num     `json:"lo"`
	Hi   []num     `json:"hi"`
}

// boundary is a moment of training where its objective or learning rate
// changes, which explains a kink in the curves.
type boundary struct {
	X     float64 `json:"x"`
	Label string  `json:"label"`
}

// curveSet is the curves of one configuration.
type curveSet struct {
	Config int     `json:"config"`
	Label  string  `json:"label"`
	Runs   []int64 `json:"runs"` // the runs drawn: finished and running ones
	// Unit of X: "epoch" (epochs trained, fractional along an epoch), or
	// "step" when no run of the configuration has finished an epoch yet,
	// so that its length is unknown.
	Unit       string     `json:"unit"`
	Epochs     num        `json:"epochs"` // planned (train.epochs; cross.epochs for a cross encoder)
	Boundaries []boundary `json:"boundaries"`
	Loss       band       `json:"loss"`
	ValRSum    band       `json:"val_rsum"`
}

// span is how far a run got: its last step, and the steps of its first
// epoch (0 until that epoch ended). Every epoch has as many steps as the
// first, and steps are numbered from 1 (a resumed run copies the steps of
// the run it continues), so step s is s/perEpoch epochs into training.
type span struct {
	last, perEpoch int
}

// curves answers /api/curves?experiment=NAME: per configuration, training
// loss and validation rSum against epochs, as bands over its seeds, with
// the end of the warm-up and the learning rate decay.
//
// Failed and interrupted runs are left out: a failed run's curve is its
// own story (the runs table gives its error), and an interrupted run's
// steps reappear in the run that resumed it.
func (s *Server) curves(r *http.Request, db store.Reader) (any, error) {
	name, runs, err := experimentRuns(r, db)
	if err != nil {
		return nil, err
	}
	spans, err := loadSpans(db, name)
	if err != nil {
		return nil, err
	}
	out := struct {
		Experiment string      `json:"experiment"`
		Configs    []*curveSet `json:"configs"`
	}{Experiment: name, Configs: []*curveSet{}}
	// Each configuration's axis first: how many steps an x unit is, and
	// how many bins the loss gets.
	axes := map[int64]binning{} // by run
	var sets []*curveSet
	var drawn [][]*run
	for _, c := range configs(runs) {
		var rs []*run
		for _, r := range c.runs {
			if _, ok := spans[r.ID]; ok && (r.Status == statusFinished || r.Status == statusRunning) {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		cv, b := axisOf(c, rs, spans)
		for _, r := range rs {
			axes[r.ID] = b
		}
		sets, drawn = append(sets, cv), append(drawn, rs)
	}
	if len(sets) == 0 {
		return out, nil
	}
	loss, val, err := loadCurves(db, axes)
	if err != nil {
		return nil, err
	}
	for i, cv := range sets {
		cv.addBands(axes[drawn[i][0].ID], drawn[i], loss, val)
	}
	out.Configs = sets
	return out, nil
}

// addBands computes the configuration's bands over its runs rs, binned by b,
// from their binned losses and validations. Each run's mean in a bin counts
// once, so that a seed with more steps in the bin does not outweigh the
// others; the bin's x is the mean x of its steps.
func (cv *curveSet) addBands(b binning, rs []*run, loss map[int64][]binMean, val map[int64]map[int]float64) {
	lossAt := make([][]float64, b.bins) // bin -> the runs' means
	xSum, xN := make([]float64, b.bins), make([]float64, b.bins)
	valAt := map[int][]float64{} // x (whole epochs, or steps) -> the runs' values
	for _, r := range rs {
		for _, p := range loss[r.ID] {
			lossAt[p.bin] = append(lossAt[p.bin], p.mean)
			xSum[p.bin] += p.stepSum / b.scale
			xN[p.bin] += p.n
		}
		for step, v := range val[r.ID] {
			x := int(math.Round(float64(step) / b.scale))
			valAt[x] = append(valAt[x], v)
		}
	}
	for bin, vs := range lossAt {
		if len(vs) > 0 {
			cv.Loss.add(xSum[bin]/xN[bin], vs)
		}
	}
	xs := make([]int, 0, len(valAt))
	for x := range valAt {
		xs = append(xs, x)
	}
	slices.Sort(xs)
	for _, x := range xs {
		cv.ValRSum.add(float64(x), valAt[x])
	}
	cv.Loss.fill()
	cv.ValRSum.fill()
}

// loadSpans reads how far each run of the experiment that logged a step
// got.
func loadSpans(db store.Reader, experiment string) (map[int64]span, error) {
	spans, err := store.ExperimentSpans(db, experiment)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]span, len(spans))
	for id, sp := range spans {
		s := span{last: sp.Last}
		if sp.FirstOfEpoch1 > 1 {
			s.perEpoch = sp.FirstOfEpoch1 - 1
		}
		out[id] = s
	}
	return out, nil
}

// binning maps the steps of a configuration's runs to x and to loss bins:
// step s is at x = s/scale, in bin floor((s-1)*bins/total).
type binning struct {
	scale float64 // steps per unit of x
	total float64 // steps the x axis spans
	bins  int
}

// axisOf sets up the curves of configuration c over its runs rs: the unit
// of x, the marks of its schedule and the binning of the loss.
func axisOf(c *config, rs []*run, spans map[int64]span) (*curveSet, binning) {
	cv := &curveSet{Config: c.ID, Label: c.Label, Unit: "epoch", Boundaries: []boundary{}, Epochs: num(math.NaN())}
	plan := planOf(rs[0])
	if plan.epochs > 0 {
		cv.Epochs = num(plan.epochs)
	}
	// The seeds of a configuration train on the same data with the same
	// batch size, so their epochs have one length.
	perEpoch, last := 0, 0
	for _, r := range rs {
		cv.Runs = append(cv.Runs, r.ID)
		perEpoch, last = max(perEpoch, spans[r.ID].perEpoch), max(last, spans[r.ID].last)
	}
	b := binning{scale: 1, total: float64(max(last, 1))}
	if perEpoch > 0 {
		b.scale = float64(perEpoch)
		b.total = max(float64(last), float64(plan.epochs*perEpoch))
		cv.Boundaries = plan.boundaries()
	} else {
		cv.Unit = "step"
	}
	b.bins = max(1, min(maxBins, int(b.total)))
	return cv, b
}

// binMean is a run's loss over the steps of one bin.
type binMean struct {
	bin     int
	mean    float64
	stepSum float64 // of the steps averaged
	n       float64 // how many
}

// loadCurves reads the binned loss (binned by the store, in SQL) and the
// validation rSum of the runs in axes.
func loadCurves(db store.Reader, axes map[int64]binning) (map[int64][]binMean, map[int64]map[int]float64, error) {
	storeAxes := make(map[int64]store.Binning, len(axes))
	ids := make([]int64, 0, len(axes))
	for id, b := range axes {
		storeAxes[id] = store.Binning{Bins: b.bins, Total: b.total}
		ids = append(ids, id)
	}
	bins, err := store.BinnedSteps(db, "loss", storeAxes)
	if err != nil {
		return nil, nil, err
	}
	loss := map[int64][]binMean{}
	for id, bs := range bins {
		for _, m := range bs {
			loss[id] = append(loss[id], binMean{bin: min(axes[id].bins-1, max(0, m.Bin)), mean: m.Mean, stepSum: m.StepSum, n: m.N})
		}
	}
	val, err := store.StepsOfRuns(db, "val_rsum", ids)
	if err != nil {
		return nil, nil, err
	}
	return loss, val, nil
}

// add appends a point: the mean, lowest and highest of vs.
func (b *band) add(x float64, vs []float64) {
	mean, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		mean += v / float64(len(vs))
		lo, hi = min(lo, v), max(hi, v)
	}
	b.X = append(b.X, x)
	b.Mean, b.Lo, b.Hi = append(b.Mean, num(mean)), append(b.Lo, num(lo)), append(b.Hi, num(hi))
}

// fill makes empty slices, so that JSON has [] rather than null.
func (b *band) fill() {
	if b.X == nil {
		b.X, b.Mean, b.Lo, b.Hi = []float64{}, []num{}, []num{}, []num{}
	}
}

// plan is how a run was set to train, from its params.
type plan struct {
	epochs, warmup, decay int
	decays                bool
}

// planOf reads a run's schedule from its params, as the framework applies
// them: the InfoNCE warm-up only precedes a hinge of a first stage (not a
// distilled student, not a cross encoder, not InfoNCE itself), and a cross
// encoder trains cross.epochs with the decay at the same fraction of them
// as the first stage's (framework/cross.go).
func planOf(r *run) plan {
	atoi := func(k string) int {
		n, _ := strconv.Atoi(r.Params[k])
		return n
	}
	p := plan{epochs: atoi("train.epochs"), warmup: atoi("train.warmup_epochs"), decay: atoi("train.decay_epoch"), decays: true}
	if f, err := strconv.ParseFloat(r.Params["train.decay_factor"], 64); err == nil && f == 1 {
		p.decays = false
	}
	cross := strings.HasSuffix(r.Model, ">>cross")
	if r.Teacher != 0 || cross || r.Params["train.loss"] == "infonce" {
		p.warmup = 0
	}
	if cross {
		if e := atoi("cross.epochs"); e > 0 {
			p.decay = max(1, e*p.decay/max(p.epochs, 1))
			p.epochs = e
		}
	}
	return p
}

// boundaries are the marks a plan puts on the epoch axis: the warm-up ends
// after epoch warmup, and the decay applies from (0-based) epoch decay on,
// that is after decay epochs.
func (p plan) boundaries() []boundary {
	out := []boundary{}
	if p.warmup > 0 && (p.epochs == 0 || p.warmup < p.epochs) {
		out = append(out, boundary{float64(p.warmup), fmt.Sprintf("warm-up ends (%d)", p.warmup)})
	}
	if p.decays && p.decay > 0 && (p.epochs == 0 || p.decay < p.epochs) {
		out = append(out, boundary{float64(p.decay), fmt.Sprintf("lr decay (%d)", p.decay)})
	}
	return out
}
