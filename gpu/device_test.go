package gpu

import (
	"errors"
	"strings"
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

// TestPrecision: train.precision values parse ("" is fp32), unknown ones
// are refused naming them, and the host backend takes only fp32.
func TestPrecision(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Precision
		ok   bool
	}{{"", FP32, true}, {"fp32", FP32, true}, {"tf32", TF32, true}, {"bf16", BF16, true}, {"fp16", "", false}} {
		got, err := ParsePrecision(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParsePrecision(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), `"`+tc.in+`"`)) {
			t.Errorf("ParsePrecision(%q): %v; want an error naming it", tc.in, err)
		}
	}
	if err := (Host{}).SetPrecision(FP32); err != nil {
		t.Errorf("Host at fp32: %v", err)
	}
	if err := (Host{}).SetPrecision(BF16); err == nil || !strings.Contains(err.Error(), "needs a GPU") {
		t.Errorf("Host at bf16: %v; want it refused", err)
	}
}
