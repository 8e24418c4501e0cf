package models

import (
	"fmt"
	"slices"

	"github.com/inflateshrink/inflateshrink/datasets"
	G "gorgonia.org/gorgonia"
)

// Gradients computes, on one batch, the loss of obj (prepared for the given
// epoch) and the gradient of every parameter, by the same graph Train
// builds. It changes no weight. It is the reference that other executors of
// the model (package gpu) are checked against.
func Gradients(m *Model, batch datasets.Batch, obj Objective, epoch int) (float64, map[string][]float32, error) {
	n := len(batch.Text.Lens)
	if n == 0 || len(batch.Image.Counts) != n {
		return 0, nil, fmt.Errorf("models: gradients: batch of %d texts and %d images", n, len(batch.Image.Counts))
	}
	b := newBuilder(m)
	texts, tin, err := b.encodeText(n)
	if err != nil {
		return 0, nil, err
	}
	images, iin, err := b.encodeImage(n)
	if err != nil {
		return 0, nil, err
	}
	scores, err := MaxSim(texts, images, tin.weight, iin.fragBias)
	if err != nil {
		return 0, nil, err
	}
	loss, err := obj.Loss(scores)
	if err != nil {
		return 0, nil, err
	}
	learn := make(G.Nodes, len(b.names))
	for i, name := range b.names {
		learn[i] = b.nodes[name]
	}
	if _, err := G.Grad(loss, learn...); err != nil {
		return 0, nil, err
	}
	machine := G.NewTapeMachine(b.g, G.BindDualValues(learn...))
	defer machine.Close()
	if _, err := m.feedText(tin, batch.Text); err != nil {
		return 0, nil, err
	}
	if _, err := m.feedImage(iin, batch.Image); err != nil {
		return 0, nil, err
	}
	if err := obj.Prepare(batch, epoch); err != nil {
		return 0, nil, err
	}
	if err := machine.RunAll(); err != nil {
		return 0, nil, err
	}
	grads := map[string][]float32{}
	for i, name := range b.names {
		g, err := learn[i].Grad()
		if err != nil {
			return 0, nil, fmt.Errorf("models: no gradient for %s: %w", name, err)
		}
		grads[name] = slices.Clone(g.Data().([]float32))
	}
	return float64(loss.Value().Data().(float32)), grads, nil
}
