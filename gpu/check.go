package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// OpCheck runs one backend operation on random inputs drawn from rng and
// returns every output, downloaded and concatenated. Run on two backends
// with equally seeded rngs, it gives comparable outputs: the GPU check
// compares each CUDA kernel with its Host twin this way.
type OpCheck struct {
	Name string
	Run  func(be Backend, rng *rand.Rand) ([]float32, error)
}

// OpResult is one operation's largest difference between two backends,
// relative to the reference output's largest magnitude.
type OpResult struct {
	Name   string
	RelErr float64
	OK     bool
}

// OpTolerance is the largest relative difference CompareOps accepts:
// float32 outputs computed in a different order.
const OpTolerance = 1e-4

// CompareOps runs every check of OpChecks on ref and dev with the same
// seed and compares their outputs.
func CompareOps(ref, dev Backend, seed uint64) ([]OpResult, error) {
	var out []OpResult
	for _, c := range OpChecks() {
		want, err := c.Run(ref, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			return nil, fmt.Errorf("gpu: %s on %s: %w", c.Name, ref.Name(), err)
		}
		got, err := c.Run(dev, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			return nil, fmt.Errorf("gpu: %s on %s: %w", c.Name, dev.Name(), err)
		}
		rel := RelDiff(got, want)
		out = append(out, OpResult{Name: c.Name, RelErr: rel, OK: len(got) == len(want) && rel <= OpTolerance})
	}
	return out, nil
}

// RelDiff is max |got-want| over max |want| (NaN anywhere gives +Inf).
func RelDiff(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		diff, scale = max(diff, d), max(scale, math.Abs(float64(want[i])))
	}
	return diff / max(scale, 1e-30)
}

// Shapes of the op checks: small, but with widths that are not multiples
// of a warp and batches that are not powers of two.
const (
	ckBatch, ckTokens, ckCodes, ckRegions = 5, 7, 3, 6
	ckD, ckHeads, ckFF, ckVocab           = 48, 3, 80, 40
)

// rnd uploads n normal values times scale.
func rnd(be Backend, rng *rand.Rand, n int, scale float64) *Buf {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	b := be.Alloc(n)
	be.Upload(b, v)
	return b
}

// ids uploads n token ids below vocab, with repeats.
func ids(be Backend, rng *rand.Rand, n, vocab int) *IBuf {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(rng.IntN(vocab))
	}
	b := be.AllocInt(n)
	be.UploadInt(b, v)
	return b
}

// maskBias uploads a (batch, slots) additive bias hiding a few slots.
func maskBias(be Backend, rng *rand.Rand, batch, slots int) *Buf {
	v := make([]float32, batch*slots)
	for i := range v {
		if i%slots > 0 && rng.IntN(4) == 0 {
			v[i] = -1e4
		}
	}
	b := be.Alloc(len(v))
	be.Upload(b, v)
	return b
}

// collect downloads the buffers and concatenates them.
func collect(be Backend, bufs ...*Buf) ([]float32, error) {
	var out []float32
	for _, b := range bufs {
		v := make([]float32, b.Len())
		be.Download(v, b)
		out = append(out, v...)
	}
	return out, be.Sync()
}

// OpChecks lists a check of every Backend operation.
func OpChecks() []OpCheck {
	const b, d = ckBatch, ckD
	tslots, islots := ckTokens+ckCodes, 1+ckRegions+ckCodes
	dh := d / ckHeads
	checks := []OpCheck{
		{"embed_text", func(be Backend, rng *rand.Rand) ([]float32, error) {
			x, tok, pos, codes := be.Alloc(b*tslots*d), rnd(be, rng, ckVocab*d, 1), rnd(be, rng, ckTokens*d, 1), rnd(be, rng, ckCodes*d, 1)
			be.EmbedText(x, tok, pos, codes, ids(be, rng, b*ckTokens, ckVocab), b, ckTokens, ckCodes, d)
			return collect(be, x)
		}},
		{"embed_text_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			dtok := rnd(be, rng, ckVocab*d, 1)
			be.EmbedTextGrad(dtok, rnd(be, rng, b*tslots*d, 1), ids(be, rng, b*ckTokens, 9), b, ckTokens, tslots, d)
			return collect(be, dtok)
		}},
		{"image_slots", func(be Backend, rng *rand.Rand) ([]float32, error) {
			x := be.Alloc(b * islots * d)
			be.ImageSlots(x, rnd(be, rng, d, 1), rnd(be, rng, b*ckRegions*d, 1), rnd(be, rng, ckCodes*d, 1), b, ckRegions, ckCodes, d)
			return collect(be, x)
		}},
		{"sum_slots", func(be Backend, rng *rand.Rand) ([]float32, error) {
			out := rnd(be, rng, ckCodes*d, 1)
			be.SumSlots(out, rnd(be, rng, b*islots*d, 1), b, islots, 1+ckRegions, ckCodes, d)
			return collect(be, out)
		}},
		{"gather_slots", func(be Backend, rng *rand.Rand) ([]float32, error) {
			dst := be.Alloc(b * ckRegions * d)
			be.GatherSlots(dst, rnd(be, rng, b*islots*d, 1), b, islots, 1, ckRegions, d)
			return collect(be, dst)
		}},
		{"add_bias_relu", func(be Backend, rng *rand.Rand) ([]float32, error) {
			y, z, bias := rnd(be, rng, 37*ckFF, 1), rnd(be, rng, 37*ckFF, 1), rnd(be, rng, ckFF, 1)
			be.AddBias(y, bias, 37, ckFF, false)
			be.AddBias(z, bias, 37, ckFF, true)
			return collect(be, y, z)
		}},
		{"relu_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			dy := rnd(be, rng, 301, 1)
			be.ReluGrad(dy, rnd(be, rng, 301, 1))
			return collect(be, dy)
		}},
		{"gelu", func(be Backend, rng *rand.Rand) ([]float32, error) {
			y := be.Alloc(301)
			be.GELU(y, rnd(be, rng, 301, 2))
			return collect(be, y)
		}},
		{"gelu_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			dy := rnd(be, rng, 301, 1)
			be.GELUGrad(dy, rnd(be, rng, 301, 2))
			return collect(be, dy)
		}},
		{"col_sum", func(be Backend, rng *rand.Rand) ([]float32, error) {
			out := rnd(be, rng, ckFF, 1)
			be.ColSum(out, rnd(be, rng, 123*ckFF, 1), 123, ckFF)
			return collect(be, out)
		}},
		{"layernorm", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const rows = 29
			y, xhat, rstd := be.Alloc(rows*d), be.Alloc(rows*d), be.Alloc(rows)
			y2, xhat2, rstd2 := be.Alloc(rows*d), be.Alloc(rows*d), be.Alloc(rows)
			x, r, g, bias := rnd(be, rng, rows*d, 2), rnd(be, rng, rows*d, 1), rnd(be, rng, d, 1), rnd(be, rng, d, 1)
			be.LayerNorm(y, xhat, rstd, x, r, g, bias, rows, d, 1e-5)
			be.LayerNorm(y2, xhat2, rstd2, x, nil, g, bias, rows, d, 1e-5)
			return collect(be, y, xhat, rstd, y2, xhat2, rstd2)
		}},
		{"layernorm_eps", func(be Backend, rng *rand.Rand) ([]float32, error) {
			// Rows of standard deviation near 3e-3, whose output an
			// epsilon of 1e-12 (BERT's) or 1e-3 decides: one of 1e-5
			// in their place gives other values.
			const rows, scale = 29, 3e-3
			x, g, bias := rnd(be, rng, rows*d, scale), rnd(be, rng, d, 1), rnd(be, rng, d, 1)
			var out []float32
			for _, eps := range []float64{1e-12, 1e-3} {
				y, xhat, rstd := be.Alloc(rows*d), be.Alloc(rows*d), be.Alloc(rows)
				be.LayerNorm(y, xhat, rstd, x, nil, g, bias, rows, d, eps)
				v, err := collect(be, y, xhat, rstd)
				if err != nil {
					return nil, err
				}
				// rstd is near 1/scale: brought to the others' magnitude,
				// so that the comparison relative to the largest value
				// sees the errors of every output.
				for i := 2 * rows * d; i < len(v); i++ {
					v[i] *= scale
				}
				out = append(out, v...)
			}
			return out, nil
		}},
		{"layernorm_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const rows = 29
			y, xhat, rstd := be.Alloc(rows*d), be.Alloc(rows*d), be.Alloc(rows)
			g := rnd(be, rng, d, 1)
			be.LayerNorm(y, xhat, rstd, rnd(be, rng, rows*d, 2), nil, g, rnd(be, rng, d, 1), rows, d, 1e-5)
			dx, dg, db := be.Alloc(rows*d), rnd(be, rng, d, 1), rnd(be, rng, d, 1)
			be.LayerNormGrad(dx, dg, db, rnd(be, rng, rows*d, 1), xhat, rstd, g, rows, d)
			return collect(be, dx, dg, db)
		}},
		{"attention", func(be Backend, rng *rand.Rand) ([]float32, error) {
			n := b * tslots * d
			q, k, v := rnd(be, rng, n, 1), rnd(be, rng, n, 1), rnd(be, rng, n, 1)
			ctx, probs := be.Alloc(n), be.Alloc(b*ckHeads*tslots*tslots)
			ctx2, probs2 := be.Alloc(n), be.Alloc(b*ckHeads*tslots*tslots)
			be.Attention(ctx, probs, q, k, v, maskBias(be, rng, b, tslots), b, tslots, ckHeads, dh)
			be.Attention(ctx2, probs2, q, k, v, nil, b, tslots, ckHeads, dh)
			return collect(be, ctx, probs, ctx2, probs2)
		}},
		{"attention_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			n := b * tslots * d
			q, k, v := rnd(be, rng, n, 1), rnd(be, rng, n, 1), rnd(be, rng, n, 1)
			ctx, probs := be.Alloc(n), be.Alloc(b*ckHeads*tslots*tslots)
			be.Attention(ctx, probs, q, k, v, maskBias(be, rng, b, tslots), b, tslots, ckHeads, dh)
			dq, dk, dv, dl := be.Alloc(n), be.Alloc(n), be.Alloc(n), be.Alloc(probs.Len())
			be.AttentionGrad(dq, dk, dv, dl, rnd(be, rng, n, 1), probs, q, k, v, b, tslots, ckHeads, dh)
			return collect(be, dq, dk, dv)
		}},
		{"keep_normalize", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const keep = 4
			out, norms := be.Alloc(b*keep*d), be.Alloc(b*keep)
			be.KeepNormalize(out, norms, rnd(be, rng, b*islots*d, 1), b, islots, 2, keep, d)
			return collect(be, out, norms)
		}},
		{"keep_normalize_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const keep = 4
			out, norms := be.Alloc(b*keep*d), be.Alloc(b*keep)
			be.KeepNormalize(out, norms, rnd(be, rng, b*islots*d, 1), b, islots, 2, keep, d)
			dx := rnd(be, rng, b*islots*d, 1)
			be.KeepNormalizeGrad(dx, rnd(be, rng, b*keep*d, 1), out, norms, b, islots, 2, keep, d)
			return collect(be, dx)
		}},
		{"maxsim", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const bt, ft, bi, fi = 6, 5, 7, 4
			scores, arg := be.Alloc(bt*bi), be.AllocInt(bt*ft*bi)
			scores2 := be.Alloc(bt * bi)
			sims := rnd(be, rng, bt*ft*bi*fi, 1)
			be.MaxSim(scores, arg, sims, rnd(be, rng, bt*ft, 1), maskBias(be, rng, bi, fi), bt, ft, bi, fi)
			be.MaxSim(scores2, nil, sims, nil, nil, bt, ft, bi, fi)
			argmax := make([]int32, arg.Len())
			be.DownloadInt(argmax, arg)
			out, err := collect(be, scores, scores2)
			for _, a := range argmax {
				out = append(out, float32(a))
			}
			return out, err
		}},
		{"maxsim_grad", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const bt, ft, bi, fi = 6, 5, 7, 4
			scores, arg := be.Alloc(bt*bi), be.AllocInt(bt*ft*bi)
			weight := rnd(be, rng, bt*ft, 1)
			be.MaxSim(scores, arg, rnd(be, rng, bt*ft*bi*fi, 1), weight, nil, bt, ft, bi, fi)
			dsims := rnd(be, rng, bt*ft*bi*fi, 1)
			be.MaxSimGrad(dsims, rnd(be, rng, bt*bi, 1), arg, weight, bt, ft, bi, fi)
			return collect(be, dsims)
		}},
		{"sum_squares", func(be Backend, rng *rand.Rand) ([]float32, error) {
			acc := rnd(be, rng, 1, 1)
			be.SumSquares(acc, rnd(be, rng, 100003, 1))
			return collect(be, acc)
		}},
		{"adamw", func(be Backend, rng *rand.Rand) ([]float32, error) {
			const n = 1000
			w, g, m, v := rnd(be, rng, n, 1), rnd(be, rng, n, 1), rnd(be, rng, n, 0.1), be.Alloc(n)
			be.Upload(v, make([]float32, n))
			acc := be.Alloc(1)
			be.SumSquares(acc, g) // a norm near 31.6: the clip at 2 applies
			be.AdamW(w, g, m, v, acc, AdamStep{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Decay: 1e-4, ClipNorm: 2, Step: 3})
			return collect(be, w, m, v)
		}},
	}
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		checks = append(checks, OpCheck{fmt.Sprintf("gemm_t%v_t%v", tr[0], tr[1]), func(be Backend, rng *rand.Rand) ([]float32, error) {
			const m, n, k = 33, 45, 70
			c := rnd(be, rng, m*n, 1)
			be.Gemm(tr[0], tr[1], m, n, k, 0.7, rnd(be, rng, m*k, 1), pick(tr[0], m, k), rnd(be, rng, k*n, 1), pick(tr[1], k, n), 0.3, c, n)
			return collect(be, c)
		}})
	}
	for _, w := range []LossWeights{
		{NCE: 1, NCETemp: 0.1},
		{Hinge: 1, Margin: 0.2},
		{KD: 1, TeacherScale: 2, StudentScale: 16},
		{NCE: 0.5, NCETemp: 0.1, Hinge: 0.5, Margin: 0.6},
		{VSE: 1, Margin: 0.2},
		{Hinge: 1, Margin: 0.6, Sum: true},
		{Hinge: 1, Margin: 0.6, Sum: true, MaskPositive: true},
		{NCE: 1, NCETemp: 0.1, Sum: true},
		{KD: 1, TeacherScale: 16, StudentScale: 16, Sum: true},
		{VSE: 1, Margin: 0.2, Sum: true},
	} {
		checks = append(checks, OpCheck{fmt.Sprintf("loss_%+v", w), func(be Backend, rng *rand.Rand) ([]float32, error) {
			const n = 37
			out, ds := be.Alloc(1), be.Alloc(n*n)
			be.Loss(out, ds, rnd(be, rng, n*n, 0.3), rnd(be, rng, n*n, 1), n, w)
			return collect(be, out, ds)
		}})
	}
	return checks
}

// pick is the leading dimension of a row-major operand stored as
// (rows, cols), or transposed (cols, rows) when t.
func pick(t bool, rows, cols int) int {
	if t {
		return rows
	}
	return cols
}
