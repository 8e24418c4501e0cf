package framework

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
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
