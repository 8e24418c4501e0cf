package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/distill"
	"github.com/inflateshrink/inflateshrink/framework/environ"
	"github.com/inflateshrink/inflateshrink/framework/store"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

// BLAS names the matrix library the default build uses; it is recorded
// with every run.
const BLAS = "gonum (pure Go)"

// Runner trains and evaluates an experiment's trials into a store.
type Runner struct {
	DB *store.DB
	// CheckpointDir holds stage checkpoints; default "checkpoints" beside
	// the database.
	CheckpointDir string
	// Log receives structured progress; nil discards it.
	Log *slog.Logger
	// Progress, if true, draws a progress line with rate and ETA on
	// standard error (for a terminal).
	Progress bool

	data map[string]*loaded
}

// loaded is a data set with its vocabulary.
type loaded struct {
	ds    *datasets.Dataset
	vocab *datasets.Vocab
}

// Summary counts what Run did.
type Summary struct {
	Trials, Skipped, Trained, Failed int
	Failures                         []string // "model (seed N): error"
}

// Run runs every trial of e that the store does not hold finished. A
// failed trial is recorded as failed and the sweep goes on; the returned
// error lists the failures (and is nil when there were none).
func (r *Runner) Run(ctx context.Context, e Experiment) (Summary, error) {
	if e.Name == "" {
		return Summary{}, errors.New("framework: experiment has no name")
	}
	log := r.logger()
	if _, err := r.DB.EnsureExperiment(e.Name, e.Definition()); err != nil {
		return Summary{}, err
	}
	trials := e.Trials()
	sum := Summary{Trials: len(trials)}
	for i, trial := range trials {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		resolved, err := r.resolve(trial)
		if err != nil {
			return sum, err
		}
		if rec, ok, err := r.DB.FinishedRun(e.Name, resolved.Hash()); err != nil {
			return sum, err
		} else if ok {
			sum.Skipped++
			log.Info("skip finished trial", "trial", i+1, "of", len(trials), "model", trial.Model, "seed", trial.Seed, "run", rec.ID)
			continue
		}
		log.Info("trial", "trial", i+1, "of", len(trials), "model", trial.Model, "codes", resolved.Codes, "seed", trial.Seed)
		if err := r.runChain(ctx, e, resolved, fmt.Sprintf("%d/%d", i+1, len(trials))); err != nil {
			if ctx.Err() != nil {
				return sum, err
			}
			sum.Failed++
			sum.Failures = append(sum.Failures, fmt.Sprintf("%s (seed %d): %v", trial.Model, trial.Seed, err))
			log.Error("trial failed", "model", trial.Model, "seed", trial.Seed, "err", err)
			continue
		}
		sum.Trained++
	}
	if sum.Failed > 0 {
		return sum, fmt.Errorf("framework: %d of %d trials failed:\n  %s", sum.Failed, len(trials), strings.Join(sum.Failures, "\n  "))
	}
	return sum, nil
}

func (r *Runner) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// dataset loads (once) the named data set and its vocabulary.
func (r *Runner) dataset(name string) (*loaded, error) {
	if l, ok := r.data[name]; ok {
		return l, nil
	}
	ds, err := datasets.Load(name)
	if err != nil {
		return nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	if r.data == nil {
		r.data = map[string]*loaded{}
	}
	l := &loaded{ds: ds, vocab: datasets.BuildVocab(ds.Train.Captions)}
	r.data[name] = l
	return l, nil
}

// resolve fills the values that depend on the data set, so that the hash
// names everything that decides the result.
func (r *Runner) resolve(c Config) (Config, error) {
	if _, err := distill.ParseChain(c.Model, c.Codes); err != nil {
		return c, err
	}
	if c.MaxRegions == 0 {
		l, err := r.dataset(c.Dataset)
		if err != nil {
			return c, err
		}
		for _, s := range []*datasets.Split{&l.ds.Train, &l.ds.Val, &l.ds.Test} {
			c.MaxRegions = max(c.MaxRegions, s.MaxRegions())
		}
	}
	return c, nil
}

// runChain makes sure every stage of c's chain has a finished run in the
// experiment, training the missing ones in order; each stage distils from
// the checkpoint of the stage before it.
func (r *Runner) runChain(ctx context.Context, e Experiment, c Config, label string) error {
	stages, err := distill.ParseChain(c.Model, c.Codes)
	if err != nil {
		return err
	}
	names := strings.Split(c.Model, ">")
	var teacher *models.Model
	var teacherRun int64
	for i := range stages {
		sc := c
		sc.Model = strings.Join(names[:i+1], ">")
		if strings.Contains(sc.Model, "inflated") {
			sc.Codes = c.Codes
		} else {
			sc.Codes = 0
		}
		rec, ok, err := r.DB.FinishedRun(e.Name, sc.Hash())
		if err != nil {
			return err
		}
		if ok {
			if i < len(stages)-1 {
				if teacher, err = models.Load(r.DB.CheckpointPath(rec)); err != nil {
					return fmt.Errorf("framework: teacher %s (run %d): %w", sc.Model, rec.ID, err)
				}
			}
			teacherRun = rec.ID
			continue
		}
		m, runID, err := r.runStage(ctx, e, sc, stages[:i+1], teacher, teacherRun, label)
		if err != nil {
			return err
		}
		teacher, teacherRun = m, runID
	}
	return nil
}

// runStage trains, saves and evaluates the last stage of a chain as one
// run. Whatever goes wrong after the run starts is recorded on it.
func (r *Runner) runStage(ctx context.Context, e Experiment, c Config, stages []distill.Stage, teacher *models.Model, teacherRun int64, label string) (*models.Model, int64, error) {
	l, err := r.dataset(c.Dataset)
	if err != nil {
		return nil, 0, err
	}
	env := environ.Capture(".", BLAS)
	run, err := r.DB.StartRun(store.RunInfo{
		Experiment: e.Name, ConfigHash: c.Hash(), Model: c.Model, Codes: c.Codes,
		Schedule: distill.Fragments(stages), Seed: c.Seed, Dataset: l.ds.Name, Protocol: l.ds.Protocol,
		TeacherRunID: teacherRun, Config: c.JSON(), Params: c.Flatten(), Env: env,
	})
	if err != nil {
		return nil, 0, err
	}
	m, err := r.trainAndEvaluate(ctx, run, c, stages, teacher, l, e.Transfer, label)
	if err != nil {
		if ferr := run.Fail(err); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return nil, 0, err
	}
	return m, run.ID(), nil
}

func (r *Runner) trainAndEvaluate(ctx context.Context, run *store.Run, c Config, stages []distill.Stage, teacher *models.Model, l *loaded, transfer []string, label string) (_ *models.Model, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("framework: panic: %v", p)
		}
	}()
	stage := stages[len(stages)-1]
	mc := stage.Apply(models.Config{
		VocabSize: l.vocab.Size(), RegionDim: l.ds.RegionDim, Dim: c.Dim, Heads: c.Heads, Layers: c.Layers,
		FFDim: c.FFDim, MaxTextLen: c.MaxTextLen, MaxRegions: c.MaxRegions,
		Padding: models.PadMode(c.Padding), SharedLayers: c.SharedLayers,
	})
	// Independent streams of the trial's seed: weights, batches.
	initRNG := rand.New(rand.NewPCG(uint64(c.Seed), 1))
	batchRNG := rand.New(rand.NewPCG(uint64(c.Seed), 2))
	settings := models.TrainSettings{
		BatchSize: c.Train.BatchSize, Epochs: c.Train.Epochs, LearningRate: c.Train.LearningRate,
		DecayEpoch: c.Train.DecayEpoch, DecayFactor: c.Train.DecayFactor,
		WeightDecay: c.Train.WeightDecay, ClipNorm: c.Train.ClipNorm,
	}
	var m *models.Model
	var obj models.Objective
	if teacher == nil {
		if m, err = models.New(mc, initRNG); err != nil {
			return nil, err
		}
		margin := c.Train.Margin
		if stage.Keep == models.KeepFirst {
			margin = c.Train.FastMargin
		}
		obj = &models.Warmup{Epochs: c.Train.WarmupEpochs, Temperature: c.Train.WarmupTemp, Then: models.Hinge{Margin: margin}}
	} else {
		ds := distill.Settings{TeacherTemp: c.Distill.TeacherTemp, StudentTemp: c.Distill.StudentTemp, TrainEmbeddings: c.Distill.TrainEmbeddings}
		if m, settings.Frozen, err = distill.NewStudent(teacher, mc, ds, initRNG); err != nil {
			return nil, err
		}
		kd, err := distill.NewKD(teacher, m.Config, ds, settings.BatchSize)
		if err != nil {
			return nil, err
		}
		defer kd.Close()
		obj = kd
	}
	steps := settings.Epochs * (len(l.ds.Train.Images) / max(settings.BatchSize, 1))
	progress := newProgress(run, r.logger(), r.Progress, fmt.Sprintf("[%s] %s", label, c.Model), steps)
	stats, err := models.Train(ctx, m, &l.ds.Train, l.vocab, obj, settings, batchRNG, progress)
	progress.done()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(r.checkpointDir(), c.Hash()+".ckpt")
	if err := m.Save(path); err != nil {
		return nil, err
	}
	if err := run.SetCheckpoint(path); err != nil {
		return nil, err
	}
	if err := evaluate(run, m, l.vocab, &l.ds.Test, "test", true); err != nil {
		return nil, err
	}
	for _, name := range transfer {
		t, err := r.dataset(name)
		if err != nil {
			return nil, fmt.Errorf("framework: transfer set: %w", err)
		}
		if t.ds.RegionDim != l.ds.RegionDim {
			return nil, fmt.Errorf("framework: transfer set %s has regions of %d values, the model takes %d", name, t.ds.RegionDim, l.ds.RegionDim)
		}
		if err := evaluate(run, m, l.vocab, &t.ds.Test, "transfer:"+name, false); err != nil {
			return nil, fmt.Errorf("framework: transfer to %s: %w", name, err)
		}
	}
	return m, run.Finish(stats.Seconds)
}

func (r *Runner) checkpointDir() string {
	if r.CheckpointDir != "" {
		return r.CheckpointDir
	}
	return filepath.Join(filepath.Dir(r.DB.Path()), "checkpoints")
}

// evaluationChunk is the encoder batch used for evaluation.
const evaluationChunk = 128

// evaluate encodes a test split with the model (and vocab, the training
// data's), scores the whole gallery, and records recall, ranks and the
// chance level under the split name; with cost, also the model's encoding
// times, query latency and sizes.
func evaluate(run *store.Run, m *models.Model, vocab *datasets.Vocab, test *datasets.Split, split string, cost bool) error {
	enc, err := models.NewEncoder(m, evaluationChunk)
	if err != nil {
		return err
	}
	defer enc.Close()
	start := time.Now()
	texts, err := enc.EncodeTexts(vocab, test.Captions)
	if err != nil {
		return err
	}
	textMs := float64(time.Since(start).Microseconds()) / 1e3 / float64(len(test.Captions))
	start = time.Now()
	images, err := enc.EncodeImages(test.Images)
	if err != nil {
		return err
	}
	imageMs := float64(time.Since(start).Microseconds()) / 1e3 / float64(len(test.Images))
	scores, err := models.ScoreGallery(texts, images)
	if err != nil {
		return err
	}
	result, err := metrics.Evaluate(scores, test.CaptionImage)
	if err != nil {
		return err
	}
	values := result.Values()
	perImage := len(test.Captions) / len(test.Images)
	values["chance_rsum"] = metrics.ChanceRSum(len(test.Images), perImage)
	values["n_images"] = float64(len(test.Images))
	values["n_captions"] = float64(len(test.Captions))
	if err := run.RecordResults(split, values); err != nil {
		return err
	}
	if !cost {
		return nil
	}
	return run.RecordLatency(metrics.Cost{
		EncodeTextMs: textMs, EncodeImageMs: imageMs,
		QueryMs:      queryMs(texts, images),
		Interactions: m.Config.Interactions(), IndexFloats: m.Config.IndexFloats(),
	}.Values())
}

// queryMs is the mean time to score the whole gallery against one
// caption whose fragments are precomputed, and rank it.
func queryMs(texts, images models.Fragments) float64 {
	const queries = 20
	i := 0
	return metrics.TimePerCall(queries, func() {
		q := models.Fragments{N: 1, PerItem: texts.PerItem, Dim: texts.Dim,
			Data: texts.Data[i*texts.PerItem*texts.Dim : (i+1)*texts.PerItem*texts.Dim],
			Mask: texts.Mask[i*texts.PerItem : (i+1)*texts.PerItem]}
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

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
