package safetensors

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGolden: the bytes of a small file, as the format defines them.
func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	err := Encode(&buf, []Tensor{
		{Name: "w", Shape: []int{2}, F32: []float32{1, -2}},
		{Name: "ids", Shape: []int{1}, I64: []int64{7}},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"k":"v"},"ids":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for (8+len(header))%8 != 0 {
		header += " "
	}
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	want = append(want, header...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0) // 1.0, -2.0
	want = append(want, 7, 0, 0, 0, 0, 0, 0, 0)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("encoded\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{Name: "a.w", Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "scalar", Shape: []int{}, F32: []float32{0.5}},
		{Name: "ids", Shape: []int{2, 2}, I64: []int64{-1, 0, 1, 1 << 40}},
	}
	meta := map[string]string{"config": `{"Dim":16}`}
	path := filepath.Join(t.TempDir(), "sub", "m.safetensors")
	if err := WriteFile(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tensors) || !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("read back %+v %v, want %+v %v", got, gotMeta, tensors, meta)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"wrong size", []Tensor{{Name: "w", Shape: []int{2, 2}, F32: []float32{1}}}, `"w" of shape [2 2] holds 1 values, want 4`},
		{"two kinds", []Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}, I64: []int64{1}}}, "exactly one"},
		{"duplicate", []Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}}, {Name: "w", Shape: []int{1}, F32: []float32{1}}}, `"w" given twice`},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, F32: []float32{1}}}, "invalid tensor name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Encode(&bytes.Buffer{}, tc.tensors, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	var good bytes.Buffer
	if err := Encode(&good, []Tensor{{Name: "w", Shape: []int{2}, F32: []float32{1, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no header length"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 1000), "header of 1000 bytes"},
		{"truncated data", good.Bytes()[:good.Len()-1], `"w" of shape [2] (F32) has data offsets [0, 8] in 7 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Decode(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}
