// Command codes sweeps the number of codes k that inflating adds per side,
// k in {0, 1, 2, 4, 8, 16, 32, 64} (k = 0 is base), with the codes on both
// sides, and at k = 4 and 16 on the text side or the image side alone,
// over two seeds, on the synthetic set:
//
//	go run ./experiments/codes [-workers 1] [framework flags]
//
// Each trial is one inflated first stage, so the sweep shows what codes do
// to accuracy, interactions per pair ((16+k) x (17+k) with both sides),
// query latency and index size. Recommended -workers 1 on 2 cores (one
// training keeps both busy); measured sizes are in the README's Sweeps
// section.
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
			Codes:     []int{4, 16},
			CodeSides: []string{"text", "image"},
		}},
	}
}
