package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// SpeedConfig is the model of the speed benchmarks (issue 6), the shape of
// the authors' setting scaled to one layer: 32 text tokens, 36 regions of
// 2048 dims, d=256, 4 heads, a 4d feed-forward, 4 codes per side, every
// fragment kept. Its vocabulary of 10,031 words makes 4,683,520
// parameters, the count of the PyTorch reference model.
func SpeedConfig() Config {
	return Config{VocabSize: 10031, RegionDim: 2048, Dim: 256, Heads: 4, FFDim: 1024, Layers: 1,
		MaxTextLen: 32, MaxRegions: 36, TextCodes: 4, ImageCodes: 4}
}

// SpeedData returns n images of c.MaxRegions random regions and one
// caption of c.MaxTextLen-1 random words per image, with their
// vocabulary: input of the same shape as real data, for timing only.
func SpeedData(c Config, n int, rng *rand.Rand) (*datasets.Split, *datasets.Vocab) {
	s := &datasets.Split{Images: make([][][]float32, n), Captions: make([]string, n), CaptionImage: make([]int, n)}
	words := make([]string, c.MaxTextLen-1)
	for i := range n {
		img := make([][]float32, c.MaxRegions)
		for r := range img {
			img[r] = make([]float32, c.RegionDim)
			for j := range img[r] {
				img[r][j] = float32(rng.NormFloat64())
			}
		}
		s.Images[i] = img
		for w := range words {
			words[w] = fmt.Sprintf("w%d", rng.IntN(c.VocabSize-3))
		}
		s.Captions[i] = strings.Join(words, " ")
		s.CaptionImage[i] = i
	}
	return s, datasets.BuildVocab(s.Captions)
}

// StepTimer is a StepLogger that records the wall time and the bytes
// allocated between consecutive training steps.
type StepTimer struct {
	Seconds []float64 // per step, from the second step on
	Bytes   []float64 // heap bytes allocated per step, from the second step on
	Losses  []float64 // every step's loss
	last    time.Time
	alloc   uint64
}

// LogStep implements StepLogger.
func (t *StepTimer) LogStep(_ int, v map[string]float64) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	now := time.Now()
	if !t.last.IsZero() {
		t.Seconds = append(t.Seconds, now.Sub(t.last).Seconds())
		t.Bytes = append(t.Bytes, float64(ms.TotalAlloc-t.alloc))
	}
	t.last, t.alloc = now, ms.TotalAlloc
	t.Losses = append(t.Losses, v["loss"])
	return nil
}

// SgemmGFLOPS measures the float32 matrix product of this build (the
// product every fused op uses) on an n x n x n product: the best of three
// runs, in GFLOP/s. It is the peak that step and gallery rates compare to.
func SgemmGFLOPS(n int) float64 {
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)-3, float32(i%5)-2
	}
	best := math.Inf(1)
	for range 3 {
		start := time.Now()
		gemm32(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		best = min(best, time.Since(start).Seconds())
	}
	return 2 * float64(n) * float64(n) * float64(n) / best / 1e9
}

// StepFLOPs is the matrix-product work of one training step of c at batch
// size b as a dense implementation (PyTorch) does it: every product of the
// forward pass, and two of the same size per product in the backward pass,
// except the gradient of the image regions, which nobody needs.
func StepFLOPs(c Config, b int) float64 {
	c = c.WithDefaults()
	d, ff, dh := float64(c.Dim), float64(c.FFDim), float64(c.Dim/c.Heads)
	proj := 2 * float64(b*c.MaxRegions*c.RegionDim) * d * 2 // forward and weight gradient
	total := proj
	for _, slots := range []int{c.textSlots(), c.imageSlots()} {
		rows := float64(b * slots)
		s := float64(slots)
		layer := 2*rows*(4*d*d+2*d*ff) + float64(b*c.Heads)*2*2*s*s*dh
		total += 3 * layer * float64(c.Layers)
	}
	total += 3 * 2 * float64(b*c.TextFragments()) * float64(b*c.ImageFragments()) * d
	return total
}
