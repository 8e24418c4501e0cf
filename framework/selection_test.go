package framework

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// selectionData registers two data sets with the same training and
// validation splits and different test splits: synthetic-small's, and
// another data seed's.
func init() {
	for name, testSeed := range map[string]int64{"test-selection-a": 1, "test-selection-b": 7} {
		datasets.Register(name, func() (*datasets.Dataset, error) {
			d, err := datasets.Load("synthetic-small")
			if err != nil {
				return nil, err
			}
			other, err := datasets.Synthetic(datasets.SyntheticSettings{Seed: testSeed, TrainImages: 320, ValImages: 40, TestImages: 100})
			if err != nil {
				return nil, err
			}
			d.Name, d.Test = name, other.Test
			return d, nil
		})
	}
}

// TestTestDataCannotChangeTheChoice: validation alone chooses a stage's
// weights. Two trials that differ only in their test split (captions and
// images) validate the same curve, choose the same epoch and keep
// byte-identical checkpoints, while their test results differ; the test
// split is recorded once per run, after the choice.
func TestTestDataCannotChangeTheChoice(t *testing.T) {
	db := openDB(t)
	type outcome struct {
		curve      []float64 // val_rsum by validated epoch
		chosen     float64   // results val/epoch
		checkpoint []byte
		testRSum   float64
	}
	run := func(dataset string) outcome {
		c := tinyConfig()
		c.Dataset, c.Train.Epochs, c.Train.DecayEpoch = dataset, 4, 3
		e := Experiment{Name: dataset, Base: c, Sweep: Sweep{Models: []string{"base"}}}
		if _, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		var o outcome
		rows, err := db.SQL().Query(`SELECT s.value FROM steps s JOIN run_summary r ON r.run_id = s.run_id
			WHERE r.experiment = ? AND s.name = 'val_rsum' ORDER BY s.step`, dataset)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v float64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			o.curve = append(o.curve, v)
		}
		var path string
		err = db.SQL().QueryRow(`SELECT v.value, t.value, r.checkpoint FROM runs r
			JOIN experiments e ON e.id = r.experiment_id
			JOIN results v ON v.run_id = r.id AND v.split = 'val' AND v.name = 'epoch'
			JOIN results t ON t.run_id = r.id AND t.split = 'test' AND t.name = 'rsum'
			WHERE e.name = ?`, dataset).Scan(&o.chosen, &o.testRSum, &path)
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(db.Path()), path)
		}
		if o.checkpoint, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT count(*) FROM ranks k JOIN run_summary r ON r.run_id = k.run_id
			WHERE r.experiment = ? AND k.split = 'test'`, dataset); n != 2 {
			t.Errorf("%s: %d test rank rows, want 2 (one evaluation, both directions)", dataset, n)
		}
		return o
	}
	a, b := run("test-selection-a"), run("test-selection-b")
	if len(a.curve) != 4 {
		t.Fatalf("%d validations, want one per epoch (4)", len(a.curve))
	}
	if !slices.Equal(a.curve, b.curve) || a.chosen != b.chosen || !bytes.Equal(a.checkpoint, b.checkpoint) {
		t.Errorf("the choice depends on the test split: validation %v and %v, epochs %v and %v, checkpoints equal %v",
			a.curve, b.curve, a.chosen, b.chosen, bytes.Equal(a.checkpoint, b.checkpoint))
	}
	if a.testRSum == b.testRSum {
		t.Errorf("both test splits give rSum %v: the test data did not change, the comparison is empty", a.testRSum)
	}
	if best := slices.Max(a.curve); a.curve[int(a.chosen)-1] != best {
		t.Errorf("chose epoch %v (validation rSum %v), not the best (%v)", a.chosen, a.curve[int(a.chosen)-1], best)
	}
}

func init() {
	// Images of exactly four regions, as the grid tokens of the real sets
	// have, so that package baselines can flatten them.
	datasets.Register("test-four-regions", func() (*datasets.Dataset, error) {
		d, err := datasets.Synthetic(datasets.SyntheticSettings{TrainImages: 60, ValImages: 20, TestImages: 20, MinObjects: 4, MaxObjects: 4})
		if d != nil {
			d.Name = "test-four-regions"
		}
		return d, err
	})
}

// TestBaselineTrials: a "baseline:METHOD" model trains nothing and is one
// trial whatever the seeds, recorded at seed 0 with validation, test and
// transfer results like a model's; an unknown method is refused by name.
func TestBaselineTrials(t *testing.T) {
	db := openDB(t)
	c := tinyConfig()
	c.Dataset = "test-four-regions"
	e := Experiment{Name: "baselines", Base: c, Transfer: []string{"test-four-regions"},
		Sweep: Sweep{Models: []string{"baseline:caption-mean", "baseline:word-mean"}, Seeds: []int64{1, 2, 3}}}
	if n := len(e.Trials()); n != 2 {
		t.Fatalf("%d trials, want 2 (one per method, seeds merged)", n)
	}
	sum, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err != nil || sum.Trained != 2 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM run_summary WHERE experiment = 'baselines' AND status = 'finished'
		AND seed = 0 AND rsum IS NOT NULL AND val_rsum IS NOT NULL AND selected_epoch = 0 AND schedule = 'none'`); n != 2 {
		t.Errorf("%d finished baseline runs at seed 0 with validation and test results, want 2", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM results WHERE split = 'transfer:test-four-regions' AND name = 'rsum'`); n != 2 {
		t.Errorf("%d transfer results, want 2", n)
	}
	bad := e
	bad.Name, bad.Sweep.Models = "bad", []string{"baseline:pixels"}
	if err := bad.Trials()[0].Validate(); err == nil || !strings.Contains(err.Error(), `"baseline:pixels"`) || !strings.Contains(err.Error(), "baseline:caption-mean") {
		t.Errorf("unknown baseline: %v", err)
	}
}

func init() {
	// A data set and a transfer set each under two tokenisations, with
	// regions of different lengths, as the real image sets are registered.
	for name, dim := range map[string]int{"test-tokens": 8, "test-tokens@wide": 12, "test-transfer": 8, "test-transfer@wide": 12} {
		datasets.Register(name, func() (*datasets.Dataset, error) {
			d, err := datasets.Synthetic(datasets.SyntheticSettings{TrainImages: 60, ValImages: 20, TestImages: 20, RegionDim: dim})
			if d != nil {
				d.Name = name
			}
			return d, err
		})
	}
}

// TestTransferFollowsTokenisation: a model trained on a tokenisation
// variant is evaluated on the same variant of its transfer set, whose
// default tokens it could not read.
func TestTransferFollowsTokenisation(t *testing.T) {
	db := openDB(t)
	c := tinyConfig()
	e := Experiment{Name: "tokens", Base: c, Transfer: []string{"test-transfer"},
		Sweep: Sweep{Models: []string{"fast"}, Sets: [][]string{{"dataset=test-tokens"}, {"dataset=test-tokens@wide"}}}}
	sum, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err != nil || sum.Trained != 2 || sum.Failed != 0 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM results WHERE split = 'transfer:test-transfer' AND name = 'rsum'`); n != 2 {
		t.Errorf("%d transfer results, want 2", n)
	}
}

// TestSeedsOutermost: every configuration (models, Sets variants and More
// sweeps) comes at its first seed before any comes at its second, so a
// sweep stopped early covers every configuration.
func TestSeedsOutermost(t *testing.T) {
	e := Experiment{Name: "order", Base: tinyConfig(),
		Sweep: Sweep{Models: []string{"base", "fast"}, Sets: [][]string{nil, {"train.margin=0.3"}}, Seeds: []int64{7, 8}},
		More:  []Sweep{{Models: []string{"inflated"}}}}
	var seeds []int64
	for _, c := range e.Trials() {
		seeds = append(seeds, c.Seed)
	}
	if want := []int64{7, 7, 7, 7, 7, 8, 8, 8, 8, 8}; !slices.Equal(seeds, want) {
		t.Errorf("seeds in trial order %v, want %v", seeds, want)
	}
}

// TestPreflight: a transfer set that does not load stops the sweep before
// anything trains or is recorded, and says so once.
func TestPreflight(t *testing.T) {
	db := openDB(t)
	e := Experiment{Name: "preflight", Base: tinyConfig(), Transfer: []string{"no-such-set"},
		Sweep: Sweep{Models: []string{"base", "fast"}, Seeds: []int64{1, 2}}}
	sum, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err == nil || strings.Count(err.Error(), `"no-such-set"`) != 1 || sum.Trained != 0 {
		t.Fatalf("summary %+v, err %v; want one error naming the transfer set", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM runs`); n != 0 {
		t.Errorf("%d runs recorded, want none", n)
	}
}
