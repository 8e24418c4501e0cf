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

// Train is models.Train on a backend, through the same loop (models.Loop):
// the same batches in the same order (the iterator draws from rng), the
// same learning-rate schedule, logging, validation, checkpoints and
// resumption; AdamW with global-norm clipping on the device. The trained
// weights are written back into m before every validation and checkpoint,
// and at the end the chosen ones. s.Frozen, s.Validation, s.Checkpoint and
// s.Resume mean what they mean there.
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
	st := &netStepper{m: m, obj: obj}
	if st.net, err = NewNet(be, m, s.BatchSize); err != nil {
		return models.TrainStats{}, err
	}
	if obj.Teacher != nil {
		if st.teacher, err = NewNet(be, obj.Teacher, s.BatchSize); err != nil {
			return models.TrainStats{}, err
		}
	}
	for _, name := range m.Params.Names() {
		if s.Frozen == nil || !s.Frozen(name) {
			st.names = append(st.names, name)
		}
	}
	if len(st.names) == 0 {
		return models.TrainStats{}, fmt.Errorf("gpu: every parameter is frozen: nothing to train")
	}
	st.opt = NewAdamW(st.net, s.WeightDecay, s.ClipNorm)
	return models.Loop(ctx, start, m, it, st.names, st, s, log)
}

// netStepper is the models.Stepper of a Net: the step program and AdamW
// on the backend, with the teacher's scores computed there too.
type netStepper struct {
	m            *models.Model
	net, teacher *Net
	opt          *AdamW
	obj          Objective
	names        []string
}

// Step implements models.Stepper. The loss and norm are read after the
// update, which is queued behind the backward pass.
func (n *netStepper) Step(batch datasets.Batch, _, epoch int, lr float64) (loss, gradNorm float64, err error) {
	var scores *Buf
	if n.teacher != nil {
		if err := n.teacher.SetBatch(batch); err != nil {
			return 0, 0, err
		}
		n.teacher.Forward(false)
		scores = n.teacher.scores
	}
	if err := n.net.SetBatch(batch); err != nil {
		return 0, 0, err
	}
	n.net.Forward(true)
	n.net.Backward(n.obj.Weights(epoch), scores)
	n.opt.Step(lr, n.names)
	loss, sq, err := n.net.Loss()
	return loss, math.Sqrt(sq), err
}

// Sync implements models.Stepper: it downloads the weights into the model.
func (n *netStepper) Sync() error { return n.net.Store(n.m) }

// Moments implements models.Stepper.
func (n *netStepper) Moments() (int, map[string][]float32, map[string][]float32, error) {
	return n.opt.State(n.names)
}

// Resume implements models.Stepper: it uploads the restored weights and
// the optimiser's state.
func (n *netStepper) Resume(r *models.TrainState) error {
	if err := n.net.Load(n.m); err != nil {
		return err
	}
	n.opt.Restore(r, n.names)
	return nil
}

// SetBatch uploads a training batch of exactly the net's batch size.
func (n *Net) SetBatch(b datasets.Batch) error {
	if err := n.SetTexts(b.Text); err != nil {
		return err
	}
	return n.SetImages(b.Image)
}
