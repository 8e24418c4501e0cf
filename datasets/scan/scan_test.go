package scan

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// writeNpy writes a version 1.0 .npy file the way numpy.save does: the
// header padded with spaces and ended by a newline so the data starts at a
// multiple of 64 bytes.
func writeNpy(t testing.TB, path, descr string, shape []int, data []float32) {
	t.Helper()
	if err := os.WriteFile(path, encodeNpy(descr, shape, data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func seq(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i) / 8
	}
	return out
}

func writeCaps(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	for c := range n {
		fmt.Fprintf(&b, "caption %d of image %d\n", c, c/5)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadNpy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.npy")
	writeNpy(t, p, "<f4", []int{2, 3, 4}, seq(24))
	data, shape, err := ReadNpy(p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(shape) != "[2 3 4]" {
		t.Errorf("shape %v, want [2 3 4]", shape)
	}
	for i, v := range data {
		if v != float32(i)/8 {
			t.Fatalf("data[%d] = %v, want %v", i, v, float32(i)/8)
		}
	}
}

func TestReadSplit(t *testing.T) {
	dir := t.TempDir()
	writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{3, 2, 4}, seq(24))
	writeCaps(t, filepath.Join(dir, "test_caps.txt"), 15)
	s, dim, err := ReadSplit(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if dim != 4 || len(s.Images) != 3 || len(s.Images[2]) != 2 || len(s.Captions) != 15 {
		t.Fatalf("dim %d, %d images, %d regions, %d captions; want 4, 3, 2, 15", dim, len(s.Images), len(s.Images[2]), len(s.Captions))
	}
	// Image 2, region 1 is values 20..23 of the array.
	if got := s.Images[2][1]; got[0] != 20.0/8 || got[3] != 23.0/8 {
		t.Errorf("Images[2][1] = %v, want values 20/8 to 23/8", got)
	}
	if s.CaptionImage[14] != 2 || s.Captions[14] != "caption 14 of image 2" {
		t.Errorf("caption 14: %q of image %d", s.Captions[14], s.CaptionImage[14])
	}
	if err := s.Validate(dim); err != nil {
		t.Error(err)
	}
}

// TestBadInput checks that each kind of bad input gives an error naming
// the file and the problem.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, dir string)
		want  []string
	}{
		{"missing npy", func(t *testing.T, dir string) {
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy does not exist", EnvDir}},
		{"missing captions", func(t *testing.T, dir string) {
			writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{2, 2, 2}, seq(8))
		}, []string{"test_caps.txt does not exist"}},
		{"caption count", func(t *testing.T, dir string) {
			writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{2, 2, 2}, seq(8))
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 9)
		}, []string{"test_caps.txt has 9 captions, want 10"}},
		{"truncated", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "test_ims.npy")
			writeNpy(t, p, "<f4", []int{2, 2, 2}, seq(8))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-3], 0o644)
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy", "truncated or corrupt"}},
		{"not npy", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "test_ims.npy"), []byte("PK\x03\x04 a zip file"), 0o644)
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy", "not a .npy"}},
		{"truncated header", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "test_ims.npy")
			writeNpy(t, p, "<f4", []int{2, 2, 2}, seq(8))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:30], 0o644)
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy", "truncated header"}},
		{"float64", func(t *testing.T, dir string) {
			writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f8", []int{2, 2, 1}, seq(8))
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy", `dtype "<f8"`}},
		{"two dimensions", func(t *testing.T, dir string) {
			writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{2, 4}, seq(8))
			writeCaps(t, filepath.Join(dir, "test_caps.txt"), 10)
		}, []string{"test_ims.npy", "shape [2 4]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.write(t, dir)
			_, _, err := ReadSplit(dir, "test")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadRegionDimMismatch(t *testing.T) {
	dir := t.TempDir()
	for split, dim := range map[string]int{"train": 4, "dev": 4, "test": 3} {
		writeNpy(t, filepath.Join(dir, split+"_ims.npy"), "<f4", []int{1, 2, dim}, seq(2*dim))
		writeCaps(t, filepath.Join(dir, split+"_caps.txt"), 5)
	}
	_, err := Load(dir, Sets[1])
	if err == nil || !strings.Contains(err.Error(), "test_ims.npy: regions of 3 values") {
		t.Errorf("error %v, want one naming test_ims.npy and its 3-value regions", err)
	}
}

func TestLoadF30K(t *testing.T) {
	dir := t.TempDir()
	for split, n := range map[string]int{"train": 4, "dev": 1, "test": 2} {
		writeNpy(t, filepath.Join(dir, split+"_ims.npy"), "<f4", []int{n, 3, 2}, seq(6*n))
		writeCaps(t, filepath.Join(dir, split+"_caps.txt"), 5*n)
	}
	d, err := Load(dir, Sets[1])
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "f30k" || d.RegionDim != 2 || len(d.Train.Images) != 4 || len(d.Test.Captions) != 10 {
		t.Errorf("got %s, dim %d, %d train images, %d test captions", d.Name, d.RegionDim, len(d.Train.Images), len(d.Test.Captions))
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}

// TestReadNpyShapeOverflow: a header whose shape claims more values than
// int can count, or than the file holds, is refused with the file and the
// shape named, not a makeslice panic or an overflowed size check.
func TestReadNpyShapeOverflow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		data  int
	}{
		{"product overflows", []int{4611686018427387904, 4}, 8},
		{"4n wraps to zero", []int{4611686018427387904}, 0},
		{"max int", []int{math.MaxInt64}, 0},
		{"two large dims", []int{1 << 40, 1 << 40}, 8},
		{"more than the file", []int{1000, 36, 2048}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x_ims.npy")
			writeNpy(t, p, "<f4", tc.shape, seq(tc.data))
			_, _, err := ReadNpy(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{"scan: ", p, fmt.Sprint(tc.shape)} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// A zero dimension makes an empty array however large the others are.
	p := filepath.Join(t.TempDir(), "empty.npy")
	writeNpy(t, p, "<f4", []int{1 << 40, 1 << 40, 0}, nil)
	if data, shape, err := ReadNpy(p); err != nil || len(data) != 0 || len(shape) != 3 {
		t.Errorf("empty array: %d values, shape %v, error %v", len(data), shape, err)
	}
}

// writeCapLines writes lines as a caption file, one per line.
func writeCapLines(t testing.TB, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func capLines(n int) []string {
	out := make([]string, n)
	for c := range out {
		out[c] = fmt.Sprintf("caption %d", c)
	}
	return out
}

// TestCaptionLongLine: long caption lines are read; a line past the limit
// fails with the file and its line number.
func TestCaptionLongLine(t *testing.T) {
	dir := t.TempDir()
	writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{2, 1, 4}, seq(8))
	caps := filepath.Join(dir, "test_caps.txt")
	lines := capLines(10)
	lines[2] = strings.Repeat("a", 200<<10)
	writeCapLines(t, caps, lines)
	s, _, err := ReadSplit(dir, "test")
	if err != nil {
		t.Fatalf("a 200 KB line: %v", err)
	}
	if len(s.Captions[2]) != 200<<10 || s.Captions[3] != "caption 3" {
		t.Errorf("caption 2 of %d bytes, caption 3 %q", len(s.Captions[2]), s.Captions[3])
	}
	lines[2] = strings.Repeat("a", maxCaptionBytes+1)
	writeCapLines(t, caps, lines)
	_, _, err = ReadSplit(dir, "test")
	if err == nil || !strings.Contains(err.Error(), caps+":3:") || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("error %v, want one naming %s:3 and the line's length", err, caps)
	}
}

// TestCaptionNotUTF8: a caption that is not UTF-8 (e.g. Latin-1) is
// refused with the file, line number and the bytes.
func TestCaptionNotUTF8(t *testing.T) {
	dir := t.TempDir()
	writeNpy(t, filepath.Join(dir, "test_ims.npy"), "<f4", []int{2, 1, 4}, seq(8))
	caps := filepath.Join(dir, "test_caps.txt")
	lines := capLines(10)
	lines[6] = "a caf\xe9 by the river"
	writeCapLines(t, caps, lines)
	_, _, err := ReadSplit(dir, "test")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"scan: ", caps + ":7:", "UTF-8", `caf\xe9`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestProtocolFromCounts: the protocol label states the test split's real
// counts, and says so when they are not the standard protocol's.
func TestProtocolFromCounts(t *testing.T) {
	load := func(t *testing.T, s Set, test int) *datasets.Dataset {
		t.Helper()
		dir := t.TempDir()
		for split, n := range map[string]int{s.Train: 2, s.Val: 1, s.Test: test} {
			writeNpy(t, filepath.Join(dir, split+"_ims.npy"), "<f4", []int{n, 1, 1}, seq(n))
			writeCaps(t, filepath.Join(dir, split+"_caps.txt"), 5*n)
		}
		d, err := Load(dir, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	f30k, coco := Sets[1], Sets[0]
	for _, tc := range []struct {
		name      string
		s         Set
		test      int
		want, not []string
		folds     int
	}{
		{"f30k standard", f30k, 1000, []string{"f30k-1k: 1000img-5cap"}, []string{"not"}, 0},
		{"f30k 200", f30k, 200, []string{"200img-5cap", "not the standard f30k-1k", "1000img-5cap"}, []string{"f30k-1k: 1000img"}, 0},
		{"coco standard", coco, 5000, []string{"coco-5k: 5000img-5cap", "coco-1k"}, []string{"not"}, 5},
		{"coco 200", coco, 200, []string{"200img-5cap", "not the standard coco-5k", "5 folds of 40 consecutive images", "not the standard 1000-image folds"}, []string{"coco-5k: 5000img"}, 5},
		{"coco 3", coco, 3, []string{"3img-5cap", "not the standard coco-5k", "no folds"}, []string{"coco-5k: 5000img"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := load(t, tc.s, tc.test)
			for _, w := range tc.want {
				if !strings.Contains(d.Protocol, w) {
					t.Errorf("protocol %q does not contain %q", d.Protocol, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(d.Protocol, w) {
					t.Errorf("protocol %q contains %q", d.Protocol, w)
				}
			}
			if d.TestFolds != tc.folds {
				t.Errorf("TestFolds %d, want %d", d.TestFolds, tc.folds)
			}
		})
	}
}
