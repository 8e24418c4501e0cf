// Package scan reads the precomputed region features that SCAN (Lee et
// al., 2018) distributes for MS-COCO and Flickr30K, and registers them with
// datasets.Load as "coco" and "f30k".
//
// A split named s is two files in the set's folder: s_ims.npy, float32
// [N, R, D] (R = 32 or 36 bottom-up regions of D = 2048 values, C order,
// little-endian), and s_caps.txt, 5*N lines, captions 5i to 5i+4
// describing image i. The folders are SCAN's data/coco_precomp and
// data/f30k_precomp, looked for under $INFLATESHRINK_SCAN, or else under
// scan/ in the data folder (imagetok.Dir, e.g. ~/.cache/inflateshrink/scan).
//
// Protocols (Karpathy splits): "coco" trains on train, validates on dev
// and tests on testall, the 5K test images; the COCO 1K protocol is the
// mean over 5 folds of 1,000 consecutive test images (5,000 captions each),
// which is how the Test split is ordered, so metrics.Folds applies to it
// directly. "f30k" trains on train, validates on dev and tests on test,
// 1,000 images. A test split of another size is labelled from its counts
// and marked as not the standard protocol (Dataset.Protocol).
//
// Memory: a split takes its .npy file's size plus the caption text and a
// slice header per region (24 bytes; 4.3 MB for 5K images of 36 regions
// against their 1.5 GB of features): the regions are views into the one
// array read from the file. COCO's training split is about 34 GB of
// features, so training on it needs a machine with that much memory.
package scan

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

// EnvDir names the environment variable of the folder holding
// coco_precomp and f30k_precomp.
const EnvDir = "INFLATESHRINK_SCAN"

// CaptionsPerImage is the fixed caption count of the SCAN files.
const CaptionsPerImage = 5

// maxCaptionBytes bounds one caption line. SCAN's captions are under 1 KB;
// the bound is far above any real caption and only stops a wrong file (one
// without newlines) from being read whole as one line.
const maxCaptionBytes = 1 << 20

// Set describes one registered benchmark.
type Set struct {
	Name, Folder     string // "coco", "coco_precomp"
	Train, Val, Test string // split file prefixes
	Protocol         string // the standard protocol, stated when Test has TestImages images
	TestImages       int    // images in the standard Test split
	TestFolds        int    // see datasets.Dataset.TestFolds
}

// Sets are the registered benchmarks.
var Sets = []Set{
	{Name: "coco", Folder: "coco_precomp", Train: "train", Val: "dev", Test: "testall",
		Protocol: "coco-5k: 5000img-5cap (Karpathy testall); coco-1k: mean over 5 folds of 1000 consecutive images", TestImages: 5000, TestFolds: 5},
	{Name: "f30k", Folder: "f30k_precomp", Train: "train", Val: "dev", Test: "test",
		Protocol: "f30k-1k: 1000img-5cap (Karpathy test)", TestImages: 1000},
}

func init() {
	for _, s := range Sets {
		datasets.Register(s.Name, func() (*datasets.Dataset, error) {
			root, err := Root()
			if err != nil {
				return nil, err
			}
			return Load(filepath.Join(root, s.Folder), s)
		})
	}
}

// Root returns the folder holding the benchmarks' folders: $INFLATESHRINK_SCAN,
// or scan under imagetok.Dir.
func Root() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	d, err := imagetok.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "scan"), nil
}

// Load reads the three splits of s from dir.
func Load(dir string, s Set) (*datasets.Dataset, error) {
	d := &datasets.Dataset{Name: s.Name, Protocol: s.Protocol, TestFolds: s.TestFolds}
	for _, sp := range []struct {
		name string
		into *datasets.Split
	}{{s.Train, &d.Train}, {s.Val, &d.Val}, {s.Test, &d.Test}} {
		split, dim, err := ReadSplit(dir, sp.name)
		if err != nil {
			return nil, err
		}
		if d.RegionDim != 0 && dim != d.RegionDim {
			return nil, fmt.Errorf("scan: %s: regions of %d values, the other splits have %d", filepath.Join(dir, sp.name+"_ims.npy"), dim, d.RegionDim)
		}
		d.RegionDim = dim
		*sp.into = split
	}
	d.Protocol, d.TestFolds = protocol(s, len(d.Test.Images), len(d.Test.Captions))
	return d, nil
}

// protocol labels a test split of images images and captions captions.
// The label is recorded with every run and printed in reports, so it must
// describe the split actually evaluated: a cut-down or different test file
// (200 images, say) gets a label from its counts that says it is not the
// standard protocol, whose published numbers it cannot be compared with.
// Folds are kept, as folds of the images there are, where there are enough.
func protocol(s Set, images, captions int) (string, int) {
	if images == s.TestImages && captions == CaptionsPerImage*images {
		return s.Protocol, s.TestFolds
	}
	std, _, _ := strings.Cut(s.Protocol, ":") // "f30k-1k"
	p := fmt.Sprintf("%s: %dimg-%dcap (%s split; not the standard %s protocol of %dimg-%dcap, so not comparable with published results)",
		s.Name, images, captions/max(images, 1), s.Test, std, s.TestImages, CaptionsPerImage)
	switch {
	case s.TestFolds < 2:
		return p, s.TestFolds
	case images < s.TestFolds:
		return p + fmt.Sprintf("; no folds: %d images are fewer than %d folds", images, s.TestFolds), 0
	}
	size := fmt.Sprint(images / s.TestFolds)
	if images%s.TestFolds != 0 {
		size += fmt.Sprintf(" to %d", images/s.TestFolds+1)
	}
	return p + fmt.Sprintf("; mean over %d folds of %s consecutive images, not the standard %d-image folds", s.TestFolds, size, s.TestImages/s.TestFolds), s.TestFolds
}

// ReadSplit reads dir/<name>_ims.npy and dir/<name>_caps.txt into a split
// (caption c describes image c/5) and returns it with the region length.
// The features are mapped (MapNpy), not read: the split's regions are
// views into the mapping, so a batch reads only its own images' pages.
// A missing file gives an error naming it and where the files belong.
func ReadSplit(dir, name string) (datasets.Split, int, error) {
	var s datasets.Split
	ims := filepath.Join(dir, name+"_ims.npy")
	caps := filepath.Join(dir, name+"_caps.txt")
	for _, p := range []string{ims, caps} {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return s, 0, fmt.Errorf("scan: %s does not exist: put SCAN's precomputed features (its data/coco_precomp and data/f30k_precomp folders) under %s, or set %s to the folder holding them",
				p, filepath.Dir(dir), EnvDir)
		}
	}
	data, shape, err := MapNpy(ims)
	if err != nil {
		return s, 0, err
	}
	if len(shape) != 3 || shape[0] == 0 || shape[1] == 0 || shape[2] == 0 {
		return s, 0, fmt.Errorf("scan: %s: shape %v, want [images, regions, dims] with none zero", ims, shape)
	}
	n, r, dim := shape[0], shape[1], shape[2]
	f, err := os.Open(caps)
	if err != nil {
		return s, 0, fmt.Errorf("scan: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxCaptionBytes)
	for sc.Scan() {
		// Refuse, naming file:line, what would otherwise reach the tokenizer
		// silently as garbage words (a Latin-1 or binary file, say).
		if b := sc.Bytes(); !utf8.Valid(b) {
			i := invalidUTF8(b)
			return s, 0, fmt.Errorf("scan: %s:%d: caption is not valid UTF-8 (Latin-1?) at byte %d: %q",
				caps, len(s.Captions)+1, i, b[max(i-20, 0):min(i+20, len(b))])
		}
		s.Captions = append(s.Captions, sc.Text())
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return s, 0, fmt.Errorf("scan: %s:%d: line longer than %d bytes, not a caption (is this the right file?)", caps, len(s.Captions)+1, maxCaptionBytes)
	} else if err != nil {
		return s, 0, fmt.Errorf("scan: %s: %w", caps, err)
	}
	if len(s.Captions) != CaptionsPerImage*n {
		return s, 0, fmt.Errorf("scan: %s has %d captions, want %d (%d per image) for the %d images of %s",
			caps, len(s.Captions), CaptionsPerImage*n, CaptionsPerImage, n, ims)
	}
	s.Images = make([][][]float32, n)
	regions := make([][]float32, n*r) // one allocation for every region view
	for i := range n {
		for k := range r {
			o := (i*r + k) * dim
			regions[i*r+k] = data[o : o+dim : o+dim]
		}
		s.Images[i] = regions[i*r : (i+1)*r : (i+1)*r]
	}
	s.CaptionImage = make([]int, len(s.Captions))
	for c := range s.CaptionImage {
		s.CaptionImage[c] = c / CaptionsPerImage
	}
	s.ValuesChecked = true // by MapNpy
	return s, dim, nil
}

// invalidUTF8 returns the offset of the first byte of b that is not part
// of a valid UTF-8 sequence, or len(b).
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}
