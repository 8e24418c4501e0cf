// Command codes sweeps the number of codes k that inflating adds per side,
// k in {0, 1, 4, 16, 64} (k = 0 is base: a factor of 4 a step, from none
// to four times the caption's tokens), with the codes on both sides, and
// at k = 4 on the text side or the image side alone, over two seeds, on
// the synthetic set:
//
//	go run ./experiments/codes [-workers 1] [framework flags]
//
// Each trial is one inflated first stage, so the sweep shows what codes do
// to accuracy, interactions per pair ((16+k) x (17+k) with both sides),
// query latency and index size. Recommended -workers 1 on 2 cores (one
// training keeps both busy).
//
// Sizes: the default recipe's 20 epochs, validated every 5: scoring the
// 1,000-image validation gallery costs about 2.5 minutes at k = 64 (80 x
// 81 interactions a pair, 2 TFLOP) on 2 cores, so validating every epoch
// would cost more than training. Every k validates on the same epochs.
package main

import "github.com/inflateshrink/inflateshrink/framework"

func main() { framework.Main(experiment()) }

func experiment() framework.Experiment {
	base := framework.DefaultConfig()
	base.Train.ValidateEvery = 5
	return framework.Experiment{
		Name: "codes",
		Base: base,
		Sweep: framework.Sweep{
			// base has no codes: it is the k = 0 point of the sweep.
			Models: []string{"base", "inflated"},
			Codes:  []int{1, 4, 16, 64},
			Seeds:  []int64{1, 2},
		},
		More: []framework.Sweep{{
			Models:    []string{"inflated"},
			Codes:     []int{4},
			CodeSides: []string{"text", "image"},
		}},
	}
}
