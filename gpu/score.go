package gpu

import (
	"fmt"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
)

// Encoder encodes captions and images on a backend, a chunk at a time,
// into the Fragments that models.ScoreGallery and ScoreGallery take.
type Encoder struct {
	net   *Net
	chunk int
}

// NewEncoder uploads m's weights for encoding chunks of `chunk` items.
func NewEncoder(be Backend, m *models.Model, chunk int) (*Encoder, error) {
	net, err := NewNet(be, m, chunk)
	if err != nil {
		return nil, err
	}
	return &Encoder{net: net, chunk: chunk}, nil
}

// Load uploads m's current weights (m must be the model the encoder was
// made for).
func (e *Encoder) Load(m *models.Model) error { return e.net.Load(m) }

// EncodeTexts encodes captions with the vocabulary v.
func (e *Encoder) EncodeTexts(v *datasets.Vocab, captions []string) (models.Fragments, error) {
	c := e.net.cfg
	return e.inChunks(len(captions), c.TextFragments(), e.net.text, func(lo, hi int) ([]float32, error) {
		tb := datasets.PackTexts(v, padChunk(captions[lo:hi], e.chunk), c.MaxTextLen)
		_, weight := models.TextMasks(c, tb.Lens)
		return weight, e.net.SetTexts(tb)
	})
}

// EncodeImages encodes images given as region vectors.
func (e *Encoder) EncodeImages(images [][][]float32) (models.Fragments, error) {
	c := e.net.cfg
	return e.inChunks(len(images), c.ImageFragments(), e.net.image, func(lo, hi int) ([]float32, error) {
		ib := datasets.PackImages(padChunk(images[lo:hi], e.chunk), c.MaxRegions, c.RegionDim)
		_, _, mask := models.ImageMasks(c, ib.Counts)
		return mask, e.net.SetImages(ib)
	})
}

// padChunk fills a short last chunk up to size with copies of its last
// item; their outputs are dropped.
func padChunk[T any](items []T, size int) []T {
	for len(items) < size {
		items = append(items[:len(items):len(items)], items[len(items)-1])
	}
	return items
}

// inChunks encodes n items of one side: upload binds items [lo, hi) and
// returns their fragment mask.
func (e *Encoder) inChunks(n, perItem int, side *encoder, upload func(lo, hi int) ([]float32, error)) (models.Fragments, error) {
	d := e.net.cfg.Dim
	out := models.Fragments{N: n, PerItem: perItem, Dim: d, Data: make([]float32, n*perItem*d), Mask: make([]float32, n*perItem)}
	for lo := 0; lo < n; lo += e.chunk {
		hi := min(lo+e.chunk, n)
		mask, err := upload(lo, hi)
		if err != nil {
			return models.Fragments{}, err
		}
		e.net.encode(side)
		e.net.be.Download(out.Data[lo*perItem*d:hi*perItem*d], side.frags)
		copy(out.Mask[lo*perItem:hi*perItem], mask)
	}
	return out, e.net.be.Sync()
}

// Gallery blocks of ScoreGallery: captions per block, and the largest
// similarity block in values (256 MB).
const (
	galleryCaptions = 256
	gallerySims     = 64 << 20
)

// ScoreGallery is models.ScoreGallery on a backend: every caption against
// every image by MaxSim over precomputed fragments, as blocked matrix
// products followed by the MaxSim kernel, never holding more than one
// block of fragment similarities. It returns the images x captions scores.
func ScoreGallery(be Backend, texts, images models.Fragments) (metrics.Scores, error) {
	if texts.Dim != images.Dim {
		return metrics.Scores{}, fmt.Errorf("gpu: text fragments have %d dims, image fragments %d", texts.Dim, images.Dim)
	}
	ft, fi, d := texts.PerItem, images.PerItem, texts.Dim
	s := metrics.Scores{Images: images.N, Captions: texts.N, Data: make([]float32, images.N*texts.N)}
	if images.N == 0 || texts.N == 0 {
		return s, nil
	}
	imgs := be.Alloc(len(images.Data))
	be.Upload(imgs, images.Data)
	bias := make([]float32, len(images.Mask))
	for i, m := range images.Mask {
		if m == 0 {
			bias[i] = -1e30 // a padded region never wins the max
		}
	}
	ibias := be.Alloc(len(bias))
	be.Upload(ibias, bias)
	tc := min(galleryCaptions, texts.N)
	ic := max(1, min(images.N, gallerySims/(tc*ft*fi)))
	txt, weight := be.Alloc(tc*ft*d), be.Alloc(tc*ft)
	sims, scores := be.Alloc(tc*ft*ic*fi), be.Alloc(tc*ic)
	block := make([]float32, tc*ic)
	for c0 := 0; c0 < texts.N; c0 += tc {
		c1 := min(c0+tc, texts.N)
		be.Upload(txt, texts.Data[c0*ft*d:c1*ft*d])
		be.Upload(weight, texts.Mask[c0*ft:c1*ft])
		for i0 := 0; i0 < images.N; i0 += ic {
			i1 := min(i0+ic, images.N)
			rows, cols := (c1-c0)*ft, (i1-i0)*fi
			be.Gemm(false, true, rows, cols, d, 1, txt, d, imgs.Slice(i0*fi*d, cols*d), d, 0, sims, cols)
			be.MaxSim(scores, nil, sims, weight, ibias.Slice(i0*fi, cols), c1-c0, ft, i1-i0, fi)
			be.Download(block[:(c1-c0)*(i1-i0)], scores)
			for c := c0; c < c1; c++ {
				for i := i0; i < i1; i++ {
					s.Data[i*s.Captions+c] = block[(c-c0)*(i1-i0)+(i-i0)]
				}
			}
		}
	}
	return s, be.Sync()
}
