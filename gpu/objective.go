package gpu

import "github.com/inflateshrink/inflateshrink/models"

// Objective is a training loss computed on the device. The zero value is
// the L8 hinge at margin 0.2 (models.Hinge); WarmupEpochs > 0 puts InfoNCE
// first (models.Warmup); a Teacher makes it knowledge distillation
// (distill.KD) with no hinge.
type Objective struct {
	Margin       float64 // hinge margin; default 0.2
	WarmupEpochs int     // epochs of InfoNCE before the hinge
	WarmupTemp   float64 // InfoNCE temperature; default 0.1
	// Teacher, when set, is distilled from: the student matches the
	// softmaxes of TeacherScale x the teacher's scores with those of
	// StudentScale x its own (distill.Settings' temperatures, applied).
	Teacher                    *models.Model
	TeacherScale, StudentScale float64
}

// Weights are the loss mix of a step in the given epoch (from 0).
func (o Objective) Weights(epoch int) LossWeights {
	if o.Teacher != nil {
		return LossWeights{KD: 1, TeacherScale: float32(o.TeacherScale), StudentScale: float32(o.StudentScale)}
	}
	margin, temp := o.Margin, o.WarmupTemp
	if margin == 0 {
		margin = 0.2
	}
	if temp == 0 {
		temp = 0.1
	}
	if epoch < o.WarmupEpochs {
		return LossWeights{NCE: 1, NCETemp: float32(temp)}
	}
	return LossWeights{Hinge: 1, Margin: float32(margin)}
}
