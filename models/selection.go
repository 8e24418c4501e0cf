package models

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Validation is how a training chooses the weights it keeps: the model is
// scored on held-out data at the end of every Every-th epoch and of the
// last one, and the weights of the best score are kept (the checkpoint
// selection of the authors' train.py, which validates every epoch). With
// Patience > 0 training also stops early, after that many validations in
// a row without a better score.
type Validation struct {
	// Score returns the validation score of the model as trained so far
	// (higher is better; the framework uses the validation rSum), after
	// epoch epochs, at optimiser step step. It must not read the test
	// split: the choice it makes is what test then measures.
	Score func(epoch, step int) (float64, error)
	// Every is the validation period in epochs; default 1.
	Every int
	// Patience, if positive, is how many validations in a row may fail to
	// beat the best before training stops.
	Patience int
}

// due reports whether the end of epoch (1-based) of epochs is validated.
func (v *Validation) due(epoch, epochs int) bool {
	return v != nil && v.Score != nil && (epoch == epochs || epoch%max(v.Every, 1) == 0)
}

// Selected is the state of a validated training's choice: part of
// TrainState, so that a resumed training chooses exactly as an
// uninterrupted one.
type Selected struct {
	Epoch  int                  // epochs trained when the best weights were taken; 0 before any validation
	Score  float64              // their validation score
	Params map[string][]float32 // the best weights (every parameter of the model)
	// Since is how many validations in a row have not beaten Score.
	Since int
}

// Selector applies a Validation during a training of m; Train and
// package gpu's executor share it.
type Selector struct {
	v      *Validation
	m      *Model
	best   Selected
	epochs int
}

// NewSelector starts the choice of a training of epochs epochs, from
// resume's when it continues one.
func NewSelector(v *Validation, m *Model, epochs int, resume *TrainState) *Selector {
	s := &Selector{v: v, m: m, epochs: epochs}
	if resume != nil {
		s.best = resume.Selected
		s.best.Params = maps.Clone(resume.Selected.Params)
	}
	return s
}

// EndEpoch validates the weights in s.m after epoch epochs (step steps)
// when due, keeping them if they beat the best so far, and reports
// whether training should stop (patience exhausted). The first
// validation always becomes the best; a NaN score never does.
func (s *Selector) EndEpoch(epoch, step int) (stop bool, err error) {
	if !s.v.due(epoch, s.epochs) {
		return false, nil
	}
	score, err := s.v.Score(epoch, step)
	if err != nil {
		return false, fmt.Errorf("models: validation after epoch %d: %w", epoch, err)
	}
	if s.best.Epoch == 0 || score > s.best.Score {
		if s.best.Params == nil {
			s.best.Params = map[string][]float32{}
		}
		for _, name := range s.m.Params.Names() {
			s.best.Params[name] = append(s.best.Params[name][:0], s.m.Params.Data(name)...)
		}
		if math.IsNaN(score) {
			score = math.Inf(-1) // any real score beats it
		}
		s.best.Epoch, s.best.Score, s.best.Since = epoch, score, 0
		return false, nil
	}
	s.best.Since++
	return s.Stopped(), nil
}

// Stopped reports whether the patience is exhausted: a training resumed
// in that state has nothing left to do.
func (s *Selector) Stopped() bool {
	return s.v != nil && s.v.Patience > 0 && s.best.Since >= s.v.Patience
}

// State is the choice so far, for a checkpoint; its weights are the
// selector's own, like the rest of a TrainState.
func (s *Selector) State() Selected { return s.best }

// Finish puts the chosen weights into s.m and reports the chosen epoch
// (trained, the epochs trained, when nothing was validated).
func (s *Selector) Finish(trained int) int {
	if s.best.Epoch == 0 {
		return trained
	}
	for _, name := range slices.Sorted(maps.Keys(s.best.Params)) {
		copy(s.m.Params.Data(name), s.best.Params[name])
	}
	return s.best.Epoch
}
