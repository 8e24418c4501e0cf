// Command bench measures training and retrieval speed against a PyTorch
// peer running the same model (reference.py, Debian python3-torch):
//
//	go run -tags openblas ./experiments/bench
//
// It prints, as Markdown: the BLAS in use and its measured sgemm peak; the
// median training step of models.SpeedConfig (batch 64) for this package's
// fused graph and for PyTorch at each thread count, measured A/B
// interleaved; the composed Gorgonia graph for reference; achieved
// GFLOP/s; allocation per step; and full-gallery MaxSim throughput.
// Without -tags openblas it measures the pure-Go build.
//
// With -device cuda (or cuda:N), in a build with -tags gpu on a machine
// with an NVIDIA GPU, it is the GPU check instead (see gpuCheck): every
// CUDA kernel against its CPU twin, one training step and a loss curve
// against the CPU's, then the step and the gallery timed beside PyTorch on
// the same GPU:
//
//	go run -tags gpu ./experiments/bench -device cuda
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
)

func main() {
	steps := flag.Int("steps", 5, "timed training steps per run (after one untimed step)")
	reps := flag.Int("reps", 3, "A/B repetitions per thread count")
	threads := flag.String("threads", "1,2", "thread counts")
	composedSteps := flag.Int("composed-steps", 2, "timed steps of the composed Gorgonia graph (0: skip)")
	gallery := flag.String("gallery", "1000,5000,32,256", "images,captions,fragments,dims of the gallery test (empty: skip)")
	python := flag.String("python", "/usr/bin/python3", "Python with torch (Debian python3-torch)")
	device := flag.String("device", "cpu", "cpu, or cuda / cuda:N for the GPU check (needs -tags gpu)")
	curveSteps := flag.Int("curve-steps", 200, "GPU check: training steps of the CPU/GPU loss-curve comparison")
	gpuSteps := flag.Int("gpu-steps", 50, "GPU check: timed training steps")
	flag.Parse()
	var err error
	if *device == "cpu" {
		err = run(*steps, *reps, *threads, *composedSteps, *gallery, *python)
	} else {
		err = gpuCheck(*device, *curveSteps, *gpuSteps, *gallery, *python)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// torchResult is reference.py's output.
type torchResult struct {
	Torch          string    `json:"torch"`
	Device         string    `json:"device"`
	BLASCore       string    `json:"blas_core"` // OpenBLAS kernels torch runs; "" for another BLAS
	StepSeconds    []float64 `json:"step_seconds"`
	GallerySeconds float64   `json:"gallery_seconds"`
}

func run(steps, reps int, threadList string, composedSteps int, gallery, python string) error {
	var counts []int
	for _, f := range strings.Split(threadList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-threads: bad count %q", f)
		}
		counts = append(counts, n)
	}
	script, err := referenceScript()
	if err != nil {
		return err
	}
	c := models.SpeedConfig()
	const batch = 64
	split, vocab := models.SpeedData(c, batch*(steps+1), rand.New(rand.NewPCG(1, 2)))

	fmt.Printf("# Speed benchmark\n\n")
	fmt.Printf("- date: %s\n- CPU: %s (%d logical CPUs)\n- load average before: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuName(), runtime.NumCPU(), loadAvg())
	fmt.Printf("- build: %s, %s\n- BLAS: %s\n", runtime.Version(), buildTag(), models.BLAS())
	fmt.Printf("- model: models.SpeedConfig, batch %d, %.1f GFLOP of matrix products per step (dense count)\n\n", batch, models.StepFLOPs(c, batch)/1e9)

	peaks := map[int]float64{}
	for _, n := range counts {
		setThreads(n)
		peaks[n] = models.SgemmGFLOPS(2048)
	}

	type sample struct{ ours, torch, bytes []float64 }
	results := map[int]*sample{}
	torchVersion, torchBLAS := "", ""
	for rep := 0; rep < reps; rep++ {
		for _, n := range counts {
			s := results[n]
			if s == nil {
				s = &sample{}
				results[n] = s
			}
			setThreads(n)
			secs, bytes, err := ourSteps(c, split, vocab, batch, false)
			if err != nil {
				return err
			}
			s.ours = append(s.ours, secs...)
			s.bytes = append(s.bytes, bytes...)
			tr, err := torchRun(python, script, "cpu", "fp32", n, steps, batch, "")
			if err != nil {
				return err
			}
			torchVersion, torchBLAS = tr.Torch, tr.BLASCore
			s.torch = append(s.torch, tr.StepSeconds...)
		}
	}
	flops := models.StepFLOPs(c, batch)
	fmt.Printf("## Training step (medians of %d runs x %d steps, A/B interleaved)\n\n", reps, steps)
	fmt.Printf("PyTorch's BLAS: %s; OPENBLAS_CORETYPE %s, OPENBLAS_L2_SIZE %s in this command's environment (unset both to let each side's OpenBLAS choose its best kernels).\n\n",
		blasText(torchBLAS), envText("OPENBLAS_CORETYPE"), envText("OPENBLAS_L2_SIZE"))
	fmt.Printf("| threads | ours s/step | PyTorch %s s/step | ours / PyTorch | ours GFLOP/s | sgemm peak GFLOP/s | ours %% of peak | ours MB allocated/step |\n|---|---|---|---|---|---|---|---|\n", torchVersion)
	for _, n := range counts {
		s := results[n]
		o, t := median(s.ours), median(s.torch)
		fmt.Printf("| %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.0f%% | %.1f |\n", n, o, t, o/t, flops/o/1e9, peaks[n], 100*flops/o/1e9/peaks[n], median(s.bytes)/1e6)
	}
	if composedSteps > 0 {
		n := counts[len(counts)-1]
		setThreads(n)
		csplit, cvocab := models.SpeedData(c, batch*(composedSteps+1), rand.New(rand.NewPCG(1, 2)))
		secs, bytes, err := ourSteps(c, csplit, cvocab, batch, true)
		if err != nil {
			return err
		}
		fmt.Printf("\nComposed Gorgonia graph (Model.Composed, %d threads, %d steps): %.3f s/step, %.1f MB allocated/step.\n", n, composedSteps, median(secs), median(bytes)/1e6)
	}
	if gallery != "" {
		if err := galleryBench(gallery, python, script, counts[len(counts)-1], peaks[counts[len(counts)-1]]); err != nil {
			return err
		}
	}
	fmt.Printf("\n- load average after: %s\n", loadAvg())
	return nil
}

// ourSteps trains a fresh model for the split's steps and returns each
// step's seconds and allocated bytes, the first step excluded.
func ourSteps(c models.Config, split *datasets.Split, vocab *datasets.Vocab, batch int, composed bool) ([]float64, []float64, error) {
	m, err := models.New(c, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		return nil, nil, err
	}
	m.Composed = composed
	var timer models.StepTimer
	obj := &models.Warmup{Epochs: 1, Then: models.Hinge{Margin: 0.2}}
	if _, err := models.Train(context.Background(), m, split, vocab, obj, models.TrainSettings{BatchSize: batch, Epochs: 1}, rand.New(rand.NewPCG(5, 6)), &timer); err != nil {
		return nil, nil, err
	}
	return timer.Seconds, timer.Bytes, nil
}

// galleryBench scores images x captions with frags x frags fragments of
// dims dimensions, ours and PyTorch's, at n threads.
func galleryBench(spec, python, script string, n int, peak float64) error {
	var images, captions, frags, dims int
	if _, err := fmt.Sscanf(spec, "%d,%d,%d,%d", &images, &captions, &frags, &dims); err != nil {
		return fmt.Errorf("-gallery %q: want images,captions,fragments,dims: %v", spec, err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	texts, imgs := randomFragments(rng, captions, frags, dims), randomFragments(rng, images, frags, dims)
	setThreads(n)
	start := time.Now()
	if _, err := models.ScoreGallery(texts, imgs); err != nil {
		return err
	}
	ours := time.Since(start).Seconds()
	tr, err := torchRun(python, script, "cpu", "fp32", n, 1, 8, spec)
	if err != nil {
		return err
	}
	work := 2 * float64(images) * float64(captions) * float64(frags*frags*dims)
	fmt.Printf("\n## Gallery MaxSim: %d images x %d captions x %d x %d fragments x %d dims (%.2f TFLOP), %d threads\n\n", images, captions, frags, frags, dims, work/1e12, n)
	fmt.Printf("| scorer | seconds | pairs/s | GFLOP/s | %% of sgemm peak (%.1f) |\n|---|---|---|---|---|\n", peak)
	pairs := float64(images) * float64(captions)
	fmt.Printf("| models.ScoreGallery | %.2f | %.3g | %.1f | %.0f%% |\n", ours, pairs/ours, work/ours/1e9, 100*work/ours/1e9/peak)
	fmt.Printf("| PyTorch blocks (reference.py) | %.2f | %.3g | %.1f | %.0f%% |\n", tr.GallerySeconds, pairs/tr.GallerySeconds, work/tr.GallerySeconds/1e9, 100*work/tr.GallerySeconds/1e9/peak)
	return nil
}

func randomFragments(rng *rand.Rand, n, per, d int) models.Fragments {
	f := models.Fragments{N: n, PerItem: per, Dim: d, Data: make([]float32, n*per*d), Mask: make([]float32, n*per)}
	for i := range f.Data {
		f.Data[i] = float32(rng.NormFloat64()) / 16
	}
	for i := range f.Mask {
		f.Mask[i] = 1
	}
	return f
}

// torchRun runs reference.py on device (cpu or cuda) at n threads, configured at its best: both
// OpenMP and OpenBLAS limited to n threads, passive OpenMP waiting (its
// spinning threads otherwise fight OpenBLAS's), and this process's
// OpenBLAS environment (run the bench with OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE unset, and each side picks its best kernels).
func torchRun(python, script, device, precision string, n, steps, batch int, gallery string) (torchResult, error) {
	args := []string{script, "--device", device, "--precision", precision, "--threads", strconv.Itoa(n), "--steps", strconv.Itoa(steps), "--batch", strconv.Itoa(batch)}
	if gallery != "" {
		args = append(args, "--gallery", gallery)
	}
	cmd := exec.Command(python, args...)
	nt := strconv.Itoa(n)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+nt, "OPENBLAS_NUM_THREADS="+nt, "MKL_NUM_THREADS="+nt, "OMP_WAIT_POLICY=PASSIVE")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return torchResult{}, fmt.Errorf("%s %s: %v\n%s", python, strings.Join(args, " "), err, errb.String())
	}
	var r torchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("reference.py output %q: %v", out.String(), err)
	}
	return r, nil
}

// blasText names the OpenBLAS kernels torch reported.
func blasText(core string) string {
	if core == "" {
		return "not OpenBLAS"
	}
	return "OpenBLAS, kernels " + core
}

// envText is an environment variable's value for the report.
func envText(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return "=" + v
	}
	return "unset"
}

// referenceScript finds reference.py beside this command's source.
func referenceScript() (string, error) {
	for _, p := range []string{"experiments/bench/reference.py", "reference.py"} {
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("reference.py not found: run from the repository root")
}

// setThreads limits this process to n threads for Go and for OpenBLAS.
func setThreads(n int) {
	runtime.GOMAXPROCS(n)
	models.SetBLASThreads(n)
}

// buildTag names the build measured.
func buildTag() string {
	if strings.HasPrefix(models.BLAS(), "OpenBLAS") {
		return "-tags openblas"
	}
	return "default build (pure Go)"
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
