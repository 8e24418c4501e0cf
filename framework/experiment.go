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
	// More are further sweeps whose trials join Sweep's (a trial in
	// several is run once): an experiment that varies the KD temperatures
	// of one chain and the loss of another need not cross every axis with
	// every other. Their Seeds are not used: every sweep runs Sweep's.
	More []Sweep `json:",omitempty"`
}

// Sweep lists the values of each axis; an empty axis keeps the base value.
// Trials are the cross product, models varying fastest, so that the
// stages a chain distils from are trained before the chain. Axes added
// later are omitted from the stored definition when empty, so that the
// definitions of earlier experiments stay as they were.
type Sweep struct {
	Models []string
	Codes  []int
	// CodeSides puts the inflated stage's codes on "both" sides, the
	// "text" side or the "image" side (Config.CodeSides).
	CodeSides []string `json:",omitempty"`
	// Losses are first-stage losses (Config.Train.Loss).
	Losses []string `json:",omitempty"`
	// KDTemps are the distillation temperatures of every shrink stage of
	// a chain (Config.Distill); a single-stage model ignores them.
	KDTemps []KDTemps `json:",omitempty"`
	// Sets are variants of the base config, each a list of -set
	// assignments ("train.margin=0.2", "dataset=synthetic-hard") applied
	// in order: an axis over any config key, or several keys at once.
	// An empty list is the base config itself.
	Sets  [][]string `json:",omitempty"`
	Seeds []int64    `json:",omitempty"` // left out of Definition
}

// KDTemps are a teacher and a student temperature; 0 takes the authors'
// value for the stage (see distill.Settings).
type KDTemps struct{ Teacher, Student float64 }

// axis returns values, or the single base value when values is empty.
func axis[T any](values []T, base T) []T {
	if len(values) == 0 {
		return []T{base}
	}
	return values
}

// Trials expands Sweep and then each of More into resolved configs, in a
// stable order, each trial once. It panics on a Sets assignment that
// Config.Set refuses; Run checks them first (Experiment.Check).
func (e Experiment) Trials() []Config {
	trials, err := e.trials()
	if err != nil {
		panic(err)
	}
	return trials
}

// Check reports the first Sets assignment of e that Config.Set refuses.
func (e Experiment) Check() error {
	_, err := e.trials()
	return err
}

func (e Experiment) trials() ([]Config, error) {
	bases, err := e.variants()
	if err != nil {
		return nil, err
	}
	// Seeds outermost: every configuration's first seed comes before any
	// configuration's second, so a sweep stopped early has all of them
	// at its first seeds rather than some at all seeds.
	var trials []Config
	seen := map[string]bool{}
	for s := 0; ; s++ {
		more := false
		for i, sw := range append([]Sweep{e.Sweep}, e.More...) {
			for _, base := range bases[i] {
				if seeds := axis(e.Sweep.Seeds, base.Seed); s < len(seeds) {
					trials = append(trials, sw.expand(base, seeds[s:s+1], seen)...)
					more = true
				}
			}
		}
		if !more {
			return trials, nil
		}
	}
}

// variants are the base configs of each sweep (Sweep, then More): the
// experiment's base with each of the sweep's Sets applied.
func (e Experiment) variants() ([][]Config, error) {
	base := e.Base
	if e.Dataset != "" {
		base.Dataset = e.Dataset
	}
	var out [][]Config
	for _, sw := range append([]Sweep{e.Sweep}, e.More...) {
		var bases []Config
		for _, set := range axis(sw.Sets, nil) {
			c := base
			for _, a := range set {
				var err error
				if c, err = c.Set(a); err != nil {
					return nil, fmt.Errorf("framework: experiment %q, Sets %q: %w", e.Name, set, err)
				}
			}
			bases = append(bases, c)
		}
		out = append(out, bases)
	}
	return out, nil
}

// expand is the trials of sw from base, one per seed and axis value,
// each once (seen holds the hashes already expanded).
func (sw Sweep) expand(base Config, seeds []int64, seen map[string]bool) []Config {
	var trials []Config
	for _, seed := range seeds {
		for _, k := range axis(sw.Codes, base.Codes) {
			for _, sides := range axis(sw.CodeSides, base.CodeSides) {
				for _, loss := range axis(sw.Losses, base.Train.Loss) {
					for _, kd := range axis(sw.KDTemps, KDTemps{base.Distill.TeacherTemp, base.Distill.StudentTemp}) {
						for _, m := range axis(sw.Models, base.Model) {
							c := base
							c.Seed, c.Codes, c.CodeSides, c.Model, c.Train.Loss = seed, k, sides, m, loss
							c.Distill.TeacherTemp, c.Distill.StudentTemp = kd.Teacher, kd.Student
							c = c.normalised()
							if h := c.Hash(); !seen[h] {
								seen[h] = true
								trials = append(trials, c)
							}
						}
					}
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
	e.More = slices.Clone(e.More)
	for i := range e.More {
		e.More[i].Seeds = nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("framework: experiment %q: %v", e.Name, err))
	}
	return string(b)
}

// axisOwner names the sweep axis (or Sets variant) of e that sets key in
// its trials, "" when none does: a -set of that key would be overwritten
// in every trial, so Command refuses it. The model and the seed are
// always the sweep's (use -seed to run one seed).
func (e Experiment) axisOwner(key string) string {
	switch key {
	case "model":
		return "Models"
	case "seed":
		return "Seeds (use -seed N)"
	}
	for _, sw := range append([]Sweep{e.Sweep}, e.More...) {
		switch {
		case key == "codes" && len(sw.Codes) > 0:
			return "Codes"
		case key == "code_sides" && len(sw.CodeSides) > 0:
			return "CodeSides"
		case key == "train.loss" && len(sw.Losses) > 0:
			return "Losses"
		case (key == "distill.teacher_temp" || key == "distill.student_temp") && len(sw.KDTemps) > 0:
			return "KDTemps"
		}
		for _, set := range sw.Sets {
			for _, a := range set {
				if k, _, _ := strings.Cut(a, "="); k == key {
					return fmt.Sprintf("Sets (variant %q)", strings.Join(set, " "))
				}
			}
		}
	}
	return ""
}
