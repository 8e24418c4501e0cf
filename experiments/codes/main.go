// Command codes sweeps the number of codes k that inflating adds per side,
// k in {0, 1, 2, 4, 8, 16, 32, 64} (k = 0 is base), with the codes on both
// sides, and at k = 2 and 8 on the text side or the image side alone,
// over two seeds, on the synthetic set:
//
//	go run ./experiments/codes [-workers 1] [framework flags]
//
// Each trial is one inflated first stage, so the sweep shows what codes do
// to accuracy, interactions per pair ((16+k) x (17+k) with both sides),
// query latency and index size. Recommended -workers 1 on 2 cores (one
// training keeps both busy).
//
// Sizes: 10 epochs (k = 4 still reaches rSum 82 against a chance level of
// 3.2). The k = 64 trial dominates: on a loaded 2-core machine it took
// 5 min 9 s, 2 min of training and 3 min to score the 5,000 x 1,000 test
// gallery at 80 x 73 interactions a pair; the side sweeps stay at small k
// for that reason. Measured sizes are in the README's sweeps section.
package main

import "github.com/inflateshrink/inflateshrink/framework"

func main() { framework.Main(experiment()) }

func experiment() framework.Experiment {
	base := framework.DefaultConfig()
	base.Train.Epochs, base.Train.WarmupEpochs, base.Train.DecayEpoch = 10, 4, 8
	return framework.Experiment{
		Name: "codes",
		Base: base,
		Sweep: framework.Sweep{
			// base has no codes: it is the k = 0 point of the sweep.
			Models: []string{"base", "inflated"},
			Codes:  []int{1, 2, 4, 8, 16, 32, 64},
			Seeds:  []int64{1, 2},
		},
		More: []framework.Sweep{{
			Models:    []string{"inflated"},
			Codes:     []int{2, 8},
			CodeSides: []string{"text", "image"},
		}},
	}
}
