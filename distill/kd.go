package distill

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Settings are a shrink stage's temperatures. Zero values mean the
// authors' choice for the stage: 16 for both when the teacher keeps
// several fragments per side and the student too (sums of many cosines on
// both sides), teacher 2 and student 16 when a 1x1 student learns from a
// teacher that sums many cosines.
type Settings struct {
	TeacherTemp, StudentTemp float64
	// TrainEmbeddings lets the student retrain the embeddings, projection,
	// codes and embedding LayerNorm it takes from the teacher; by default
	// they stay frozen, as in the authors' code.
	TrainEmbeddings bool
	// Reduction of the loss over the batch; default models.ReduceSum,
	// the authors'.
	Reduction models.Reduction
}

// WithDefaults fills zero temperatures for a teacher and student config.
func (s Settings) WithDefaults(teacher, student models.Config) Settings {
	if s.StudentTemp == 0 {
		s.StudentTemp = 16
	}
	if s.TeacherTemp == 0 {
		s.TeacherTemp = 16
		if student.Keep == models.KeepFirst && teacher.Keep != models.KeepFirst {
			s.TeacherTemp = 2
		}
	}
	return s
}

// NewStudent draws a student with config cfg from rng and copies the
// teacher's non-layer parameters of matching name and shape into it. It
// returns the student and a predicate naming the parameters to freeze.
//
// A code-only student (models.KeepCodes, a cM stage) is the exception for
// its codes: they start from the teacher's first M codes (fresh rows where
// the teacher has fewer, or none) and keep training. Starting from the
// teacher's codes keeps slots that the frozen embeddings were trained to
// interact with; training them is needed because they are now the
// student's only fragments, its pooling queries, where the teacher
// learned them as extra fragments beside n tokens.
func NewStudent(teacher *models.Model, cfg models.Config, s Settings, rng *rand.Rand) (*models.Model, func(string) bool, error) {
	student, err := models.New(cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	codesOnly := student.Config.Keep == models.KeepCodes
	isCodes := func(name string) bool { return strings.HasSuffix(name, ".codes") }
	copied := student.Params.CopyFrom(teacher.Params, func(name string) bool {
		return !models.IsLayerParam(name) && !(codesOnly && isCodes(name))
	})
	if len(copied) == 0 {
		return nil, nil, fmt.Errorf("distill: student shares no parameter with its teacher")
	}
	if codesOnly {
		for _, name := range []string{"text.codes", "image.codes"} {
			copyLeadingRows(student.Params.Tensor(name), teacher.Params.Tensor(name))
		}
	}
	frozen := map[string]bool{}
	if !s.TrainEmbeddings {
		for _, name := range copied {
			frozen[name] = true
		}
	}
	return student, func(name string) bool { return frozen[name] }, nil
}

// copyLeadingRows copies the first rows of src (rows, d) into dst (rows',
// d), as many as both have; nothing when either is missing or the widths
// differ.
func copyLeadingRows(dst, src *tensor.Dense) {
	if dst == nil || src == nil || dst.Shape()[1] != src.Shape()[1] {
		return
	}
	n := min(dst.Shape()[0], src.Shape()[0]) * dst.Shape()[1]
	copy(dst.Data().([]float32)[:n], src.Data().([]float32)[:n])
}

// KD is the distillation objective of one shrink stage: the student
// matches the teacher's in-batch score distributions. It implements
// models.Objective.
type KD struct {
	settings Settings
	teacher  *models.Encoder
	rowT     *G.Node // (B, B) teacher softmax over images for each text
	colT     *G.Node // (B, B) teacher softmax over texts for each image
}

// NewKD returns the objective for batches of size batch. Close releases
// the teacher's encoder.
func NewKD(teacher *models.Model, student models.Config, s Settings, batch int) (*KD, error) {
	enc, err := models.NewEncoder(teacher, batch)
	if err != nil {
		return nil, err
	}
	return &KD{settings: s.WithDefaults(teacher.Config, student), teacher: enc}, nil
}

// Close releases the teacher's encoder.
func (k *KD) Close() { k.teacher.Close() }

// Loss implements models.Objective.
func (k *KD) Loss(scores *G.Node) (*G.Node, error) {
	b := scores.Shape()[0]
	k.rowT = G.NewMatrix(scores.Graph(), tensor.Float32, G.WithShape(b, b), G.WithName("kd.teacher_rows"))
	k.colT = G.NewMatrix(scores.Graph(), tensor.Float32, G.WithShape(b, b), G.WithName("kd.teacher_cols"))
	return Loss(scores, k.rowT, k.colT, k.settings.StudentTemp, k.settings.Reduction)
}

// Prepare implements models.Objective: it scores the batch with the
// teacher and feeds the teacher's distributions.
func (k *KD) Prepare(b datasets.Batch, _ int) error {
	texts, err := k.teacher.EncodeTextBatch(b.Text)
	if err != nil {
		return fmt.Errorf("distill: teacher: %w", err)
	}
	images, err := k.teacher.EncodeImageBatch(b.Image)
	if err != nil {
		return fmt.Errorf("distill: teacher: %w", err)
	}
	s, err := models.ScoreGallery(texts, images)
	if err != nil {
		return fmt.Errorf("distill: teacher: %w", err)
	}
	n := texts.N
	// s is images x captions; the student's scores are texts x images.
	st := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for t := 0; t < n; t++ {
			st[t*n+i] = float64(s.Data[i*n+t])
		}
	}
	rows, cols := Targets(st, n, k.settings.TeacherTemp)
	if err := G.Let(k.rowT, toDense(rows, n)); err != nil {
		return err
	}
	return G.Let(k.colT, toDense(cols, n))
}

// Targets turns a teacher's n x n score matrix (texts x images, row-major)
// into its row and column softmax distributions at temperature temp
// (logits temp*s, as the authors scale cosines up).
func Targets(s []float64, n int, temp float64) (rows, cols []float64) {
	rows, cols = make([]float64, n*n), make([]float64, n*n)
	softmax := func(out []float64, at func(j int) int) {
		maxv := math.Inf(-1)
		for j := 0; j < n; j++ {
			maxv = math.Max(maxv, temp*s[at(j)])
		}
		var sum float64
		for j := 0; j < n; j++ {
			e := math.Exp(temp*s[at(j)] - maxv)
			out[at(j)] = e
			sum += e
		}
		for j := 0; j < n; j++ {
			out[at(j)] /= sum
		}
	}
	for r := 0; r < n; r++ {
		softmax(rows, func(j int) int { return r*n + j })
	}
	for c := 0; c < n; c++ {
		softmax(cols, func(j int) int { return j*n + c })
	}
	return rows, cols
}

// Loss is the bidirectional KD loss of student scores s (B, B) against
// teacher row and column distributions (colT in the layout of Targets):
// half the cross-entropy of each row of softmax(temp*s) against rowT and
// half that of each column against colT, summed or averaged over the
// batch as r says (models.SoftCrossEntropy).
func Loss(s, rowT, colT *G.Node, temp float64, r models.Reduction) (*G.Node, error) {
	colTT, err := G.Transpose(colT)
	if err != nil {
		return nil, err
	}
	return models.SoftCrossEntropy(s, rowT, colTT, temp, r)
}

func toDense(v []float64, n int) *tensor.Dense {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(n, n), tensor.WithBacking(f))
}
