package models

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the machinery shared by the fused Gorgonia ops
// (fused_*.go). A fused op does in one pass what the composed functions of
// ops.go do with many Gorgonia nodes, each of which materialises its
// result (broadcasts, transposes, masks): the fused forward computes only
// what the model needs, and the fused backward writes each input's
// gradient directly. The composed functions stay as the reference the
// tests compare against (Model.Composed selects them).
//
// Every fused op works in float32 (training) and float64 (gradient checks
// against finite differences), dispatching on the input's dtype.

// float is the element type of the fused kernels.
type float interface{ ~float32 | ~float64 }

// opSeq numbers fused ops so that no two share a hash: some ops keep state
// from their forward pass for their backward pass (argmaxes, softmaxes),
// so Gorgonia must never merge two of them as a common subexpression.
var opSeq atomic.Uint64

// fusedOp is what every fused op has in common: a name, a unique id, the
// output shape (known when the graph is built) and the Gorgonia
// boilerplate around a compute function.
type fusedOp struct {
	name  string
	id    uint64
	arity int
	ins   []int // dims of each input, for the type signature
	out   tensor.Shape
	// do computes the output from the inputs (all of one dtype) into out,
	// which holds garbage on entry.
	do func(out tensor.Tensor, in []tensor.Tensor) error
	// last is the output tensor of the previous run, reused by the next.
	last *tensor.Dense
}

func newFusedOp(name string, out tensor.Shape, do func(out tensor.Tensor, in []tensor.Tensor) error, ins ...*G.Node) *fusedOp {
	op := &fusedOp{name: name, id: opSeq.Add(1), arity: len(ins), out: out.Clone(), do: do}
	for _, n := range ins {
		op.ins = append(op.ins, n.Dims())
	}
	return op
}

func (op *fusedOp) Arity() int { return op.arity }

func (op *fusedOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(op.ins)+1)
	for _, d := range op.ins {
		ts = append(ts, tensorType(d, a))
	}
	return hm.NewFnType(append(ts, tensorType(len(op.out), a))...)
}

// tensorType is a Gorgonia tensor type of dims dimensions (a scalar for 0).
func tensorType(dims int, a hm.TypeVariable) hm.Type {
	if dims == 0 {
		return a
	}
	return G.TensorType{Dims: dims, Of: a}
}

func (op *fusedOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.out.Clone(), nil }
func (op *fusedOp) ReturnsPtr() bool                               { return false }
func (op *fusedOp) CallsExtern() bool                              { return false }
func (op *fusedOp) OverwritesInput() int                           { return -1 }
func (op *fusedOp) WriteHash(h hash.Hash)                          { fmt.Fprintf(h, "%s#%d", op.name, op.id) }
func (op *fusedOp) String() string                                 { return op.name }

func (op *fusedOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// Do implements G.Op.
func (op *fusedOp) Do(vals ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vals...) }

// UsePreallocDo implements G.UsePreallocDoer. The output tensor of the
// previous run is reused, so steady-state training steps allocate nothing
// here. That is safe because a tape machine runs the same program every
// time: a tensor that another op received as a free register after this
// op's output died in one run is dead again at the same point of the next.
// (The register the machine offers is ignored: after Reset it is always
// empty.)
func (op *fusedOp) UsePreallocDo(_ G.Value, vals ...G.Value) (G.Value, error) {
	if len(vals) != op.arity {
		return nil, fmt.Errorf("models: %s takes %d inputs, got %d", op.name, op.arity, len(vals))
	}
	in := make([]tensor.Tensor, len(vals))
	for i, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("models: %s input %d is %T, not a tensor", op.name, i, v)
		}
		if t.Dtype() != vals[0].Dtype() {
			return nil, fmt.Errorf("models: %s input %d is %v, input 0 %v", op.name, i, t.Dtype(), vals[0].Dtype())
		}
		in[i] = t
	}
	dt := in[0].Dtype()
	if op.last == nil || op.last.Dtype() != dt {
		op.last = tensor.New(tensor.WithShape(op.out...), tensor.Of(dt))
	}
	if err := op.do(op.last, in); err != nil {
		return nil, fmt.Errorf("models: %s: %w", op.name, err)
	}
	return op.last, nil
}

// diffOp is a fused op with a symbolic derivative: grads[i], if not nil,
// builds the gradient node of input i from the inputs, the output and the
// output's gradient.
type diffOp struct {
	*fusedOp
	grads []func(in G.Nodes, out, grad *G.Node) (*G.Node, error)
}

// DiffWRT implements G.SDOp.
func (op *diffOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = i < len(op.grads) && op.grads[i] != nil
	}
	return d
}

// SymDiff implements G.SDOp. Inputs without a gradient function get no
// gradient node at all, so the machine never computes a gradient nobody
// reads (the composed graph computes, for example, the gradient of the
// image regions).
func (op *diffOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(in))
	for i, f := range op.grads {
		if f == nil {
			continue
		}
		var err error
		if res[i], err = f(in, out, grad); err != nil {
			return nil, fmt.Errorf("models: gradient of %s input %d: %w", op.name, i, err)
		}
	}
	return res, nil
}

// data returns the backing slice of t, whose dtype must be T.
func data[T float](t tensor.Tensor) []T { return t.Data().([]T) }

// gemm computes C = alpha op(A) op(B) + beta C on row-major matrices
// (op transposes when tA or tB) through the build's BLAS: gemm32 and
// gemm64 (blas_purego.go, blas_openblas.go).
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		gemm32(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		gemm64(tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// trans is the BLAS flag of a transpose.
func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// parallel runs f(lo, hi) over [0, n) split into at most GOMAXPROCS
// contiguous ranges.
func parallel(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// kernel is a fused computation on raw slices: the output and the inputs.
type kernel[T float] func(out []T, in [][]T)

// both wraps a kernel's float32 and float64 instances as a fusedOp.do.
func both(k32 kernel[float32], k64 kernel[float64]) func(out tensor.Tensor, in []tensor.Tensor) error {
	return func(out tensor.Tensor, in []tensor.Tensor) error {
		switch out.Dtype() {
		case tensor.Float32:
			k32(data[float32](out), slicesOf[float32](in))
		case tensor.Float64:
			k64(data[float64](out), slicesOf[float64](in))
		default:
			return fmt.Errorf("dtype %v not supported (float32 or float64)", out.Dtype())
		}
		return nil
	}
}

func slicesOf[T float](in []tensor.Tensor) [][]T {
	s := make([][]T, len(in))
	for i, t := range in {
		s[i] = data[T](t)
	}
	return s
}
