package gpu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Device names where a model trains: the CPU (models' Gorgonia graphs) or
// an NVIDIA GPU by ordinal.
type Device struct {
	CUDA    bool
	Ordinal int // GPU ordinal when CUDA
}

// ParseDevice reads a -device flag value: "cpu", "cuda" (GPU 0) or
// "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch s := strings.TrimSpace(s); {
	case s == "" || s == "cpu":
		return Device{}, nil
	case s == "cuda":
		return Device{CUDA: true}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "cuda:"))
		if err != nil || n < 0 {
			return Device{}, fmt.Errorf("gpu: bad device %q: want cuda:N with N a GPU ordinal from 0", s)
		}
		return Device{CUDA: true, Ordinal: n}, nil
	default:
		return Device{}, fmt.Errorf("gpu: unknown device %q (want cpu, cuda or cuda:N)", s)
	}
}

// String is the flag form of d.
func (d Device) String() string {
	if !d.CUDA {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", d.Ordinal)
}

// Info describes an opened GPU, for logs and for the record of each run.
type Info struct {
	Name              string // e.g. "NVIDIA H100 80GB HBM3"
	Ordinal           int
	MemoryBytes       int64
	ComputeCapability string // e.g. "9.0"
	Multiprocessors   int
	Driver            string // CUDA version the driver supports, e.g. "13.0"
	NVRTC             string // version of the run-time compiler of the kernels
	Toolkit           string // CUDA version the binary was built against
}

// Fields lists the info as environment entries ("gpu.name", ...).
func (i Info) Fields() map[string]string {
	return map[string]string{
		"gpu.name": i.Name, "gpu.ordinal": strconv.Itoa(i.Ordinal), "gpu.memory_bytes": strconv.FormatInt(i.MemoryBytes, 10),
		"gpu.compute_capability": i.ComputeCapability, "gpu.multiprocessors": strconv.Itoa(i.Multiprocessors),
		"gpu.driver_cuda": i.Driver, "gpu.nvrtc": i.NVRTC, "gpu.toolkit_cuda": i.Toolkit,
	}
}

// ErrNoCUDA is returned by Open for a CUDA device in a binary built
// without the gpu build tag.
var ErrNoCUDA = errors.New("gpu: this binary was built without CUDA support: rebuild with -tags gpu on a machine with the CUDA toolkit (12 or 13) and the NVIDIA driver, or use -device cpu")

// Probe opens and closes a GPU device to check that it can be used and
// describe it.
func Probe(d Device) (Info, error) {
	be, info, err := Open(d)
	if err != nil {
		return Info{}, err
	}
	return info, be.Close()
}

// Open returns the CUDA backend of a GPU device, with its description. It
// locks the calling goroutine to its OS thread, where the device's context
// is current: use the backend from that goroutine only, and Close it there.
func Open(d Device) (Backend, Info, error) {
	if !d.CUDA {
		return nil, Info{}, fmt.Errorf("gpu: device %s is not a GPU: train on the CPU with package models", d)
	}
	return openCUDA(d.Ordinal)
}

// Precision is how a backend computes its matrix products; the weights,
// gradients, optimiser and every other kernel stay float32 (the weights
// are their own float32 master copy).
type Precision string

const (
	// FP32 is float32 products, TensorFloat-32 off: the default ("" too).
	FP32 Precision = "fp32"
	// TF32 rounds the products' operands to TensorFloat-32 on the tensor
	// cores (Ampere and later), accumulating in float32: PyTorch's
	// allow_tf32.
	TF32 Precision = "tf32"
	// BF16 rounds them to bfloat16, accumulating in float32: what
	// torch.autocast(bfloat16) does to a matrix product. bfloat16 keeps
	// float32's range, so no loss scaling is needed.
	BF16 Precision = "bf16"
)

// ParsePrecision reads a train.precision value ("" is FP32).
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(s); p {
	case "", FP32:
		return FP32, nil
	case TF32, BF16:
		return p, nil
	}
	return "", fmt.Errorf("gpu: precision %q is unknown (want %s, %s or %s)", s, FP32, TF32, BF16)
}
