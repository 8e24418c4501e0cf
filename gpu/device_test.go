package gpu

import (
	"errors"
	"testing"
)

func TestParseDevice(t *testing.T) {
	cases := []struct {
		in      string
		want    Device
		wantErr bool
	}{
		{"cpu", Device{}, false},
		{"", Device{}, false},
		{"cuda", Device{CUDA: true}, false},
		{"cuda:3", Device{CUDA: true, Ordinal: 3}, false},
		{"cuda:-1", Device{}, true},
		{"cuda:x", Device{}, true},
		{"gpu", Device{}, true},
	}
	for _, c := range cases {
		got, err := ParseDevice(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseDevice(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
		if err == nil && got.String() != map[bool]string{false: "cpu", true: "cuda:" + string(rune('0'+got.Ordinal))}[got.CUDA] {
			t.Errorf("Device %v prints as %q", got, got.String())
		}
	}
}

// TestOpenWithoutCUDA checks that a build without the cuda tag refuses a
// GPU with ErrNoCUDA instead of failing in some other way, and that no
// build opens the CPU as a GPU.
func TestOpenWithoutCUDA(t *testing.T) {
	if _, _, err := Open(Device{}); err == nil {
		t.Error("Open(cpu) succeeded; the CPU trains through package models")
	}
	if CUDABuild {
		t.Skip("built with -tags gpu")
	}
	if _, _, err := Open(Device{CUDA: true}); !errors.Is(err, ErrNoCUDA) {
		t.Errorf("Open(cuda) without -tags gpu: %v, want ErrNoCUDA", err)
	}
}
