package models

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// Stepper is a device's half of training: one optimisation step on a
// batch, and the device's view of the weights and optimiser state. Loop
// owns everything else, so that every device and every stage (first
// stages, students, the cross encoder) trains through the same loop. The
// Gorgonia graph (Train, TrainCross) and package gpu implement it.
type Stepper interface {
	// Step fits one batch of epoch (from 0) at learning rate lr (step
	// counts from 1): forward, backward and the optimiser's update. It
	// returns the batch's loss and the gradient's global norm before
	// clipping. When the loss is not finite the update may be skipped.
	// b's buffers are reused after the next Step (see
	// datasets.Iterator.ReuseBuffers): Step keeps none of them.
	Step(b datasets.Batch, step, epoch int, lr float64) (loss, gradNorm float64, err error)
	// Sync makes the model's parameters hold the trained weights:
	// validation, checkpoints and the caller read them there.
	Sync() error
	// Moments returns the optimiser's step count and the moments of the
	// trained parameters, for a checkpoint.
	Moments() (step int, m, v map[string][]float32, err error)
	// Resume loads r, already restored into the model
	// (TrainState.Restore), into the device and the optimiser.
	Resume(r *TrainState) error
}

// Loop trains m with st on the batches of it: s.Epochs epochs at
// s.LearningRate, ×s.DecayFactor from s.DecayEpoch; every step's loss,
// learning rate and gradient norm to log (which may be nil); at the end of
// each epoch validation (s.Validation, keeping the best epoch's weights)
// and s.Checkpoint; resumption from s.Resume. trained names the parameters
// st updates. s must have its defaults applied (WithDefaults). A
// non-finite loss stops training with an error naming the step; so does a
// cancelled ctx. At the end m holds the chosen weights. Training time is
// counted from start, so that it includes the caller's set-up (building
// the graph, uploading the model).
func Loop(ctx context.Context, start time.Time, m *Model, it *datasets.Iterator, trained []string, st Stepper, s TrainSettings, log StepLogger) (TrainStats, error) {
	it.ReuseBuffers() // each batch is done with before the next: see Stepper.Step
	perEpoch := it.BatchesPerEpoch()
	total := s.Epochs * perEpoch
	var last, before float64
	first := 1
	if r := s.Resume; r != nil {
		if err := r.Restore(m, it, s.Epochs, trained); err != nil {
			return TrainStats{}, err
		}
		if err := st.Resume(r); err != nil {
			return TrainStats{}, err
		}
		first, last, before = r.Step+1, r.Loss, r.Seconds
	}
	choice := NewSelector(s.Validation, m, s.Epochs, s.Resume)
	if choice.Stopped() {
		total = first - 1 // the interrupted training had stopped early
	}
	step := first
	for ; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return TrainStats{Steps: step - 1}, fmt.Errorf("models: training stopped at step %d: %w", step, err)
		}
		epoch := it.Epoch()
		lr := s.LearningRate
		if epoch >= s.DecayEpoch {
			lr *= s.DecayFactor
		}
		loss, norm, err := st.Step(it.Next(), step, epoch, lr)
		if err != nil {
			return TrainStats{Steps: step - 1}, fmt.Errorf("models: step %d: %w", step, err)
		}
		last = loss
		if math.IsNaN(last) || math.IsInf(last, 0) {
			if log != nil {
				log.LogStep(step, map[string]float64{"loss": last, "lr": lr})
			}
			return TrainStats{Steps: step, FinalLoss: last}, fmt.Errorf("models: non-finite loss %v at step %d (epoch %d, learning rate %g)", last, step, epoch+1, lr)
		}
		if log != nil {
			if err := log.LogStep(step, map[string]float64{"loss": last, "lr": lr, "grad_norm": norm, "epoch": float64(epoch)}); err != nil {
				return TrainStats{Steps: step}, fmt.Errorf("models: log step %d: %w", step, err)
			}
		}
		if step%perEpoch != 0 {
			continue
		}
		if err := st.Sync(); err != nil {
			return TrainStats{Steps: step}, err
		}
		stop, err := choice.EndEpoch(it.Epoch(), step)
		if err != nil {
			return TrainStats{Steps: step}, err
		}
		if s.Checkpoint != nil {
			if err := saveState(m, st, it.Epoch(), last, before+time.Since(start).Seconds(), choice.State(), s.Checkpoint); err != nil {
				return TrainStats{Steps: step}, err
			}
		}
		if stop {
			step++
			break
		}
	}
	if err := st.Sync(); err != nil {
		return TrainStats{Steps: step - 1}, err
	}
	done := (step - 1) / perEpoch
	return TrainStats{Steps: step - 1, FinalLoss: last, Seconds: before + time.Since(start).Seconds(),
		Epochs: done, SelectedEpoch: choice.Finish(done), SelectedScore: choice.State().Score}, nil
}

// saveState hands the training's state at the end of an epoch, whose
// weights are in m, to save.
func saveState(m *Model, st Stepper, epoch int, loss, seconds float64, chosen Selected, save func(TrainState) error) error {
	step, mo, v, err := st.Moments()
	if err != nil {
		return err
	}
	state := TrainState{Epoch: epoch, Step: step, Loss: loss, Seconds: seconds, Params: map[string][]float32{}, M: mo, V: v, Selected: chosen}
	for _, name := range m.Params.Names() {
		state.Params[name] = m.Params.Data(name)
	}
	if err := save(state); err != nil {
		return fmt.Errorf("models: checkpoint after epoch %d: %w", epoch, err)
	}
	return nil
}
