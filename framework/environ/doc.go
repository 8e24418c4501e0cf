// Package environ captures the environment a run executes in, so that a
// stored result can be traced to the code, machine and command that made it.
//
// Capture never fails: what cannot be found is recorded as "unknown", since a
// missing git binary or a copy of the code outside a repository should not
// stop an experiment.
package environ
