// Command recipe measures what each departure from the authors' training
// recipe does: the default config follows their code (models/model.py and
// train.py of github.com/sourcesemnlp/Inflate_shrink), and each variant
// switches one choice back to this framework's earlier one, or to what
// training from scratch needs, over three seeds on the default synthetic
// set:
//
//	go run ./experiments/recipe [-workers 1] [framework flags]
//
// The README's "What differs from the paper" table is this experiment's
// report: each row's effect is the variant's mean validation rSum minus
// the authors' recipe's, per model.
package main

import (
	"fmt"

	"github.com/inflateshrink/inflateshrink/framework"
)

func main() { framework.Main(experiment()) }

// variant is one departure from the authors' recipe: a name for the
// reader and the -set assignments that make it.
type variant struct {
	name string
	set  []string
}

// ours are this framework's choices before it followed the authors, one
// at a time. Batches of images visit each image once an epoch instead of
// each of its five captions, so that variant trains five times the
// epochs: the same number of optimiser steps, validated as often.
func ours(c framework.Config) []variant {
	images := []string{"train.batches=images",
		setInt("train.epochs", 5*c.Train.Epochs), setInt("train.decay_epoch", 5*c.Train.DecayEpoch),
		setInt("train.validate_every", 5*c.Train.ValidateEvery)}
	// The earlier recipe warmed up with InfoNCE for a third of training.
	warmup := c.Train.Epochs / 3
	earlier := append(framework.EarlierRecipe(), append(images[1:], setInt("train.warmup_epochs", 5*warmup))...)
	return []variant{
		{"margin 0.2", []string{"train.margin=0.2"}},
		{"hinge without the positive's term", []string{"train.loss=hinge-l8-masked"}},
		{"mean over the batch", []string{"train.reduction=mean"}},
		{"separate text and image layers", []string{"shared_layers=false"}},
		{"padding masked from the score", []string{"padding=mask"}},
		{"weight decay 1e-4", []string{"train.weight_decay=0.0001"}},
		{"batches of images", images},
		{"the authors' learning rate 1e-4", []string{"train.learning_rate=0.0001"}},
		{"an InfoNCE warm-up for a third of training", []string{setInt("train.warmup_epochs", warmup)}},
		{"every earlier choice", earlier},
	}
}

func setInt(key string, v int) string { return fmt.Sprintf("%s=%d", key, v) }

func experiment() framework.Experiment {
	base := framework.DefaultConfig()
	sets := [][]string{nil} // the authors' recipe
	var kd [][]string
	for _, v := range ours(base) {
		sets = append(sets, v.set)
		if v.name == "mean over the batch" || v.name == "every earlier choice" {
			kd = append(kd, v.set)
		}
	}
	return framework.Experiment{
		Name: "recipe",
		Base: base,
		Sweep: framework.Sweep{
			Models: []string{"base", "fast"},
			Sets:   sets,
			Seeds:  []int64{1, 2, 3},
		},
		More: []framework.Sweep{
			// The inflated teacher and its students under the authors'
			// recipe, the reduction (which the distillation loss shares)
			// and every earlier choice.
			{Models: []string{"inflated", "inflated>base", "inflated>base>fast"}, Sets: append([][]string{nil}, kd...)},
		},
	}
}
