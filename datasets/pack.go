package datasets

import "fmt"

// TextBatch is a batch of encoded captions in a fixed shape, as the model's
// graph needs.
type TextBatch struct {
	IDs    []int // len n*MaxLen, row-major, padded with PadID
	Lens   []int // real length of each row, CLS included (>= 1)
	MaxLen int
}

// PackTexts encodes captions with v (see Vocab.Encode) into n rows of maxLen
// ids. It panics if maxLen < 1.
func PackTexts(v *Vocab, captions []string, maxLen int) TextBatch {
	b := TextBatch{
		IDs:    make([]int, len(captions)*maxLen), // PadID is 0: already padded
		Lens:   make([]int, len(captions)),
		MaxLen: maxLen,
	}
	for i, c := range captions {
		ids := v.Encode(c, maxLen)
		copy(b.IDs[i*maxLen:], ids)
		b.Lens[i] = len(ids)
	}
	return b
}

// ImageBatch is a batch of images in a fixed shape: every image holds
// MaxRegions regions of Dim values, the missing ones zero.
type ImageBatch struct {
	Regions    []float32 // len n*MaxRegions*Dim, zero padded
	Counts     []int     // real region count per image (truncated to MaxRegions)
	MaxRegions int
	Dim        int
}

// PackImages copies the first maxRegions regions of each image into a
// zero-padded batch. It panics if maxRegions or dim is < 1 or a region's
// length is not dim.
func PackImages(images [][][]float32, maxRegions, dim int) ImageBatch {
	return packImagesInto(nil, images, maxRegions, dim)
}

// packImagesInto is PackImages into buf's memory when buf is large enough
// (its padding zeroed), and into a new slice otherwise.
func packImagesInto(buf []float32, images [][][]float32, maxRegions, dim int) ImageBatch {
	if maxRegions < 1 || dim < 1 {
		panic(fmt.Sprintf("datasets: maxRegions %d or dim %d < 1", maxRegions, dim))
	}
	size := len(images) * maxRegions * dim
	if cap(buf) < size {
		buf = make([]float32, size)
	}
	b := ImageBatch{
		Regions:    buf[:size],
		Counts:     make([]int, len(images)),
		MaxRegions: maxRegions,
		Dim:        dim,
	}
	for i, img := range images {
		n := min(len(img), maxRegions)
		b.Counts[i] = n
		for r, reg := range img[:n] {
			if len(reg) != dim {
				panic(fmt.Sprintf("datasets: len(images[%d][%d]) = %d, want %d", i, r, len(reg), dim))
			}
			copy(b.Regions[(i*maxRegions+r)*dim:], reg)
		}
		clear(b.Regions[(i*maxRegions+n)*dim : (i+1)*maxRegions*dim])
	}
	return b
}
