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
	framework.Main(framework.Experiment{
		Name: "quickstart",
		Base: framework.DefaultConfig(),
		Sweep: framework.Sweep{
			// base, inflated (n+k fragments), fast (1x1 dual encoder), and
			// the two shrunk models distilled from the inflated teacher.
			Models: []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"},
			Seeds:  []int64{1},
		},
	})
}
