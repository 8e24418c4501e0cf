// Command emoji trains and evaluates the five models of "Inflate and
// Shrink" on the emoji style hold-out (train on nine emoji art styles, test
// on openmoji) and evaluates every model on the Tux Paint stamps as a
// transfer test. Set the data up first:
//
//	go run ./datasets/setup emoji
//	go run ./datasets/setup tuxpaint
//	go run ./experiments/emoji [-db results.db] [-report report/emoji] [-seed N] [-data NAME] [-set key=value]
//
// Running it again skips what results.db already holds.
package main

import (
	"github.com/inflateshrink/inflateshrink/framework"

	_ "github.com/inflateshrink/inflateshrink/datasets/all"
)

func main() {
	// The quickstart's model with fewer epochs: an epoch here is 593
	// batches (18,985 training images), 20 s for base on 2 cores, against
	// 94 batches on the synthetic set. 15 epochs keep the five models
	// under about 30 minutes on 2 cores.
	base := framework.DefaultConfig()
	base.Train.Epochs, base.Train.WarmupEpochs, base.Train.DecayEpoch = 15, 5, 12
	framework.Main(framework.Experiment{
		Name:    "emoji",
		Dataset: "emoji-style",
		Base:    base,
		// Every model is also evaluated on the Tux Paint stamps, tokenised
		// like the emoji, with the emoji vocabulary.
		Transfer: []string{"tuxpaint"},
		Sweep: framework.Sweep{
			Models: []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"},
			Seeds:  []int64{1},
		},
	})
}
