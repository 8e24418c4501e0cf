package models

import "math"

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

// adamChunk bounds the elements one goroutine updates at a time: the step
// is memory-bound elementwise work, spread over every core (on one core it
// was 7% of a training step's CPU with the other core idle).
const adamChunk = 1 << 14

// span is a slice [lo, hi) of one parameter.
type span struct {
	name   string
	lo, hi int
}

// Step updates every named parameter from its gradient with learning rate
// lr, zeroes the gradients and returns the global gradient norm before
// clipping. weights[name] and grads[name] must have the same length;
// matrix[name] says whether weight decay applies. The work is split into
// fixed spans whose partial sums are added in order, so the result does
// not depend on the number of cores.
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
	var spans []span
	for _, name := range names {
		if o.m[name] == nil {
			o.m[name], o.v[name] = make([]float32, len(weights[name])), make([]float32, len(weights[name]))
		}
		for lo := 0; lo < len(weights[name]); lo += adamChunk {
			spans = append(spans, span{name, lo, min(lo+adamChunk, len(weights[name]))})
		}
	}
	squares := make([]float64, len(spans))
	grad := func(i int) []float32 { return grads[spans[i].name][spans[i].lo:spans[i].hi] }
	parallel(len(spans), func(first, end int) {
		i := first
		for ; i+4 <= end; i += 4 {
			sumSquares4(grad(i), grad(i+1), grad(i+2), grad(i+3), squares[i:i+4])
		}
		for ; i < end; i++ {
			squares[i] = sumSquares(grad(i))
		}
	})
	var sq float64
	for _, x := range squares {
		sq += x
	}
	norm := math.Sqrt(sq)
	scale := 1.0
	if o.ClipNorm > 0 && norm > o.ClipNorm {
		scale = o.ClipNorm / norm
	}
	o.step++
	c1 := 1 - math.Pow(b1, float64(o.step))
	c2 := 1 - math.Pow(b2, float64(o.step))
	parallel(len(spans), func(first, end int) {
		c := adamwConsts{scale: scale, b1: b1, omb1: 1 - b1, b2: b2, omb2: 1 - b2, c1: c1, c2: c2, eps: eps, lr: lr}
		for _, s := range spans[first:end] {
			c.decay = 0
			if matrix[s.name] {
				c.decay = o.WeightDecay
			}
			adamw(weights[s.name][s.lo:s.hi], grads[s.name][s.lo:s.hi], o.m[s.name][s.lo:s.hi], o.v[s.name][s.lo:s.hi], &c)
		}
	})
	return norm
}

// sumSquares is the sum of g's squares in float64, in order.
func sumSquares(g []float32) float64 {
	var sum float64
	for _, x := range g {
		sum += float64(x) * float64(x)
	}
	return sum
}

// sumSquares4 sets sq[j] to sumSquares of the j-th slice. Equal lengths
// (the common case: spans are adamChunk long) run as four interleaved
// chains, each in its own order, so the sums are sumSquares' bits about
// four times sooner: a float64 sum waits on its previous addition.
func sumSquares4(a, b, c, d []float32, sq []float64) {
	n := len(a)
	if len(b) != n || len(c) != n || len(d) != n {
		for j, g := range [][]float32{a, b, c, d} {
			sq[j] = sumSquares(g)
		}
		return
	}
	b, c, d = b[:n], c[:n], d[:n]
	var s0, s1, s2, s3 float64
	for k, x := range a {
		s0 += float64(x) * float64(x)
		s1 += float64(b[k]) * float64(b[k])
		s2 += float64(c[k]) * float64(c[k])
		s3 += float64(d[k]) * float64(d[k])
	}
	sq[0], sq[1], sq[2], sq[3] = s0, s1, s2, s3
}

// adamwConsts are one step's constants of the update, in the order
// optim_amd64.s reads them.
type adamwConsts struct {
	scale, b1, omb1, b2, omb2, c1, c2, eps, decay, lr float64
}

// adamw updates the weights w and moments m, v of one span from its
// gradient g and zeroes g: the SIMD kernel where there is one, adamwGo for
// the rest. Both give the same bits.
func adamw(w, g, m, v []float32, c *adamwConsts) {
	n := 0
	if adamwSIMD != nil && len(w) >= 4 {
		n = len(w) &^ 3
		g, m, v = g[:len(w)], m[:len(w)], v[:len(w)] // bounds for the kernel
		adamwSIMD(n, &w[0], &g[0], &m[0], &v[0], c)
	}
	adamwGo(w[n:], g[n:], m[n:], v[n:], c)
}

// adamwGo is the update element by element in float64. The explicit
// float64 conversions forbid fused multiply-adds (which Go may use from
// GOAMD64=v3 on), so its results are those of the SIMD kernel on any
// build.
func adamwGo(w, g, m, v []float32, c *adamwConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for j := range w {
		gj := float64(g[j]) * c.scale
		mj := float64(c.b1*float64(m[j])) + float64(c.omb1*gj)
		vj := float64(c.b2*float64(v[j])) + float64(float64(c.omb2*gj)*gj)
		m[j], v[j] = float32(mj), float32(vj)
		update := float64((mj/c.c1)/(math.Sqrt(vj/c.c2)+c.eps)) + float64(c.decay*float64(w[j]))
		w[j] = float32(float64(w[j]) - float64(c.lr*update))
		g[j] = 0
	}
}
