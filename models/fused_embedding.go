package models

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embeddingOp is ByIndices along axis 0 (rows of a (vocab, d) table picked
// by int ids) or, with grad, its backward pass: (ids, output gradient) to
// the table's gradient. Gorgonia's ByIndices allocates and zeroes a fresh
// dense (vocab, d) gradient every step (10 MB for SpeedConfig's table,
// most of it page faults and clearing) to scatter a few thousand rows
// into it; this one keeps its gradient between runs and clears only the
// rows the previous run wrote. That is safe because the buffer is this
// op's alone: the tape machine adds it into the parameter's own gradient
// and never hands it to another op (no other value has its shape).
type embeddingOp struct {
	grad        bool
	id          uint64
	n, vocab, d int
	last        *tensor.Dense
	touched     []int // rows of last written by the previous backward run
}

// fusedEmbedding returns the rows of table (vocab, d) at ids (n ints) as
// an (n, d) node, with embeddingOp's backward pass.
func fusedEmbedding(table, ids *G.Node) (*G.Node, error) {
	ts, is := table.Shape(), ids.Shape()
	if len(ts) != 2 || len(is) != 1 || ids.Dtype() != tensor.Int {
		return nil, fmt.Errorf("models: embedding of a %v table by %v ids of %v: want (vocab, d) and (n) ints", ts, is, ids.Dtype())
	}
	return G.ApplyOp(&embeddingOp{id: opSeq.Add(1), n: is[0], vocab: ts[0], d: ts[1]}, table, ids)
}

func (op *embeddingOp) Arity() int { return 2 }

func (op *embeddingOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ids := G.TensorType{Dims: 1, Of: tensor.Int}
	if op.grad {
		return hm.NewFnType(ids, G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: 2, Of: a})
	}
	return hm.NewFnType(G.TensorType{Dims: 2, Of: a}, ids, G.TensorType{Dims: 2, Of: a})
}

func (op *embeddingOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return tensor.Shape{op.vocab, op.d}, nil
	}
	return tensor.Shape{op.n, op.d}, nil
}

func (op *embeddingOp) ReturnsPtr() bool     { return false }
func (op *embeddingOp) CallsExtern() bool    { return false }
func (op *embeddingOp) OverwritesInput() int { return -1 }
func (op *embeddingOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "%s#%d", op, op.id)
}
func (op *embeddingOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *embeddingOp) String() string {
	if op.grad {
		return "FusedEmbeddingGrad"
	}
	return "FusedEmbedding"
}

// DiffWRT implements G.SDOp: the table has a gradient, the ids none.
func (op *embeddingOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff implements G.SDOp.
func (op *embeddingOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	back := &embeddingOp{grad: true, id: opSeq.Add(1), n: op.n, vocab: op.vocab, d: op.d}
	dt, err := G.ApplyOp(back, in[1], grad)
	return G.Nodes{dt, nil}, err
}

// Do implements G.Op.
func (op *embeddingOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("models: %s takes 2 inputs, got %d", op, len(vals))
	}
	idsAt, valAt := 1, 0
	if op.grad {
		idsAt, valAt = 0, 1
	}
	ids, ok := vals[idsAt].Data().([]int)
	if !ok || len(ids) != op.n {
		return nil, fmt.Errorf("models: %s: ids are %T of %d, want %d ints", op, vals[idsAt].Data(), len(ids), op.n)
	}
	for i, id := range ids {
		if id < 0 || id >= op.vocab {
			return nil, fmt.Errorf("models: %s: id %d at position %d is outside the vocabulary of %d", op, id, i, op.vocab)
		}
	}
	v := vals[valAt]
	if op.last == nil || op.last.Dtype() != v.Dtype() {
		shape, _ := op.InferShape()
		op.last, op.touched = tensor.New(tensor.WithShape(shape...), tensor.Of(v.Dtype())), nil
	}
	switch src := v.Data().(type) {
	case []float32:
		embeddingRun(op, op.last.Data().([]float32), src, ids)
	case []float64:
		embeddingRun(op, op.last.Data().([]float64), src, ids)
	default:
		return nil, fmt.Errorf("models: %s: dtype %v not supported (float32 or float64)", op, v.Dtype())
	}
	return op.last, nil
}

// embeddingRun gathers the rows of the table src at ids into out or, for
// the backward op, clears the rows of out the previous run wrote and adds
// each row of the output gradient src into out's row ids[i], in order (as
// ByIndices' backward adds them into zeros).
func embeddingRun[T float](op *embeddingOp, out, src []T, ids []int) {
	d := op.d
	if !op.grad {
		for i, id := range ids {
			copy(out[i*d:(i+1)*d], src[id*d:(id+1)*d])
		}
		return
	}
	for _, id := range op.touched {
		clear(out[id*d : (id+1)*d])
	}
	for i, id := range ids {
		row := out[id*d : (id+1)*d]
		for k, v := range src[i*d : (i+1)*d] {
			row[k] += v
		}
	}
	op.touched = append(op.touched[:0], ids...)
}
