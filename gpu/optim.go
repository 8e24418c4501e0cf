package gpu

import "github.com/inflateshrink/inflateshrink/models"

// AdamW is models.AdamW on a backend: the moments live beside the net's
// parameters and the gradient norm never leaves the device.
type AdamW struct {
	WeightDecay, ClipNorm float64
	net                   *Net
	m, v                  *Buf // moments, in the net's parameter layout
	step                  int
}

// NewAdamW returns the optimiser of net's parameters.
func NewAdamW(net *Net, weightDecay, clipNorm float64) *AdamW {
	n := net.params.Len()
	return &AdamW{WeightDecay: weightDecay, ClipNorm: clipNorm, net: net, m: net.be.Alloc(n), v: net.be.Alloc(n)}
}

// Step updates the named parameters from the gradients of the last
// Backward with learning rate lr. Weight decay applies to matrices only,
// as in models.AdamW.
func (o *AdamW) Step(lr float64, names []string) {
	n, be := o.net, o.net.be
	acc := n.stats.Slice(1, 1)
	be.Zero(acc)
	for _, name := range names {
		be.SumSquares(acc, n.grad[name])
	}
	o.step++
	for _, name := range names {
		off, size := n.offset(name)
		decay := 0.0
		if n.matrix[name] {
			decay = o.WeightDecay
		}
		be.AdamW(n.param[name], n.grad[name], o.m.Slice(off, size), o.v.Slice(off, size), acc,
			AdamStep{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Decay: decay, ClipNorm: o.ClipNorm, Step: o.step})
	}
}

// State downloads the moments of the named parameters and the step count,
// in the form of models.TrainState.
func (o *AdamW) State(names []string) (step int, m, v map[string][]float32, err error) {
	m, v = map[string][]float32{}, map[string][]float32{}
	for _, name := range names {
		off, size := o.net.offset(name)
		m[name], v[name] = make([]float32, size), make([]float32, size)
		o.net.be.Download(m[name], o.m.Slice(off, size))
		o.net.be.Download(v[name], o.v.Slice(off, size))
	}
	return o.step, m, v, o.net.be.Sync()
}

// Restore uploads a models.TrainState's moments and step count.
func (o *AdamW) Restore(s *models.TrainState, names []string) {
	o.step = s.Step
	for _, name := range names {
		off, size := o.net.offset(name)
		if m := s.M[name]; len(m) == size {
			o.net.be.Upload(o.m.Slice(off, size), m)
		}
		if v := s.V[name]; len(v) == size {
			o.net.be.Upload(o.v.Slice(off, size), v)
		}
	}
}
