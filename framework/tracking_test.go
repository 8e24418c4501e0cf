package framework

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

var (
	kills    = flag.Int("kills", 5, "SIGKILLs of TestKilledSweepResumes (-short: 2)")
	killSeed = flag.Uint64("kill.seed", 1, "seed of the kill times of TestKilledSweepResumes")
)

// helperExperiment is the sweep the helper process runs: three stages, a
// chain among them, three epochs each so that kills land mid-training and
// resumes start from an epoch's state.
func helperExperiment() Experiment {
	c := tinyConfig()
	c.Train.Epochs = 3
	return Experiment{Name: "helper", Base: c, Sweep: Sweep{Models: []string{"base", "fast", "base>fast"}}}
}

// helperStages is the number of runs helperExperiment finishes.
const helperStages = 3

// TestHelperProcess is not a test: it is the experiment program that the
// tests below start (this test binary again), with Command's arguments
// after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FRAMEWORK_HELPER") != "1" {
		t.Skip("the helper process of other tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	err := Command(ctx, helperExperiment(), flag.Args(), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helper returns the command that runs the helper process with args.
func helper(t *testing.T, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "FRAMEWORK_HELPER=1")
	return cmd
}

// runOutcome is a run as the acceptance checks compare it: its trial, its
// status, and for a finished run every result and every step it recorded.
type runOutcome struct {
	hash, model, status, results, steps string
}

// outcomes lists the runs of an experiment in a canonical order.
func outcomes(t *testing.T, db *store.DB, experiment string) []runOutcome {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT r.config_hash, r.model, r.status,
		COALESCE((SELECT group_concat(split || '/' || name || '=' || printf('%!.17g', value), ' ')
			FROM (SELECT * FROM results WHERE run_id = r.id ORDER BY split, name)), ''),
		COALESCE((SELECT group_concat(step || '/' || name || '=' || printf('%!.17g', value), ' ')
			FROM (SELECT * FROM steps WHERE run_id = r.id ORDER BY step, name)), '')
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? ORDER BY r.config_hash, r.status`, experiment)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []runOutcome
	for rows.Next() {
		var o runOutcome
		if err := rows.Scan(&o.hash, &o.model, &o.status, &o.results, &o.steps); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func openPath(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestKilledSweepResumes kills the helper sweep with SIGKILL at random
// moments and reruns it each time, until a rerun finds it finished; then
// every trial is finished exactly once, every run a kill cut short is
// marked interrupted, and the results and the whole step history equal
// those of a sweep never killed (training resumed from an epoch's state
// gives the same weights, and a resumed run copies the steps before it). With
// more kills than one sweep absorbs it starts again on a new database.
// The long variant: go test ./framework -run KilledSweep -kills=60.
func TestKilledSweepResumes(t *testing.T) {
	n := *kills
	if testing.Short() {
		n = min(n, 2)
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report")
	ref := filepath.Join(dir, "reference.db")
	start := time.Now()
	if out, err := helper(t, "-db", ref, "-report", report).CombinedOutput(); err != nil {
		t.Fatalf("reference sweep: %v\n%s", err, out)
	}
	whole := time.Since(start)
	want := outcomes(t, openPath(t, ref), "helper")
	rng := rand.New(rand.NewPCG(*killSeed, 0))
	var total, totalCut, resumed int
	for round := 0; total < n; round++ {
		path := filepath.Join(dir, fmt.Sprintf("killed-%d.db", round))
		cut := map[int64]bool{} // runs left 'running' by this round's kills
		for total < n {
			cmd := helper(t, "-db", path, "-report", report)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			after := time.Duration(rng.Float64() * float64(whole))
			time.Sleep(after)
			cmd.Process.Signal(syscall.SIGKILL)
			if cmd.Wait() == nil {
				break // finished before the kill: the round is over
			}
			total++
			// A kill before the restarted sweep marked the previous kill's
			// run finds that run again: count runs, not kills.
			var running []int64
			db := openPath(t, path)
			rows, err := db.SQL().Query(`SELECT id FROM runs WHERE status = 'running'`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				running = append(running, id)
				cut[id] = true
			}
			rows.Close()
			db.Close()
			t.Logf("round %d, kill %d after %v: runs %v left running", round, total, after.Round(time.Millisecond), running)
		}
		if out, err := helper(t, "-db", path, "-report", report).CombinedOutput(); err != nil {
			t.Fatalf("round %d, final sweep: %v\n%s", round, err, out)
		}
		db := openPath(t, path)
		resumed += countRows(t, db, `SELECT count(*) FROM environment WHERE key = 'resumed_from_epoch'`)
		totalCut += len(cut)
		if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'finished'`); n != helperStages {
			t.Errorf("round %d: %d finished runs, want %d", round, n, helperStages)
		}
		if n := countRows(t, db, `SELECT count(DISTINCT config_hash) FROM runs WHERE status = 'finished'`); n != helperStages {
			t.Errorf("round %d: %d trials finished, want each of the %d exactly once", round, n, helperStages)
		}
		if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'interrupted'`); n != len(cut) {
			t.Errorf("round %d: %d runs interrupted, want the %d the kills cut short", round, n, len(cut))
		}
		if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status NOT IN ('finished', 'interrupted')`); n != 0 {
			t.Errorf("round %d: %d runs neither finished nor interrupted", round, n)
		}
		var finished []runOutcome
		for _, o := range outcomes(t, db, "helper") {
			if o.status == "finished" {
				finished = append(finished, o)
			}
		}
		if !slices.Equal(finished, want) {
			t.Errorf("round %d: results after kills differ from a sweep never killed:\n got %v\nwant %v", round, finished, want)
		}
	}
	t.Logf("%d kills cut %d runs short; %d runs resumed from an epoch's training state", total, totalCut, resumed)
}

// TestInterruptRecordsRun: SIGINT (Ctrl-C) or SIGTERM (what Slurm and
// most schedulers send) in the middle of a run ends the program with the
// run recorded as interrupted, and a rerun finishes it.
func TestInterruptRecordsRun(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { interruptRecordsRun(t, sig) })
	}
}

func interruptRecordsRun(t *testing.T, sig os.Signal) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.db")
	cmd := helper(t, "-db", path, "-report", filepath.Join(dir, "report"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a run to start (the database exists once the schema does).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no run started within a minute:\n%s", out.String())
		}
		if _, err := os.Stat(path); err != nil {
			continue
		}
		db, err := store.Open(path)
		if err != nil {
			continue
		}
		n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'running'`)
		db.Close()
		if n > 0 {
			break
		}
	}
	cmd.Process.Signal(sig)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("interrupted sweep exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "interrupted: the runs in progress are recorded as interrupted") {
		t.Errorf("output does not say the sweep was interrupted:\n%s", out.String())
	}
	db := openPath(t, path)
	if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'interrupted' AND error LIKE '%context canceled%'`); n != 1 {
		t.Errorf("%d runs interrupted by the signal, want 1:\n%s", n, out.String())
	}
	if n := countRows(t, db, `SELECT count(*) FROM runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running after %v", n, sig)
	}
	if out, err := helper(t, "-db", path, "-report", filepath.Join(dir, "report")).CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if n := countRows(t, db, `SELECT count(DISTINCT config_hash) FROM runs WHERE status = 'finished'`); n != helperStages {
		t.Errorf("%d trials finished after the rerun, want %d", n, helperStages)
	}
}

// TestSlurmShardsEqualSingleMachine runs the array tasks of the emitted
// script locally, one SLURM_ARRAY_TASK_ID at a time, merges their shards,
// and finds the same runs with the same results as a single-machine sweep;
// merging again changes nothing.
func TestSlurmShardsEqualSingleMachine(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the array script")
	}
	dir := t.TempDir()
	single := filepath.Join(dir, "single.db")
	if out, err := helper(t, "-db", single, "-report", filepath.Join(dir, "report")).CombinedOutput(); err != nil {
		t.Fatalf("single-machine sweep: %v\n%s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	e := helperExperiment()
	if err := WriteSlurm(&script, e, SlurmSettings{Program: exe + " -test.run='^TestHelperProcess$' --", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(script.String(), "#SBATCH --array=0,1,2\n") {
		t.Errorf("script does not declare one task per trial:\n%s", script.String())
	}
	scriptPath := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(scriptPath, script.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	trials := len(e.Trials())
	for i := range trials {
		cmd := exec.Command(bash, scriptPath)
		cmd.Env = append(os.Environ(), "FRAMEWORK_HELPER=1", fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("array task %d: %v\n%s", i, err, out)
		}
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "shards", "trial-*.db"))
	if len(shards) != trials {
		t.Fatalf("shards %v, want %d", shards, trials)
	}
	merged := openPath(t, filepath.Join(dir, "results.db"))
	var dups int
	for _, s := range shards {
		rep, err := merged.Merge(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Conflicts) > 0 {
			t.Errorf("merging %s: conflicts %q", s, rep.Conflicts)
		}
		dups += rep.Duplicates
	}
	// base>fast's task trained base again: one duplicate, equal results.
	if dups != 1 {
		t.Errorf("%d duplicate runs merged, want 1 (the base teacher of base>fast)", dups)
	}
	got := outcomes(t, merged, "helper")
	if want := outcomes(t, openPath(t, single), "helper"); !slices.Equal(got, want) {
		t.Errorf("merged shards differ from the single-machine sweep:\n got %v\nwant %v", got, want)
	}
	for _, s := range shards {
		rep, err := merged.Merge(s)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Added != 0 || len(rep.Conflicts) != 0 {
			t.Errorf("merging %s again: %+v, want nothing added", s, rep)
		}
	}
	if again := outcomes(t, merged, "helper"); !slices.Equal(again, got) {
		t.Errorf("merging twice changed the runs:\n got %v\nwant %v", again, got)
	}
	if n := countRows(t, merged, `SELECT count(*) FROM runs`); n != helperStages {
		t.Errorf("%d runs after merging twice, want %d", n, helperStages)
	}
}

func init() {
	datasets.Register("test-panics", func() (*datasets.Dataset, error) { panic("loader exploded") })
	datasets.Register("test-too-small", func() (*datasets.Dataset, error) {
		d, err := datasets.Synthetic(datasets.SyntheticSettings{TrainImages: 2, ValImages: 4, TestImages: 8})
		if d != nil {
			d.Name = "test-too-small"
		}
		return d, err
	})
}

// TestFailuresAreRecorded: a data set that does not load (here its
// loader panics) stops the sweep before any run is recorded, with the
// message once; a data error found in training and a config error each
// mark their trial failed with the message; the sweep goes on past them
// unless FailFast.
func TestFailuresAreRecorded(t *testing.T) {
	db := openDB(t)
	run := func(name, dataset string, codes []int, failFast bool) (Summary, error) {
		c := tinyConfig()
		c.Dataset = dataset
		e := Experiment{Name: name, Base: c, Sweep: Sweep{Models: []string{"inflated"}, Codes: codes}}
		return (&Runner{DB: db, FailFast: failFast}).Run(context.Background(), e)
	}
	if sum, err := run("panic", "test-panics", []int{2, 3}, false); err == nil || sum.Trials != 0 ||
		strings.Count(err.Error(), "panic: loader exploded") != 1 || !strings.Contains(err.Error(), "test-panics") {
		t.Errorf("data set that does not load: summary %+v, err %v; want one error naming the set", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM runs`); n != 0 {
		t.Errorf("data set that does not load: %d runs recorded, want none", n)
	}
	if sum, err := run("data", "test-too-small", nil, false); err == nil || sum.Failed != 1 {
		t.Errorf("data error: summary %+v, err %v", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM run_summary WHERE experiment = 'data' AND status = 'failed' AND error LIKE '%batch size 16%'`); n != 1 {
		t.Errorf("data error: %d failed runs naming the batch size, want 1", n)
	}
	// Codes 0 cannot inflate: that trial fails, the next one trains.
	sum, err := run("goes-on", "synthetic-small", []int{0, 2}, false)
	if err == nil || sum.Failed != 1 || sum.Trained != 1 || !strings.Contains(err.Error(), "inflates with 0 codes") {
		t.Errorf("sweep past a failure: summary %+v, err %v; want 1 failed, 1 trained", sum, err)
	}
	sum, err = run("fail-fast", "synthetic-small", []int{0, 2}, true)
	if err == nil || sum.Failed != 2 || sum.Trained != 0 || !strings.Contains(err.Error(), errFailFast.Error()) {
		t.Errorf("fail-fast: summary %+v, err %v; want the second trial not run", sum, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM run_summary WHERE experiment = 'fail-fast'`); n != 1 {
		t.Errorf("fail-fast: %d runs recorded, want only the failed one", n)
	}
}

// TestWorkers: three workers train the five models with every student
// after its teacher and the same results as one worker.
func TestWorkers(t *testing.T) {
	var got [2][]runOutcome
	for i, workers := range []int{1, 3} {
		db := openDB(t)
		sum, err := (&Runner{DB: db, Workers: workers}).Run(context.Background(), fiveModels(tinyConfig()))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Trained != 5 {
			t.Errorf("%d workers: summary %+v, want 5 trained", workers, sum)
		}
		if n := countRows(t, db, `SELECT count(*) FROM runs s JOIN runs t ON t.id = s.teacher_run_id
			WHERE s.started_at < t.finished_at`); n != 0 {
			t.Errorf("%d workers: %d students started before their teacher finished", workers, n)
		}
		got[i] = outcomes(t, db, "five")
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("3 workers differ from 1:\n got %v\nwant %v", got[1], got[0])
	}
}

// TestRedefinition: a changed experiment under the same name is refused
// with the change and the way out; -name and -redefine are the ways out.
func TestRedefinition(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	e := Experiment{Name: "redef", Base: tinyConfig()}
	e.Base.Model = "fast"
	e.Base.Train.Epochs = 1
	args := []string{"-db", db, "-report", filepath.Join(dir, "report")}
	var out bytes.Buffer
	if err := Command(context.Background(), e, args, &out, &out); err != nil {
		t.Fatal(err)
	}
	err := Command(context.Background(), e, append(args, "-set", "dim=8"), &out, &out)
	var changed DefinitionChangedError
	if !errors.As(err, &changed) || !strings.Contains(err.Error(), "Base.dim: 16 -> 8") ||
		!strings.Contains(err.Error(), "-name") || !strings.Contains(err.Error(), "-redefine") {
		t.Fatalf("changed definition: err %v, want the change and both ways out", err)
	}
	for _, extra := range [][]string{{"-name", "redef-dim8"}, {"-redefine"}} {
		if err := Command(context.Background(), e, append(append(args, "-set", "dim=8"), extra...), &out, &out); err != nil {
			t.Errorf("%v: %v", extra, err)
		}
	}
	// -seed selects a seed; seeds are not part of the definition.
	if err := Command(context.Background(), e, append(args, "-set", "dim=8", "-seed", "1"), &out, &out); err != nil {
		t.Errorf("-seed 1: %v", err)
	}
}

// TestSlurmCommand: -slurm writes a script whose tasks repeat the flags
// that decide the trials, for the trials those flags select.
func TestSlurmCommand(t *testing.T) {
	dir := t.TempDir()
	e := Experiment{Name: "seeds", Base: tinyConfig(), Sweep: Sweep{Models: []string{"base", "fast"}, Seeds: []int64{1, 2}}}
	script := filepath.Join(dir, "job.sh")
	shards := filepath.Join(dir, "shards")
	var out bytes.Buffer
	args := []string{"-slurm", script, "-shards", shards, "-seed", "2", "-set", "dim=8", "-workers", "2", "-db", filepath.Join(dir, "r.db")}
	if err := Command(context.Background(), e, args, &out, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"#SBATCH --array=0,1\n", "-seed=2", "-set dim=8", "-db " + shards + "/trial-\"$SLURM_ARRAY_TASK_ID\".db -trial \"$SLURM_ARRAY_TASK_ID\""} {
		if !strings.Contains(text, want) {
			t.Errorf("script lacks %q:\n%s", want, text)
		}
	}
	task := text[strings.Index(text, "\nexec "):]
	if strings.Contains(task, "-workers") || strings.Contains(task, "r.db") {
		t.Errorf("script repeats flags that are the task's own:\n%s", text)
	}
	if st, err := os.Stat(shards); err != nil || !st.IsDir() {
		t.Errorf("shard directory not created: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.db")); err == nil {
		t.Error("-slurm trained or opened the database")
	}
}
