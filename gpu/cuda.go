//go:build gpu

package gpu

import (
	_ "embed"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/inflateshrink/inflateshrink/gpu/internal/cuda"
)

// CUDABuild reports whether this binary was built with the gpu tag.
const CUDABuild = true

//go:embed kernels.cu
var kernelSource string

// kernels are the entry points of kernels.cu.
var kernels = []string{
	"embed_text", "embed_text_grad", "image_slots", "sum_slots", "gather_slots", "add_bias", "relu_grad",
	"gelu", "gelu_grad", "col_sum", "layernorm", "layernorm_grad_x", "layernorm_grad_params", "attention",
	"attention_grad_q", "attention_grad_kv", "keep_normalize", "keep_normalize_grad", "maxsim", "maxsim_grad",
	"loss", "sum_squares", "adamw",
}

// CUDA is the Backend of one NVIDIA GPU: cuBLAS for matrix products,
// kernels.cu compiled with NVRTC for the rest, all queued on the legacy
// default stream so that they run in order without host synchronisation.
type CUDA struct {
	ctx    cuda.Context
	blas   *cuda.Blas
	fns    map[string]cuda.Function
	allocs []cuda.Ptr
	info   Info
	err    error
	args   []uint64 // launch argument scratch
}

var _ Backend = (*CUDA)(nil)

func openCUDA(ordinal int) (be Backend, info Info, err error) {
	if err := cuda.Init(); err != nil {
		return nil, Info{}, fmt.Errorf("gpu: no usable CUDA driver or GPU: %v", err)
	}
	runtime.LockOSThread()
	defer func() {
		if err != nil {
			runtime.UnlockOSThread()
		}
	}()
	n, err := cuda.DeviceCount()
	if err != nil {
		return nil, Info{}, fmt.Errorf("gpu: no usable CUDA driver or GPU: %v", err)
	}
	if ordinal >= n {
		return nil, Info{}, fmt.Errorf("gpu: device cuda:%d asked for, but this machine has %d GPU(s)", ordinal, n)
	}
	dev, err := cuda.GetDevice(ordinal)
	if err != nil {
		return nil, Info{}, fmt.Errorf("gpu: cuda:%d: %v", ordinal, err)
	}
	if info, err = describe(dev, ordinal); err != nil {
		return nil, Info{}, err
	}
	ctx, err := cuda.NewContext(dev)
	if err != nil {
		return nil, Info{}, fmt.Errorf("gpu: cuda:%d: creating a context: %v", ordinal, err)
	}
	c := &CUDA{ctx: ctx, fns: map[string]cuda.Function{}, info: info}
	if err := c.compile(dev); err != nil {
		ctx.Destroy()
		return nil, Info{}, err
	}
	if c.blas, err = cuda.NewBlas(); err != nil {
		ctx.Destroy()
		return nil, Info{}, fmt.Errorf("gpu: cuda:%d: cuBLAS: %v", ordinal, err)
	}
	return c, info, nil
}

// describe reads the device's name, memory, compute capability and
// versions.
func describe(dev cuda.Device, ordinal int) (Info, error) {
	name, err := dev.Name()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: cuda:%d: %v", ordinal, err)
	}
	mem, err := dev.TotalMem()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: cuda:%d: %v", ordinal, err)
	}
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: cuda:%d: %v", ordinal, err)
	}
	sms, err := dev.Multiprocessors()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: cuda:%d: %v", ordinal, err)
	}
	nvMajor, nvMinor, err := cuda.NVRTCVersion()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: %v", err)
	}
	driver, err := cuda.DriverVersion()
	if err != nil {
		return Info{}, fmt.Errorf("gpu: %v", err)
	}
	return Info{
		Name: name, Ordinal: ordinal, MemoryBytes: mem, ComputeCapability: fmt.Sprintf("%d.%d", major, minor),
		Multiprocessors: sms, Driver: fmt.Sprintf("%d.%d", driver/1000, driver%1000/10),
		NVRTC: fmt.Sprintf("%d.%d", nvMajor, nvMinor), Toolkit: fmt.Sprintf("%d.%d", cuda.ToolkitVersion/1000, cuda.ToolkitVersion%1000/10),
	}, nil
}

// compile builds kernels.cu for the device's architecture and loads it.
func (c *CUDA) compile(dev cuda.Device) error {
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return err
	}
	arch := fmt.Sprintf("compute_%d%d", major, minor)
	ptx, ok := compiled.Load(arch)
	if !ok {
		p, err := CompileKernels(arch)
		if err != nil {
			return err
		}
		ptx, _ = compiled.LoadOrStore(arch, p)
	}
	mod, err := cuda.LoadPTX(ptx.(string))
	if err != nil {
		return fmt.Errorf("gpu: loading the kernels' PTX: %v", err)
	}
	for _, name := range kernels {
		fn, err := mod.Function(name)
		if err != nil {
			return fmt.Errorf("gpu: kernel %s: %v", name, err)
		}
		c.fns[name] = fn
	}
	return nil
}

// compiled caches the PTX of each architecture: NVRTC takes about a second,
// and every stage of a sweep opens the device anew.
var compiled sync.Map

// CompileKernels compiles kernels.cu with NVRTC for a virtual architecture
// such as "compute_90" and returns the PTX. It needs no GPU.
func CompileKernels(arch string) (string, error) {
	ptx, err := cuda.CompilePTX(kernelSource, "kernels.cu", "--gpu-architecture="+arch, "--std=c++14")
	if err != nil {
		return "", fmt.Errorf("gpu: kernels.cu for %s: %v", arch, err)
	}
	return ptx, nil
}

// Name implements Backend.
func (c *CUDA) Name() string { return fmt.Sprintf("cuda:%d (%s)", c.info.Ordinal, c.info.Name) }

// SetPrecision implements Backend: cuBLAS computes the products (every
// Gemm) at p, through cublasGemmEx's fast float32 compute types; the
// kernels stay float32.
func (c *CUDA) SetPrecision(p Precision) error {
	switch p {
	case FP32:
		c.blas.SetCompute(cuda.FP32)
	case TF32:
		c.blas.SetCompute(cuda.TF32)
	case BF16:
		c.blas.SetCompute(cuda.BF16)
	default:
		return fmt.Errorf("gpu: precision %q is unknown", p)
	}
	return nil
}

func (c *CUDA) fail(what string, err error) {
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("gpu: %s: %v", what, err)
	}
}

func (c *CUDA) alloc(bytes int) uintptr {
	if c.err != nil || bytes == 0 {
		return 0
	}
	p, err := cuda.Alloc(int64(bytes))
	if err != nil {
		c.fail(fmt.Sprintf("allocating %d bytes", bytes), err)
		return 0
	}
	c.allocs = append(c.allocs, p)
	if err := cuda.MemsetD32Async(p, 0, int64(bytes/4)); err != nil {
		c.fail("zeroing", err)
	}
	return uintptr(p)
}

// Alloc implements Backend.
func (c *CUDA) Alloc(n int) *Buf { return &Buf{n: n, ptr: c.alloc(4 * n)} }

// AllocInt implements Backend.
func (c *CUDA) AllocInt(n int) *IBuf { return &IBuf{n: n, ptr: c.alloc(4 * n)} }

// Upload implements Backend.
func (c *CUDA) Upload(dst *Buf, src []float32) {
	if c.err == nil && len(src) > 0 {
		c.fail("upload", cuda.CopyToDevice(cuda.Ptr(dst.ptr), unsafe.Pointer(&src[0]), int64(4*min(len(src), dst.n))))
	}
}

// UploadInt implements Backend.
func (c *CUDA) UploadInt(dst *IBuf, src []int32) {
	if c.err == nil && len(src) > 0 {
		c.fail("upload", cuda.CopyToDevice(cuda.Ptr(dst.ptr), unsafe.Pointer(&src[0]), int64(4*min(len(src), dst.n))))
	}
}

// Download implements Backend.
func (c *CUDA) Download(dst []float32, src *Buf) {
	if c.err == nil && len(dst) > 0 {
		c.fail("download", cuda.CopyToHost(unsafe.Pointer(&dst[0]), cuda.Ptr(src.ptr), int64(4*min(len(dst), src.n))))
	}
}

// DownloadInt implements Backend.
func (c *CUDA) DownloadInt(dst []int32, src *IBuf) {
	if c.err == nil && len(dst) > 0 {
		c.fail("download", cuda.CopyToHost(unsafe.Pointer(&dst[0]), cuda.Ptr(src.ptr), int64(4*min(len(dst), src.n))))
	}
}

// Sync implements Backend.
func (c *CUDA) Sync() error {
	if c.err == nil {
		c.fail("synchronize", cuda.Synchronize())
	}
	return c.err
}

// Close implements Backend.
func (c *CUDA) Close() error {
	c.Sync()
	for _, p := range c.allocs {
		cuda.Free(p)
	}
	c.allocs = nil
	if c.blas != nil {
		c.blas.Close()
	}
	c.fail("destroying the context", c.ctx.Destroy())
	runtime.UnlockOSThread()
	return c.err
}

// Zero implements Backend.
func (c *CUDA) Zero(x *Buf) {
	if c.err == nil && x.n > 0 {
		c.fail("zero", cuda.MemsetD32Async(cuda.Ptr(x.ptr), 0, int64(x.n)))
	}
}

// Copy implements Backend.
func (c *CUDA) Copy(dst, src *Buf) {
	if c.err == nil && src.n > 0 {
		c.fail("copy", cuda.CopyAsync(cuda.Ptr(dst.ptr), cuda.Ptr(src.ptr), int64(4*src.n)))
	}
}

// Gemm implements Backend. cuBLAS is column-major: a row-major C = A B is
// the column-major C^T = B^T A^T, so the operands swap.
func (c *CUDA) Gemm(tA, tB bool, m, n, k int, alpha float32, a *Buf, lda int, b *Buf, ldb int, beta float32, cb *Buf, ldc int) {
	if c.err != nil || m == 0 || n == 0 {
		return
	}
	c.fail("cuBLAS sgemm", c.blas.Sgemm(tB, tA, n, m, k, alpha, cuda.Ptr(b.ptr), ldb, cuda.Ptr(a.ptr), lda, beta, cuda.Ptr(cb.ptr), ldc))
}

// Launch argument kinds: every kernel parameter is passed as 8 bytes, the
// driver reads the parameter's own size from the start of each.
type (
	f32 float32
	f64 float64
	i32 int
	i64 int
)

// flag is a boolean as a kernel's int parameter.
func flag(b bool) i32 {
	if b {
		return 1
	}
	return 0
}

// launch queues a kernel over `threads` threads in blocks of 256.
func (c *CUDA) launch(name string, threads int, shared int, args ...any) {
	c.launchBlocks(name, max(1, (threads+255)/256), 256, shared, args...)
}

func (c *CUDA) launchBlocks(name string, blocks, blockSize, shared int, args ...any) {
	if c.err != nil {
		return
	}
	c.args = c.args[:0]
	for _, a := range args {
		var v uint64
		switch x := a.(type) {
		case *Buf:
			if x != nil {
				v = uint64(x.ptr)
			}
		case *IBuf:
			if x != nil {
				v = uint64(x.ptr)
			}
		case i32:
			v = uint64(uint32(int32(x)))
		case i64:
			v = uint64(int64(x))
		case f32:
			v = uint64(math.Float32bits(float32(x)))
		case f64:
			v = math.Float64bits(float64(x))
		default:
			panic(fmt.Sprintf("gpu: kernel %s: argument of type %T", name, a))
		}
		c.args = append(c.args, v)
	}
	c.fail("launching "+name, c.fns[name].Launch(blocks, blockSize, shared, c.args))
}

// warps launches a kernel with one warp per row.
func (c *CUDA) warps(name string, rows int, args ...any) { c.launch(name, 32*rows, 0, args...) }

// EmbedText implements Backend.
func (c *CUDA) EmbedText(x, tok, pos, codes *Buf, ids *IBuf, batch, tokens, nCodes, d int) {
	c.launch("embed_text", batch*(tokens+nCodes)*d, 0, x, tok, pos, codes, ids, i32(batch), i32(tokens), i32(nCodes), i32(d))
}

// EmbedTextGrad implements Backend.
func (c *CUDA) EmbedTextGrad(dtok, dx *Buf, ids *IBuf, batch, tokens, slots, d int) {
	c.launch("embed_text_grad", batch*tokens*d, 0, dtok, dx, ids, i32(batch), i32(tokens), i32(slots), i32(d))
}

// ImageSlots implements Backend.
func (c *CUDA) ImageSlots(x, cls, proj, codes *Buf, batch, regions, nCodes, d int) {
	c.launch("image_slots", batch*(1+regions+nCodes)*d, 0, x, cls, proj, codes, i32(batch), i32(regions), i32(nCodes), i32(d))
}

// SumSlots implements Backend.
func (c *CUDA) SumSlots(out, x *Buf, batch, slots, first, count, d int) {
	c.launch("sum_slots", count*d, 0, out, x, i32(batch), i32(slots), i32(first), i32(count), i32(d))
}

// GatherSlots implements Backend.
func (c *CUDA) GatherSlots(dst, src *Buf, batch, slots, first, count, d int) {
	c.launch("gather_slots", batch*count*d, 0, dst, src, i32(batch), i32(slots), i32(first), i32(count), i32(d))
}

// AddBias implements Backend.
func (c *CUDA) AddBias(y, b *Buf, rows, cols int, relu bool) {
	r := 0
	if relu {
		r = 1
	}
	c.launch("add_bias", rows*cols, 0, y, b, i32(rows), i32(cols), i32(r))
}

// ReluGrad implements Backend.
func (c *CUDA) ReluGrad(dy, y *Buf) { c.launch("relu_grad", y.n, 0, dy, y, i32(y.n)) }

// GELU implements Backend.
func (c *CUDA) GELU(y, x *Buf) { c.launch("gelu", x.n, 0, y, x, i32(x.n)) }

// GELUGrad implements Backend.
func (c *CUDA) GELUGrad(dy, x *Buf) { c.launch("gelu_grad", x.n, 0, dy, x, i32(x.n)) }

// ColSum implements Backend.
func (c *CUDA) ColSum(out, x *Buf, rows, cols int) {
	c.launch("col_sum", cols, 0, out, x, i32(rows), i32(cols))
}

// LayerNorm implements Backend. The kernel adds eps in float32: the
// default, float32(1e-5), is the constant 1e-5f it had before epsilons
// were configurable, so default models compute as they did.
func (c *CUDA) LayerNorm(y, xhat, rstd, x, r, g, b *Buf, rows, d int, eps float64) {
	c.warps("layernorm", rows, y, xhat, rstd, x, r, g, b, i32(rows), i32(d), f32(eps))
}

// LayerNormGrad implements Backend.
func (c *CUDA) LayerNormGrad(dx, dg, db, dy, xhat, rstd, g *Buf, rows, d int) {
	c.warps("layernorm_grad_x", rows, dx, dy, xhat, rstd, g, i32(rows), i32(d))
	c.launch("layernorm_grad_params", d, 0, dg, db, dy, xhat, i32(rows), i32(d))
}

// Attention implements Backend.
func (c *CUDA) Attention(ctx, probs, q, k, v, bias *Buf, batch, slots, heads, dh int) {
	c.launch("attention", batch*heads*slots, 0, ctx, probs, q, k, v, bias, i32(batch), i32(slots), i32(heads), i32(dh), f32(1/math.Sqrt(float64(dh))))
}

// AttentionGrad implements Backend.
func (c *CUDA) AttentionGrad(dq, dk, dv, dlogits, dctx, probs, q, k, v *Buf, batch, slots, heads, dh int) {
	scale := f32(1 / math.Sqrt(float64(dh)))
	n := batch * heads * slots
	c.launch("attention_grad_q", n, 0, dq, dlogits, dctx, probs, k, v, i32(batch), i32(slots), i32(heads), i32(dh), scale)
	c.launch("attention_grad_kv", n, 0, dk, dv, dlogits, probs, q, dctx, i32(batch), i32(slots), i32(heads), i32(dh), scale)
}

// KeepNormalize implements Backend.
func (c *CUDA) KeepNormalize(out, norms, x *Buf, batch, slots, first, keep, d int) {
	c.warps("keep_normalize", batch*keep, out, norms, x, i32(batch), i32(slots), i32(first), i32(keep), i32(d))
}

// KeepNormalizeGrad implements Backend.
func (c *CUDA) KeepNormalizeGrad(dx, dout, out, norms *Buf, batch, slots, first, keep, d int) {
	c.warps("keep_normalize_grad", batch*slots, dx, dout, out, norms, i32(batch), i32(slots), i32(first), i32(keep), i32(d))
}

// MaxSim implements Backend.
func (c *CUDA) MaxSim(scores *Buf, argmax *IBuf, sims, weight, bias *Buf, bt, ft, bi, fi int) {
	c.launch("maxsim", bt*bi, 0, scores, argmax, sims, weight, bias, i32(bt), i32(ft), i32(bi), i32(fi))
}

// MaxSimGrad implements Backend.
func (c *CUDA) MaxSimGrad(dsims, dscores *Buf, argmax *IBuf, weight *Buf, bt, ft, bi, fi int) {
	c.Zero(dsims)
	c.launch("maxsim_grad", bt*ft*bi, 0, dsims, dscores, argmax, weight, i32(bt), i32(ft), i32(bi), i32(fi))
}

// maxLossBatch is the largest batch the one-block loss kernel takes.
const maxLossBatch = 1024

// Loss implements Backend.
func (c *CUDA) Loss(out, ds, s, teacher *Buf, b int, w LossWeights) {
	if b > maxLossBatch {
		c.fail("loss", fmt.Errorf("batch %d exceeds the loss kernel's %d", b, maxLossBatch))
		return
	}
	threads := (b + 31) / 32 * 32
	c.launchBlocks("loss", 1, threads, 8*threads, out, ds, s, teacher, i32(b), f32(w.NCE), f32(w.NCETemp),
		f32(w.Hinge), f32(w.Margin), f32(w.VSE), f32(w.KD), f32(w.TeacherScale), f32(w.StudentScale), flag(w.Sum), flag(w.MaskPositive))
}

// SumSquares implements Backend.
func (c *CUDA) SumSquares(acc, x *Buf) {
	c.launch("sum_squares", min(x.n, 1<<20), 0, acc, x, i64(x.n))
}

// AdamW implements Backend.
func (c *CUDA) AdamW(w, g, m, v, acc *Buf, s AdamStep) {
	c1 := 1 - math.Pow(s.Beta1, float64(s.Step))
	c2 := 1 - math.Pow(s.Beta2, float64(s.Step))
	c.launch("adamw", min(w.n, 1<<20), 0, w, g, m, v, acc, i64(w.n), f64(s.LR), f64(s.Beta1), f64(s.Beta2),
		f64(s.Eps), f64(s.Decay), f64(s.ClipNorm), f64(c1), f64(c2))
}
