package gpu

import (
	"fmt"
	"slices"

	"github.com/inflateshrink/inflateshrink/models"
)

// Objective is a training loss computed on the device, named as
// models.FirstStage names them: Loss "hinge-l8" (or empty: the authors' L8
// hinge, models.Hinge), "hinge-l8-masked", "vse++" (models.VSE) or
// "infonce" (models.Contrastive, at WarmupTemp, for the whole training).
// The hinges follow WarmupEpochs of InfoNCE (models.Warmup). A Teacher
// makes it knowledge distillation (distill.KD) instead, with no other
// loss. Reduction applies to every loss, as in package models.
type Objective struct {
	Loss         string
	Margin       float64 // hinge margin; default 0.2
	WarmupEpochs int     // epochs of InfoNCE before a hinge
	WarmupTemp   float64 // InfoNCE temperature; default 0.1
	Reduction    models.Reduction
	// Teacher, when set, is distilled from: the student matches the
	// softmaxes of TeacherScale x the teacher's scores with those of
	// StudentScale x its own (distill.Settings' temperatures, applied).
	Teacher                    *models.Model
	TeacherScale, StudentScale float64
}

// Validate reports an unknown loss or reduction.
func (o Objective) Validate() error {
	if err := o.Reduction.Validate(); err != nil {
		return err
	}
	if !slices.Contains(models.LossNames(), o.Loss) && o.Loss != "" {
		return fmt.Errorf("gpu: unknown loss %q", o.Loss)
	}
	return nil
}

// Weights are the loss mix of a step in the given epoch (from 0).
func (o Objective) Weights(epoch int) LossWeights {
	sum := o.Reduction != models.ReduceMean
	if o.Teacher != nil {
		return LossWeights{KD: 1, TeacherScale: float32(o.TeacherScale), StudentScale: float32(o.StudentScale), Sum: sum}
	}
	margin, temp := o.Margin, o.WarmupTemp
	if margin == 0 {
		margin = 0.2
	}
	if temp == 0 {
		temp = 0.1
	}
	if o.Loss == models.LossInfoNCE || epoch < o.WarmupEpochs {
		return LossWeights{NCE: 1, NCETemp: float32(temp), Sum: sum}
	}
	if o.Loss == models.LossVSE {
		return LossWeights{VSE: 1, Margin: float32(margin), Sum: sum}
	}
	return LossWeights{Hinge: 1, Margin: float32(margin), Sum: sum, MaskPositive: o.Loss == models.LossHingeL8Masked}
}
