package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// attentionState is the fused core of multi-head attention: from the
// projected queries, keys and values, each (batch*slots, d) with head h in
// columns h*dh..(h+1)*dh, to the heads' contexts in the same layout. The
// heads are read in place with a row stride of d, so no transpose is ever
// materialised; the softmax of the last forward pass is kept for the
// backward pass.
type attentionState struct {
	batch, slots, heads, d int
	bias                   bool
	probs                  any // []T, (batch, heads, slots, slots)
}

func (s *attentionState) dh() int { return s.d / s.heads }

// fusedAttention is Attention (same arguments, same result) with its core
// as one op between the fused projections.
func fusedAttention(x *G.Node, batch, slots, heads int, w AttentionWeights, bias *G.Node) (*G.Node, error) {
	q, err := fusedLinear(x, w.Q, w.QB, false, true)
	if err != nil {
		return nil, fmt.Errorf("attention query: %w", err)
	}
	k, err := fusedLinear(x, w.K, w.KB, false, true)
	if err != nil {
		return nil, fmt.Errorf("attention key: %w", err)
	}
	v, err := fusedLinear(x, w.V, w.VB, false, true)
	if err != nil {
		return nil, fmt.Errorf("attention value: %w", err)
	}
	ctx, err := attentionCore(q, k, v, batch, slots, heads, bias)
	if err != nil {
		return nil, err
	}
	return fusedLinear(ctx, w.O, w.OB, false, true)
}

// attentionCore applies the fused core to q, k, v and the optional
// (batch, slots) key bias.
func attentionCore(q, k, v *G.Node, batch, slots, heads int, bias *G.Node) (*G.Node, error) {
	qs := q.Shape()
	if len(qs) != 2 || qs[0] != batch*slots || qs[1]%heads != 0 || !k.Shape().Eq(qs) || !v.Shape().Eq(qs) {
		return nil, fmt.Errorf("models: attention of %d items x %d slots x %d heads on shapes %v, %v, %v", batch, slots, heads, qs, k.Shape(), v.Shape())
	}
	s := &attentionState{batch: batch, slots: slots, heads: heads, d: qs[1], bias: bias != nil}
	ins := G.Nodes{q, k, v}
	if bias != nil {
		ins = append(ins, bias)
	}
	fwd := newFusedOp("FusedAttention", qs, both(attentionForward[float32](s), attentionForward[float64](s)), ins...)
	// The query and key gradients both need the logits' gradient: one node
	// (batch*heads*slots, slots) computed once from (v, output gradient).
	// Ops that read the softmax kept by the forward pass also take its
	// output, only to be ordered after it.
	var dLogits *G.Node
	logitsGrad := func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
		if dLogits == nil {
			op := newFusedOp("FusedAttentionGradLogits", tensor.Shape{batch * heads * slots, slots},
				both(attentionGradLogits[float32](s), attentionGradLogits[float64](s)), in[2], grad, out)
			var err error
			if dLogits, err = G.ApplyOp(op, in[2], grad, out); err != nil {
				return nil, err
			}
		}
		return dLogits, nil
	}
	// qk returns the gradient of the query (key=false) or the key.
	qk := func(key bool) gradFunc {
		return func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
			dl, err := logitsGrad(in, out, grad)
			if err != nil {
				return nil, err
			}
			other := in[1] // dq = dL k; dk = dL^T q
			if key {
				other = in[0]
			}
			op := newFusedOp("FusedAttentionGradQK", qs, both(attentionGradQK[float32](s, key), attentionGradQK[float64](s, key)), dl, other)
			return G.ApplyOp(op, dl, other)
		}
	}
	dv := func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
		op := newFusedOp("FusedAttentionGradV", qs, both(attentionGradV[float32](s), attentionGradV[float64](s)), grad, out)
		return G.ApplyOp(op, grad, out)
	}
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: []gradFunc{qk(false), qk(true), dv}}, ins...)
}

// probsOf returns the state's softmax buffer as []T, allocated on first use.
func probsOf[T float](s *attentionState) []T {
	n := s.batch * s.heads * s.slots * s.slots
	if p, ok := s.probs.([]T); ok && len(p) == n {
		return p
	}
	p := make([]T, n)
	s.probs = p
	return p
}

// head returns the offset of item b's head h in a (batch*slots, d) matrix,
// and of its (slots, slots) block in the softmax buffer.
func (s *attentionState) head(b, h int) (rows, probs int) {
	return b*s.slots*s.d + h*s.dh(), (b*s.heads + h) * s.slots * s.slots
}

func attentionForward[T float](s *attentionState) kernel[T] {
	return func(ctx []T, in [][]T) {
		q, k, v := in[0], in[1], in[2]
		var bias []T
		if s.bias {
			bias = in[3]
		}
		probs := probsOf[T](s)
		n, dh, d := s.slots, s.dh(), s.d
		scale := T(1 / math.Sqrt(float64(dh)))
		parallel(s.batch*s.heads, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				b, h := j/s.heads, j%s.heads
				at, pt := s.head(b, h)
				p := probs[pt : pt+n*n]
				gemm(false, true, n, n, dh, scale, q[at:], d, k[at:], d, 0, p, n)
				for r := 0; r < n; r++ {
					row := p[r*n : (r+1)*n]
					if bias != nil {
						axpy(1, bias[b*n:], row)
					}
					softmax(row)
				}
				gemm(false, false, n, dh, n, 1, p, n, v[at:], d, 0, ctx[at:], d)
			}
		})
	}
}

// softmax replaces row by its softmax: exp(v - max) in float64, rounded,
// over their sum. The exponentials of float32 rows go four at a time
// (expSIMD) with math.Exp's bits.
func softmax[T float](row []T) {
	m := row[0]
	for _, v := range row[1:] {
		m = max(m, v)
	}
	done := 0
	if r, ok := any(row).([]float32); ok && expSIMD != nil {
		for vec := len(r) &^ 3; done < vec; {
			if done += expSIMD(vec-done, &r[done], float32(m)); done < vec {
				expRow(r[done:done+4], float32(m)) // a group the kernel leaves to math.Exp
				done += 4
			}
		}
	}
	expRow(row[done:], m)
	var sum T
	for _, e := range row {
		sum += e
	}
	divRow(row, sum)
}

// expRow replaces each v of row by exp(v - m).
func expRow[T float](row []T, m T) {
	for k, v := range row {
		row[k] = T(math.Exp(float64(v - m)))
	}
}

// attentionGradLogits computes, per item and head, dP = dctx v^T and the
// softmax's backward dL = P (dP - rowsum(P dP)); the 1/sqrt(dh) scale is
// applied by attentionGradQK.
func attentionGradLogits[T float](s *attentionState) kernel[T] {
	return func(dl []T, in [][]T) {
		v, g := in[0], in[1]
		probs := probsOf[T](s)
		n, dh, d := s.slots, s.dh(), s.d
		parallel(s.batch*s.heads, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				at, pt := s.head(j/s.heads, j%s.heads)
				out := dl[pt : pt+n*n]
				gemm(false, true, n, n, dh, 1, g[at:], d, v[at:], d, 0, out, n)
				for r := 0; r < n; r++ {
					row, p := out[r*n:(r+1)*n], probs[pt+r*n:pt+(r+1)*n]
					var dot T
					for c, x := range row {
						dot += x * p[c]
					}
					for c := range row {
						row[c] = p[c] * (row[c] - dot)
					}
				}
			}
		})
	}
}

// attentionGradQK computes dq = scale dL k or, with key, dk = scale dL^T q.
func attentionGradQK[T float](s *attentionState, key bool) kernel[T] {
	return func(dx []T, in [][]T) {
		dl, other := in[0], in[1]
		n, dh, d := s.slots, s.dh(), s.d
		scale := T(1 / math.Sqrt(float64(dh)))
		parallel(s.batch*s.heads, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				at, pt := s.head(j/s.heads, j%s.heads)
				gemm(key, false, n, dh, n, scale, dl[pt:], n, other[at:], d, 0, dx[at:], d)
			}
		})
	}
}

// attentionGradV computes dv = P^T dctx.
func attentionGradV[T float](s *attentionState) kernel[T] {
	return func(dv []T, in [][]T) {
		g := in[0]
		probs := probsOf[T](s)
		n, dh, d := s.slots, s.dh(), s.d
		parallel(s.batch*s.heads, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				at, pt := s.head(j/s.heads, j%s.heads)
				gemm(true, false, n, dh, n, 1, probs[pt:], n, g[at:], d, 0, dv[at:], d)
			}
		})
	}
}
