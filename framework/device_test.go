package framework

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/inflateshrink/inflateshrink/gpu"
	"github.com/inflateshrink/inflateshrink/store"
)

// TestGPUPathOnHost runs the five models through the GPU path of the
// runner (gpu.Train, gpu's encoder and scorer, distillation on the device)
// with the Host backend standing in for a GPU, beside the CPU path: every
// run finishes, records its device, and lands near the CPU's accuracy
// (the two round differently, so they are not identical).
func TestGPUPathOnHost(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five small models twice")
	}
	e := fiveModels(tinyConfig())
	cpuDB, gpuDB := openDB(t), openDB(t)
	if _, err := (&Runner{DB: cpuDB}).Run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	host := func(gpu.Device) (gpu.Backend, gpu.Info, error) {
		return gpu.Host{}, gpu.Info{Name: "Host stand-in"}, nil
	}
	r := &Runner{DB: gpuDB, Device: gpu.Device{CUDA: true}, openGPU: host}
	sum, err := r.Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trained != 5 || sum.Failed != 0 {
		t.Fatalf("summary %+v, want 5 trained", sum)
	}
	cpu, dev := summary(t, cpuDB, "five"), summary(t, gpuDB, "five")
	for i := range dev {
		t.Logf("%s: rSum %.1f on the CPU, %.1f on the GPU path", dev[i].model, cpu[i].rsum, dev[i].rsum)
		if dev[i].status != "finished" || dev[i].rsum < 0 || math.Abs(dev[i].rsum-cpu[i].rsum) > 0.1*cpu[i].rsum+2 {
			t.Errorf("%s: %+v, CPU rSum %.1f", dev[i].model, dev[i], cpu[i].rsum)
		}
	}
	var device, name string
	if err := gpuDB.SQL().QueryRow(`SELECT
		(SELECT value FROM environment WHERE key = 'device' LIMIT 1),
		(SELECT value FROM environment WHERE key = 'gpu.name' LIMIT 1)`).Scan(&device, &name); err != nil {
		t.Fatal(err)
	}
	if device != "cuda:0" || name != "Host stand-in" {
		t.Errorf("recorded device %q, GPU %q", device, name)
	}
}

// TestCommandWithoutCUDA: asking a build without CUDA for a GPU fails
// before anything is recorded, with the build's explanation.
func TestCommandWithoutCUDA(t *testing.T) {
	if gpu.CUDABuild {
		t.Skip("built with -tags gpu")
	}
	db := filepath.Join(t.TempDir(), "results.db")
	err := Command(context.Background(), fiveModels(tinyConfig()), []string{"-db", db, "-device", "cuda"}, io.Discard, io.Discard)
	if !errors.Is(err, gpu.ErrNoCUDA) {
		t.Errorf("-device cuda without -tags gpu: %v, want gpu.ErrNoCUDA", err)
	}
	if err := Command(context.Background(), fiveModels(tinyConfig()), []string{"-db", db, "-device", "tpu"}, io.Discard, io.Discard); err == nil {
		t.Error("-device tpu accepted")
	}
}

// TestGPUPathLearns: base trained on the GPU path (the Host backend
// standing in) learns well above chance, as on the CPU, so that a step
// program whose update does nothing fails here and not only in package
// gpu. The models of TestGPUPathOnHost train too briefly to tell (base
// sits at chance after its 2 epochs).
func TestGPUPathLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains base twice")
	}
	c := tinyConfig()
	c.Dataset = "synthetic:objects=4-4,noise=0.1,twins=0.5,train=320,val=40,test=100"
	c.Train.Epochs, c.Train.DecayEpoch = 3, 3
	e := Experiment{Name: "learns", Base: c, Sweep: Sweep{Models: []string{"base"}}}
	host := func(gpu.Device) (gpu.Backend, gpu.Info, error) {
		return gpu.Host{}, gpu.Info{Name: "Host stand-in"}, nil
	}
	for _, r := range []*Runner{{DB: openDB(t)}, {DB: openDB(t), Device: gpu.Device{CUDA: true}, openGPU: host}} {
		if _, err := r.Run(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		runs, err := r.DB.Runs(store.RunFilter{Experiment: "learns", Status: "finished"})
		if err != nil || len(runs) != 1 {
			t.Fatalf("finished runs %v, %v", runs, err)
		}
		val, err := r.DB.Results(runs[0].ID, "val")
		if err != nil {
			t.Fatal(err)
		}
		// Measured: 2.5x chance on the CPU; an optimiser that does
		// nothing stays near 1x.
		if rsum, chance := val["rsum"], val["chance_rsum"]; !(chance > 0 && rsum >= 1.5*chance) {
			t.Errorf("device %v: validation rSum %.1f, chance %.1f: want at least 1.5x chance", r.Device, rsum, chance)
		}
	}
}
