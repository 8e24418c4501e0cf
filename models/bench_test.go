package models

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// BenchmarkStep times training steps of SpeedConfig (batch 64, InfoNCE)
// with the fused ops and with the composed reference graph. It reports the
// median seconds and allocated bytes per step; graph construction and the
// first step are excluded.
func BenchmarkStep(b *testing.B) {
	const batch, steps = 64, 4
	c := SpeedConfig()
	split, vocab := SpeedData(c, batch*(steps+1), rand.New(rand.NewPCG(1, 2)))
	for _, composed := range []bool{false, true} {
		name := "fused"
		if composed {
			name = "composed"
		}
		b.Run(name, func(b *testing.B) {
			var secs, bytes []float64
			for range b.N {
				m, err := New(c, rand.New(rand.NewPCG(3, 4)))
				if err != nil {
					b.Fatal(err)
				}
				m.Composed = composed
				var timer StepTimer
				obj := &Warmup{Epochs: 1, Then: Hinge{Margin: 0.2}}
				if _, err := Train(context.Background(), m, split, vocab, obj, TrainSettings{Batches: datasets.ByImage, BatchSize: batch, Epochs: 1}, rand.New(rand.NewPCG(5, 6)), &timer); err != nil {
					b.Fatal(err)
				}
				secs = append(secs, timer.Seconds...)
				bytes = append(bytes, timer.Bytes...)
			}
			b.ReportMetric(median(secs), "s/step")
			b.ReportMetric(median(bytes)/1e6, "MB/step")
		})
	}
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkScoreGallery scores 200 images x 1000 captions with 32
// fragments of 256 dims per item (the gallery, a 25th of it) and
// reports GFLOP/s of the similarity products.
func BenchmarkScoreGallery(b *testing.B) {
	const images, captions, frags, dim = 200, 1000, 32, 256
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) Fragments {
		f := Fragments{N: n, PerItem: frags, Dim: dim, Data: make([]float32, n*frags*dim), Mask: make([]float32, n*frags)}
		for i := range f.Data {
			f.Data[i] = float32(rng.NormFloat64())
		}
		for i := range f.Mask {
			f.Mask[i] = 1
		}
		return f
	}
	texts, imgs := random(captions), random(images)
	for b.Loop() {
		if _, err := ScoreGallery(texts, imgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*images*captions*frags*frags*dim*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
