package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/distill"
	"github.com/inflateshrink/inflateshrink/framework/environ"
	"github.com/inflateshrink/inflateshrink/gpu"
	"github.com/inflateshrink/inflateshrink/internal/filehash"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/store"
)

// Runner trains and evaluates an experiment's trials into a store.
type Runner struct {
	DB *store.DB
	// CheckpointDir holds stage checkpoints; default "checkpoints" beside
	// the database.
	CheckpointDir string
	// Log receives structured progress; nil discards it.
	Log *slog.Logger
	// Progress, if true, draws a progress line with rate and ETA on
	// standard error (for a terminal); with several workers it logs instead.
	Progress bool
	// Workers is how many stages train at once, in goroutines of this
	// process; default 1. Gonum's BLAS already spreads one training over
	// every core, so more workers pay only where a step leaves cores idle
	// (small models, graph overhead): measure before raising it.
	Workers int
	// FailFast stops the sweep at the first failed trial: stages not yet
	// started are not run. By default a failure is recorded and the sweep
	// goes on.
	FailFast bool
	// Redefine replaces a stored experiment definition that differs from
	// the experiment's, instead of refusing to run (see store.Redefine).
	Redefine bool
	// Only, if not nil, selects the trials to run by their index in
	// Experiment.Trials(); the others are neither run nor counted.
	Only func(i int) bool
	// Device is where stages train and test splits are encoded and scored:
	// the CPU (models' Gorgonia graphs) by default, or a GPU through
	// package gpu (a -tags gpu build). Every run records the device, and
	// a GPU's name, memory, driver and CUDA versions.
	Device  gpu.Device
	gpuInfo gpu.Info // the GPU's description, read once by Run
	// openGPU opens the device's backend; nil means gpu.Open. Tests run
	// the GPU path on the Host backend through it.
	openGPU func(gpu.Device) (gpu.Backend, gpu.Info, error)

	mu      sync.Mutex // guards data and digests
	data    map[string]*loaded
	digests map[string]string // file SHA-256 by path, see digest
}

// loaded is a data set with its vocabulary: built from its training
// captions, or BERT's (bert, when the trials start from BERT).
type loaded struct {
	name  string // as registered, "<set>@<tokenisation>" for a variant
	ds    *datasets.Dataset
	vocab *datasets.Vocab
	bert  *models.BERT // nil: the encoder starts from random weights
}

// Summary counts what Run did.
type Summary struct {
	Trials, Skipped, Trained, Failed int
	Interrupted                      []int64  // ids of stale runs found and marked interrupted
	Failures                         []string // "model (seed N): error"
}

// onlySeeds reports whether every change of a definition is in its seeds.
func onlySeeds(changes []string) bool {
	for _, c := range changes {
		if !strings.HasPrefix(c, "Sweep.Seeds") {
			return false
		}
	}
	return true
}

// DefinitionChangedError is Run's refusal to add runs to an experiment
// whose stored definition differs from the one given.
type DefinitionChangedError struct{ *store.DefinitionChangedError }

func (e DefinitionChangedError) Error() string {
	return fmt.Sprintf("framework: experiment %q was recorded with another definition; changed (stored -> now):\n  %s\n"+
		"Run it under a new name (-name) to keep both, or pass -redefine to replace the stored definition "+
		"(finished trials whose config did not change are kept and not run again).",
		e.Experiment, strings.Join(e.Changes, "\n  "))
}

func (e DefinitionChangedError) Unwrap() error { return e.DefinitionChangedError }

// errTeacherFailed ends a stage whose teacher stage did not finish.
var errTeacherFailed = errors.New("teacher stage did not finish")

// errFailFast ends the stages not started after a failure under FailFast.
var errFailFast = errors.New("not run: an earlier trial failed (-fail-fast)")

// stage is one run of the sweep: a prefix of a trial's chain. Trials that
// share a prefix share its stage, which trains once.
type stage struct {
	cfg    Config
	chain  []distill.Stage
	parent *stage // the teacher stage, nil for a first stage
	label  string
	// cross: the stage is a cascade's cross encoder, re-ranking its
	// parent's candidates (cross.go); chain is the parent's.
	cross bool

	done    chan struct{} // closed when the fields below are final
	run     store.RunRecord
	trained bool // trained now, not found finished
	teaches bool // a stage of the sweep distils from it
	err     error
}

// Run runs every trial of e that the store does not hold finished, after
// marking interrupted the runs that an earlier process left 'running' (see
// store.MarkStale). Stages run on Workers goroutines, a student only after
// its teacher. A failed trial is recorded as failed and the sweep goes on
// (unless FailFast); the returned error lists the failures (and is nil
// when there were none). A cancelled ctx stops the sweep: the runs in
// progress are recorded as interrupted.
func (r *Runner) Run(ctx context.Context, e Experiment) (Summary, error) {
	if e.Name == "" {
		return Summary{}, errors.New("framework: experiment has no name")
	}
	if err := e.Check(); err != nil {
		return Summary{}, err
	}
	if r.Device.CUDA && r.openGPU == nil {
		r.openGPU = gpu.Open
	}
	if r.Device.CUDA && r.gpuInfo.Name == "" {
		be, info, err := r.openGPU(r.Device)
		if err != nil {
			return Summary{}, err
		}
		if err := be.Close(); err != nil {
			return Summary{}, err
		}
		r.gpuInfo = info
	}
	if err := r.preflight(e); err != nil {
		return Summary{}, err
	}
	log := r.logger()
	define := r.DB.EnsureExperiment
	if r.Redefine {
		define = r.DB.Redefine
	}
	if _, err := define(e.Name, e.Definition()); err != nil {
		changed, ok := errors.AsType[*store.DefinitionChangedError](err)
		if !ok {
			return Summary{}, err
		}
		if !onlySeeds(changed.Changes) {
			return Summary{}, DefinitionChangedError{changed}
		}
		// Databases written before seeds left the definition differ only
		// there: bring their stored definition up to date.
		if _, err := r.DB.Redefine(e.Name, e.Definition()); err != nil {
			return Summary{}, err
		}
	}
	var sum Summary
	stale, err := r.DB.MarkStale()
	if err != nil {
		return sum, err
	}
	if sum.Interrupted = stale; len(stale) > 0 {
		log.Warn("runs left running by a process that stopped, marked interrupted", "runs", stale)
	}
	if removed, err := removeStaleTemps(r.checkpointDir()); err != nil {
		return sum, err
	} else if len(removed) > 0 {
		log.Info("removed temporary files of processes that stopped", "files", removed)
	}

	// Resolve every trial and lay out its stages.
	type trial struct {
		cfg  Config
		last *stage
		err  error
	}
	var trials []trial
	stages := map[string]*stage{}
	var order []*stage
	all := e.Trials()
	for i, c := range all {
		if r.Only != nil && !r.Only(i) {
			continue
		}
		label := fmt.Sprintf("%d/%d", i+1, len(all))
		var resolved Config
		err := protect(func() (err error) { resolved, err = r.resolve(c); return err })
		if err != nil {
			trials = append(trials, trial{cfg: c, err: r.recordFailedTrial(e.Name, c, err)})
			continue
		}
		if untrained(resolved.Model) {
			sc := resolved.normalised()
			st, ok := stages[sc.Hash()]
			if !ok {
				st = &stage{cfg: sc, label: label, done: make(chan struct{})}
				stages[sc.Hash()] = st
				order = append(order, st)
			}
			trials = append(trials, trial{cfg: resolved, last: st})
			continue
		}
		chain, _ := resolved.chain() // resolve checked it
		first, cross := firstStage(resolved.Model)
		names := strings.Split(first, ">")
		var parent *stage
		for k := range len(chain) + 1 {
			sc := resolved
			if k < len(chain) {
				sc.Model = strings.Join(names[:k+1], ">")
			} else if !cross {
				break
			}
			sc = sc.normalised()
			st, ok := stages[sc.Hash()]
			if !ok {
				st = &stage{cfg: sc, chain: chain[:min(k+1, len(chain))], parent: parent, label: label, cross: k == len(chain), done: make(chan struct{})}
				stages[sc.Hash()] = st
				order = append(order, st)
			}
			if parent != nil {
				parent.teaches = true
			}
			parent = st
		}
		trials = append(trials, trial{cfg: resolved, last: parent})
	}
	sum.Trials = len(trials)

	// Stages are queued teachers first, so a worker waiting for a teacher
	// waits for a stage that another worker already took: no deadlock.
	queue := make(chan *stage, len(order))
	for _, st := range order {
		queue <- st
	}
	close(queue)
	var failed atomic.Bool
	for _, t := range trials {
		if t.err != nil && r.FailFast {
			failed.Store(true)
		}
	}
	var wg sync.WaitGroup
	for range max(r.Workers, 1) {
		wg.Go(func() {
			for st := range queue {
				r.runStageOf(ctx, e, st, &failed)
				close(st.done)
			}
		})
	}
	wg.Wait()

	for _, t := range trials {
		err := t.err
		if err == nil {
			switch {
			case t.last.err == nil && t.last.trained:
				sum.Trained++
			case t.last.err == nil:
				sum.Skipped++
				log.Info("skip finished trial", "model", t.cfg.Model, "seed", t.cfg.Seed, "run", t.last.run.ID)
			default:
				err = t.last.err
			}
		}
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			sum.Failed++
			sum.Failures = append(sum.Failures, fmt.Sprintf("%s (seed %d): %v", t.cfg.Model, t.cfg.Seed, err))
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if sum.Failed > 0 {
		return sum, fmt.Errorf("framework: %d of %d trials failed:\n  %s", sum.Failed, len(trials), strings.Join(sum.Failures, "\n  "))
	}
	return sum, nil
}

// runStageOf settles st: found finished, trained now, or failed with the
// reason in st.err. Its teacher is settled first.
func (r *Runner) runStageOf(ctx context.Context, e Experiment, st *stage, failed *atomic.Bool) {
	log := r.logger()
	if st.parent != nil {
		<-st.parent.done
		if st.parent.err != nil {
			st.err = fmt.Errorf("%w: %s: %w", errTeacherFailed, st.parent.cfg.Model, st.parent.err)
			return
		}
	}
	rec, ok, err := r.DB.FinishedRun(e.Name, st.cfg.Hash())
	if err == nil && ok && st.teaches {
		ok, err = r.usableTeacher(rec)
	}
	switch {
	case err != nil:
		st.err = err
	case ok:
		st.run = rec
	case ctx.Err() != nil:
		st.err = ctx.Err()
	case r.FailFast && failed.Load():
		st.err = errFailFast
	default:
		log.Info("stage", "trial", st.label, "model", st.cfg.Model, "codes", st.cfg.Codes, "seed", st.cfg.Seed)
		st.run, st.trained, st.err = r.runStage(ctx, e, st)
	}
	if st.err != nil && ctx.Err() == nil {
		failed.Store(true)
		log.Error("stage failed", "model", st.cfg.Model, "seed", st.cfg.Seed, "err", st.err)
	}
}

// usableTeacher reports whether the finished run rec, a teacher of stages
// still to train, left a checkpoint that loads. One that is damaged or
// gone would fail every student on every rerun while the teacher stays
// finished: its run is marked failed, with why, so that it trains again.
func (r *Runner) usableTeacher(rec store.RunRecord) (bool, error) {
	_, err := models.Load(r.DB.CheckpointPath(rec))
	if err == nil {
		return true, nil
	}
	r.logger().Warn("a finished teacher's checkpoint does not load; training it again", "run", rec.ID, "err", err)
	return false, r.DB.Invalidate(rec.ID, "checkpoint unusable, trained again: "+err.Error())
}

// recordFailedTrial records a trial that failed before it could start (its
// data set would not load, say) as a failed run, so the database shows it.
func (r *Runner) recordFailedTrial(experiment string, c Config, cause error) error {
	chain, _ := c.chain()
	run, err := r.DB.StartRun(store.RunInfo{
		Experiment: experiment, ConfigHash: c.Hash(), Model: c.Model, Codes: c.Codes,
		Schedule: c.schedule(chain), Seed: c.Seed, Dataset: c.Dataset, Protocol: "unknown",
		Config: c.JSON(), Params: c.Params(), Env: r.environment(c),
	})
	if err != nil {
		return errors.Join(cause, err)
	}
	if err := run.Fail(cause); err != nil {
		return errors.Join(cause, err)
	}
	return fmt.Errorf("run %d: %w", run.ID(), cause)
}

// environment is the environment recorded with a run of c.
func (r *Runner) environment(c Config) map[string]string {
	env := environ.Capture(".", models.BLAS())
	env["seed"] = strconv.FormatInt(c.Seed, 10)
	env["device"] = r.Device.String()
	if c.Init.BERT != "" && c.Init.Authors == "" {
		if l, err := r.dataset(c.Dataset, c.Init.BERT); err == nil {
			env["init_bert_sha256"] = l.bert.Digest
		}
	}
	if c.Init.Authors != "" {
		if sum, err := r.digest(c.Init.Authors); err == nil {
			env["init_authors_sha256"] = sum
		}
	}
	if r.Device.CUDA {
		maps.Copy(env, r.gpuInfo.Fields())
	}
	return env
}

// digest is the SHA-256 of the file at path, computed once per Runner:
// environment runs at every claim of a trial (every poll while another
// process holds it), and a checkpoint is hundreds of megabytes.
func (r *Runner) digest(path string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sum, ok := r.digests[path]; ok {
		return sum, nil
	}
	sum, err := filehash.SHA256(path)
	if err != nil {
		return "", err
	}
	if r.digests == nil {
		r.digests = map[string]string{}
	}
	r.digests[path] = sum
	return sum, nil
}

// panicError is a recovered panic with the stack where it happened; the
// store records the stack beside the message.
type panicError struct {
	value any
	stack []byte
}

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }
func (p panicError) Stack() string { return string(p.stack) }

// protect runs f, turning a panic into a panicError.
func protect(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p, debug.Stack()}
		}
	}()
	return f()
}

func (r *Runner) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// dataset loads (once) the named data set and its vocabulary: the
// word-level vocabulary of its training captions, or with bertDir (a
// trial's init.bert) BERT's WordPiece vocabulary, the checkpoint loaded
// (once) with it.
func (r *Runner) dataset(name, bertDir string) (*loaded, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := name + "\x00" + bertDir
	if l, ok := r.data[key]; ok {
		return l, nil
	}
	ds, err := datasets.Load(name)
	if err != nil {
		return nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	l := &loaded{name: name, ds: ds}
	if bertDir == "" {
		l.vocab = datasets.BuildVocab(ds.Train.Captions)
	} else {
		for _, other := range r.data {
			if other.bert != nil && other.bert.Dir == bertDir {
				l.bert = other.bert // the checkpoint is read once, whatever the data set
			}
		}
		if l.bert == nil {
			if l.bert, err = models.LoadBERT(bertDir); err != nil {
				return nil, fmt.Errorf("framework: init.bert: %w", err)
			}
		}
		l.vocab = l.bert.Vocab
	}
	if r.data == nil {
		r.data = map[string]*loaded{}
	}
	r.data[key] = l
	return l, nil
}

// bertShape is mc shaped as l's BERT for trial c (models.BERT.Shape),
// when c starts from BERT: it fails, naming the keys to set, when c's
// encoder is not BERT's shape.
func bertShape(c Config, l *loaded, mc models.Config) (models.Config, error) {
	if l.bert == nil {
		return mc, nil
	}
	bc := l.bert.Config
	for _, k := range []struct {
		key       string
		ours, his int
	}{{"dim", c.Dim, bc.HiddenSize}, {"heads", c.Heads, bc.NumAttentionHeads}, {"ff_dim", c.FFDim, bc.IntermediateSize}} {
		if k.ours != k.his {
			return mc, fmt.Errorf("framework: init.bert %s: %s=%d, but BERT's is %d (set %s=%d)", l.bert.Dir, k.key, k.ours, k.his, k.key, k.his)
		}
	}
	shaped, err := l.bert.Shape(mc, c.Layers)
	if err != nil {
		return mc, fmt.Errorf("framework: init.bert: %w", err)
	}
	return shaped, nil
}

// preflight loads every data set that the trials of e to run read,
// transfer sets included (in the tokenisation of the set they transfer
// from), before any run is recorded: a set that is not set up fails the
// sweep once, with what to do, instead of failing every trial after
// training (or failing each with the same message).
func (r *Runner) preflight(e Experiment) error {
	var errs []error
	seen := map[string]bool{}
	check := func(name string, load func() error) {
		if seen[name] {
			return
		}
		seen[name] = true
		if err := load(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, c := range e.Trials() {
		if r.Only != nil && !r.Only(i) {
			continue
		}
		if p, _ := gpu.ParsePrecision(c.Train.Precision); p != gpu.FP32 && !r.Device.CUDA {
			check("precision "+string(p), func() error {
				return fmt.Errorf("train.precision=%s computes on the GPU's tensor cores: add -device cuda (a -tags gpu build), or leave it fp32", p)
			})
		}
		check(c.Dataset+" "+c.Init.BERT, func() error {
			var l *loaded
			err := protect(func() (err error) { l, err = r.dataset(c.Dataset, c.Init.BERT); return err })
			if err != nil {
				return fmt.Errorf("data set %s: %w", c.Dataset, err)
			}
			if _, authors := authorsOf(c.Model); !authors {
				if _, err := bertShape(c, l, models.Config{MaxTextLen: c.MaxTextLen}); err != nil {
					return err
				}
			}

			for _, name := range e.Transfer {
				check(c.Dataset+" -> "+name, func() error {
					_, err := r.transferSet(name, l)
					return err
				})
			}
			return nil
		})
	}
	if len(errs) > 0 {
		return fmt.Errorf("framework: experiment %s cannot start, nothing was recorded:\n  %w", e.Name, errors.Join(errs...))
	}
	return nil
}

// resolve fills the values that depend on the data set, so that the hash
// names everything that decides the result.
func (r *Runner) resolve(c Config) (Config, error) {
	if m, ok := baselineOf(c.Model); ok {
		if err := validateBaseline(m); err != nil {
			return c, err
		}
	} else if m, ok := authorsOf(c.Model); ok {
		if err := c.validateAuthors(m); err != nil {
			return c, err
		}
	} else if _, err := c.chain(); err != nil {
		return c, err
	}
	if c.MaxRegions == 0 {
		l, err := r.dataset(c.Dataset, c.Init.BERT)
		if err != nil {
			return c, err
		}
		for _, s := range []*datasets.Split{&l.ds.Train, &l.ds.Val, &l.ds.Test} {
			c.MaxRegions = max(c.MaxRegions, s.MaxRegions())
		}
	}
	return c, nil
}

// runStage trains, saves and evaluates st as one run, distilling from its
// teacher's checkpoint, resuming from st's own per-epoch training state
// when an interrupted run left one. Whatever goes wrong after the run
// starts is recorded on it: a cancelled ctx as interrupted, anything else
// (a panic with its stack) as failed.
func (r *Runner) runStage(ctx context.Context, e Experiment, st *stage) (rec store.RunRecord, trained bool, err error) {
	c := st.cfg
	var teacher *models.Model
	var teacherRun int64
	if st.parent != nil {
		var err error
		if teacher, err = models.Load(r.DB.CheckpointPath(st.parent.run)); err != nil {
			err = fmt.Errorf("framework: teacher %s (run %d): %w", st.parent.cfg.Model, st.parent.run.ID, err)
			return store.RunRecord{}, false, r.recordFailedTrial(e.Name, c, err)
		}
		teacherRun = st.parent.run.ID
	}
	protocol := "unknown"
	if l, err := r.dataset(c.Dataset, c.Init.BERT); err == nil {
		protocol = l.ds.Protocol
	}
	// Claim the trial: another process on the database may have finished
	// it, or be training it now (then wait for it, or for its death).
	var (
		run   *store.Run
		state trainingState
	)
	for waiting := false; ; waiting = true {
		env := r.environment(c)
		var err error
		if state, err = openTrainingState(r.checkpointDir(), e.Name, c); err != nil {
			env["resume_refused"] = err.Error()
		} else if state.resume != nil {
			env["resumed_from_epoch"] = strconv.Itoa(state.resume.Epoch)
		}
		var (
			rec   store.RunRecord
			claim store.Claim
		)
		run, rec, claim, err = r.DB.ClaimRun(store.RunInfo{
			Experiment: e.Name, ConfigHash: c.Hash(), Model: c.Model, Codes: c.Codes,
			Schedule: c.schedule(st.chain), Seed: c.Seed, Dataset: c.Dataset, Protocol: protocol,
			TeacherRunID: teacherRun, Config: c.JSON(), Params: c.Params(), Env: env,
		})
		switch {
		case err != nil:
			return store.RunRecord{}, false, err
		case claim == store.Finished:
			return rec, false, nil
		case claim == store.Taken:
			if !waiting {
				r.logger().Info("another process is running this trial; waiting for it", "model", c.Model, "seed", c.Seed)
			}
			select {
			case <-ctx.Done():
				return store.RunRecord{}, false, ctx.Err()
			case <-time.After(claimPoll):
			}
			continue
		}
		if env["resume_refused"] != "" {
			r.logger().Warn("not resuming from this training state, starting over", "err", env["resume_refused"])
		}
		break
	}
	err = protect(func() error {
		if m, ok := baselineOf(c.Model); ok {
			return r.evaluateBaseline(run, c, m, e.Transfer)
		}
		if m, ok := authorsOf(c.Model); ok {
			return r.evaluateAuthors(run, c, m, e.Transfer)
		}
		if st.cross {
			return r.trainAndEvaluateCross(ctx, run, c, teacher, state, e.Transfer, st.label)
		}
		return r.trainAndEvaluate(ctx, run, c, st.chain, teacher, state, e.Transfer, st.label)
	})
	if err != nil {
		end := run.Interrupt // keeps the training state: a rerun resumes from it
		if ctx.Err() == nil {
			end = run.Fail
			// A rerun of a failed training starts afresh; one that failed
			// after training resumes from its last epoch's state and only
			// evaluates again.
			if !errors.Is(err, errAfterTraining) {
				state.remove()
			}
		}
		if eerr := end(err); eerr != nil {
			err = errors.Join(err, eerr)
		}
		return store.RunRecord{}, false, fmt.Errorf("run %d: %w", run.ID(), err)
	}
	state.remove() // the finished run needs it no more
	rec, ok, err := r.DB.FinishedRun(e.Name, c.Hash())
	if err == nil && !ok {
		err = fmt.Errorf("framework: run %d finished but is not found finished", run.ID())
	}
	return rec, true, err
}

// errAfterTraining marks a failure after the stage trained (saving or
// evaluating it): its training state is kept for the rerun.
var errAfterTraining = errors.New("after training")

// claimPoll is how often a process waiting for a trial that another one
// runs asks again.
var claimPoll = 2 * time.Second

func (r *Runner) trainAndEvaluate(ctx context.Context, run *store.Run, c Config, stages []distill.Stage, teacher *models.Model, state trainingState, transfer []string, label string) (err error) {
	trained := false
	defer func() {
		if err != nil && trained {
			err = fmt.Errorf("%w: %w", errAfterTraining, err)
		}
	}()
	l, err := r.dataset(c.Dataset, c.Init.BERT)
	if err != nil {
		return err
	}
	stage := stages[len(stages)-1]
	mc, err := bertShape(c, l, stage.Apply(models.Config{
		VocabSize: l.vocab.Size(), RegionDim: l.ds.RegionDim, Dim: c.Dim, Heads: c.Heads, Layers: c.Layers,
		FFDim: c.FFDim, MaxTextLen: c.MaxTextLen, MaxRegions: c.MaxRegions,
		Padding: models.PadMode(c.Padding), SharedLayers: c.SharedLayers,
	}))
	if err != nil {
		return err
	}
	// Independent streams of the trial's seed: weights, batches.
	initRNG := rand.New(rand.NewPCG(uint64(c.Seed), 1))
	batchRNG := rand.New(rand.NewPCG(uint64(c.Seed), 2))
	settings, err := r.trainSettings(run, c, state)
	if err != nil {
		return err
	}
	// On a GPU the stage trains and is evaluated through one backend,
	// opened in this goroutine (its OS thread holds the device context).
	var be gpu.Backend
	if r.Device.CUDA {
		if be, _, err = r.openGPU(r.Device); err != nil {
			return err
		}
		defer be.Close()
		p, err := gpu.ParsePrecision(c.Train.Precision)
		if err != nil {
			return err
		}
		if err := be.SetPrecision(p); err != nil {
			return err
		}
	}
	reduction := models.Reduction(c.Train.Reduction)
	var m *models.Model
	var obj models.Objective
	var gobj gpu.Objective
	if teacher == nil {
		if m, err = models.New(mc, initRNG); err != nil {
			return err
		}
		if l.bert != nil {
			if err := m.InitFrom(l.bert, nil); err != nil {
				return err
			}
		}
		margin := c.Train.Margin
		if stage.Keep == models.KeepFirst {
			margin = c.Train.FastMargin
		}
		fs := models.FirstStageSettings{Loss: c.Train.Loss, Margin: margin, WarmupEpochs: c.Train.WarmupEpochs,
			Temperature: c.Train.WarmupTemp, Reduction: reduction}
		if be != nil {
			gobj = gpuObjective(fs, nil, m, distill.Settings{})
		} else if obj, err = models.FirstStage(fs); err != nil {
			return err
		}
	} else {
		ds := distill.Settings{TeacherTemp: c.Distill.TeacherTemp, StudentTemp: c.Distill.StudentTemp,
			TrainEmbeddings: c.Distill.TrainEmbeddings, Reduction: reduction}
		if m, settings.Frozen, err = distill.NewStudent(teacher, mc, ds, initRNG); err != nil {
			return err
		}
		if l.bert != nil {
			// The student's layers start from BERT too, as the authors'
			// second encoder does; its embeddings are its teacher's.
			if err := m.InitFrom(l.bert, models.IsLayerParam); err != nil {
				return err
			}
		}
		if be != nil {
			gobj = gpuObjective(models.FirstStageSettings{}, teacher, m, ds)
		} else {
			kd, err := distill.NewKD(teacher, m.Config, ds, settings.BatchSize)
			if err != nil {
				return err
			}
			defer kd.Close()
			obj = kd
		}
	}
	// The checkpoint keeps the vocabulary, so that the model is usable
	// without its training data (cmd/search).
	m.Vocab = l.vocab
	valEv, release, err := newEvaluator(be, m)
	if err != nil {
		return err
	}
	defer release()
	settings.Validation = r.validation(run, c, &l.ds.Val, func() (metrics.QueryRanks, error) {
		return modelRanks(valEv, m, l.vocab, &l.ds.Val)
	})
	progress := newProgress(run, r.logger(), r.Progress && r.Workers <= 1, fmt.Sprintf("[%s] %s", label, c.Model), epochSteps(l.ds, settings))
	var stats models.TrainStats
	if be != nil {
		stats, err = gpu.Train(ctx, be, m, &l.ds.Train, l.vocab, gobj, settings, batchRNG, progress)
	} else {
		stats, err = models.Train(ctx, m, &l.ds.Train, l.vocab, obj, settings, batchRNG, progress)
	}
	progress.done()
	if err != nil {
		return err
	}
	trained = true
	// m holds the weights validation chose: they are the stage's.
	if err := r.keepCheckpoint(run, c, m.Save); err != nil {
		return err
	}
	ev, release, err := newEvaluator(be, m)
	if err != nil {
		return err
	}
	defer release()
	if err := recordSelection(run, settings.Validation, stats, func() error {
		return evaluate(run, ev, m.Config, l.vocab, &l.ds.Val, "val", 1, false)
	}); err != nil {
		return err
	}
	// The test split is read here, once, on the chosen weights.
	if err := r.evaluateTest(run, ev, m, l, transfer); err != nil {
		return err
	}
	return run.Finish(stats.Seconds)
}

// validation is the Validation of c's stage on the validation split val:
// ranks gives the per-query ranks of the weights as trained so far; each
// validation logs their recalls and rSum as steps val_i2t_r1, ...,
// val_rsum of the run, and the rSum chooses. Without a validation split
// there is none: the last epoch's weights are kept.
func (r *Runner) validation(run *store.Run, c Config, val *datasets.Split, ranks func() (metrics.QueryRanks, error)) *models.Validation {
	if len(val.Captions) == 0 {
		return nil
	}
	return &models.Validation{Every: c.Train.ValidateEvery, Patience: c.Train.Patience, Score: func(epoch, step int) (float64, error) {
		q, err := ranks()
		if err != nil {
			return 0, err
		}
		res := q.Retrieval()
		values := map[string]float64{}
		for _, k := range []string{"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum"} {
			values["val_"+k] = res.Values()[k]
		}
		if err := run.LogStep(step, values); err != nil {
			return 0, err
		}
		r.logger().Debug("validation", "model", c.Model, "seed", c.Seed, "epoch", epoch, "val_rsum", res.RSum)
		return res.RSum, nil
	}}
}

// modelRanks are the per-query ranks of m, as trained so far, on split.
func modelRanks(ev evaluator, m *models.Model, vocab *datasets.Vocab, split *datasets.Split) (metrics.QueryRanks, error) {
	if err := ev.Load(m); err != nil {
		return metrics.QueryRanks{}, err
	}
	texts, images, _, _, err := encodeSplit(ev, vocab, split)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	scores, err := ev.Score(texts, images)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	return metrics.Ranks(scores, split.CaptionImage)
}

// recordSelection records what the stage's validation chose, as results
// of split "val": the metrics of the chosen weights (evaluated by
// evaluateVal) when there was a validation, and always "epoch" (the
// epochs trained when the kept weights were taken) and "epochs" (the
// epochs trained, fewer than train.epochs after an early stop).
func recordSelection(run *store.Run, v *models.Validation, stats models.TrainStats, evaluateVal func() error) error {
	if v != nil {
		if err := evaluateVal(); err != nil {
			return err
		}
	}
	return run.RecordResults("val", map[string]float64{"epoch": float64(stats.SelectedEpoch), "epochs": float64(stats.Epochs)})
}

// epochSteps is how many optimiser steps the training of settings on ds
// takes, for the progress line.
func epochSteps(ds *datasets.Dataset, settings models.TrainSettings) int {
	return settings.Epochs * (settings.Batches.Visits(&ds.Train) / max(settings.BatchSize, 1))
}

// trainSettings are the optimisation settings of c's run, saving its
// training state every epoch (and the run's steps with it) and resuming
// from what state found, with the steps logged up to there.
func (r *Runner) trainSettings(run *store.Run, c Config, state trainingState) (models.TrainSettings, error) {
	if state.resume != nil {
		if from, err := run.CopyResumedSteps(state.resume.Step); err != nil {
			return models.TrainSettings{}, err
		} else if from != 0 {
			r.logger().Info("resuming", "run", run.ID(), "from run", from, "epoch", state.resume.Epoch)
		}
	}
	checkpoint := func(s models.TrainState) error {
		if err := state.save(s); err != nil {
			return err
		}
		return run.Flush()
	}
	return models.TrainSettings{
		BatchSize: c.Train.BatchSize, Epochs: c.Train.Epochs, LearningRate: c.Train.LearningRate,
		DecayEpoch: c.Train.DecayEpoch, DecayFactor: c.Train.DecayFactor,
		WeightDecay: zeroIsNone(c.Train.WeightDecay), ClipNorm: zeroIsNone(c.Train.ClipNorm),
		Batches:    datasets.Batching(c.Train.Batches),
		Checkpoint: checkpoint,
		Resume:     state.resume,
	}, nil
}

// zeroIsNone passes a config's 0 ("none": no weight decay, no clipping)
// to models.TrainSettings, where 0 stands for a default and a negative
// value for none.
func zeroIsNone(x float64) float64 {
	if x == 0 {
		return -1
	}
	return x
}

// transferSet loads the named transfer set of a model trained on l. A
// model trained on a tokenisation variant ("emoji-style@s24g8c3") is
// evaluated on the same variant of a transfer set named without one
// ("tuxpaint@s24g8c3"), since its image tokens must be made the same way.
func (r *Runner) transferSet(name string, l *loaded) (*loaded, error) {
	if _, tokens, ok := strings.Cut(l.name, "@"); ok && !strings.Contains(name, "@") {
		name += "@" + tokens
	}
	dir := ""
	if l.bert != nil {
		dir = l.bert.Dir
	}
	t, err := r.dataset(name, dir)
	if err != nil {
		return nil, fmt.Errorf("framework: transfer set: %w", err)
	}
	if t.ds.RegionDim != l.ds.RegionDim {
		return nil, fmt.Errorf("framework: transfer set %s has regions of %d values, the model takes %d", name, t.ds.RegionDim, l.ds.RegionDim)
	}
	return t, nil
}

func (r *Runner) checkpointDir() string {
	if r.CheckpointDir != "" {
		return r.CheckpointDir
	}
	return filepath.Join(filepath.Dir(r.DB.Path()), "checkpoints")
}

// evaluateTest records m's results on l's test split (with its cost) and
// on each transfer set's.
func (r *Runner) evaluateTest(run *store.Run, ev evaluator, m *models.Model, l *loaded, transfer []string) error {
	if err := evaluate(run, ev, m.Config, l.vocab, &l.ds.Test, "test", l.ds.TestFolds, true); err != nil {
		return err
	}
	for _, name := range transfer {
		t, err := r.transferSet(name, l)
		if err != nil {
			return err
		}
		if err := evaluate(run, ev, m.Config, l.vocab, &t.ds.Test, "transfer:"+name, t.ds.TestFolds, false); err != nil {
			return fmt.Errorf("framework: transfer to %s: %w", name, err)
		}
	}
	return nil
}

// evaluationChunk is the encoder batch used for evaluation.
const evaluationChunk = 128

// evaluate encodes a test split with the model's evaluator (and vocab, the
// training data's), scores the whole gallery on the run's device, and records recall, ranks and the
// chance level under the split name. With folds > 1 it also records the
// mean over that many consecutive folds of the images (split "<split>-<folds>fold",
// COCO's 1K protocol) and the first fold alone ("<split>-fold0", what the
// authors' code reports). With cost, it records the model's encoding
// times, query latency and sizes.
func evaluate(run *store.Run, enc evaluator, mc models.Config, vocab *datasets.Vocab, test *datasets.Split, split string, folds int, cost bool) error {
	texts, images, textMs, imageMs, err := encodeSplit(enc, vocab, test)
	if err != nil {
		return err
	}
	scores, err := enc.Score(texts, images)
	if err != nil {
		return err
	}
	whole, err := metrics.Ranks(scores, test.CaptionImage)
	if err != nil {
		return err
	}
	if err := record(run, split, whole, scores); err != nil {
		return err
	}
	if folds > 1 {
		parts, captionImage, err := metrics.Folds(scores, test.CaptionImage, folds)
		if err != nil {
			return err
		}
		ranks := make([]metrics.QueryRanks, len(parts))
		results := make([]metrics.Retrieval, len(parts))
		for i := range parts {
			if ranks[i], err = metrics.Ranks(parts[i], captionImage[i]); err != nil {
				return err
			}
			results[i] = ranks[i].Retrieval()
		}
		// The fold mean's ranks are every fold's, each query ranked in its
		// own fold: resampling them bootstraps the k-fold protocol.
		if err := recordRetrieval(run, fmt.Sprintf("%s-%dfold", split, folds), metrics.Mean(results), metrics.Concat(ranks), parts[0]); err != nil {
			return err
		}
		if err := record(run, split+"-fold0", ranks[0], parts[0]); err != nil {
			return err
		}
	}
	if !cost {
		return nil
	}
	return run.RecordLatency(metrics.Cost{
		EncodeTextMs: textMs, EncodeImageMs: imageMs,
		QueryMs:      queryMs(texts, images),
		Interactions: mc.Interactions(), IndexFloats: mc.IndexFloats(),
	}.Values())
}

// keepCheckpoint saves a trained stage with save beside the database and
// records its path with the run, so that a chain can resume from it.
func (r *Runner) keepCheckpoint(run *store.Run, c Config, save func(path string) error) error {
	path := filepath.Join(r.checkpointDir(), c.Hash()+".ckpt")
	if err := save(path); err != nil {
		return err
	}
	return run.SetCheckpoint(path)
}

// encodeSplit encodes a split's captions and images with enc and returns
// the fragments and the encoding time per caption and per image in ms.
func encodeSplit(enc evaluator, vocab *datasets.Vocab, test *datasets.Split) (texts, images models.Fragments, textMs, imageMs float64, err error) {
	start := time.Now()
	if texts, err = enc.EncodeTexts(vocab, test.Captions); err != nil {
		return texts, images, 0, 0, err
	}
	textMs = float64(time.Since(start).Microseconds()) / 1e3 / float64(len(test.Captions))
	start = time.Now()
	if images, err = enc.EncodeImages(test.Images); err != nil {
		return texts, images, 0, 0, err
	}
	imageMs = float64(time.Since(start).Microseconds()) / 1e3 / float64(len(test.Images))
	return texts, images, textMs, imageMs, nil
}

// record stores the retrieval result of ranks (the ranks themselves too,
// for significance tests) under split with the size and chance level of the
// gallery they were measured on.
func record(run *store.Run, split string, ranks metrics.QueryRanks, gallery metrics.Scores) error {
	return recordRetrieval(run, split, ranks.Retrieval(), ranks, gallery)
}

// recordRetrieval is record for a result r that is not the plain summary of
// ranks (a mean over folds); gallery is one fold then.
func recordRetrieval(run *store.Run, split string, r metrics.Retrieval, ranks metrics.QueryRanks, gallery metrics.Scores) error {
	values := r.Values()
	values["chance_rsum"] = metrics.ChanceRSum(gallery.Images, max(1, gallery.Captions/gallery.Images))
	values["n_images"] = float64(gallery.Images)
	values["n_captions"] = float64(gallery.Captions)
	if err := run.RecordResults(split, values); err != nil {
		return err
	}
	return run.RecordRanks(split, ranks.I2T, ranks.T2I)
}

// queryMs is the mean time to score the whole gallery against one
// caption whose fragments are precomputed, and rank it.
func queryMs(texts, images models.Fragments) float64 {
	i := 0
	return metrics.TimePerCall(timedQueries, func() {
		q := queryFragments(texts, i)
		i = (i + 1) % texts.N
		s, err := models.ScoreGallery(q, images)
		if err != nil {
			panic(err) // dims agree by construction
		}
		order := make([]int, images.N)
		for j := range order {
			order[j] = j
		}
		sort.Slice(order, func(a, b int) bool { return s.Data[order[a]] > s.Data[order[b]] })
	})
}

// queryFragments is caption i's fragments alone, as a query brings them.
func queryFragments(texts models.Fragments, i int) models.Fragments {
	return models.Fragments{N: 1, PerItem: texts.PerItem, Dim: texts.Dim,
		Data: texts.Data[i*texts.PerItem*texts.Dim : (i+1)*texts.PerItem*texts.Dim],
		Mask: texts.Mask[i*texts.PerItem : (i+1)*texts.PerItem]}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
