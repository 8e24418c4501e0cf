package gpu

import (
	"github.com/inflateshrink/inflateshrink/models"
)

// Objective is a training loss computed on the device: the first-stage
// loss FirstStage names (its mix of each epoch is models'
// FirstStageSettings.Mix, the same the CPU reads), or, when Teacher is set,
// knowledge distillation (distill.KD) from it instead, with no other loss.
type Objective struct {
	FirstStage models.FirstStageSettings
	// Teacher, when set, is distilled from: the student matches the
	// softmaxes of TeacherScale x the teacher's scores with those of
	// StudentScale x its own (distill.Settings' temperatures, applied),
	// reduced over the batch as Reduction says.
	Teacher                    *models.Model
	TeacherScale, StudentScale float64
	Reduction                  models.Reduction
}

// Validate reports an unknown loss or reduction.
func (o Objective) Validate() error {
	if o.Teacher != nil {
		return o.Reduction.Validate()
	}
	_, err := o.FirstStage.Mix(0)
	return err
}

// Weights are the loss mix of a step in the given epoch (from 0). o must
// be valid (Validate).
func (o Objective) Weights(epoch int) LossWeights {
	if o.Teacher != nil {
		return LossWeights{KD: 1, TeacherScale: float32(o.TeacherScale), StudentScale: float32(o.StudentScale), Sum: o.Reduction != models.ReduceMean}
	}
	m, err := o.FirstStage.Mix(epoch)
	if err != nil {
		panic(err) // Validate accepted it: a bug, not bad input
	}
	return LossWeights{
		NCE: float32(m.InfoNCE), NCETemp: float32(m.Temperature),
		Hinge: float32(m.Hinge), VSE: float32(m.VSE), Margin: float32(m.Margin), MaskPositive: m.MaskPositive,
		Sum: m.Reduction != models.ReduceMean,
	}
}
