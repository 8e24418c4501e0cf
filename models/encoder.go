package models

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
	G "gorgonia.org/gorgonia"
)

// Fragments are the kept, L2-normalised encoder outputs of N items.
type Fragments struct {
	N, PerItem, Dim int
	Data            []float32 // N*PerItem*Dim, item-major
	Mask            []float32 // N*PerItem: 1 for a real fragment, 0 for padding
}

// forward is a forward-only graph with its machine.
type forward struct {
	machine G.VM
	out     *G.Node
}

// Encoder encodes captions and images with forward-only graphs of a fixed
// chunk size. It reads the model's weights at every call, so it follows
// training. Close releases it.
type Encoder struct {
	m     *Model
	chunk int
	text  forward
	tin   textInputs
	image forward
	iin   imageInputs
}

// NewEncoder builds the encoding graphs for chunks of `chunk` items.
func NewEncoder(m *Model, chunk int) (*Encoder, error) {
	if chunk <= 0 {
		return nil, fmt.Errorf("models: encoder chunk must be positive, got %d", chunk)
	}
	e := &Encoder{m: m, chunk: chunk}
	tb := newBuilder(m)
	tout, tin, err := tb.encodeText(chunk)
	if err != nil {
		return nil, fmt.Errorf("models: build text encoder: %w", err)
	}
	e.text, e.tin = forward{G.NewTapeMachine(tb.g), tout}, tin
	ib := newBuilder(m)
	iout, iin, err := ib.encodeImage(chunk)
	if err != nil {
		return nil, fmt.Errorf("models: build image encoder: %w", err)
	}
	e.image, e.iin = forward{G.NewTapeMachine(ib.g), iout}, iin
	return e, nil
}

// Close releases the encoder's machines.
func (e *Encoder) Close() {
	e.text.machine.Close()
	e.image.machine.Close()
}

// EncodeTexts encodes captions, tokenised with v.
func (e *Encoder) EncodeTexts(v *datasets.Vocab, captions []string) (Fragments, error) {
	c := e.m.Config
	return e.inChunks(len(captions), c.TextFragments(), func(start, end int) (Fragments, error) {
		chunk := make([]string, e.chunk) // padded with empty captions: [CLS] alone
		copy(chunk, captions[start:end])
		return e.EncodeTextBatch(datasets.PackTexts(v, chunk, c.MaxTextLen))
	})
}

// EncodeImages encodes images (sets of region vectors).
func (e *Encoder) EncodeImages(images [][][]float32) (Fragments, error) {
	c := e.m.Config
	return e.inChunks(len(images), c.ImageFragments(), func(start, end int) (Fragments, error) {
		chunk := make([][][]float32, e.chunk) // padded with region-less images
		copy(chunk, images[start:end])
		return e.EncodeImageBatch(datasets.PackImages(chunk, c.MaxRegions, c.RegionDim))
	})
}

// inChunks encodes n items chunk by chunk with encode(start, end), which
// returns a full (padded) chunk, and gathers the first n items.
func (e *Encoder) inChunks(n, perItem int, encode func(start, end int) (Fragments, error)) (Fragments, error) {
	d := e.m.Config.Dim
	f := Fragments{N: n, PerItem: perItem, Dim: d, Data: make([]float32, n*perItem*d), Mask: make([]float32, n*perItem)}
	for start := 0; start < n; start += e.chunk {
		end := min(start+e.chunk, n)
		part, err := encode(start, end)
		if err != nil {
			return f, fmt.Errorf("models: encode items %d-%d: %w", start, end, err)
		}
		copy(f.Data[start*perItem*d:], part.Data[:(end-start)*perItem*d])
		copy(f.Mask[start*perItem:], part.Mask[:(end-start)*perItem])
	}
	return f, nil
}

// EncodeTextBatch encodes one packed batch of exactly the encoder's chunk
// size.
func (e *Encoder) EncodeTextBatch(tb datasets.TextBatch) (Fragments, error) {
	if len(tb.Lens) != e.chunk {
		return Fragments{}, fmt.Errorf("models: text batch of %d, encoder takes %d", len(tb.Lens), e.chunk)
	}
	mask, err := e.m.feedText(e.tin, tb)
	if err != nil {
		return Fragments{}, err
	}
	return e.text.fragments(e.m.Config.TextFragments(), e.m.Config.Dim, mask)
}

// EncodeImageBatch encodes one packed batch of exactly the encoder's chunk
// size.
func (e *Encoder) EncodeImageBatch(ib datasets.ImageBatch) (Fragments, error) {
	if len(ib.Counts) != e.chunk {
		return Fragments{}, fmt.Errorf("models: image batch of %d, encoder takes %d", len(ib.Counts), e.chunk)
	}
	mask, err := e.m.feedImage(e.iin, ib)
	if err != nil {
		return Fragments{}, err
	}
	return e.image.fragments(e.m.Config.ImageFragments(), e.m.Config.Dim, mask)
}

// fragments runs the graph on the inputs already bound and copies out its
// fragments.
func (f forward) fragments(perItem, dim int, mask []float32) (Fragments, error) {
	defer f.machine.Reset()
	if err := f.machine.RunAll(); err != nil {
		return Fragments{}, err
	}
	data := append([]float32(nil), f.out.Value().Data().([]float32)...)
	return Fragments{N: len(mask) / perItem, PerItem: perItem, Dim: dim, Data: data, Mask: mask}, nil
}

// Gallery blocks: a block of captions' fragments is multiplied with a block
// of images' fragments in one matrix product; the products stay small
// enough for the cache while the product itself runs near BLAS speed.
const (
	galleryTextBlock  = 256
	galleryImageBlock = 64
)

// ScoreGallery scores every caption against every image with MaxSim over
// precomputed fragments and returns the images x captions score matrix.
// Image blocks are spread over GOMAXPROCS goroutines.
func ScoreGallery(texts, images Fragments) (metrics.Scores, error) {
	if texts.Dim != images.Dim {
		return metrics.Scores{}, fmt.Errorf("models: text fragments have %d dims, image fragments %d", texts.Dim, images.Dim)
	}
	s := metrics.Scores{Images: images.N, Captions: texts.N, Data: make([]float32, images.N*texts.N)}
	blocks := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prod []float32
			for i0 := range blocks {
				prod = scoreImageBlock(s, texts, images, i0, prod)
			}
		}()
	}
	for i0 := 0; i0 < images.N; i0 += galleryImageBlock {
		blocks <- i0
	}
	close(blocks)
	wg.Wait()
	return s, nil
}

// scoreImageBlock fills the score rows of images i0.. i0+galleryImageBlock,
// reusing prod as scratch space, and returns the scratch.
func scoreImageBlock(s metrics.Scores, texts, images Fragments, i0 int, prod []float32) []float32 {
	i1 := min(i0+galleryImageBlock, images.N)
	fi, ft, d := images.PerItem, texts.PerItem, texts.Dim
	cols := (i1 - i0) * fi
	for c0 := 0; c0 < texts.N; c0 += galleryTextBlock {
		c1 := min(c0+galleryTextBlock, texts.N)
		rows := (c1 - c0) * ft
		if cap(prod) < rows*cols {
			prod = make([]float32, rows*cols)
		}
		out := prod[:rows*cols]
		gemm32(false, true, rows, cols, d, 1, texts.Data[c0*ft*d:c1*ft*d], d, images.Data[i0*fi*d:i1*fi*d], d, 0, out, cols)
		for c := c0; c < c1; c++ {
			for i := i0; i < i1; i++ {
				s.Data[i*s.Captions+c] = pairScore(texts, images, c, i, out[(c-c0)*ft*cols+(i-i0)*fi:], cols)
			}
		}
	}
	return prod
}

// pairScore is the MaxSim of caption c and image i given their fragments'
// similarities: those of text fragment f start at prod[f*stride].
func pairScore(texts, images Fragments, c, i int, prod []float32, stride int) float32 {
	ft, fi := texts.PerItem, images.PerItem
	mask := images.Mask[i*fi : (i+1)*fi]
	var score float32
	for f := 0; f < ft; f++ {
		w := texts.Mask[c*ft+f]
		if w == 0 {
			continue
		}
		row := prod[f*stride : f*stride+fi]
		best := float32(math.Inf(-1))
		for g, v := range row {
			if mask[g] != 0 && v > best {
				best = v
			}
		}
		score += w * best
	}
	return score
}

// ScorePairs scores caption c against each of the images candidates
// (indices into images) with MaxSim, writing scores[j] for candidates[j]:
// the re-ranking stage of a cascade.
func ScorePairs(texts, images Fragments, c int, candidates []int, scores []float32) error {
	if texts.Dim != images.Dim {
		return fmt.Errorf("models: text fragments have %d dims, image fragments %d", texts.Dim, images.Dim)
	}
	if c < 0 || c >= texts.N || len(scores) < len(candidates) {
		return fmt.Errorf("models: caption %d of %d, %d scores for %d candidates", c, texts.N, len(scores), len(candidates))
	}
	ft, fi, d := texts.PerItem, images.PerItem, texts.Dim
	prod := make([]float32, ft*fi)
	txt := texts.Data[c*ft*d : (c+1)*ft*d]
	for j, i := range candidates {
		if i < 0 || i >= images.N {
			return fmt.Errorf("models: candidate image %d of %d", i, images.N)
		}
		gemm32(false, true, ft, fi, d, 1, txt, d, images.Data[i*fi*d:(i+1)*fi*d], d, 0, prod, fi)
		scores[j] = pairScore(texts, images, c, i, prod, fi)
	}
	return nil
}
