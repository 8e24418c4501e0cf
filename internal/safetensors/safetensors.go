// Package safetensors writes and reads the safetensors format
// (huggingface.co/docs/safetensors), the portable form of a checkpoint
// that PyTorch, JAX and others load: an 8-byte little-endian header
// length N, N bytes of JSON header ({"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}),
// padded with spaces to a multiple of 8, then the tensors' raw
// little-endian bytes, offsets relative to the end of the header. Only
// the dtypes this project needs are supported: F32 and I64.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Tensor is one named tensor: exactly one of F32 and I64 holds its
// values, row-major, as many as the product of Shape.
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I64   []int64
}

// DType is the tensor's safetensors dtype: "F32" or "I64".
func (t Tensor) DType() string {
	if t.I64 != nil {
		return "I64"
	}
	return "F32"
}

func (t Tensor) size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t Tensor) check() error {
	if (t.F32 == nil) == (t.I64 == nil) && t.size() != 0 {
		return fmt.Errorf("safetensors: tensor %q must hold exactly one of F32 and I64 values", t.Name)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("safetensors: tensor %q has a negative dimension in shape %v", t.Name, t.Shape)
		}
	}
	if n := max(len(t.F32), len(t.I64)); n != t.size() {
		return fmt.Errorf("safetensors: tensor %q of shape %v holds %d values, want %d", t.Name, t.Shape, n, t.size())
	}
	if t.Name == "" || t.Name == metadataKey {
		return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
	}
	return nil
}

const metadataKey = "__metadata__"

// maxHeader bounds the header a reader accepts (the reference
// implementation's limit), so that a damaged length cannot allocate
// gigabytes.
const maxHeader = 100 << 20

type entry struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// Encode writes tensors, in order, and metadata to w.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header[metadataKey] = metadata
	}
	offset := 0
	for _, t := range tensors {
		if err := t.check(); err != nil {
			return err
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: tensor %q given twice", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: [] in JSON, not null
		}
		header[t.Name] = entry{DType: t.DType(), Shape: shape, DataOffsets: [2]int{offset, offset + 8*len(t.I64) + 4*len(t.F32)}}
		offset += 8*len(t.I64) + 4*len(t.F32)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for (8+len(h))%8 != 0 {
		h = append(h, ' ')
	}
	buf := bytes.NewBuffer(make([]byte, 0, 8+len(h)+offset))
	binary.Write(buf, binary.LittleEndian, uint64(len(h)))
	buf.Write(h)
	var b [8]byte
	for _, t := range tensors {
		for _, v := range t.F32 {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			buf.Write(b[:4])
		}
		for _, v := range t.I64 {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			buf.Write(b[:])
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteFile writes tensors and metadata to path atomically (a temporary
// file renamed into place).
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("safetensors: write %s: %w", path, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := Encode(tmp, tensors, metadata); err != nil {
		tmp.Close()
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return nil
}

// Decode reads a safetensors file's tensors (sorted by data offset) and
// metadata from data.
func Decode(data []byte) ([]Tensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("safetensors: %d bytes hold no header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeader || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("safetensors: header of %d bytes in a file of %d", n, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	body := data[8+n:]
	var meta map[string]string
	var out []Tensor
	var offsets []int
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: metadata: %w", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		t := Tensor{Name: name, Shape: e.Shape}
		width := map[string]int{"F32": 4, "I64": 8}[e.DType]
		if width == 0 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %q; this reader knows F32 and I64", name, e.DType)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > len(body) || end-begin != width*t.size() {
			return nil, nil, fmt.Errorf("safetensors: tensor %q of shape %v (%s) has data offsets [%d, %d] in %d bytes of data", name, e.Shape, e.DType, begin, end, len(body))
		}
		b := body[begin:end]
		if width == 4 {
			t.F32 = make([]float32, t.size())
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		} else {
			t.I64 = make([]int64, t.size())
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
			}
		}
		out = append(out, t)
		offsets = append(offsets, begin)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if offsets[idx[a]] != offsets[idx[b]] {
			return offsets[idx[a]] < offsets[idx[b]]
		}
		return out[idx[a]].Name < out[idx[b]].Name
	})
	sorted := make([]Tensor, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, meta, nil
}

// ReadFile reads the safetensors file at path; errors name it.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	t, m, err := Decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, m, nil
}
