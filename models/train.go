package models

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StepLogger receives the values of every training step (loss, learning
// rate, gradient norm). The framework's results store implements it;
// training code never writes to a database itself.
type StepLogger interface {
	LogStep(step int, values map[string]float64) error
}

// Objective turns a batch's score matrix into the loss to minimise.
type Objective interface {
	// Loss builds the scalar loss from the in-batch score matrix
	// (texts x images, matching pairs on the diagonal), adding any inputs
	// of its own to scores' graph.
	Loss(scores *G.Node) (*G.Node, error)
	// Prepare is called with each batch and its epoch (from 0) before the
	// forward pass, to feed the objective's own inputs.
	Prepare(b datasets.Batch, epoch int) error
}

// Hinge is the authors' training objective for base, inflated and fast
// models: HingeL8 with the given margin (0.6 for late interaction, 0.2 for
// the dual encoder in the authors' code).
type Hinge struct{ Margin float64 }

// Loss implements Objective.
func (h Hinge) Loss(scores *G.Node) (*G.Node, error) { return HingeL8(scores, h.Margin) }

// Prepare implements Objective; the hinge needs nothing beyond the scores.
func (Hinge) Prepare(datasets.Batch, int) error { return nil }

// VSE is VSE++'s objective (Faghri et al., 2018): the bidirectional
// hinge against each anchor's hardest in-batch negative (VSEHardest).
type VSE struct{ Margin float64 }

// Loss implements Objective.
func (v VSE) Loss(scores *G.Node) (*G.Node, error) { return VSEHardest(scores, v.Margin) }

// Prepare implements Objective; VSE++ needs nothing beyond the scores.
func (VSE) Prepare(datasets.Batch, int) error { return nil }

// Contrastive minimises the symmetric InfoNCE (InfoNCE) at Temperature
// for the whole training.
type Contrastive struct{ Temperature float64 }

// Loss implements Objective.
func (c Contrastive) Loss(scores *G.Node) (*G.Node, error) { return InfoNCE(scores, c.Temperature) }

// Prepare implements Objective.
func (Contrastive) Prepare(datasets.Batch, int) error { return nil }

// The first-stage losses FirstStage knows by name.
const (
	LossHingeL8 = "hinge-l8" // the authors' L8 hinge (Hinge); the default
	LossVSE     = "vse++"    // VSE++'s hardest-negative hinge (VSE)
	LossInfoNCE = "infonce"  // CLIP's symmetric InfoNCE (Contrastive)
)

// LossNames lists the losses FirstStage accepts.
func LossNames() []string { return []string{LossHingeL8, LossVSE, LossInfoNCE} }

// FirstStage is the objective of a model trained on the data rather than
// distilled: the named loss ("" is LossHingeL8) with the given margin
// (hinges) or temperature (InfoNCE), after warmupEpochs of InfoNCE at
// temperature (see Warmup for why the hinges need them). InfoNCE needs no
// warm-up: it is the warm-up's own loss, so it runs at temperature
// throughout.
func FirstStage(loss string, margin float64, warmupEpochs int, temperature float64) (Objective, error) {
	var then Objective
	switch loss {
	case "", LossHingeL8:
		then = Hinge{Margin: margin}
	case LossVSE:
		then = VSE{Margin: margin}
	case LossInfoNCE:
		return Contrastive{Temperature: temperature}, nil
	default:
		return nil, fmt.Errorf("models: unknown loss %q (want %s)", loss, strings.Join(LossNames(), ", "))
	}
	return &Warmup{Epochs: warmupEpochs, Temperature: temperature, Then: then}, nil
}

// Warmup minimises InfoNCE (temperature Temperature, default 0.1) for the
// first Epochs epochs, then Then. From random weights the L8 hinge alone
// settles where every score is equal (each violation equals the margin,
// loss margin*(B-1)^(1/8)); the authors avoid that by starting from BERT,
// and a short contrastive warm-up does the same job here. Both losses are
// in the graph; an input weight switches between them.
type Warmup struct {
	Epochs      int
	Temperature float64
	Then        Objective
	weight      *G.Node
}

// Loss implements Objective.
func (w *Warmup) Loss(scores *G.Node) (*G.Node, error) {
	temp := w.Temperature
	if temp == 0 {
		temp = 0.1
	}
	nce, err := InfoNCE(scores, temp)
	if err != nil {
		return nil, err
	}
	then, err := w.Then.Loss(scores)
	if err != nil {
		return nil, err
	}
	w.weight = G.NewScalar(scores.Graph(), tensor.Float32, G.WithName("warmup.weight"))
	mixed, err := G.Mul(w.weight, G.Must(G.Sub(nce, then)))
	if err != nil {
		return nil, err
	}
	return G.Add(then, mixed)
}

// Prepare implements Objective.
func (w *Warmup) Prepare(b datasets.Batch, epoch int) error {
	on := float32(0)
	if epoch < w.Epochs {
		on = 1
	}
	if err := G.Let(w.weight, on); err != nil {
		return err
	}
	return w.Then.Prepare(b, epoch)
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
	// Frozen, if not nil, names the parameters that stay as they are.
	Frozen func(name string) bool
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

// TrainState is a training at the end of an epoch: enough to continue it.
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
}

// Train fits m to split with obj: epochs of in-batch steps, AdamW with
// global-norm clipping and a step learning-rate decay. Every step's values
// go to log (which may be nil). A non-finite loss stops training with an
// error naming the step; so does a cancelled ctx.
func Train(ctx context.Context, m *Model, split *datasets.Split, vocab *datasets.Vocab, obj Objective, s TrainSettings, rng *rand.Rand, log StepLogger) (TrainStats, error) {
	s = s.WithDefaults()
	it, err := datasets.NewIterator(split, vocab, s.BatchSize, m.Config.MaxTextLen, m.Config.MaxRegions, rng)
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

// fit is the optimisation loop shared by Train and TrainCross: it trains
// the parameters of b's graph that s does not freeze to minimise loss,
// binding each batch of it with feed(batch, step, epoch) (steps count from
// 1) before the step. s must have its defaults applied.
func fit(ctx context.Context, b *builder, loss *G.Node, feed func(batch datasets.Batch, step, epoch int) error, it *datasets.Iterator, s TrainSettings, log StepLogger) (TrainStats, error) {
	start := time.Now()
	m := b.m
	var names []string
	var learn G.Nodes
	for _, name := range b.names {
		if s.Frozen == nil || !s.Frozen(name) {
			names = append(names, name)
			learn = append(learn, b.nodes[name])
		}
	}
	if len(learn) == 0 {
		return TrainStats{}, fmt.Errorf("models: every parameter is frozen: nothing to train")
	}
	if _, err := G.Grad(loss, learn...); err != nil {
		return TrainStats{}, fmt.Errorf("models: gradients: %w", err)
	}
	machine := G.NewTapeMachine(b.g, G.BindDualValues(learn...))
	defer machine.Close()

	// The optimiser writes the model's own tensors, which every graph of
	// the model shares; grads are the machine's gradient buffers, bound on
	// the first run.
	weights, grads, matrix := map[string][]float32{}, map[string][]float32{}, map[string]bool{}
	for _, name := range names {
		weights[name] = m.Params.Data(name)
		matrix[name] = len(m.Params.Tensor(name).Shape()) >= 2
	}
	bindGrads := func() error {
		for i, name := range names {
			g, err := learn[i].Grad()
			if err != nil || g == nil {
				return fmt.Errorf("models: no gradient for %s: %v", name, err)
			}
			grads[name] = g.Data().([]float32)
			if v := learn[i].Value().Data().([]float32); unsafe.SliceData(v) != unsafe.SliceData(weights[name]) {
				return fmt.Errorf("models: graph copied parameter %s: updates would be lost", name)
			}
		}
		return nil
	}
	opt := &AdamW{WeightDecay: s.WeightDecay, ClipNorm: s.ClipNorm}
	total := s.Epochs * it.BatchesPerEpoch()
	var last, before float64
	first := 1
	if r := s.Resume; r != nil {
		if err := resume(m, opt, it, r, s.Epochs, names); err != nil {
			return TrainStats{}, err
		}
		first, last, before = r.Step+1, r.Loss, r.Seconds
	}
	for step := first; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return TrainStats{Steps: step - 1}, fmt.Errorf("models: training stopped at step %d: %w", step, err)
		}
		epoch := it.Epoch()
		lr := s.LearningRate
		if epoch >= s.DecayEpoch {
			lr *= s.DecayFactor
		}
		if err := feed(it.Next(), step, epoch); err != nil {
			return TrainStats{Steps: step - 1}, fmt.Errorf("models: step %d: %w", step, err)
		}
		if err := machine.RunAll(); err != nil {
			return TrainStats{Steps: step - 1}, fmt.Errorf("models: step %d: %w", step, err)
		}
		last = float64(loss.Value().Data().(float32))
		if math.IsNaN(last) || math.IsInf(last, 0) {
			if log != nil {
				log.LogStep(step, map[string]float64{"loss": last, "lr": lr})
			}
			return TrainStats{Steps: step, FinalLoss: last}, fmt.Errorf("models: non-finite loss %v at step %d (epoch %d, learning rate %g)", last, step, epoch+1, lr)
		}
		if step == first {
			if err := bindGrads(); err != nil {
				return TrainStats{}, err
			}
		}
		norm := opt.Step(lr, weights, grads, matrix, names)
		machine.Reset()
		if log != nil {
			if err := log.LogStep(step, map[string]float64{"loss": last, "lr": lr, "grad_norm": norm, "epoch": float64(epoch)}); err != nil {
				return TrainStats{Steps: step}, fmt.Errorf("models: log step %d: %w", step, err)
			}
		}
		if s.Checkpoint != nil && step%it.BatchesPerEpoch() == 0 {
			st := TrainState{Epoch: it.Epoch(), Step: opt.step, Loss: last, Seconds: before + time.Since(start).Seconds(),
				Params: map[string][]float32{}, M: opt.m, V: opt.v}
			for _, name := range m.Params.Names() {
				st.Params[name] = m.Params.Data(name)
			}
			if err := s.Checkpoint(st); err != nil {
				return TrainStats{Steps: step}, fmt.Errorf("models: checkpoint after epoch %d: %w", st.Epoch, err)
			}
		}
	}
	return TrainStats{Steps: total, FinalLoss: last, Seconds: before + time.Since(start).Seconds()}, nil
}

// resume loads r into the model and optimiser and advances the iterator
// past r's epochs (see TrainState.Restore).
func resume(m *Model, opt *AdamW, it *datasets.Iterator, r *TrainState, epochs int, trained []string) error {
	if err := r.Restore(m, it, epochs, trained); err != nil {
		return err
	}
	opt.step, opt.m, opt.v = r.Step, map[string][]float32{}, map[string][]float32{}
	if r.Step > 0 {
		for _, name := range trained {
			opt.m[name], opt.v[name] = slices.Clone(r.M[name]), slices.Clone(r.V[name])
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
