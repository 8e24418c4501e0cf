package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The functions in this file compose Gorgonia operations into the pieces
// the models need. Gorgonia has no LayerNorm, and its InverseSqrt gradient
// and LogSumExp are broken, so normalisations use Sqrt and division. Each
// works for float32 and float64 inputs so that tests can check gradients
// in float64.

// scalar returns a constant of x's dtype.
func scalar(x *G.Node, v float64) *G.Node {
	if x.Dtype() == tensor.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
}

// LayerNorm normalises each row of x (N, d) to zero mean and unit variance
// and applies the gain g (d) and bias b (d).
func LayerNorm(x, g, b *G.Node, eps float64) (*G.Node, error) {
	mean, err := G.Mean(x, 1)
	if err != nil {
		return nil, err
	}
	centred, err := G.BroadcastSub(x, mean, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(centred)
	if err != nil {
		return nil, err
	}
	variance, err := G.Mean(sq, 1)
	if err != nil {
		return nil, err
	}
	std, err := G.Sqrt(G.Must(G.Add(variance, scalar(x, eps))))
	if err != nil {
		return nil, err
	}
	normed, err := G.BroadcastHadamardDiv(centred, std, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	scaled, err := G.BroadcastHadamardProd(normed, g, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(scaled, b, nil, []byte{0})
}

// L2Normalize divides each vector along the last axis of x (any rank >= 2)
// by its Euclidean norm (plus a tiny epsilon inside the root).
func L2Normalize(x *G.Node) (*G.Node, error) {
	last := x.Dims() - 1
	sq, err := G.Square(x)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(sq, last)
	if err != nil {
		return nil, err
	}
	norm, err := G.Sqrt(G.Must(G.Add(sum, scalar(x, 1e-12))))
	if err != nil {
		return nil, err
	}
	return G.BroadcastHadamardDiv(x, norm, nil, []byte{byte(last)})
}

// Linear computes x w + b for x (N, in), w (in, out), b (out).
func Linear(x, w, b *G.Node) (*G.Node, error) {
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, b, nil, []byte{0})
}

// GELU is BERT's activation in its exact form, x Φ(x) =
// 0.5 x (1 + erf(x/√2)) with Φ the standard normal CDF. Gorgonia has no
// erf, so erf is an op of its own (erf); the products around it, and
// their gradients, are Gorgonia's, which makes this an independent
// reference for the fused GELU, whose gradient is written out by hand.
func GELU(x *G.Node) (*G.Node, error) {
	e, err := erf(G.Must(G.Mul(x, scalar(x, 1/math.Sqrt2))))
	if err != nil {
		return nil, err
	}
	half, err := G.Mul(x, scalar(x, 0.5))
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(half, G.Must(G.Add(e, scalar(x, 1))))
}

// erf is the error function, elementwise: the one step of GELU that
// Gorgonia lacks, as an op of this package (fused.go's machinery) whose
// gradient, dy 2/√π exp(-x²), is composed of Gorgonia operations.
func erf(x *G.Node) (*G.Node, error) {
	fwd := newFusedOp("Erf", x.Shape(), both(erfKernel[float32], erfKernel[float64]), x)
	grad := func(in G.Nodes, _, dy *G.Node) (*G.Node, error) {
		sq, err := G.Square(in[0])
		if err != nil {
			return nil, err
		}
		slope, err := G.Mul(G.Must(G.Exp(G.Must(G.Neg(sq)))), scalar(x, 2/math.SqrtPi))
		if err != nil {
			return nil, err
		}
		return G.HadamardProd(dy, slope)
	}
	return G.ApplyOp(&diffOp{fusedOp: fwd, grads: []gradFunc{grad}}, x)
}

func erfKernel[T float](y []T, in [][]T) {
	for k, v := range in[0] {
		y[k] = T(math.Erf(float64(v)))
	}
}

// AttentionWeights are the projections of one multi-head attention.
type AttentionWeights struct {
	Q, QB, K, KB, V, VB, O, OB *G.Node
}

// Attention is multi-head scaled dot-product self-attention over x, given
// as (batch*slots, d) rows. bias, if not nil, is (batch, slots) and is added
// to every attention logit towards that key slot (0 to attend, a large
// negative number to ignore a padded slot).
func Attention(x *G.Node, batch, slots, heads int, w AttentionWeights, bias *G.Node) (*G.Node, error) {
	d := x.Shape()[1]
	dh := d / heads
	split := func(m, mb *G.Node) (*G.Node, error) {
		y, err := Linear(x, m, mb)
		if err != nil {
			return nil, err
		}
		if y, err = G.Reshape(y, tensor.Shape{batch, slots, heads, dh}); err != nil {
			return nil, err
		}
		if y, err = G.Transpose(y, 0, 2, 1, 3); err != nil {
			return nil, err
		}
		return G.Reshape(y, tensor.Shape{batch * heads, slots, dh})
	}
	q, err := split(w.Q, w.QB)
	if err != nil {
		return nil, fmt.Errorf("attention query: %w", err)
	}
	k, err := split(w.K, w.KB)
	if err != nil {
		return nil, fmt.Errorf("attention key: %w", err)
	}
	v, err := split(w.V, w.VB)
	if err != nil {
		return nil, fmt.Errorf("attention value: %w", err)
	}
	logits, err := G.BatchedMatMul(q, k, false, true)
	if err != nil {
		return nil, err
	}
	if logits, err = G.Mul(logits, scalar(x, 1/math.Sqrt(float64(dh)))); err != nil {
		return nil, err
	}
	if bias != nil {
		if logits, err = G.Reshape(logits, tensor.Shape{batch, heads, slots, slots}); err != nil {
			return nil, err
		}
		if logits, err = G.BroadcastAdd(logits, bias, nil, []byte{1, 2}); err != nil {
			return nil, err
		}
		if logits, err = G.Reshape(logits, tensor.Shape{batch * heads, slots, slots}); err != nil {
			return nil, err
		}
	}
	probs, err := G.SoftMax(logits)
	if err != nil {
		return nil, err
	}
	ctx, err := G.BatchedMatMul(probs, v)
	if err != nil {
		return nil, err
	}
	if ctx, err = G.Reshape(ctx, tensor.Shape{batch, heads, slots, dh}); err != nil {
		return nil, err
	}
	if ctx, err = G.Transpose(ctx, 0, 2, 1, 3); err != nil {
		return nil, err
	}
	if ctx, err = G.Reshape(ctx, tensor.Shape{batch * slots, d}); err != nil {
		return nil, err
	}
	return Linear(ctx, w.O, w.OB)
}

// MaxSim scores every text against every image by the text-query late
// interaction: for text t and image i, the sum over t's fragments of the
// best cosine against i's fragments. text is (Bt, Ft, d) and image
// (Bi, Fi, d), both L2-normalised. textWeight (Bt, Ft), if not nil, scales
// each text fragment's term (1 real, 0 padding); imageBias (Bi, Fi), if not
// nil, is added to each similarity before the max (0 real, a large negative
// number for padding). The result is (Bt, Bi).
//
// MaxSim follows its inputs: when the text fragments come from a fused
// encoder (a model without Composed), it is one fused op; otherwise it is
// composed of Gorgonia operations, the reference the fused op is tested
// against.
func MaxSim(text, image, textWeight, imageBias *G.Node) (*G.Node, error) {
	if _, fused := text.Op().(*diffOp); fused {
		return fusedMaxSim(text, image, textWeight, imageBias)
	}
	return maxSimComposed(text, image, textWeight, imageBias)
}

// maxSimComposed is MaxSim composed of Gorgonia operations.
func maxSimComposed(text, image, textWeight, imageBias *G.Node) (*G.Node, error) {
	ts, is := text.Shape(), image.Shape()
	bt, ft, d := ts[0], ts[1], ts[2]
	bi, fi := is[0], is[1]
	t2, err := G.Reshape(text, tensor.Shape{bt * ft, d})
	if err != nil {
		return nil, err
	}
	i2, err := G.Reshape(image, tensor.Shape{bi * fi, d})
	if err != nil {
		return nil, err
	}
	it, err := G.Transpose(i2)
	if err != nil {
		return nil, err
	}
	sims, err := G.Mul(t2, it)
	if err != nil {
		return nil, err
	}
	if sims, err = G.Reshape(sims, tensor.Shape{bt, ft, bi, fi}); err != nil {
		return nil, err
	}
	if imageBias != nil {
		if sims, err = G.BroadcastAdd(sims, imageBias, nil, []byte{0, 1}); err != nil {
			return nil, err
		}
	}
	best, err := G.Max(sims, 3)
	if err != nil {
		return nil, err
	}
	if textWeight != nil {
		if best, err = G.BroadcastHadamardProd(best, textWeight, nil, []byte{2}); err != nil {
			return nil, err
		}
	}
	return G.Sum(best, 1)
}

// HingeL8 is the authors' bidirectional hinge triplet loss over an in-batch
// score matrix s (B, B) whose diagonal holds the matching pairs. For each
// anchor (row and column), the violations max(0, margin + s_neg - s_pos) of
// its negatives are combined by an L8 norm, a smooth stand-in for the
// hardest negative of VSE++; r adds (ReduceSum) or averages (ReduceMean)
// the 2B anchors' norms. As in the authors' com_cost, each anchor's sum
// also holds its own pair's term max(0, margin + s_pos - s_pos) = margin,
// a constant that damps small violations, unless maskPositive drops it.
func HingeL8(s *G.Node, margin float64, maskPositive bool, r Reduction) (*G.Node, error) {
	b := s.Shape()[0]
	eye, offDiag := identityPair(s, b)
	diag, err := G.Sum(G.Must(G.HadamardProd(s, eye)), 1)
	if err != nil {
		return nil, err
	}
	var total *G.Node
	// axis 1: a row anchor compares s[r, c] with s[r, r]; axis 0: a column
	// anchor compares s[r, c] with s[c, c].
	for _, axis := range []byte{1, 0} {
		shifted, err := G.BroadcastSub(s, diag, nil, []byte{axis})
		if err != nil {
			return nil, err
		}
		viol, err := G.Rectify(G.Must(G.Add(shifted, scalar(s, margin))))
		if err != nil {
			return nil, err
		}
		if maskPositive {
			viol = G.Must(G.HadamardProd(viol, offDiag))
		}
		norm, err := l8(viol, int(axis))
		if err != nil {
			return nil, err
		}
		sum, err := G.Sum(norm)
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = sum
		} else if total, err = G.Add(total, sum); err != nil {
			return nil, err
		}
	}
	return G.Mul(total, scalar(s, r.anchorScale(b, 1)))
}

// l8 returns (sum over axis of v^8 + eps)^(1/8) for non-negative v. The
// epsilon keeps the root's gradient finite when every violation is zero.
func l8(v *G.Node, axis int) (*G.Node, error) {
	p := v
	for range 3 {
		var err error
		if p, err = G.Square(p); err != nil {
			return nil, err
		}
	}
	sum, err := G.Sum(p, axis)
	if err != nil {
		return nil, err
	}
	return G.Pow(G.Must(G.Add(sum, scalar(v, 1e-20))), scalar(v, 0.125))
}

// identityPair returns the identity and its complement as constants of
// size n and s's dtype.
func identityPair(s *G.Node, n int) (eye, offDiag *G.Node) {
	e := make([]float64, n*n)
	o := make([]float64, n*n)
	for i := range e {
		if i/n == i%n {
			e[i] = 1
		} else {
			o[i] = 1
		}
	}
	g := s.Graph()
	return G.NodeFromAny(g, denseOf(s.Dtype(), e, n, n), G.WithName("eye")),
		G.NodeFromAny(g, denseOf(s.Dtype(), o, n, n), G.WithName("off_diagonal"))
}

// denseOf builds a tensor of dtype dt from float64 values.
func denseOf(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float64 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
}

// InfoNCE is the symmetric in-batch contrastive loss (CLIP's): the
// cross-entropies of each row's and each column's softmax of s/temp
// against the matching pair on the diagonal, combined as
// SoftCrossEntropy combines them.
func InfoNCE(s *G.Node, temp float64, r Reduction) (*G.Node, error) {
	eye, _ := identityPair(s, s.Shape()[0])
	return SoftCrossEntropy(s, eye, eye, 1/temp, r)
}

// SoftCrossEntropy is the bidirectional cross-entropy of the softmaxes of
// scale*s (B, B) against target distributions: half of CE(rowTarget[r],
// softmax(scale*s[r, :])) for each row plus half of CE(colTargetT[c],
// softmax(scale*s[:, c])) for each column, summed over the B rows and B
// columns (ReduceSum, the authors' compute_distill) or averaged over them
// (ReduceMean). colTargetT holds the column targets transposed (row c is
// column c's distribution), so that both directions are row softmaxes.
func SoftCrossEntropy(s, rowTarget, colTargetT *G.Node, scale float64, r Reduction) (*G.Node, error) {
	b := s.Shape()[0]
	rows, err := G.Mul(s, scalar(s, scale))
	if err != nil {
		return nil, err
	}
	cols, err := G.Mul(G.Must(G.Transpose(s)), scalar(s, scale))
	if err != nil {
		return nil, err
	}
	var total *G.Node
	for _, side := range []struct{ logits, target *G.Node }{{rows, rowTarget}, {cols, colTargetT}} {
		logp, err := G.LogSoftMax(side.logits, 1)
		if err != nil {
			return nil, err
		}
		ce, err := G.Sum(G.Must(G.HadamardProd(logp, side.target)))
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = ce
		} else if total, err = G.Add(total, ce); err != nil {
			return nil, err
		}
	}
	return G.Mul(total, scalar(s, -0.5*r.anchorScale(b, 2)))
}
