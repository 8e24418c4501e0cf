package framework

import (
	"strings"

	"github.com/inflateshrink/inflateshrink/distill"
)

// The grammar of a config's model name: a shrink chain of stages joined
// by '>' (package distill parses it), optionally a cascade CHAIN>>cross,
// or a non-learned baseline:METHOD (baseline.go).

// A model named CHAIN>>cross (fast>>cross, inflated>>cross, ...) is a
// cascade: CHAIN's final model retrieves, and a cross encoder trained in
// the same trial (models.Cross) re-ranks its top_k candidates in both
// directions, the paper's accurate-but-slow end. CHAIN trains as a run of
// its own (shared with the experiment's CHAIN trial, if any); the cascade
// is one more run whose teacher_run_id is CHAIN's run.
const crossSuffix = ">>cross"

// firstStage splits a model name into the chain that retrieves and
// whether a cross encoder re-ranks its candidates.
func firstStage(model string) (chain string, cross bool) {
	return strings.CutSuffix(model, crossSuffix)
}

// chain parses the shrink chain of c's model: the whole model, or the
// first stage of a cascade.
func (c Config) chain() ([]distill.Stage, error) {
	first, _ := firstStage(c.Model)
	return distill.ParseChain(first, c.Codes, c.CodeSides)
}

// schedule is the fragments of c's model stage by stage (distill.Fragments),
// ">>cross" appended for a cascade.
func (c Config) schedule(chain []distill.Stage) string {
	if untrained(c.Model) {
		return "none"
	}
	s := distill.Fragments(chain)
	if _, cross := firstStage(c.Model); cross {
		s += crossSuffix
	}
	return s
}
