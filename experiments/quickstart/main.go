// Command quickstart trains and evaluates the five models of "Inflate and
// Shrink" on the embedded synthetic data set, records everything in
// results.db and writes a Markdown report with a figure:
//
//	go run ./experiments/quickstart [-db results.db] [-report report/quickstart] [-seed N] [-data NAME] [-set key=value]
//
// Running it again skips what results.db already holds.
package main

import "github.com/inflateshrink/inflateshrink/framework"

func main() {
	// Half the paper's 20 epochs, so that the five models train in
	// minutes: base is then near its validation plateau (see README).
	base := framework.DefaultConfig()
	base.Train.Epochs, base.Train.DecayEpoch = 10, 8
	framework.Main(framework.Experiment{
		Name: "quickstart",
		Base: base,
		Sweep: framework.Sweep{
			// base, inflated (n+k fragments), fast (1x1 dual encoder), and
			// the two shrunk models distilled from the inflated teacher.
			Models: []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"},
			Seeds:  []int64{1},
		},
	})
}
