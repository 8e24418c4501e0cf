package models

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
	"unsafe"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
)

// StepLogger receives the values of every training step (loss, learning
// rate, gradient norm). The framework's results store implements it;
// training code never writes to a database itself.
type StepLogger interface {
	LogStep(step int, values map[string]float64) error
}

// TrainSettings controls Train. The zero value of each field means its
// documented default.
type TrainSettings struct {
	BatchSize    int     // default 64
	Epochs       int     // default 10
	LearningRate float64 // default 1e-3
	DecayEpoch   int     // learning rate times DecayFactor from this epoch on; default Epochs/2 (the authors: 20 of 40)
	DecayFactor  float64 // default 0.1
	WeightDecay  float64 // AdamW decoupled decay; default 1e-4, negative for none
	ClipNorm     float64 // global gradient-norm clip; default 2.0, negative for none
	// Batches says what an epoch visits: datasets.ByCaption (the
	// default, the authors') or datasets.ByImage.
	Batches datasets.Batching
	// Frozen, if not nil, names the parameters that stay as they are.
	Frozen func(name string) bool
	// Validation, if not nil, chooses the weights Train leaves in the
	// model (and may stop it early); without it they are the last epoch's.
	Validation *Validation
	// Checkpoint, if not nil, is called at the end of every epoch with the
	// state Resume needs to continue from there; an error stops training.
	// The state's slices are Train's own: copy or write them out before
	// returning.
	Checkpoint func(TrainState) error
	// Resume, if not nil, continues a training from a state Checkpoint
	// received, so that the result is exactly that of an uninterrupted
	// training. The model, split, objective, settings and rng must be those
	// the interrupted training started with (rng in its initial state).
	Resume *TrainState
}

// TrainState is a training at the end of an epoch (after its validation):
// enough to continue it.
// The batch order is not in it: Train replays the iterator from the rng's
// initial state instead, because the iterator shuffles its order in place
// and keeps it private, so the rng state alone could not restore it.
type TrainState struct {
	Epoch   int                  // epochs completed
	Step    int                  // optimiser steps taken
	Loss    float64              // loss of the last step
	Seconds float64              // training time so far
	Params  map[string][]float32 // every parameter of the model
	M, V    map[string][]float32 // AdamW moments of the trained parameters
	// Selected is the validation's choice so far (see Validation).
	Selected Selected
}

// WithDefaults returns s with every zero field replaced by its documented
// default.
func (s TrainSettings) WithDefaults() TrainSettings {
	if s.BatchSize == 0 {
		s.BatchSize = 64
	}
	if s.Epochs == 0 {
		s.Epochs = 10
	}
	if s.LearningRate == 0 {
		s.LearningRate = 1e-3
	}
	if s.DecayEpoch == 0 {
		s.DecayEpoch = s.Epochs / 2
	}
	if s.DecayFactor == 0 {
		s.DecayFactor = 0.1
	}
	if s.WeightDecay == 0 {
		s.WeightDecay = 1e-4
	}
	s.WeightDecay = max(s.WeightDecay, 0)
	if s.ClipNorm == 0 {
		s.ClipNorm = 2
	}
	s.ClipNorm = max(s.ClipNorm, 0)
	return s
}

// TrainStats summarises a finished training.
type TrainStats struct {
	Steps     int
	FinalLoss float64
	Seconds   float64
	// Epochs is how many epochs were trained: fewer than the settings'
	// when validation stopped training early.
	Epochs int
	// SelectedEpoch is the epoch whose weights the model holds: the best
	// validated one, or Epochs without validation.
	SelectedEpoch int
	// SelectedScore is its validation score (0 without validation).
	SelectedScore float64
}

// Train fits m to split with obj: epochs of in-batch steps, AdamW with
// global-norm clipping and a step learning-rate decay, validated as
// s.Validation says. Every step's values go to log (which may be nil). A
// non-finite loss stops training with an error naming the step; so does a
// cancelled ctx.
func Train(ctx context.Context, m *Model, split *datasets.Split, vocab *datasets.Vocab, obj Objective, s TrainSettings, rng *rand.Rand, log StepLogger) (TrainStats, error) {
	s = s.WithDefaults()
	it, err := datasets.NewIterator(split, vocab, s.Batches, s.BatchSize, m.Config.MaxTextLen, m.Config.MaxRegions, rng)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: train: %w", err)
	}
	b := newBuilder(m)
	texts, tin, err := b.encodeText(s.BatchSize)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: build text encoder: %w", err)
	}
	images, iin, err := b.encodeImage(s.BatchSize)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: build image encoder: %w", err)
	}
	scores, err := MaxSim(texts, images, tin.weight, iin.fragBias)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: build score: %w", err)
	}
	loss, err := obj.Loss(scores)
	if err != nil {
		return TrainStats{}, fmt.Errorf("models: build loss: %w", err)
	}
	feed := func(batch datasets.Batch, _, epoch int) error {
		if _, err := m.feedText(tin, batch.Text); err != nil {
			return err
		}
		if _, err := m.feedImage(iin, batch.Image); err != nil {
			return err
		}
		return obj.Prepare(batch, epoch)
	}
	return fit(ctx, b, loss, feed, it, s, log)
}

// fit trains the parameters of b's graph that s does not freeze to
// minimise loss, through Loop, for Train and TrainCross: feed(batch, step,
// epoch) binds each batch (steps count from 1) before the graph runs. s
// must have its defaults applied.
func fit(ctx context.Context, b *builder, loss *G.Node, feed func(batch datasets.Batch, step, epoch int) error, it *datasets.Iterator, s TrainSettings, log StepLogger) (TrainStats, error) {
	start := time.Now()
	m := b.m
	g := &graphStepper{loss: loss, feed: feed, opt: &AdamW{WeightDecay: s.WeightDecay, ClipNorm: s.ClipNorm},
		weights: map[string][]float32{}, grads: map[string][]float32{}, matrix: map[string]bool{}}
	for _, name := range b.names {
		if s.Frozen == nil || !s.Frozen(name) {
			g.names = append(g.names, name)
			g.learn = append(g.learn, b.nodes[name])
		}
	}
	if len(g.learn) == 0 {
		return TrainStats{}, fmt.Errorf("models: every parameter is frozen: nothing to train")
	}
	if _, err := G.Grad(loss, g.learn...); err != nil {
		return TrainStats{}, fmt.Errorf("models: gradients: %w", err)
	}
	g.machine = G.NewTapeMachine(b.g, G.BindDualValues(g.learn...))
	defer g.machine.Close()
	// The optimiser writes the model's own tensors, which every graph of
	// the model shares; grads are the machine's gradient buffers, bound on
	// the first step.
	for _, name := range g.names {
		g.weights[name] = m.Params.Data(name)
		g.matrix[name] = len(m.Params.Tensor(name).Shape()) >= 2
	}
	return Loop(ctx, start, m, it, g.names, g, s, log)
}

// graphStepper is the Stepper of a Gorgonia graph: a tape machine runs
// the forward and backward pass, AdamW updates the model's tensors in
// place.
type graphStepper struct {
	machine G.VM
	loss    *G.Node
	feed    func(batch datasets.Batch, step, epoch int) error
	opt     *AdamW
	names   []string
	learn   G.Nodes
	weights map[string][]float32
	grads   map[string][]float32
	matrix  map[string]bool
	bound   bool // grads hold the machine's gradient buffers
}

// Step implements Stepper. A non-finite loss leaves the weights as they
// were.
func (g *graphStepper) Step(b datasets.Batch, step, epoch int, lr float64) (loss, gradNorm float64, err error) {
	if err := g.feed(b, step, epoch); err != nil {
		return 0, 0, err
	}
	if err := g.machine.RunAll(); err != nil {
		return 0, 0, err
	}
	loss = float64(g.loss.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, nil
	}
	if !g.bound {
		if err := g.bindGrads(); err != nil {
			return 0, 0, err
		}
		g.bound = true
	}
	gradNorm = g.opt.Step(lr, g.weights, g.grads, g.matrix, g.names)
	g.machine.Reset()
	return loss, gradNorm, nil
}

func (g *graphStepper) bindGrads() error {
	for i, name := range g.names {
		grad, err := g.learn[i].Grad()
		if err != nil || grad == nil {
			return fmt.Errorf("models: no gradient for %s: %v", name, err)
		}
		g.grads[name] = grad.Data().([]float32)
		if v := g.learn[i].Value().Data().([]float32); unsafe.SliceData(v) != unsafe.SliceData(g.weights[name]) {
			return fmt.Errorf("models: graph copied parameter %s: updates would be lost", name)
		}
	}
	return nil
}

// Sync implements Stepper: the graph trains the model's own tensors.
func (g *graphStepper) Sync() error { return nil }

// Moments implements Stepper.
func (g *graphStepper) Moments() (int, map[string][]float32, map[string][]float32, error) {
	return g.opt.step, g.opt.m, g.opt.v, nil
}

// Resume implements Stepper: it loads r's moments into the optimiser.
func (g *graphStepper) Resume(r *TrainState) error {
	g.opt.step, g.opt.m, g.opt.v = r.Step, map[string][]float32{}, map[string][]float32{}
	if r.Step > 0 {
		for _, name := range g.names {
			g.opt.m[name], g.opt.v[name] = slices.Clone(r.M[name]), slices.Clone(r.V[name])
		}
	}
	return nil
}

// Restore copies s's parameters into m and advances it past s's steps,
// after checking that s belongs to a training of m for epochs epochs of
// it that trains the parameters named trained (their optimiser moments
// included): the part of resuming that does not depend on the executor.
// Loading the moments into an optimiser is the caller's.
func (s *TrainState) Restore(m *Model, it *datasets.Iterator, epochs int, trained []string) error {
	if s.Epoch < 0 || s.Epoch > epochs || s.Step != s.Epoch*it.BatchesPerEpoch() {
		return fmt.Errorf("models: resume: state at epoch %d, step %d does not fit %d epochs of %d steps", s.Epoch, s.Step, epochs, it.BatchesPerEpoch())
	}
	for _, name := range m.Params.Names() {
		dst, src := m.Params.Data(name), s.Params[name]
		if len(src) != len(dst) {
			return fmt.Errorf("models: resume: parameter %s has %d values in the state, the model has %d", name, len(src), len(dst))
		}
		copy(dst, src)
	}
	if s.Step > 0 {
		for _, name := range trained {
			n := len(m.Params.Data(name))
			if len(s.M[name]) != n || len(s.V[name]) != n {
				return fmt.Errorf("models: resume: optimiser moments of %s missing or of the wrong length", name)
			}
		}
	}
	for range s.Step {
		it.Next()
	}
	return nil
}
