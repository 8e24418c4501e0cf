package models

import (
	"math"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), applied
// after clipping the global gradient norm. Weight decay applies to matrices
// (weights, embeddings, codes), not to vectors (biases, LayerNorm gains),
// the usual practice for transformers.
type AdamW struct {
	Beta1, Beta2, Eps float64 // defaults 0.9, 0.999, 1e-8 when zero
	WeightDecay       float64
	ClipNorm          float64 // 0: no clipping

	step int
	m, v map[string][]float32
}

// Step updates every named parameter from its gradient with learning rate
// lr, zeroes the gradients and returns the global gradient norm before
// clipping. weights[name] and grads[name] must have the same length;
// matrix[name] says whether weight decay applies.
func (o *AdamW) Step(lr float64, weights, grads map[string][]float32, matrix map[string]bool, names []string) float64 {
	if o.m == nil {
		o.m, o.v = map[string][]float32{}, map[string][]float32{}
	}
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	if b1 == 0 {
		b1 = 0.9
	}
	if b2 == 0 {
		b2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	var sq float64
	for _, name := range names {
		for _, g := range grads[name] {
			sq += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sq)
	scale := 1.0
	if o.ClipNorm > 0 && norm > o.ClipNorm {
		scale = o.ClipNorm / norm
	}
	o.step++
	c1 := 1 - math.Pow(b1, float64(o.step))
	c2 := 1 - math.Pow(b2, float64(o.step))
	for _, name := range names {
		w, g := weights[name], grads[name]
		m, v := o.m[name], o.v[name]
		if m == nil {
			m, v = make([]float32, len(w)), make([]float32, len(w))
			o.m[name], o.v[name] = m, v
		}
		decay := 0.0
		if matrix[name] {
			decay = o.WeightDecay
		}
		for i := range w {
			gi := float64(g[i]) * scale
			mi := b1*float64(m[i]) + (1-b1)*gi
			vi := b2*float64(v[i]) + (1-b2)*gi*gi
			m[i], v[i] = float32(mi), float32(vi)
			update := (mi/c1)/(math.Sqrt(vi/c2)+eps) + decay*float64(w[i])
			w[i] = float32(float64(w[i]) - lr*update)
			g[i] = 0
		}
	}
	return norm
}
