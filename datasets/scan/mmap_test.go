//go:build linux || darwin

package scan

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
	runtime.KeepAlive(s)
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
