// Package gradcheck compares Gorgonia's gradients of a composed function
// with central finite differences, in float64. Tests of the model and
// distillation packages use it for every hand-written or composed op.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Func builds the function under test on the graph of its inputs.
type Func func(inputs []*G.Node) (*G.Node, error)

// Input is one input of the function: its shape and, optionally, fixed
// values (nil draws values from N(0, 1)).
type Input struct {
	Shape  []int
	Values []float64
	// Constant inputs take part in the function but are not differentiated
	// (masks, targets).
	Constant bool
}

// MaxError returns the largest error between analytic and numeric
// gradients over every element of every differentiated input, where the
// error is |a-n| / max(1, |a|, |n|). A non-scalar output is reduced to a
// scalar by a fixed random weighting, so every output element matters.
func MaxError(f Func, inputs []Input, rng *rand.Rand) (float64, error) {
	g := G.NewGraph()
	var nodes, learn G.Nodes
	var data [][]float64
	for i, in := range inputs {
		size := 1
		for _, n := range in.Shape {
			size *= n
		}
		v := in.Values
		if v == nil {
			v = make([]float64, size)
			for j := range v {
				v[j] = rng.NormFloat64()
			}
		}
		if len(v) != size {
			return 0, fmt.Errorf("gradcheck: input %d has %d values for shape %v", i, len(v), in.Shape)
		}
		v = append([]float64(nil), v...)
		t := tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(v))
		n := G.NewTensor(g, tensor.Float64, len(in.Shape), G.WithShape(in.Shape...), G.WithValue(t), G.WithName(fmt.Sprintf("in%d", i)))
		nodes = append(nodes, n)
		data = append(data, v)
		if !in.Constant {
			learn = append(learn, n)
		}
	}
	out, err := f(nodes)
	if err != nil {
		return 0, err
	}
	if !out.IsScalar() {
		w := make([]float64, out.Shape().TotalSize())
		for j := range w {
			w[j] = rng.NormFloat64()
		}
		wt := G.NewTensor(g, tensor.Float64, out.Dims(), G.WithShape(out.Shape()...), G.WithName("weights"),
			G.WithValue(tensor.New(tensor.WithShape(out.Shape()...), tensor.WithBacking(w))))
		if out, err = G.Sum(G.Must(G.HadamardProd(out, wt))); err != nil {
			return 0, err
		}
	}
	if _, err := G.Grad(out, learn...); err != nil {
		return 0, err
	}
	m := G.NewTapeMachine(g, G.BindDualValues(learn...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return 0, err
	}
	var analytic [][]float64
	for _, n := range learn {
		gv, err := n.Grad()
		if err != nil {
			return 0, err
		}
		analytic = append(analytic, append([]float64(nil), gv.Data().([]float64)...))
	}
	m.Reset()
	value := func() (float64, error) {
		defer m.Reset()
		if err := m.RunAll(); err != nil {
			return 0, err
		}
		return out.Value().Data().(float64), nil
	}
	const h = 1e-6
	worst := 0.0
	k := 0
	for i, in := range inputs {
		if in.Constant {
			continue
		}
		v := nodes[i].Value().Data().([]float64)
		for j := range v {
			orig := v[j]
			v[j] = orig + h
			up, err := value()
			if err != nil {
				return 0, err
			}
			v[j] = orig - h
			down, err := value()
			if err != nil {
				return 0, err
			}
			v[j] = orig
			numeric := (up - down) / (2 * h)
			a := analytic[k][j]
			e := math.Abs(a-numeric) / math.Max(1, math.Max(math.Abs(a), math.Abs(numeric)))
			if math.IsNaN(e) {
				return math.Inf(1), nil
			}
			worst = math.Max(worst, e)
		}
		k++
	}
	_ = data
	return worst, nil
}
