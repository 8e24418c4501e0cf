package distill

import (
	"fmt"
	"strings"

	"github.com/inflateshrink/inflateshrink/models"
)

// Stage is one model of a shrink chain.
type Stage struct {
	Name  string      // base, inflated or fast
	Codes int         // learnable codes per side
	Keep  models.Keep // fragments kept per side
}

// stageKinds are the stage names of the paper; codes is the chain's k.
func stageOf(name string, codes int) (Stage, bool) {
	switch name {
	case "base":
		return Stage{Name: name, Keep: models.KeepTokens}, true
	case "inflated":
		return Stage{Name: name, Codes: codes, Keep: models.KeepAll}, true
	case "fast":
		return Stage{Name: name, Keep: models.KeepFirst}, true
	}
	return Stage{}, false
}

// ParseChain parses a chain of stage names joined by '>' (for example
// "inflated>base>fast"); codes is the k of any inflated stage.
func ParseChain(chain string, codes int) ([]Stage, error) {
	if codes < 0 {
		return nil, fmt.Errorf("distill: codes must not be negative, got %d", codes)
	}
	var stages []Stage
	for _, name := range strings.Split(chain, ">") {
		s, ok := stageOf(strings.TrimSpace(name), codes)
		if !ok {
			return nil, fmt.Errorf("distill: unknown stage %q in chain %q (want base, inflated or fast)", name, chain)
		}
		if s.Name == "inflated" && codes == 0 {
			return nil, fmt.Errorf("distill: chain %q inflates with 0 codes", chain)
		}
		stages = append(stages, s)
	}
	return stages, nil
}

// Fragments describes the kept fragments of a chain stage by stage, in
// the paper's notation: "n+k", "n" or "1" joined by '>'.
func Fragments(stages []Stage) string {
	parts := make([]string, len(stages))
	for i, s := range stages {
		parts[i] = string(s.Keep)
	}
	return strings.Join(parts, ">")
}

// Apply sets a stage's codes and kept fragments on a model config.
func (s Stage) Apply(c models.Config) models.Config {
	c.TextCodes, c.ImageCodes, c.Keep = s.Codes, s.Codes, s.Keep
	return c
}
