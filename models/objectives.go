package models

import (
	"fmt"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

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

// Reduction is how a batch loss combines the losses of its anchors (each
// text is a row anchor, each image a column anchor).
type Reduction string

const (
	// ReduceSum is the authors': the hinges add the 2B anchors' losses
	// (com_cost's cost_s.sum() + cost_im.sum()); the softmax
	// cross-entropies (InfoNCE, distillation) add half of each of the B
	// row and B column cross-entropies (compute_distill's
	// sum().mul(-0.5)). The zero value means ReduceSum.
	ReduceSum Reduction = "sum"
	// ReduceMean averages over the anchors instead: a loss whose size, and
	// so whose gradient against the norm clip, does not grow with the
	// batch.
	ReduceMean Reduction = "mean"
)

// Reductions lists the reductions a loss accepts.
func Reductions() []Reduction { return []Reduction{ReduceSum, ReduceMean} }

// Validate reports an unknown reduction.
func (r Reduction) Validate() error {
	switch r {
	case "", ReduceSum, ReduceMean:
		return nil
	}
	return fmt.Errorf("models: unknown reduction %q (want %q or %q)", r, ReduceSum, ReduceMean)
}

// anchorScale is the factor on the sum of the anchors' losses of a batch
// of b pairs: 1 (the sum), or 1/anchors, where each of the b rows and b
// columns counts as 1/perPair of an anchor: the hinges count each
// anchor whole (perPair 1: 2b anchors), the cross-entropies half
// (perPair 2: b).
func (r Reduction) anchorScale(b, perPair int) float64 {
	if r == ReduceMean {
		return float64(perPair) / float64(2*b)
	}
	return 1
}

// Hinge is the authors' training objective for base, inflated and fast
// models: HingeL8 with the given margin (0.6 for late interaction, 0.2 for
// the dual encoder in the authors' code). The zero values of MaskPositive
// and Reduction are the authors' choices.
type Hinge struct {
	Margin float64
	// MaskPositive drops each anchor's own pair from its L8 sum. The
	// authors keep it: their com_cost does not mask the diagonal, so each
	// sum holds the constant margin^8, which damps the gradient of small
	// violations.
	MaskPositive bool
	Reduction    Reduction
}

// Loss implements Objective.
func (h Hinge) Loss(scores *G.Node) (*G.Node, error) {
	return HingeL8(scores, h.Margin, h.MaskPositive, h.Reduction)
}

// Prepare implements Objective; the hinge needs nothing beyond the scores.
func (Hinge) Prepare(datasets.Batch, int) error { return nil }

// VSE is VSE++'s objective (Faghri et al., 2018): the bidirectional
// hinge against each anchor's hardest in-batch negative (VSEHardest).
type VSE struct {
	Margin    float64
	Reduction Reduction
}

// Loss implements Objective.
func (v VSE) Loss(scores *G.Node) (*G.Node, error) { return VSEHardest(scores, v.Margin, v.Reduction) }

// Prepare implements Objective; VSE++ needs nothing beyond the scores.
func (VSE) Prepare(datasets.Batch, int) error { return nil }

// Contrastive minimises the symmetric InfoNCE (InfoNCE) at Temperature
// for the whole training.
type Contrastive struct {
	Temperature float64
	Reduction   Reduction
}

// Loss implements Objective.
func (c Contrastive) Loss(scores *G.Node) (*G.Node, error) {
	return InfoNCE(scores, c.Temperature, c.Reduction)
}

// Prepare implements Objective.
func (Contrastive) Prepare(datasets.Batch, int) error { return nil }

// The first-stage losses FirstStage knows by name.
const (
	LossHingeL8 = "hinge-l8" // the authors' L8 hinge (Hinge); the default
	// LossHingeL8Masked is the L8 hinge without each anchor's own pair in
	// its sum (Hinge.MaskPositive), this framework's default before it
	// followed the authors.
	LossHingeL8Masked = "hinge-l8-masked"
	LossVSE           = "vse++"   // VSE++'s hardest-negative hinge (VSE)
	LossInfoNCE       = "infonce" // CLIP's symmetric InfoNCE (Contrastive)
)

// LossNames lists the losses FirstStage accepts.
func LossNames() []string {
	return []string{LossHingeL8, LossHingeL8Masked, LossVSE, LossInfoNCE}
}

// FirstStageSettings name the objective of a model trained on the data
// rather than distilled. The zero value of each field is its documented
// default.
type FirstStageSettings struct {
	Loss string // one of LossNames(); "" is LossHingeL8
	// Margin of the hinges, as given: 0 is a margin of 0 (the framework
	// sets the authors' 0.6 and 0.2).
	Margin float64
	// WarmupEpochs of InfoNCE precede a hinge (see Warmup for why);
	// Temperature is InfoNCE's, default 0.1.
	WarmupEpochs int
	Temperature  float64
	Reduction    Reduction // default ReduceSum
}

// LossMix is the first-stage loss of one epoch as weights of the three
// losses, with their parameters, defaults applied. It is the form both
// devices read: FirstStage builds the Gorgonia objective from it, and
// package gpu its loss kernel's weights.
type LossMix struct {
	InfoNCE, Hinge, VSE float64 // weights, one of them 1
	Margin              float64 // of Hinge and VSE
	Temperature         float64 // of InfoNCE
	MaskPositive        bool    // of Hinge, see Hinge
	Reduction           Reduction
}

// Mix is the loss s trains with in epoch (from 0): InfoNCE during the
// warm-up, the named loss after it. It is the one place that reads a loss
// name.
func (s FirstStageSettings) Mix(epoch int) (LossMix, error) {
	if err := s.Reduction.Validate(); err != nil {
		return LossMix{}, err
	}
	m := LossMix{Margin: s.Margin, Temperature: s.Temperature, Reduction: s.Reduction}
	if m.Temperature == 0 {
		m.Temperature = 0.1
	}
	switch s.Loss {
	case "", LossHingeL8, LossHingeL8Masked:
		m.Hinge, m.MaskPositive = 1, s.Loss == LossHingeL8Masked
	case LossVSE:
		m.VSE = 1
	case LossInfoNCE:
		m.InfoNCE = 1
	default:
		return LossMix{}, fmt.Errorf("models: unknown loss %q (want %s)", s.Loss, strings.Join(LossNames(), ", "))
	}
	if epoch < s.WarmupEpochs {
		m.InfoNCE, m.Hinge, m.VSE, m.MaskPositive = 1, 0, 0, false
	}
	return m, nil
}

// objective is the Gorgonia objective of a mix's one loss.
func (m LossMix) objective() Objective {
	switch {
	case m.InfoNCE == 1:
		return Contrastive{Temperature: m.Temperature, Reduction: m.Reduction}
	case m.VSE == 1:
		return VSE{Margin: m.Margin, Reduction: m.Reduction}
	default:
		return Hinge{Margin: m.Margin, MaskPositive: m.MaskPositive, Reduction: m.Reduction}
	}
}

// FirstStage is the objective s names. InfoNCE needs no warm-up: it is
// the warm-up's own loss, so it runs at the temperature throughout.
func FirstStage(s FirstStageSettings) (Objective, error) {
	after, err := s.Mix(s.WarmupEpochs) // the loss once any warm-up is over
	if err != nil {
		return nil, err
	}
	then := after.objective()
	if s.WarmupEpochs == 0 || after.InfoNCE == 1 {
		return then, nil
	}
	return &Warmup{Epochs: s.WarmupEpochs, Temperature: after.Temperature, Reduction: s.Reduction, Then: then}, nil
}

// Warmup minimises InfoNCE (temperature Temperature, default 0.1) for the
// first Epochs epochs, then Then. From random weights the L8 hinge alone
// can settle where every score is equal (each violation equals the
// margin); the authors avoid that by starting from BERT, and a short
// contrastive warm-up is one way to do the same job here. Both losses are
// in the graph; an input weight switches between them.
type Warmup struct {
	Epochs      int
	Temperature float64
	Reduction   Reduction // of the InfoNCE part; Then has its own
	Then        Objective
	weight      *G.Node
}

// Loss implements Objective.
func (w *Warmup) Loss(scores *G.Node) (*G.Node, error) {
	temp := w.Temperature
	if temp == 0 {
		temp = 0.1
	}
	nce, err := InfoNCE(scores, temp, w.Reduction)
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
