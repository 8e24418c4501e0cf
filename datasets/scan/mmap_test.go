//go:build linux || darwin

package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
)

// TestMapNpy: the mapped array is the one ReadNpy reads, and writing to
// it leaves the file as it was (the mapping is copy-on-write).
func TestMapNpy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	writeNpy(t, path, "<f4", []int{3, 2, 4}, seq(24))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	read, shape, err := ReadNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	mapped, mshape, err := MapNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(read, mapped) || !slices.Equal(shape, mshape) {
		t.Fatalf("MapNpy = %v %v, ReadNpy = %v %v", mapped, mshape, read, shape)
	}
	mapped[0] = 99
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("writing to the mapped array changed the file")
	}
}

// TestReadSplitLargerThanMemory reads a split whose features (a sparse
// file: holes read as zeros, no disk used) are larger than this machine's
// memory is likely to be, and touches the regions of some images: the
// process's resident memory stays at the split's bookkeeping (one slice
// header per region), far below the features' size.
func TestReadSplitLargerThanMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 700,000 captions")
	}
	const images, regions, dim = 140_000, 36, 2048 // 41 GB of float32, COCO's training split has 113,287 images
	dir := t.TempDir()
	ims := filepath.Join(dir, "train_ims.npy")
	writeNpy(t, ims, "<f4", []int{images, regions, dim}, nil) // header only
	f, err := os.OpenFile(ims, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	size := st.Size() + 4*images*regions*dim
	if err := f.Truncate(size); err != nil {
		t.Skipf("no sparse %d-byte file here: %v", size, err)
	}
	f.Close()
	var fs syscall.Stat_t
	if err := syscall.Stat(ims, &fs); err != nil || fs.Blocks*512 > 1<<30 {
		t.Skipf("the file system does not keep the file sparse (%d blocks)", fs.Blocks)
	}
	caps, err := os.Create(filepath.Join(dir, "train_caps.txt"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(caps)
	for range CaptionsPerImage * images {
		w.WriteString("a cat on a mat\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	caps.Close()

	s, gotDim, err := ReadSplit(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if gotDim != dim || len(s.Images) != images {
		t.Fatalf("dim %d, %d images", gotDim, len(s.Images))
	}
	var sum float32
	for i := 0; i < images; i += images / 64 { // 64 images spread over the file
		for _, r := range s.Images[i] {
			for _, v := range r {
				sum += v
			}
		}
	}
	if sum != 0 {
		t.Errorf("the holes read as %v, want zeros", sum)
	}
	rss := residentBytes(t)
	t.Logf("features %.1f GB, resident %.0f MB", float64(size)/1e9, float64(rss)/1e6)
	if rss > 1<<30 {
		t.Errorf("resident memory %d MB for %d GB of features: they were read, not mapped", rss>>20, size>>30)
	}

	// Training gathers its batches from the mapping, and the values were
	// checked at load (s.ValuesChecked), not again through the mapping:
	// 20 steps of a small model (then its logger stops it) leave the
	// resident memory at the model and a few batches.
	m, err := models.New(models.Config{VocabSize: 8, RegionDim: dim, MaxRegions: regions, Dim: 16, FFDim: 32, MaxTextLen: 8},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	enough := errors.New("enough steps")
	steps := stepCounter{stop: 20, err: enough}
	_, err = models.Train(context.Background(), m, &s, datasets.BuildVocab([]string{"a cat on a mat"}),
		&models.Warmup{Epochs: 1, Then: models.Hinge{Margin: 0.2}}, models.TrainSettings{BatchSize: 16, Epochs: 1},
		rand.New(rand.NewPCG(3, 4)), &steps)
	if !errors.Is(err, enough) || steps.n != 20 {
		t.Fatalf("training on the mapped split: %d steps, %v; want 20 steps then the logger's stop", steps.n, err)
	}
	rss = residentBytes(t)
	t.Logf("after 20 training steps: resident %.0f MB", float64(rss)/1e6)
	if rss > 1<<30 {
		t.Errorf("resident memory %d MB after 20 training steps on %d GB of mapped features", rss>>20, size>>30)
	}
	runtime.KeepAlive(s)
}

// stepCounter is a models.StepLogger that counts steps and fails the
// stop-th with err.
type stepCounter struct {
	n, stop int
	err     error
}

func (c *stepCounter) LogStep(int, map[string]float64) error {
	if c.n++; c.n == c.stop {
		return c.err
	}
	return nil
}

// TestNonFiniteRefusedAtLoad: a NaN or an infinity in the features is
// refused when the split loads, naming the file and the value's index,
// whether the file is mapped (checked while streamed) or read.
func TestNonFiniteRefusedAtLoad(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		data := seq(2 * 3 * 4)
		data[1*12+2*4+3] = bad // image 1, region 2, value 3
		path := filepath.Join(t.TempDir(), "x_ims.npy")
		writeNpy(t, path, "<f4", []int{2, 3, 4}, data)
		for _, read := range []func(string) ([]float32, []int, error){MapNpy, ReadNpy} {
			if _, _, err := read(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "[1 2 3]") {
				t.Errorf("%v at [1 2 3]: %v; want an error naming the file and the index", bad, err)
			}
		}
	}
}

// residentBytes is this process's resident set size (VmRSS).
func residentBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// BenchmarkRegions sums every region value of a 200-image split (59 MB of
// features) read into memory and mapped: the cost of reading features
// through the mapping once its pages are cached.
func BenchmarkRegions(b *testing.B) {
	dir := b.TempDir()
	const images, regions, dim = 200, 36, 2048
	writeNpy(b, filepath.Join(dir, "x_ims.npy"), "<f4", []int{images, regions, dim}, seq(images*regions*dim))
	for _, c := range []struct {
		name string
		open func(string) ([]float32, []int, error)
	}{{"read", ReadNpy}, {"mapped", MapNpy}} {
		b.Run(c.name, func(b *testing.B) {
			data, _, err := c.open(filepath.Join(dir, "x_ims.npy"))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * len(data)))
			var sum float32
			for range b.N {
				for _, v := range data {
					sum += v
				}
			}
			runtime.KeepAlive(sum)
		})
	}
}
