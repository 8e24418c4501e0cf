package framework

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

var (
	stress        = flag.Bool("stress", false, "run TestStress, the tracking stress test (see README, Reliability)")
	stressProcs   = flag.Int("stress.procs", 4, "processes of TestStress that run one sweep at once")
	stressSignals = flag.Int("stress.signals", 6, "SIGKILLs and SIGTERMs TestStress sends at random moments")
)

// TestStress is the stress test of tracking, behind -stress (CI runs its
// short form: go test ./framework -run TestStress -stress -v). It prints
// exact counts for each case:
//   - processes: -stress.procs processes of the helper sweep on one
//     database at once, while a reader renders its report in a loop: every
//     trial is trained once, and no render fails;
//   - signals: -stress.signals SIGKILLs and SIGTERMs at random moments,
//     each followed by a restart: every trial finishes once, and its
//     results and whole step history equal a sweep never stopped.
func TestStress(t *testing.T) {
	if !*stress {
		t.Skip("the stress test runs with -stress")
	}
	dir := t.TempDir()
	ref := filepath.Join(dir, "reference.db")
	start := time.Now()
	if out, err := helper(t, "-db", ref, "-report", filepath.Join(dir, "report")).CombinedOutput(); err != nil {
		t.Fatalf("reference sweep: %v\n%s", err, out)
	}
	whole := time.Since(start)
	want := outcomes(t, openPath(t, ref), "helper")

	t.Run("processes", func(t *testing.T) {
		path := filepath.Join(dir, "shared.db")
		openPath(t, path) // created before the processes race to create it
		var renders, failedRenders atomic.Int64
		done := make(chan struct{})
		var reader sync.WaitGroup
		reader.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				err := renderOnce(path, filepath.Join(dir, "render"))
				switch {
				case err != nil && strings.Contains(err.Error(), "has no runs"):
					// before the first run: nothing to render yet
				case err != nil:
					failedRenders.Add(1)
					t.Errorf("render during writes: %v", err)
					renders.Add(1)
				default:
					renders.Add(1)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		var procs sync.WaitGroup
		for i := range *stressProcs {
			procs.Go(func() {
				if out, err := helper(t, "-db", path, "-report", filepath.Join(dir, fmt.Sprint("report", i))).CombinedOutput(); err != nil {
					t.Errorf("process %d: %v\n%s", i, err, out)
				}
			})
		}
		procs.Wait()
		close(done)
		reader.Wait()
		db := openPath(t, path)
		runs := countRows(t, db, `SELECT count(*) FROM runs`)
		trials := countRows(t, db, `SELECT count(DISTINCT config_hash) FROM runs WHERE status = 'finished'`)
		fmt.Printf("stress processes: %d processes, %d trials, %d runs, %d finished trials; %d renders during writes, %d failed\n",
			*stressProcs, helperStages, runs, trials, renders.Load(), failedRenders.Load())
		if runs != helperStages || trials != helperStages {
			t.Errorf("%d runs for %d finished trials, want one run for each of %d", runs, trials, helperStages)
		}
		if got := outcomes(t, db, "helper"); !slices.Equal(got, want) {
			t.Errorf("results differ from a single process's:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("signals", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 0))
		sent := map[string]int{}
		var rounds, finished, trials, running, differ int
		for stopped := 0; stopped < *stressSignals; rounds++ {
			path := filepath.Join(dir, fmt.Sprintf("signalled-%d.db", rounds))
			// Signal processes on this database until one finishes the
			// sweep, then check it and go on with a new one.
			for stopped < *stressSignals {
				cmd := helper(t, "-db", path, "-report", filepath.Join(dir, "report"))
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM}[stopped%2]
				time.Sleep(time.Duration(rng.Float64() * float64(whole)))
				cmd.Process.Signal(sig)
				if cmd.Wait() == nil {
					break // it finished first
				}
				sent[sig.String()]++
				stopped++
			}
			if out, err := helper(t, "-db", path, "-report", filepath.Join(dir, "report")).CombinedOutput(); err != nil {
				t.Fatalf("round %d, final sweep: %v\n%s", rounds, err, out)
			}
			db := openPath(t, path)
			finished += countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'finished'`)
			trials += countRows(t, db, `SELECT count(DISTINCT config_hash) FROM runs WHERE status = 'finished'`)
			running += countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'running'`)
			var got []runOutcome
			for _, o := range outcomes(t, db, "helper") {
				if o.status == "finished" {
					got = append(got, o)
				}
			}
			if !slices.Equal(got, want) {
				differ++
			}
		}
		fmt.Printf("stress signals: %d SIGKILL and %d SIGTERM stopped a process, over %d databases: %d finished runs of %d trials (want %d), %d left running, %d databases whose results or step histories differ from a sweep never stopped\n",
			sent["killed"], sent["terminated"], rounds, finished, trials, rounds*helperStages, running, differ)
		if finished != rounds*helperStages || trials != finished || running != 0 || differ != 0 {
			t.Errorf("after signals: %d finished runs of %d trials, %d running, %d differ", finished, trials, running, differ)
		}
	})
}

// renderOnce opens the database read-only, as the report command does,
// and renders the helper's report.
func renderOnce(path, out string) error {
	db, err := store.OpenReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = reports.Render(db, "helper", out, reports.Settings{})
	return err
}
