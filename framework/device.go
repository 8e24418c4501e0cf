package framework

import (
	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/distill"
	"github.com/inflateshrink/inflateshrink/gpu"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

// evaluator encodes a test split and scores every caption against every
// image on the run's device.
type evaluator interface {
	// Load makes the evaluator use m's current weights (those of the
	// model it was made for, changed by training since).
	Load(m *models.Model) error
	EncodeTexts(v *datasets.Vocab, captions []string) (models.Fragments, error)
	EncodeImages(images [][][]float32) (models.Fragments, error)
	Score(texts, images models.Fragments) (metrics.Scores, error)
}

// cpuEvaluator is models' forward graphs and gallery scorer.
type cpuEvaluator struct{ *models.Encoder }

// Load implements evaluator: the graphs read the model's own tensors.
func (cpuEvaluator) Load(*models.Model) error { return nil }

func (cpuEvaluator) Score(texts, images models.Fragments) (metrics.Scores, error) {
	return models.ScoreGallery(texts, images)
}

// gpuEvaluator is package gpu's encoder and gallery scorer on a backend.
type gpuEvaluator struct {
	*gpu.Encoder
	be gpu.Backend
}

func (g gpuEvaluator) Score(texts, images models.Fragments) (metrics.Scores, error) {
	return gpu.ScoreGallery(g.be, texts, images)
}

// newEvaluator returns m's evaluator on be, or on the CPU when be is nil,
// and the function that releases it.
func newEvaluator(be gpu.Backend, m *models.Model) (evaluator, func(), error) {
	if be != nil {
		enc, err := gpu.NewEncoder(be, m, evaluationChunk)
		return gpuEvaluator{enc, be}, func() {}, err
	}
	enc, err := models.NewEncoder(m, evaluationChunk)
	if err != nil {
		return nil, nil, err
	}
	return cpuEvaluator{enc}, enc.Close, nil
}

// gpuObjective is the GPU form of a stage's loss: the first stage's named
// loss after its warm-up (fs), or distillation from teacher with the
// temperatures distill.Settings gives the pair.
func gpuObjective(fs models.FirstStageSettings, teacher, student *models.Model, ds distill.Settings) gpu.Objective {
	if teacher != nil {
		s := ds.WithDefaults(teacher.Config, student.Config)
		return gpu.Objective{Teacher: teacher, TeacherScale: s.TeacherTemp, StudentScale: s.StudentTemp, Reduction: s.Reduction}
	}
	return gpu.Objective{FirstStage: fs}
}
