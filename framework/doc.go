// Package framework runs declarative experiments: it expands an
// Experiment's sweep into trials, skips the trials results.db already
// holds, trains each trial's shrink chain stage by stage (every stage a run
// of its own, its checkpoint beside the database), evaluates recall and
// cost on the test split, and records everything through package store.
//
// An experiment is a Go value:
//
//	framework.Experiment{
//		Name:    "quickstart",
//		Dataset: "synthetic",
//		Base:    framework.DefaultConfig(),
//		Sweep: framework.Sweep{
//			Models: []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"},
//			Codes:  []int{4},
//			Seeds:  []int64{1},
//		},
//	}
//
// A trial is identified by the hash of its resolved Config, so running an
// experiment again trains only what is missing. Main wraps all of this in
// the command line shared by every program under experiments/.
package framework
