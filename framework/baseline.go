package framework

import (
	"fmt"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/baselines"
	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/store"
)

// A model named "baseline:METHOD" (baseline:caption-mean, ...) is a
// non-learned reference scorer of package baselines: nothing trains, the
// validation, test and transfer splits are scored from the training split
// alone and recorded like a model's, so that reports show what the
// models must beat. Its result does not depend on the seed, so every
// seed of a sweep is the one trial of seed 0.
const baselinePrefix = "baseline:"

// baselineOf reports whether model names a baseline, and which.
func baselineOf(model string) (baselines.Method, bool) {
	m, ok := strings.CutPrefix(model, baselinePrefix)
	return baselines.Method(m), ok
}

// validateBaseline reports a baseline model that package baselines does
// not know.
func validateBaseline(m baselines.Method) error {
	if !slices.Contains(baselines.Methods, m) {
		return fmt.Errorf("framework: unknown baseline %q (known: %s)", baselinePrefix+string(m), baselineNames())
	}
	return nil
}

func baselineNames() string {
	var names []string
	for _, m := range baselines.Methods {
		names = append(names, baselinePrefix+string(m))
	}
	return strings.Join(names, ", ")
}

// evaluateBaseline scores c's data set with baseline m and records the
// validation (with epoch 0: nothing was chosen), test and transfer results
// as evaluate records a model's, and its cost: one cosine per pair over
// the image's flattened tokens.
func (r *Runner) evaluateBaseline(run *store.Run, c Config, m baselines.Method, transfer []string) error {
	l, err := r.dataset(c.Dataset, "")
	if err != nil {
		return err
	}
	val, test, err := baselines.Evaluate(m, l.ds)
	if err != nil {
		return err
	}
	if len(l.ds.Val.Captions) > 0 {
		if err := recordScores(run, "val", val, &l.ds.Val); err != nil {
			return err
		}
	}
	if err := run.RecordResults("val", map[string]float64{"epoch": 0, "epochs": 0}); err != nil {
		return err
	}
	if err := recordScores(run, "test", test, &l.ds.Test); err != nil {
		return err
	}
	for _, name := range transfer {
		t, err := r.transferSet(name, l)
		if err != nil {
			return err
		}
		s, err := baselines.Score(m, &l.ds.Train, &t.ds.Test)
		if err != nil {
			return fmt.Errorf("framework: transfer to %s: %w", name, err)
		}
		if err := recordScores(run, "transfer:"+name, s, &t.ds.Test); err != nil {
			return fmt.Errorf("framework: transfer to %s: %w", name, err)
		}
	}
	regions := 0
	if len(l.ds.Train.Images) > 0 {
		regions = len(l.ds.Train.Images[0])
	}
	if err := run.RecordLatency(map[string]float64{"interactions": 1, "index_floats": float64(regions * l.ds.RegionDim)}); err != nil {
		return err
	}
	return run.Finish(0)
}

// recordScores records the retrieval of a gallery's scores on split.
func recordScores(run *store.Run, name string, s metrics.Scores, split *datasets.Split) error {
	ranks, err := metrics.Ranks(s, split.CaptionImage)
	if err != nil {
		return err
	}
	return record(run, name, ranks, s)
}
