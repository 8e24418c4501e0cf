//go:build linux || darwin

package scan

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// BenchmarkBatches gathers training batches (64 images of 36 x 2048
// features, datasets.Iterator with reused buffers) from a split of 2,000
// images (590 MB) read by ReadSplit, so mapped, and from the same values
// held in memory, and reports the features gathered per second. The
// mapped case runs after the file was written, so its pages are in the
// page cache: what it measures is the mapping's page faults, not a disk.
//
//	go test ./datasets/scan -run XXX -bench Batches
func BenchmarkBatches(b *testing.B) {
	const images, regions, dim, batch = 2000, 36, 2048, 64
	dir := b.TempDir()
	data := make([]float32, images*regions*dim)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	writeNpy(b, filepath.Join(dir, "train_ims.npy"), "<f4", []int{images, regions, dim}, data)
	var caps []string
	for range CaptionsPerImage * images {
		caps = append(caps, "a cat on a mat")
	}
	writeCapLines(b, filepath.Join(dir, "train_caps.txt"), caps)
	mapped, _, err := ReadSplit(dir, "train")
	if err != nil {
		b.Fatal(err)
	}
	inMemory := mapped
	inMemory.Images = make([][][]float32, images)
	for i := range inMemory.Images {
		inMemory.Images[i] = make([][]float32, regions)
		for r := range regions {
			o := (i*regions + r) * dim
			inMemory.Images[i][r] = data[o : o+dim]
		}
	}
	vocab := datasets.BuildVocab(caps[:1])
	for _, tc := range []struct {
		name  string
		split *datasets.Split
	}{{"mapped", &mapped}, {"in-memory", &inMemory}} {
		b.Run(tc.name, func(b *testing.B) {
			it, err := datasets.NewIterator(tc.split, vocab, datasets.ByImage, batch, 8, regions, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				b.Fatal(err)
			}
			it.ReuseBuffers()
			b.SetBytes(batch * regions * dim * 4)
			for b.Loop() {
				it.Next()
			}
		})
	}
}
