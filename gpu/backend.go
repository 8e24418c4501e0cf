package gpu

import "unsafe"

// Buf is an array of float32 values on a backend's device. A Buf made by
// one backend may only be passed to that backend.
type Buf struct {
	n    int
	host []float32 // Host backend
	ptr  uintptr   // CUDA backend: device address
}

// Len is the number of values.
func (b *Buf) Len() int { return b.n }

// Slice returns the view of n values from offset off, sharing storage.
func (b *Buf) Slice(off, n int) *Buf {
	if off < 0 || n < 0 || off+n > b.n {
		panic("gpu: slice out of range") // a bug in this package, not bad input
	}
	s := &Buf{n: n}
	if b.host != nil {
		s.host = b.host[off : off+n]
	}
	if b.ptr != 0 {
		s.ptr = b.ptr + uintptr(off)*unsafe.Sizeof(float32(0))
	}
	return s
}

// IBuf is an array of int32 values on a backend's device.
type IBuf struct {
	n    int
	host []int32
	ptr  uintptr
}

// Len is the number of values.
func (b *IBuf) Len() int { return b.n }

// LossWeights mixes the losses of one training step over the in-batch
// score matrix S (texts x images, matching pairs on the diagonal):
// NCE x InfoNCE(S / NCETemp) + Hinge x HingeL8(S, Margin, MaskPositive) +
// VSE x VSEHardest(S, Margin) +
// KD x SoftCrossEntropy(StudentScale S against softmax(TeacherScale T)),
// each as package models defines it, summed over the batch (Sum, the
// authors' models.ReduceSum) or averaged (models.ReduceMean).
type LossWeights struct {
	NCE, NCETemp                   float32
	Hinge, Margin                  float32
	VSE                            float32
	KD, TeacherScale, StudentScale float32
	Sum, MaskPositive              bool
}

// AdamStep is one AdamW update of one parameter (see models.AdamW): the
// gradient is scaled by ClipNorm/norm when the global norm (the square
// root of the accumulator the update reads) exceeds ClipNorm > 0.
type AdamStep struct {
	LR, Beta1, Beta2, Eps, Decay, ClipNorm float64
	Step                                   int // 1 for the first update
}

// Backend executes the operations of the training step. Operations are
// queued in order; errors are sticky: after the first failure every
// operation is skipped and Sync returns the error. Shapes are row-major.
// "Accumulates" means the output is added to, never overwritten.
type Backend interface {
	// Name says which device this is, for logs and results.
	Name() string
	Alloc(n int) *Buf // zeroed
	AllocInt(n int) *IBuf
	Upload(dst *Buf, src []float32)
	UploadInt(dst *IBuf, src []int32)
	Download(dst []float32, src *Buf)
	DownloadInt(dst []int32, src *IBuf)
	// Sync waits for the queued work and returns the first error.
	Sync() error
	// Close releases every buffer and the device.
	Close() error
	// SetPrecision makes later matrix products compute at p; a backend
	// that cannot says so.
	SetPrecision(p Precision) error

	Zero(x *Buf)
	Copy(dst, src *Buf) // len(src) values
	// Gemm is C = alpha op(A) op(B) + beta C for row-major A, B, C with
	// leading dimensions lda, ldb, ldc; op transposes when tA or tB.
	Gemm(tA, tB bool, m, n, k int, alpha float32, a *Buf, lda int, b *Buf, ldb int, beta float32, c *Buf, ldc int)

	// EmbedText writes x (batch, tokens+codes, d): token embedding plus
	// position embedding for the tokens, then the codes.
	EmbedText(x, tok, pos, codes *Buf, ids *IBuf, batch, tokens, nCodes, d int)
	// EmbedTextGrad accumulates into dtok the gradient of the token
	// embeddings from dx (batch, slots, d), whose first `tokens` slots are
	// tokens.
	EmbedTextGrad(dtok, dx *Buf, ids *IBuf, batch, tokens, slots, d int)
	// ImageSlots writes x (batch, 1+regions+codes, d): [CLS], the projected
	// regions proj (batch*regions, d), then the codes.
	ImageSlots(x, cls, proj, codes *Buf, batch, regions, nCodes, d int)
	// SumSlots accumulates out[t] += sum over b of x[b, first+t] for t
	// below count: the gradient of a row shared by every item.
	SumSlots(out, x *Buf, batch, slots, first, count, d int)
	// GatherSlots writes dst[b, t] = src[b, first+t] for t below count.
	GatherSlots(dst, src *Buf, batch, slots, first, count, d int)

	// AddBias adds b (cols) to every row of y (rows, cols), then applies
	// ReLU when relu.
	AddBias(y, b *Buf, rows, cols int, relu bool)
	// ReluGrad zeroes dy where y (a ReLU output) is not positive.
	ReluGrad(dy, y *Buf)
	// GELU writes y = x Φ(x) = 0.5 x (1 + erf(x/√2)) elementwise, BERT's
	// exact GELU (models.ActGELU), over the len(x) values of x.
	GELU(y, x *Buf)
	// GELUGrad multiplies dy by GELU's slope at x, Φ(x) + x φ(x): unlike
	// ReLU's, it needs GELU's input, not its output.
	GELUGrad(dy, x *Buf)
	// ColSum accumulates the column sums of x (rows, cols) into out.
	ColSum(out, x *Buf, rows, cols int)
	// LayerNorm writes y = LayerNorm(x + r) with gain g, bias b and
	// epsilon eps (models.Config.LayerNormEps) over rows of d (r may be
	// nil), keeping the normalised input xhat and the reciprocal standard
	// deviations rstd for the gradient.
	LayerNorm(y, xhat, rstd, x, r, g, b *Buf, rows, d int, eps float64)
	// LayerNormGrad writes dx, the gradient of LayerNorm's input, and
	// accumulates dg and db.
	LayerNormGrad(dx, dg, db, dy, xhat, rstd, g *Buf, rows, d int)
	// Attention is multi-head scaled dot-product attention of projected
	// q, k, v (batch*slots, heads*dh), with the additive key bias
	// (batch, slots; nil for none); it writes the context (batch*slots,
	// heads*dh) and the probabilities (batch, heads, slots, slots).
	Attention(ctx, probs, q, k, v, bias *Buf, batch, slots, heads, dh int)
	// AttentionGrad writes dq, dk, dv from dctx, using dlogits (the size
	// of probs) as scratch.
	AttentionGrad(dq, dk, dv, dlogits, dctx, probs, q, k, v *Buf, batch, slots, heads, dh int)
	// KeepNormalize writes keep of every item's slots from slot first,
	// L2-normalised, to out (batch, keep, d) and their norms to norms.
	KeepNormalize(out, norms, x *Buf, batch, slots, first, keep, d int)
	// KeepNormalizeGrad writes dx (batch, slots, d), zero in the slots not
	// kept.
	KeepNormalizeGrad(dx, dout, out, norms *Buf, batch, slots, first, keep, d int)
	// MaxSim writes scores (bt, bi) from the fragment similarities sims
	// (bt*ft, bi*fi): for each pair the weighted sum over text fragments
	// of the best image fragment after adding its bias. weight (bt, ft)
	// and bias (bi, fi) may be nil; argmax (bt*ft*bi), if not nil,
	// receives the best image fragment.
	MaxSim(scores *Buf, argmax *IBuf, sims, weight, bias *Buf, bt, ft, bi, fi int)
	// MaxSimGrad writes dsims (bt*ft, bi*fi), non-zero only at the argmax.
	MaxSimGrad(dsims, dscores *Buf, argmax *IBuf, weight *Buf, bt, ft, bi, fi int)
	// Loss writes the loss of the score matrix s (b, b) to out[0] and its
	// gradient to ds; teacher (b, b) is read when w.KD is not zero.
	Loss(out, ds, s, teacher *Buf, b int, w LossWeights)
	// SumSquares accumulates the sum of squares of x into acc[0].
	SumSquares(acc, x *Buf)
	// AdamW updates w from g with the moments m, v, reading the global
	// squared gradient norm from acc[0].
	AdamW(w, g, m, v, acc *Buf, s AdamStep)
}
