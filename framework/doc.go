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
// experiment again trains only what is missing. An experiment whose
// definition changed under the same name is refused with the changes
// listed (DefinitionChangedError) unless Runner.Redefine is set.
//
// A sweep survives being stopped. A run stopped by a cancelled context
// (Ctrl-C) is recorded as interrupted; one whose process was killed is found
// 'running' with a dead owner by the next sweep and marked interrupted
// (store.MarkStale). Either way the next sweep runs the trial again, from
// the training state saved at the end of its last epoch
// (<checkpoints>/<experiment>-<hash>.resume, which holds the experiment,
// the config hash and a SHA-256, so another trial's or a damaged state is
// never resumed from), which gives exactly the weights an uninterrupted
// training would. Temporary files that a killed process left are removed
// when the next sweep starts. A panic, a non-finite loss or a data error
// fails its run (a panic with its stack) and the sweep goes on, unless
// Runner.FailFast.
//
// Runner.Workers trains several stages at once, a student only after its
// teacher. WriteSlurm emits a Slurm job array, one task per trial, each
// writing its own database shard, which store.Merge (or the results
// command's merge) folds back. Main wraps all of this in the command line
// shared by every program under experiments/.
package framework
