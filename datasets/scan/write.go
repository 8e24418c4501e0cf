package scan

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
)

// WriteSet writes d in the layout of s (s.Folder under root, each split
// as <prefix>_ims.npy and <prefix>_caps.txt), every image cut or
// zero-padded to regions regions, so that the experiments' commands can
// run on SCAN-shaped files where SCAN's are not at hand (smoke runs,
// tests). Every image must have CaptionsPerImage captions.
func WriteSet(root string, s Set, d *datasets.Dataset, regions int) error {
	dir := filepath.Join(root, s.Folder)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scan: write %s: %w", s.Name, err)
	}
	for _, sp := range []struct {
		prefix string
		split  *datasets.Split
	}{{s.Train, &d.Train}, {s.Val, &d.Val}, {s.Test, &d.Test}} {
		if err := writeSplit(dir, sp.prefix, sp.split, regions, d.RegionDim); err != nil {
			return fmt.Errorf("scan: write %s: %w", s.Name, err)
		}
	}
	return nil
}

// writeSplit writes one split's two files.
func writeSplit(dir, prefix string, sp *datasets.Split, regions, dim int) error {
	captions := make([][]string, len(sp.Images))
	for c, i := range sp.CaptionImage {
		captions[i] = append(captions[i], sp.Captions[c])
	}
	var caps strings.Builder
	data := make([]float32, len(sp.Images)*regions*dim)
	for i, img := range sp.Images {
		if len(captions[i]) != CaptionsPerImage {
			return fmt.Errorf("split %s: image %d has %d captions, SCAN's files have %d", prefix, i, len(captions[i]), CaptionsPerImage)
		}
		for _, c := range captions[i] {
			caps.WriteString(strings.ReplaceAll(c, "\n", " ") + "\n")
		}
		for r, reg := range img[:min(len(img), regions)] {
			copy(data[(i*regions+r)*dim:], reg)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"_caps.txt"), []byte(caps.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, prefix+"_ims.npy"), encodeNpy("<f4", []int{len(sp.Images), regions, dim}, data), 0o644)
}

// encodeNpy is an .npy file (format 1.0, C order) whose header says descr
// and shape, with data as little-endian float32 (tests write other
// descrs to see the reader refuse them).
func encodeNpy(descr string, shape []int, data []float32) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad%64) + "\n"
	b := []byte(npyMagic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	b = append(b, h...)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}
