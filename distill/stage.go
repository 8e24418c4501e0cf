package distill

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/models"
)

// Stage is one model of a shrink chain.
type Stage struct {
	Name                  string      // base, inflated, fast or cM
	TextCodes, ImageCodes int         // learnable codes on each side
	Keep                  models.Keep // fragments kept per side
}

// The sides an inflated stage puts its codes on (ParseChain's sides).
const (
	SidesBoth  = "both" // the paper's inflating; "" means this too
	SidesText  = "text"
	SidesImage = "image"
)

// stageOf is the stage a chain names: base, inflated (k codes on the
// given sides), fast, or cM (M codes per side, only their outputs kept).
func stageOf(name string, k int, sides string) (Stage, error) {
	switch name {
	case "base":
		return Stage{Name: name, Keep: models.KeepTokens}, nil
	case "fast":
		return Stage{Name: name, Keep: models.KeepFirst}, nil
	case "inflated":
		if k == 0 {
			return Stage{}, fmt.Errorf("inflates with 0 codes")
		}
		s := Stage{Name: name, Keep: models.KeepAll}
		switch sides {
		case "", SidesBoth:
			s.TextCodes, s.ImageCodes = k, k
		case SidesText:
			s.TextCodes = k
		case SidesImage:
			s.ImageCodes = k
		}
		return s, nil
	}
	if m, ok := strings.CutPrefix(name, "c"); ok {
		n, err := strconv.Atoi(m)
		if err != nil || n <= 0 || strconv.Itoa(n) != m {
			return Stage{}, fmt.Errorf("stage %q: want c followed by a positive number of fragments, such as c4", name)
		}
		return Stage{Name: name, TextCodes: n, ImageCodes: n, Keep: models.KeepCodes}, nil
	}
	return Stage{}, fmt.Errorf("unknown stage %q (want base, inflated, fast or cM such as c4)", name)
}

// ParseChain parses a chain of stages joined by '>' (for example
// "inflated>base>fast" or "inflated>c16>c4>fast"). codes is k, the codes
// per side of any inflated stage, and sides where it puts them: "both"
// (or ""), "text" or "image". A cM stage always has M codes on both sides
// and keeps only their outputs: M fragments per side.
func ParseChain(chain string, codes int, sides string) ([]Stage, error) {
	if codes < 0 {
		return nil, fmt.Errorf("distill: codes must not be negative, got %d", codes)
	}
	switch sides {
	case "", SidesBoth, SidesText, SidesImage:
	default:
		return nil, fmt.Errorf("distill: unknown code sides %q (want %s, %s or %s)", sides, SidesBoth, SidesText, SidesImage)
	}
	var stages []Stage
	for _, name := range strings.Split(chain, ">") {
		s, err := stageOf(strings.TrimSpace(name), codes, sides)
		if err != nil {
			return nil, fmt.Errorf("distill: chain %q: %w", chain, err)
		}
		stages = append(stages, s)
	}
	return stages, nil
}

// Fragments describes the kept fragments of a chain stage by stage, in
// the paper's notation joined by '>': "n+k", "n", "1", or the number M of
// a cM stage (so "inflated>c16>c4>fast" is "n+k>16>4>1").
func Fragments(stages []Stage) string {
	parts := make([]string, len(stages))
	for i, s := range stages {
		parts[i] = string(s.Keep)
		if s.Keep == models.KeepCodes {
			parts[i] = strconv.Itoa(s.TextCodes)
		}
	}
	return strings.Join(parts, ">")
}

// Apply sets a stage's codes and kept fragments on a model config.
func (s Stage) Apply(c models.Config) models.Config {
	c.TextCodes, c.ImageCodes, c.Keep = s.TextCodes, s.ImageCodes, s.Keep
	return c
}
