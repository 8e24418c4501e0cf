package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ---- VSE++: the hardest in-batch negative of each anchor ----

// hardestViolations returns, for a (B, B) score matrix s whose diagonal
// holds the matching pairs, the 2B hinge violations of VSE++ (Faghri et
// al., 2018): for row anchor r, max(0, margin + max_{c != r} s[r, c] -
// s[r, r]); for column anchor c (entry B+c), max(0, margin + max_{r != c}
// s[r, c] - s[c, c]).
//
// It is one fused op rather than Gorgonia's Max because of ties: Max gives
// every tied maximum the full gradient, so when negatives tie (every
// score equal, the state an untrained hinge model drifts into) the step
// would be multiplied by their number. Here the first hardest negative (the
// lowest index, as torch.max picks) takes the whole gradient: a true
// subgradient.
func hardestViolations(s *G.Node, margin float64) (*G.Node, error) {
	sh := s.Shape()
	if len(sh) != 2 || sh[0] != sh[1] || sh[0] < 2 {
		return nil, fmt.Errorf("models: VSE++ needs a square score matrix of at least 2 x 2, got %v", sh)
	}
	b := sh[0]
	fwd := newFusedOp("HardestViolations", tensor.Shape{2 * b}, both(hardestForward[float32](b, margin), hardestForward[float64](b, margin)), s)
	args := func(in G.Nodes, out, grad *G.Node) G.Nodes { return G.Nodes{in[0], out, grad} }
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: []gradFunc{
		backOp("HardestViolationsGrad", sh, hardestGrad[float32](b), hardestGrad[float64](b), args),
	}}, s)
}

// hardestOf returns the first index of the largest s[at(j)] over j != skip.
func hardestOf[T float](s []T, b, skip int, at func(j int) int) int {
	best, arg := T(math.Inf(-1)), -1
	for j := 0; j < b; j++ {
		if j != skip && (arg < 0 || s[at(j)] > best) {
			best, arg = s[at(j)], j
		}
	}
	return arg
}

// anchors calls f for each of the 2B anchors with the positions of its
// positive and of its first hardest negative in s.
func anchors[T float](s []T, b int, f func(anchor, pos, neg int)) {
	for r := 0; r < b; r++ {
		c := hardestOf(s, b, r, func(j int) int { return r*b + j })
		f(r, r*b+r, r*b+c)
	}
	for c := 0; c < b; c++ {
		r := hardestOf(s, b, c, func(j int) int { return j*b + c })
		f(b+c, c*b+c, r*b+c)
	}
}

func hardestForward[T float](b int, margin float64) kernel[T] {
	return func(y []T, in [][]T) {
		s := in[0]
		anchors(s, b, func(a, pos, neg int) { y[a] = max(0, T(margin)+s[neg]-s[pos]) })
	}
}

// hardestGrad: each anchor with a positive violation sends its gradient
// +g to its hardest negative and -g to its positive.
func hardestGrad[T float](b int) kernel[T] {
	return func(dx []T, in [][]T) {
		s, y, dy := in[0], in[1], in[2]
		clear(dx)
		anchors(s, b, func(a, pos, neg int) {
			if y[a] > 0 {
				dx[neg] += dy[a]
				dx[pos] -= dy[a]
			}
		})
	}
}

// VSEHardest is VSE++'s bidirectional hardest-negative hinge over an
// in-batch score matrix s (B, B) with the matching pairs on the diagonal:
// the sum (ReduceSum) or mean (ReduceMean) over the 2B anchors (rows and
// columns) of max(0, margin + s_hardest_negative - s_positive). HingeL8 is
// the authors' smooth stand-in for it.
func VSEHardest(s *G.Node, margin float64, r Reduction) (*G.Node, error) {
	v, err := hardestViolations(s, margin)
	if err != nil {
		return nil, err
	}
	if r == ReduceMean {
		return G.Mean(v)
	}
	return G.Sum(v)
}
