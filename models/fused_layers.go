package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradFunc builds the gradient node of one input of a fused op.
type gradFunc = func(in G.Nodes, out, grad *G.Node) (*G.Node, error)

// backOp returns a gradFunc that applies a fused op of the given shape and
// kernels to args(in, out, grad).
func backOp(name string, shape tensor.Shape, k32 kernel[float32], k64 kernel[float64], args func(in G.Nodes, out, grad *G.Node) G.Nodes) gradFunc {
	return func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
		a := args(in, out, grad)
		return G.ApplyOp(newFusedOp(name, shape, both(k32, k64), a...), a...)
	}
}

// ---- Linear: x w + b, optionally followed by ReLU ----

// linearSpec is a fused Linear: x (n, in) times w (in, out) plus b (out),
// then ReLU if relu is set.
type linearSpec struct {
	n, in, out int
	relu       bool
}

// fusedLinear is Linear (and Rectify(Linear) with relu) as one op. With
// inputGrad false, x gets no gradient: the image regions are data, and
// their gradient (a full product with the projection) would be wasted.
func fusedLinear(x, w, b *G.Node, relu, inputGrad bool) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[0] || b.Shape().TotalSize() != ws[1] {
		return nil, fmt.Errorf("models: Linear of shapes %v, %v, %v", xs, ws, b.Shape())
	}
	s := linearSpec{n: xs[0], in: xs[1], out: ws[1], relu: relu}
	fwd := newFusedOp("FusedLinear", tensor.Shape{s.n, s.out}, both(linearForward[float32](s), linearForward[float64](s)), x, w, b)
	// The backward ops read (x, w, delta), delta being the gradient before
	// the ReLU, computed once from the output (the mask) and its gradient.
	var delta *G.Node
	args := func(in G.Nodes, out, grad *G.Node) G.Nodes {
		if delta == nil {
			delta = grad
			if relu {
				op := newFusedOp("FusedReLUGrad", tensor.Shape{s.n, s.out}, both(reluGrad[float32], reluGrad[float64]), out, grad)
				delta = G.Must(G.ApplyOp(op, out, grad))
			}
		}
		return G.Nodes{in[0], in[1], delta}
	}
	grads := []gradFunc{nil,
		backOp("FusedLinearGradW", ws, linearGradW[float32](s), linearGradW[float64](s), args),
		backOp("FusedLinearGradB", b.Shape(), linearGradB[float32](s), linearGradB[float64](s), args),
	}
	if inputGrad {
		grads[0] = backOp("FusedLinearGradX", xs, linearGradX[float32](s), linearGradX[float64](s), args)
	}
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: grads}, x, w, b)
}

func linearForward[T float](s linearSpec) kernel[T] {
	return func(y []T, in [][]T) {
		x, w, b := in[0], in[1], in[2]
		parallel(s.n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				copy(y[r*s.out:(r+1)*s.out], b)
			}
		})
		gemm(false, false, s.n, s.out, s.in, 1, x, s.in, w, s.out, 1, y, s.out)
		if s.relu {
			parallel(len(y), func(lo, hi int) { relu(y[lo:hi]) })
		}
	}
}

// relu replaces each v of y by max(v, 0), eight at a time for float32
// where the CPU allows.
func relu[T float](y []T) {
	done := 0
	if y32, ok := any(y).([]float32); ok && reluSIMD != nil && len(y) >= 8 {
		done = len(y) &^ 7
		reluSIMD(done, &y32[0])
	}
	for k, v := range y[done:] {
		y[done+k] = max(v, 0)
	}
}

// reluGrad passes the output gradient where the ReLU's output is positive.
func reluGrad[T float](d []T, in [][]T) {
	switch d := any(d).(type) {
	case []float32:
		y, g := any(in[0]).([]float32), any(in[1]).([]float32)
		parallel(len(g), func(lo, hi int) { reluGrad32(d[lo:hi], y[lo:hi], g[lo:hi]) })
	case []float64:
		y, g := any(in[0]).([]float64), any(in[1]).([]float64)
		for k, v := range g {
			if y[k] <= 0 {
				v = 0
			}
			d[k] = v
		}
	}
}

// reluGrad32 masks g by y > 0 without branches (their outcome is a coin
// toss): y is a ReLU output, never negative, so y > 0 exactly when its bits
// are not zero, and an integer select compiles to a conditional move; the
// SIMD kernel applies the same mask eight at a time.
func reluGrad32(d, y, g []float32) {
	y, d = y[:len(g)], d[:len(g)]
	done := 0
	if reluGradSIMD != nil && len(g) >= 8 {
		done = len(g) &^ 7
		reluGradSIMD(done, &d[0], &y[0], &g[0])
	}
	for k := done; k < len(g); k++ {
		v := g[k]
		mask := uint32(0)
		if math.Float32bits(y[k]) != 0 {
			mask = ^uint32(0)
		}
		d[k] = math.Float32frombits(math.Float32bits(v) & mask)
	}
}

func linearGradX[T float](s linearSpec) kernel[T] {
	return func(dx []T, in [][]T) {
		gemm(false, true, s.n, s.in, s.out, 1, in[2], s.out, in[1], s.out, 0, dx, s.in)
	}
}

func linearGradW[T float](s linearSpec) kernel[T] {
	return func(dw []T, in [][]T) {
		gemm(true, false, s.in, s.out, s.n, 1, in[0], s.in, in[2], s.out, 0, dw, s.out)
	}
}

func linearGradB[T float](s linearSpec) kernel[T] {
	return func(db []T, in [][]T) {
		// Columns are split between workers; each sums its columns over
		// the rows in order, so the result does not depend on the split.
		parallel(s.out, func(lo, hi int) {
			clear(db[lo:hi])
			for r := 0; r < s.n; r++ {
				axpy(1, in[2][r*s.out+lo:], db[lo:hi])
			}
		})
	}
}

// ---- GELU ----

// fusedGELU is BERT's GELU (ActGELU), x Φ(x) = 0.5 x (1 + erf(x/√2)),
// elementwise. It follows a fusedLinear without ReLU instead of being a
// flag of it: its gradient Φ(x) + x φ(x) needs the input x, which the
// backward op reads, where ReLU's is decided by the output alone.
func fusedGELU(x *G.Node) (*G.Node, error) {
	fwd := newFusedOp("FusedGELU", x.Shape(), both(geluForward[float32], geluForward[float64]), x)
	args := func(in G.Nodes, _, grad *G.Node) G.Nodes { return G.Nodes{in[0], grad} }
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: []gradFunc{
		backOp("FusedGELUGrad", x.Shape(), geluGrad[float32], geluGrad[float64], args),
	}}, x)
}

// gelu is x Φ(x), in float64 for either kernel type: math.Erf is
// float64 only.
func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// geluSlope is gelu's derivative, Φ(x) + x φ(x).
func geluSlope(x float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

func geluForward[T float](y []T, in [][]T) {
	x := in[0]
	parallel(len(y), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			y[k] = T(gelu(float64(x[k])))
		}
	})
}

// geluGrad: dx = dy gelu'(x), from the inputs (x, dy).
func geluGrad[T float](dx []T, in [][]T) {
	x, dy := in[0], in[1]
	parallel(len(dx), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			dx[k] = T(float64(dy[k]) * geluSlope(float64(x[k])))
		}
	})
}

// ---- LayerNorm, optionally of a residual sum ----

// layerNormSpec is a fused LayerNorm over rows of width d, of x or, with
// residual, of x + r. The forward pass keeps the normalised rows and their
// standard deviations for the backward pass.
type layerNormSpec struct {
	n, d      int
	residual  bool
	eps       float64
	xhat, std any // []T: (n, d) and (n) from the last forward pass
}

// cached returns *p as a []T of length n, allocated when it is not one.
func cached[T float](p *any, n int) []T {
	if v, ok := (*p).([]T); ok && len(v) == n {
		return v
	}
	v := make([]T, n)
	*p = v
	return v
}

// fusedLayerNorm is LayerNorm(x + r) (r may be nil for LayerNorm(x)) as
// one op: inputs x, [r], g, b.
func fusedLayerNorm(x, r, g, b *G.Node, eps float64) (*G.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 || g.Shape().TotalSize() != xs[1] || b.Shape().TotalSize() != xs[1] || (r != nil && !r.Shape().Eq(xs)) {
		return nil, fmt.Errorf("models: LayerNorm of shape %v with gain %v and bias %v", xs, g.Shape(), b.Shape())
	}
	s := &layerNormSpec{n: xs[0], d: xs[1], residual: r != nil, eps: eps}
	ins := G.Nodes{x, g, b}
	if r != nil {
		ins = G.Nodes{x, r, g, b}
	}
	fwd := newFusedOp("FusedLayerNorm", xs, both(layerNormForward[float32](s), layerNormForward[float64](s)), ins...)
	// Backward ops read (x, [r], g, output gradient, output); the output is
	// there only to order them after the forward pass, whose normalised
	// rows they read.
	args := func(in G.Nodes, out, grad *G.Node) G.Nodes {
		return append(append(G.Nodes{}, in[:len(in)-1]...), grad, out)
	}
	dx := backOp("FusedLayerNormGradX", xs, layerNormGradX[float32](s), layerNormGradX[float64](s), args)
	var shared *G.Node // x and r share one gradient node
	dxOnce := func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
		if shared == nil {
			var err error
			if shared, err = dx(in, out, grad); err != nil {
				return nil, err
			}
		}
		return shared, nil
	}
	grads := []gradFunc{dxOnce}
	if r != nil {
		grads = append(grads, dxOnce)
	}
	grads = append(grads,
		backOp("FusedLayerNormGradG", g.Shape(), layerNormGradG[float32](s, false), layerNormGradG[float64](s, false), args),
		backOp("FusedLayerNormGradB", b.Shape(), layerNormGradG[float32](s, true), layerNormGradG[float64](s, true), args))
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: grads}, ins...)
}

// lnGroup is how many rows the LayerNorm kernels process together. Their
// sums run as independent chains, each in its own row's order, so every
// result is that of one row at a time, several times sooner: a sum
// waits on its previous addition, and lnGroup chains fill that wait.
const lnGroup = 4

// rowGroup returns rows i0..i0+lnGroup-1 of m, whose rows have len(spare)
// elements; spare stands in for rows past n.
func rowGroup[T float](m []T, i0, n int, spare []T) (rows [lnGroup][]T) {
	d := len(spare)
	for j := range rows {
		if i := i0 + j; i < n {
			rows[j] = m[i*d : (i+1)*d]
		} else {
			rows[j] = spare
		}
	}
	return rows
}

// normalizeGroup replaces each row z of xh by (z - mean) / std and
// returns the rows' std = sqrt(var + eps).
func normalizeGroup[T float](xh *[lnGroup][]T, eps T) (std [lnGroup]T) {
	d := len(xh[0])
	r0, r1, r2, r3 := xh[0][:d], xh[1][:d], xh[2][:d], xh[3][:d]
	var s0, s1, s2, s3 T
	for k := 0; k < d; k++ {
		s0 += r0[k]
		s1 += r1[k]
		s2 += r2[k]
		s3 += r3[k]
	}
	n := T(d)
	m0, m1, m2, m3 := s0/n, s1/n, s2/n, s3/n
	var q0, q1, q2, q3 T
	for k := 0; k < d; k++ {
		c0, c1, c2, c3 := r0[k]-m0, r1[k]-m1, r2[k]-m2, r3[k]-m3
		r0[k], r1[k], r2[k], r3[k] = c0, c1, c2, c3
		q0 += c0 * c0
		q1 += c1 * c1
		q2 += c2 * c2
		q3 += c3 * c3
	}
	for j, q := range [lnGroup]T{q0, q1, q2, q3} {
		std[j] = T(math.Sqrt(float64(q/n + eps)))
		divRow(xh[j], std[j])
	}
	return std
}

// divRow divides row by s in place: divisions are the slowest step of a
// LayerNorm, so float32 rows go eight at a time where the CPU allows.
func divRow[T float](row []T, s T) {
	done := 0
	if r, ok := any(row).([]float32); ok && divSIMD != nil && len(r) >= 8 {
		done = len(r) &^ 7
		divSIMD(done, &r[0], float32(s))
	}
	for k := done; k < len(row); k++ {
		row[k] /= s
	}
}

// affineRow sets y[k] = x[k]*g[k] + b[k], LayerNorm's gain and bias, like
// divRow eight at a time where it can.
func affineRow[T float](y, x, g, b []T) {
	x, g, b = x[:len(y)], g[:len(y)], b[:len(y)]
	done := 0
	if y32, ok := any(y).([]float32); ok && affineSIMD != nil && len(y) >= 8 {
		done = len(y) &^ 7
		affineSIMD(done, &y32[0], &any(x).([]float32)[0], &any(g).([]float32)[0], &any(b).([]float32)[0])
	}
	for k := done; k < len(y); k++ {
		y[k] = x[k]*g[k] + b[k]
	}
}

// lnGradRow sets row[k] = (row[k] - m1 - xh[k]*m2) / sd, the last step of
// the LayerNorm input gradient, like divRow eight at a time where it can.
func lnGradRow[T float](row, xh []T, m1, m2, sd T) {
	xh = xh[:len(row)]
	done := 0
	if r, ok := any(row).([]float32); ok && lnGradSIMD != nil && len(r) >= 8 {
		done = len(r) &^ 7
		lnGradSIMD(done, &r[0], &any(xh).([]float32)[0], float32(m1), float32(m2), float32(sd))
	}
	for k := done; k < len(row); k++ {
		row[k] = (row[k] - m1 - xh[k]*m2) / sd
	}
}

// gain returns the index of the gain input (n=0) or the bias input (n=1).
func (s *layerNormSpec) gain(n int) int {
	if s.residual {
		return 2 + n
	}
	return 1 + n
}

func layerNormForward[T float](s *layerNormSpec) kernel[T] {
	return func(y []T, in [][]T) {
		g, b := in[s.gain(0)], in[s.gain(1)]
		xhat, std := cached[T](&s.xhat, s.n*s.d), cached[T](&s.std, s.n)
		d := s.d
		parallel((s.n+lnGroup-1)/lnGroup, func(lo, hi int) {
			spare := make([]T, 2*d) // rows past n: normalised (stays zero), output
			for grp := lo; grp < hi; grp++ {
				i0 := grp * lnGroup
				xh := rowGroup(xhat, i0, s.n, spare[:d])
				for j := range xh {
					if i := i0 + j; i < s.n {
						copy(xh[j], in[0][i*d:(i+1)*d])
						if s.residual {
							axpy(1, in[1][i*d:], xh[j])
						}
					}
				}
				sd := normalizeGroup(&xh, T(s.eps))
				ys := rowGroup(y, i0, s.n, spare[d:])
				for j, row := range ys {
					if i0+j < s.n {
						std[i0+j] = sd[j]
					}
					affineRow(row, xh[j], g, b)
				}
			}
		})
	}
}

// layerNormGradX: dz = (gy - mean(gy) - xhat mean(gy xhat)) / std with
// gy = dy * g.
func layerNormGradX[T float](s *layerNormSpec) kernel[T] {
	return func(dx []T, in [][]T) {
		g, dy := in[s.gain(0)], in[len(in)-2]
		xhat, std := cached[T](&s.xhat, s.n*s.d), cached[T](&s.std, s.n)
		d := s.d
		g = g[:d]
		parallel((s.n+lnGroup-1)/lnGroup, func(lo, hi int) {
			spare := make([]T, 3*d) // rows past n: normalised, output gradient, result
			for grp := lo; grp < hi; grp++ {
				i0 := grp * lnGroup
				xh, gy, out := rowGroup(xhat, i0, s.n, spare[:d]), rowGroup(dy, i0, s.n, spare[d:2*d]), rowGroup(dx, i0, s.n, spare[2*d:])
				x0, x1, x2, x3 := xh[0][:d], xh[1][:d], xh[2][:d], xh[3][:d]
				g0, g1, g2, g3 := gy[0][:d], gy[1][:d], gy[2][:d], gy[3][:d]
				o0, o1, o2, o3 := out[0][:d], out[1][:d], out[2][:d], out[3][:d]
				var a0, a1, a2, a3, b0, b1, b2, b3 T // sums of gy and of gy xhat
				for k := 0; k < d; k++ {
					gk := g[k]
					y0, y1, y2, y3 := g0[k]*gk, g1[k]*gk, g2[k]*gk, g3[k]*gk
					o0[k], o1[k], o2[k], o3[k] = y0, y1, y2, y3
					a0 += y0
					a1 += y1
					a2 += y2
					a3 += y3
					b0 += y0 * x0[k]
					b1 += y1 * x1[k]
					b2 += y2 * x2[k]
					b3 += y3 * x3[k]
				}
				n := T(d)
				m1, m2 := [lnGroup]T{a0 / n, a1 / n, a2 / n, a3 / n}, [lnGroup]T{b0 / n, b1 / n, b2 / n, b3 / n}
				for j, row := range out {
					if i0+j >= s.n {
						break
					}
					lnGradRow(row, xh[j], m1[j], m2[j], std[i0+j])
				}
			}
		})
	}
}

// layerNormGradG is the gain's gradient (sum over rows of dy * xhat) or,
// with bias, the bias's (sum over rows of dy).
func layerNormGradG[T float](s *layerNormSpec, bias bool) kernel[T] {
	return func(dg []T, in [][]T) {
		dy := in[len(in)-2]
		xhat := cached[T](&s.xhat, s.n*s.d)
		// Columns are split between workers, each summing over the rows
		// in order: the same sums on any number of cores.
		parallel(s.d, func(lo, hi int) {
			part := dg[lo:hi]
			clear(part)
			for i := 0; i < s.n; i++ {
				dyRow := dy[i*s.d+lo : i*s.d+hi]
				if bias {
					axpy(1, dyRow, part)
					continue
				}
				xh := xhat[i*s.d+lo : i*s.d+hi]
				for k, v := range dyRow {
					part[k] += v * xh[k]
				}
			}
		})
	}
}

// ---- Keep the first fragments and L2-normalise them ----

// keepNormSpec keeps keep of slots rows of each of batch items (rows of
// width d), from row first on, and L2-normalises them.
type keepNormSpec struct{ batch, slots, first, keep, d int }

// fusedKeepNormalize takes x (batch*slots, d) to the L2-normalised slots
// first..first+keep-1 of each item, (batch, keep, d): the slice, reshape
// and L2Normalize of the composed encoder in one op.
func fusedKeepNormalize(x *G.Node, batch, slots, first, keep int) (*G.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 || xs[0] != batch*slots || first < 0 || first+keep > slots {
		return nil, fmt.Errorf("models: keep %d of %d slots from slot %d of %d items from shape %v", keep, slots, first, batch, xs)
	}
	s := keepNormSpec{batch: batch, slots: slots, first: first, keep: keep, d: xs[1]}
	fwd := newFusedOp("FusedKeepNormalize", tensor.Shape{batch, keep, s.d}, both(keepNormForward[float32](s), keepNormForward[float64](s)), x)
	args := func(in G.Nodes, out, grad *G.Node) G.Nodes { return G.Nodes{in[0], out, grad} }
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: []gradFunc{
		backOp("FusedKeepNormalizeGrad", xs, keepNormGrad[float32](s), keepNormGrad[float64](s), args),
	}}, x)
}

// l2norm is the norm of the composed L2Normalize: sqrt(sum v^2 + 1e-12).
func l2norm[T float](v []T) T {
	var sq T
	for _, x := range v {
		sq += x * x
	}
	return T(math.Sqrt(float64(sq + 1e-12)))
}

func keepNormForward[T float](s keepNormSpec) kernel[T] {
	return func(y []T, in [][]T) {
		x := in[0]
		parallel(s.batch, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				for f := 0; f < s.keep; f++ {
					src := x[(b*s.slots+s.first+f)*s.d : (b*s.slots+s.first+f+1)*s.d]
					dst := y[(b*s.keep+f)*s.d : (b*s.keep+f+1)*s.d]
					copy(dst, src)
					divRow(dst, l2norm(src))
				}
			}
		})
	}
}

// keepNormGrad: dx = (dy - y (dy . y)) / norm on kept rows, 0 elsewhere.
func keepNormGrad[T float](s keepNormSpec) kernel[T] {
	return func(dx []T, in [][]T) {
		x, y, dy := in[0], in[1], in[2]
		parallel(s.batch, func(lo, hi int) {
			clear(dx[lo*s.slots*s.d : hi*s.slots*s.d])
			for b := lo; b < hi; b++ {
				for f := 0; f < s.keep; f++ {
					xr := x[(b*s.slots+s.first+f)*s.d : (b*s.slots+s.first+f+1)*s.d]
					yr := y[(b*s.keep+f)*s.d : (b*s.keep+f+1)*s.d]
					gr := dy[(b*s.keep+f)*s.d : (b*s.keep+f+1)*s.d]
					n := l2norm(xr)
					var dot T
					for k, v := range gr {
						dot += v * yr[k]
					}
					out := dx[(b*s.slots+s.first+f)*s.d:]
					for k, v := range gr {
						out[k] = (v - yr[k]*dot) / n
					}
				}
			}
		})
	}
}

// ---- Assemble an encoder's input slots ----

// slotPart is one input of fusedSlots: rows slots per item, taken from a
// (batch*rows, d) per-item input or repeated from a (rows, d) shared one;
// add means the part is added onto the previous part's rows (a position
// embedding) instead of taking slots of its own.
type slotPart struct {
	node   *G.Node
	rows   int
	shared bool
	add    bool
}

// fusedSlots lays out the parts of each item one after the other as
// (batch*slots, d) rows: the broadcasts, concatenation and reshapes of the
// composed encoder in one op, whose backward sums shared parts over the
// batch.
func fusedSlots(batch, d int, parts []slotPart) (*G.Node, error) {
	slots := 0
	ins := make(G.Nodes, len(parts))
	for i, p := range parts {
		want := tensor.Shape{p.rows, d}
		if !p.shared {
			want = tensor.Shape{batch * p.rows, d}
		}
		if got := p.node.Shape(); !got.Eq(want) || (p.add && (i == 0 || !p.shared || parts[i-1].rows != p.rows)) {
			return nil, fmt.Errorf("models: slot part %d (%s) has shape %v, want %v", i, p.node.Name(), got, want)
		}
		if !p.add {
			slots += p.rows
		}
		ins[i] = p.node
	}
	// offset[i] is the first slot of part i within an item.
	offset := make([]int, len(parts))
	for i, at := 0, 0; i < len(parts); i++ {
		if parts[i].add {
			offset[i] = offset[i-1]
			continue
		}
		offset[i] = at
		at += parts[i].rows
	}
	fwd := newFusedOp("FusedSlots", tensor.Shape{batch * slots, d}, both(slotsForward[float32](parts, offset, batch, slots, d), slotsForward[float64](parts, offset, batch, slots, d)), ins...)
	grads := make([]gradFunc, len(parts))
	for i, p := range parts {
		shape := p.node.Shape()
		args := func(_ G.Nodes, _, grad *G.Node) G.Nodes { return G.Nodes{grad} }
		grads[i] = backOp(fmt.Sprintf("FusedSlotsGrad%d", i), shape, slotsGrad[float32](p, offset[i], batch, slots, d), slotsGrad[float64](p, offset[i], batch, slots, d), args)
	}
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: grads}, ins...)
}

func slotsForward[T float](parts []slotPart, offset []int, batch, slots, d int) kernel[T] {
	return func(y []T, in [][]T) {
		for i, p := range parts {
			for b := 0; b < batch; b++ {
				dst := y[(b*slots+offset[i])*d : (b*slots+offset[i]+p.rows)*d]
				src := in[i]
				if !p.shared {
					src = src[b*p.rows*d:]
				}
				if p.add {
					axpy(1, src, dst)
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

func slotsGrad[T float](p slotPart, offset, batch, slots, d int) kernel[T] {
	return func(dp []T, in [][]T) {
		g := in[0]
		if p.shared {
			clear(dp)
		}
		for b := 0; b < batch; b++ {
			src := g[(b*slots+offset)*d : (b*slots+offset+p.rows)*d]
			if p.shared {
				axpy(1, src, dp)
			} else {
				copy(dp[b*p.rows*d:], src)
			}
		}
	}
}
