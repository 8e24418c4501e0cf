package framework

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

// TestConcurrentSweepsTrainOnce: four runners, each with its own handle
// on one database (as four processes would have), run the same sweep at
// once; every trial is trained once, and the others use its run.
func TestConcurrentSweepsTrainOnce(t *testing.T) {
	defer func(p time.Duration) { claimPoll = p }(claimPoll)
	claimPoll = 20 * time.Millisecond
	path := openDB(t).Path()
	e := Experiment{Name: "shared", Base: tinyConfig(), Sweep: Sweep{Models: []string{"fast", "inflated", "inflated>fast"}, Seeds: []int64{1, 2}}}
	var wg sync.WaitGroup
	trained := make([]int, 4)
	for i := range trained {
		wg.Go(func() {
			db, err := store.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			sum, err := (&Runner{DB: db}).Run(context.Background(), e)
			if err != nil || sum.Failed != 0 || sum.Trained+sum.Skipped != len(e.Trials()) {
				t.Errorf("runner %d: %+v, %v", i, sum, err)
			}
			trained[i] = sum.Trained
		})
	}
	wg.Wait()
	db := openPath(t, path)
	stages := countRows(t, db, `SELECT count(DISTINCT config_hash) FROM runs`)
	if n := countRows(t, db, `SELECT count(*) FROM runs`); n != stages || stages != 2*3 {
		t.Errorf("%d runs of %d stages, want one run for each of 6", n, stages)
	}
	if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'finished'`); n != stages {
		t.Errorf("%d finished runs, want %d", n, stages)
	}
	t.Logf("trials trained by each runner: %v", trained)
}

// TestDamagedTeacherTrainedAgain: a finished teacher whose checkpoint no
// longer loads is marked failed, with why, and trained again before its
// new student, instead of failing the student on every rerun.
func TestDamagedTeacherTrainedAgain(t *testing.T) {
	db := openDB(t)
	c := tinyConfig()
	first := Experiment{Name: "teach", Base: c, Sweep: Sweep{Models: []string{"inflated"}}}
	if _, err := (&Runner{DB: db}).Run(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := db.SQL().QueryRow(`SELECT config_hash FROM runs`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := db.FinishedRun("teach", hash)
	if err != nil || !ok {
		t.Fatalf("teacher run: %v, %v", ok, err)
	}
	if err := os.Truncate(db.CheckpointPath(rec), 100); err != nil {
		t.Fatal(err)
	}
	second := first
	second.Sweep.Models = []string{"inflated", "inflated>base"}
	sum, err := (&Runner{DB: db, Redefine: true}).Run(context.Background(), second)
	if err != nil || sum.Trained != 2 {
		t.Fatalf("%+v, %v; want the teacher and its student trained", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM runs WHERE id = ? AND status = 'failed' AND error LIKE 'checkpoint unusable%'`, rec.ID); n != 1 {
		t.Errorf("the damaged teacher's run is not marked failed with the reason")
	}
	if n := countRows(t, db, `SELECT count(*) FROM run_summary WHERE status = 'finished'`); n != 2 {
		t.Errorf("%d finished runs, want the new teacher's and the student's", n)
	}
}

// badFolds makes the next load of "test-bad-folds" ask for more test
// folds than it has images, which fails the evaluation after training.
var badFolds atomic.Bool

func init() {
	datasets.Register("test-bad-folds", func() (*datasets.Dataset, error) {
		d, err := datasets.Synthetic(datasets.SyntheticSettings{TrainImages: 60, ValImages: 20, TestImages: 20})
		if d != nil {
			d.Name = "test-bad-folds"
			if badFolds.Load() {
				d.TestFolds = 1000
			}
		}
		return d, err
	})
}

// TestEvaluationFailureKeepsTraining: a stage whose evaluation fails after
// training is recorded failed, and the rerun resumes from its last epoch
// and evaluates, without training again.
func TestEvaluationFailureKeepsTraining(t *testing.T) {
	db := openDB(t)
	c := tinyConfig()
	c.Dataset = "test-bad-folds"
	e := Experiment{Name: "eval", Base: c, Sweep: Sweep{Models: []string{"fast"}}}
	badFolds.Store(true)
	if sum, err := (&Runner{DB: db}).Run(context.Background(), e); err == nil || sum.Failed != 1 {
		t.Fatalf("%+v, %v; want the evaluation to fail", sum, err)
	}
	badFolds.Store(false)
	if sum, err := (&Runner{DB: db}).Run(context.Background(), e); err != nil || sum.Trained != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM environment e JOIN runs r ON r.id = e.run_id
		WHERE r.status = 'finished' AND e.key = 'resumed_from_epoch' AND e.value = ?`, fmt.Sprint(c.Train.Epochs)); n != 1 {
		t.Errorf("the rerun did not resume from the last epoch (%d finished runs that did)", n)
	}
}
