package distill

import "gorgonia.org/tensor"

func denseF64(v []float64) *tensor.Dense {
	return tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(append([]float64(nil), v...)))
}
