package gpu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
)

// Train is models.Train on a backend: the same batches in the same order
// (the iterator draws from rng), the same learning-rate schedule, AdamW
// with global-norm clipping, logging, validation (models.Selector),
// checkpoints and resumption. The trained weights are written back into m
// before every validation and checkpoint, and at the end the chosen ones.
// s.Frozen, s.Validation, s.Checkpoint and s.Resume mean what they mean
// there.
func Train(ctx context.Context, be Backend, m *models.Model, split *datasets.Split, vocab *datasets.Vocab, obj Objective, s models.TrainSettings, rng *rand.Rand, log models.StepLogger) (models.TrainStats, error) {
	s = s.WithDefaults()
	if err := obj.Validate(); err != nil {
		return models.TrainStats{}, err
	}
	start := time.Now()
	it, err := datasets.NewIterator(split, vocab, s.Batches, s.BatchSize, m.Config.MaxTextLen, m.Config.MaxRegions, rng)
	if err != nil {
		return models.TrainStats{}, fmt.Errorf("gpu: train: %w", err)
	}
	net, err := NewNet(be, m, s.BatchSize)
	if err != nil {
		return models.TrainStats{}, err
	}
	var teacher *Net
	if obj.Teacher != nil {
		if teacher, err = NewNet(be, obj.Teacher, s.BatchSize); err != nil {
			return models.TrainStats{}, err
		}
	}
	var names []string
	for _, name := range m.Params.Names() {
		if s.Frozen == nil || !s.Frozen(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return models.TrainStats{}, fmt.Errorf("gpu: every parameter is frozen: nothing to train")
	}
	opt := NewAdamW(net, s.WeightDecay, s.ClipNorm)
	perEpoch := it.BatchesPerEpoch()
	total := s.Epochs * perEpoch
	var last, before float64
	first := 1
	if r := s.Resume; r != nil {
		if err := resume(net, opt, m, it, r, s.Epochs, names); err != nil {
			return models.TrainStats{}, err
		}
		first, last, before = r.Step+1, r.Loss, r.Seconds
	}
	choice := models.NewSelector(s.Validation, m, s.Epochs, s.Resume)
	if choice.Stopped() {
		total = first - 1 // the interrupted training had stopped early
	}
	step := first
	for ; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return models.TrainStats{Steps: step - 1}, fmt.Errorf("gpu: training stopped at step %d: %w", step, err)
		}
		epoch := it.Epoch()
		lr := s.LearningRate
		if epoch >= s.DecayEpoch {
			lr *= s.DecayFactor
		}
		batch := it.Next()
		var scores *Buf
		if teacher != nil {
			if err := teacher.SetBatch(batch); err != nil {
				return models.TrainStats{Steps: step - 1}, err
			}
			teacher.Forward(false)
			scores = teacher.scores
		}
		if err := net.SetBatch(batch); err != nil {
			return models.TrainStats{Steps: step - 1}, err
		}
		net.Forward(true)
		net.Backward(obj.Weights(epoch), scores)
		opt.Step(lr, names)
		loss, sq, err := net.Loss()
		if err != nil {
			return models.TrainStats{Steps: step - 1}, fmt.Errorf("gpu: step %d: %w", step, err)
		}
		last = loss
		if math.IsNaN(last) || math.IsInf(last, 0) {
			if log != nil {
				log.LogStep(step, map[string]float64{"loss": last, "lr": lr})
			}
			return models.TrainStats{Steps: step, FinalLoss: last}, fmt.Errorf("gpu: non-finite loss %v at step %d (epoch %d, learning rate %g)", last, step, epoch+1, lr)
		}
		if log != nil {
			if err := log.LogStep(step, map[string]float64{"loss": last, "lr": lr, "grad_norm": math.Sqrt(sq), "epoch": float64(epoch)}); err != nil {
				return models.TrainStats{Steps: step}, fmt.Errorf("gpu: log step %d: %w", step, err)
			}
		}
		if step%perEpoch != 0 {
			continue
		}
		// Validation and checkpoints read the weights from m.
		if err := net.Store(m); err != nil {
			return models.TrainStats{Steps: step}, err
		}
		stop, err := choice.EndEpoch(it.Epoch(), step)
		if err != nil {
			return models.TrainStats{Steps: step}, err
		}
		if s.Checkpoint != nil {
			if err := checkpoint(opt, m, names, it.Epoch(), last, before+time.Since(start).Seconds(), choice.State(), s.Checkpoint); err != nil {
				return models.TrainStats{Steps: step}, err
			}
		}
		if stop {
			step++
			break
		}
	}
	if err := net.Store(m); err != nil {
		return models.TrainStats{Steps: step - 1}, err
	}
	trained := (step - 1) / perEpoch
	return models.TrainStats{Steps: step - 1, FinalLoss: last, Seconds: before + time.Since(start).Seconds(),
		Epochs: trained, SelectedEpoch: choice.Finish(trained), SelectedScore: choice.State().Score}, nil
}

// SetBatch uploads a training batch of exactly the net's batch size.
func (n *Net) SetBatch(b datasets.Batch) error {
	if err := n.SetTexts(b.Text); err != nil {
		return err
	}
	return n.SetImages(b.Image)
}

// checkpoint hands the training's state at the end of an epoch, whose
// weights are in m, to save.
func checkpoint(opt *AdamW, m *models.Model, names []string, epoch int, loss, seconds float64, chosen models.Selected, save func(models.TrainState) error) error {
	step, mo, v, err := opt.State(names)
	if err != nil {
		return err
	}
	st := models.TrainState{Epoch: epoch, Step: step, Loss: loss, Seconds: seconds, Params: map[string][]float32{}, M: mo, V: v, Selected: chosen}
	for _, name := range m.Params.Names() {
		st.Params[name] = m.Params.Data(name)
	}
	if err := save(st); err != nil {
		return fmt.Errorf("gpu: checkpoint after epoch %d: %w", epoch, err)
	}
	return nil
}

// resume loads r into m, the net and the optimiser, and advances the
// iterator past r's epochs, with models' checks (TrainState.Restore).
func resume(net *Net, opt *AdamW, m *models.Model, it *datasets.Iterator, r *models.TrainState, epochs int, trained []string) error {
	if err := r.Restore(m, it, epochs, trained); err != nil {
		return err
	}
	if err := net.Load(m); err != nil {
		return err
	}
	opt.Restore(r, trained)
	return nil
}
