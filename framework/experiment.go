package framework

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Experiment is a declarative sweep: a base config and the axes to vary.
type Experiment struct {
	Name    string
	Dataset string // overrides Base.Dataset when set
	Base    Config
	Sweep   Sweep
	// Transfer names data sets whose test splits every trained model is
	// also evaluated on (with its own vocabulary), recorded under the split
	// "transfer:<name>". Their images must have the training data's region
	// length.
	Transfer []string
}

// Sweep lists the values of each axis; an empty axis keeps the base value.
// Trials are the cross product, models varying fastest, so that the
// stages a chain distils from are trained before the chain.
type Sweep struct {
	Models []string
	Codes  []int
	Seeds  []int64 `json:",omitempty"` // left out of Definition
}

// Trials expands the sweep into resolved configs, in a stable order.
func (e Experiment) Trials() []Config {
	base := e.Base
	if e.Dataset != "" {
		base.Dataset = e.Dataset
	}
	seeds := e.Sweep.Seeds
	if len(seeds) == 0 {
		seeds = []int64{base.Seed}
	}
	codes := e.Sweep.Codes
	if len(codes) == 0 {
		codes = []int{base.Codes}
	}
	modelsAxis := e.Sweep.Models
	if len(modelsAxis) == 0 {
		modelsAxis = []string{base.Model}
	}
	var trials []Config
	for _, seed := range seeds {
		for _, k := range codes {
			for _, m := range modelsAxis {
				c := base
				c.Seed, c.Codes, c.Model = seed, k, m
				if !strings.Contains(m, "inflated") {
					c.Codes = 0 // codes do not change a chain without an inflated stage
				}
				if !slices.ContainsFunc(trials, func(t Config) bool { return t.Hash() == c.Hash() }) {
					trials = append(trials, c)
				}
			}
		}
	}
	return trials
}

// Definition is the experiment as JSON, stored with it in results.db. The
// seeds are left out: more seeds repeat an experiment, they do not change
// what it measures, and every run records its own seed.
func (e Experiment) Definition() string {
	e.Sweep.Seeds = nil
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("framework: experiment %q: %v", e.Name, err))
	}
	return string(b)
}
