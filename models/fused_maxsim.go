package models

import (
	"fmt"

	"gonum.org/v1/gonum/blas/gonum"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxSimState is the fused MaxSim of one graph node. The forward pass
// records, for every (text fragment, image), which image fragment won the
// max, so the backward pass sends each gradient to that fragment alone
// instead of multiplying a dense, mostly-zero pair x fragment gradient.
type maxSimState struct {
	bt, ft, bi, fi, d int
	weight, bias      bool
	argmax            []int32 // (bt*ft, bi) from the last forward pass
}

// Blocks of the fused MaxSim's forward product: a block of text items
// against a block of images fits in the L2 cache.
const (
	maxSimTextBlock  = 8
	maxSimImageBlock = 32
)

// fusedMaxSim is MaxSim (same arguments, same result) as one op. Ties
// between image fragments send the gradient to the first of them (a
// subgradient), where Gorgonia's Max sends it to each.
func fusedMaxSim(text, image, textWeight, imageBias *G.Node) (*G.Node, error) {
	ts, is := text.Shape(), image.Shape()
	if len(ts) != 3 || len(is) != 3 || ts[2] != is[2] {
		return nil, fmt.Errorf("models: MaxSim of shapes %v and %v: want (Bt, Ft, d) and (Bi, Fi, d)", ts, is)
	}
	s := &maxSimState{bt: ts[0], ft: ts[1], bi: is[0], fi: is[1], d: ts[2], weight: textWeight != nil, bias: imageBias != nil}
	ins := G.Nodes{text, image}
	if s.weight {
		ins = append(ins, textWeight)
	}
	if s.bias {
		ins = append(ins, imageBias)
	}
	fwd := newFusedOp("FusedMaxSim", tensor.Shape{s.bt, s.bi}, both(s.forward32, s.forward64), ins...)
	back := func(name string, shape tensor.Shape, k32 kernel[float32], k64 kernel[float64]) func(in G.Nodes, _, grad *G.Node) (*G.Node, error) {
		return func(in G.Nodes, out, grad *G.Node) (*G.Node, error) {
			// The output is an input only to order this op after the
			// forward pass, whose argmaxes it reads: the gradient need not
			// depend on the output (a linear loss).
			args := append(append(G.Nodes{}, in...), grad, out)
			return G.ApplyOp(newFusedOp(name, shape, both(k32, k64), args...), args...)
		}
	}
	op := &diffOp{fusedOp: fwd, grads: []func(G.Nodes, *G.Node, *G.Node) (*G.Node, error){
		back("FusedMaxSimGradText", ts, maxSimGradText[float32](s), maxSimGradText[float64](s)),
		back("FusedMaxSimGradImage", is, maxSimGradImage[float32](s), maxSimGradImage[float64](s)),
	}}
	return G.ApplyOp(op, ins...)
}

func (s *maxSimState) forward32(out []float32, in [][]float32) { maxSimForward(s, out, in) }
func (s *maxSimState) forward64(out []float64, in [][]float64) { maxSimForward(s, out, in) }

// maxSimInputs splits a fused MaxSim's inputs into text, image, weight
// and bias (nil when absent).
func maxSimInputs[T float](s *maxSimState, in [][]T) (text, image, weight, bias []T) {
	text, image, k := in[0], in[1], 2
	if s.weight {
		weight, k = in[k], k+1
	}
	if s.bias {
		bias = in[k]
	}
	return text, image, weight, bias
}

// maxSimForward computes the (bt, bi) scores block by block: a matrix
// product of a block of image fragments with a block of text fragments,
// whose rows are the image fragments, then, for each image, the masked max
// over its rows, for all the block's text fragments at once (a vertical
// max, which vectorises), and each text item's weighted sum over its
// fragments. Blocks run in parallel; each writes its own scores.
func maxSimForward[T float](s *maxSimState, out []T, in [][]T) {
	text, image, weight, bias := maxSimInputs(s, in)
	if len(s.argmax) != s.bt*s.ft*s.bi {
		s.argmax = make([]int32, s.bt*s.ft*s.bi)
	}
	ft, fi, d, bi := s.ft, s.fi, s.d, s.bi
	noBias := make([]T, fi)
	nib := (s.bi + maxSimImageBlock - 1) / maxSimImageBlock
	jobs := (s.bt + maxSimTextBlock - 1) / maxSimTextBlock * nib
	parallel(jobs, func(lo, hi int) {
		var prod, best []T
		var arg []int32
		for j := lo; j < hi; j++ {
			t0, i0 := j/nib*maxSimTextBlock, j%nib*maxSimImageBlock
			t1, i1 := min(t0+maxSimTextBlock, s.bt), min(i0+maxSimImageBlock, s.bi)
			rows, cols := (i1-i0)*fi, (t1-t0)*ft
			if cap(prod) < rows*cols {
				prod = make([]T, rows*cols)
			}
			prod = prod[:rows*cols]
			if cap(best) < cols {
				best, arg = make([]T, cols), make([]int32, cols)
			}
			best, arg = best[:cols], arg[:cols]
			gemm(false, true, rows, cols, d, 1, image[i0*fi*d:], d, text[t0*ft*d:], d, 0, prod, cols)
			for t := t0; t < t1; t++ {
				for i := i0; i < i1; i++ {
					out[t*bi+i] = 0
				}
			}
			for i := i0; i < i1; i++ {
				b := noBias
				if bias != nil {
					b = bias[i*fi : (i+1)*fi]
				}
				maxArgRows(prod[(i-i0)*fi*cols:(i-i0+1)*fi*cols], cols, b, best, arg)
				for t := t0; t < t1; t++ {
					for f := 0; f < ft; f++ {
						w := T(1)
						if weight != nil {
							w = weight[t*ft+f]
						}
						c := (t-t0)*ft + f
						s.argmax[(t*ft+f)*bi+i] = arg[c]
						out[t*bi+i] += w * best[c]
					}
				}
			}
		}
	})
}

// maxArgRows sets best[j] to the max over rows g of p[g*stride+j] +
// bias[g], len(bias) rows, and arg[j] to the first g that attains it,
// for the len(best) columns j: with the SIMD kernel for float32 where
// there is one, maxArgRowsGo for the rest.
func maxArgRows[T float](p []T, stride int, bias, best []T, arg []int32) {
	n, rows := len(best), len(bias)
	done := 0
	if p32, ok := any(p).([]float32); ok && maxArgRowsSIMD != nil && n >= 8 {
		done = n &^ 7
		_ = p32[(rows-1)*stride+done-1] // bounds for the kernel
		maxArgRowsSIMD(done, rows, &p32[0], stride, &any(bias).([]float32)[0], &any(best).([]float32)[0], &arg[0])
	}
	if done < n {
		maxArgRowsGo(p[done:], stride, bias, best[done:], arg[done:])
	}
}

// maxArgRowsGo is maxArgRows column by column. A strict greater-than
// keeps the first of tied rows, and a NaN never wins.
func maxArgRowsGo[T float](p []T, stride int, bias, best []T, arg []int32) {
	for j := range best {
		v, a := p[j]+bias[0], 0
		for g := 1; g < len(bias); g++ {
			if x := p[g*stride+j] + bias[g]; x > v {
				v, a = x, g
			}
		}
		best[j], arg[j] = v, int32(a)
	}
}

// maxSimGradText returns the kernel of the text gradient: each text
// fragment receives, from each image, the output gradient times its weight
// times the image fragment that won its max.
func maxSimGradText[T float](s *maxSimState) kernel[T] {
	return func(dt []T, in [][]T) {
		_, image, weight, _ := maxSimInputs(s, in)
		g := in[len(in)-2]
		ft, fi, d, bi := s.ft, s.fi, s.d, s.bi
		parallel(s.bt, func(lo, hi int) {
			clear(dt[lo*ft*d : hi*ft*d])
			for t := lo; t < hi; t++ {
				for f := 0; f < ft; f++ {
					w := T(1)
					if weight != nil {
						w = weight[t*ft+f]
					}
					if w == 0 {
						continue
					}
					row := dt[(t*ft+f)*d : (t*ft+f+1)*d]
					am := s.argmax[(t*ft+f)*bi:]
					for i := 0; i < bi; i++ {
						if gi := g[t*bi+i] * w; gi != 0 {
							axpy(gi, image[(i*fi+int(am[i]))*d:], row)
						}
					}
				}
			}
		})
	}
}

// maxSimGradImage returns the kernel of the image gradient: each image
// fragment receives the weighted text fragments whose max it won.
func maxSimGradImage[T float](s *maxSimState) kernel[T] {
	return func(di []T, in [][]T) {
		text, _, weight, _ := maxSimInputs(s, in)
		g := in[len(in)-2]
		ft, fi, d, bi := s.ft, s.fi, s.d, s.bi
		parallel(s.bi, func(lo, hi int) {
			clear(di[lo*fi*d : hi*fi*d])
			for i := lo; i < hi; i++ {
				for t := 0; t < s.bt; t++ {
					gt := g[t*bi+i]
					if gt == 0 {
						continue
					}
					for f := 0; f < ft; f++ {
						w := gt
						if weight != nil {
							w *= weight[t*ft+f]
						}
						if w == 0 {
							continue
						}
						am := int(s.argmax[(t*ft+f)*bi+i])
						axpy(w, text[(t*ft+f)*d:], di[(i*fi+am)*d:(i*fi+am+1)*d])
					}
				}
			}
		})
	}
}

// axpy adds a*x to y (len(y) elements): with the AVX kernel for float32
// where there is one, otherwise gonum's SIMD kernels, whose products and
// sums it repeats exactly; the pure-Go routine in every build, as a cgo
// call per row would cost more than the row.
func axpy[T float](a T, x, y []T) {
	switch y := any(y).(type) {
	case []float32:
		x := any(x).([]float32)[:len(y)]
		done := 0
		if axpySIMD != nil && len(y) >= 8 {
			done = len(y) &^ 7
			axpySIMD(done, float32(a), &x[0], &y[0])
		}
		if done < len(y) {
			gonum.Implementation{}.Saxpy(len(y)-done, float32(a), x[done:], 1, y[done:], 1)
		}
	case []float64:
		gonum.Implementation{}.Daxpy(len(y), float64(a), any(x).([]float64), 1, y, 1)
	}
}
