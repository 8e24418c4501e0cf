package gpu

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Host is the Backend of plain Go loops on the CPU: the reference every
// other backend is checked against. Its zero value is ready to use.
type Host struct{}

var _ Backend = Host{}

// Name implements Backend.
func (Host) Name() string { return "cpu (gpu package reference loops)" }

// SetPrecision implements Backend: the reference loops compute in
// float64, so only FP32 (the products' rounding nearest theirs) is taken.
func (Host) SetPrecision(p Precision) error {
	if p != FP32 {
		return fmt.Errorf("gpu: precision %s needs a GPU (the host backend computes in float64)", p)
	}
	return nil
}

// Alloc implements Backend.
func (Host) Alloc(n int) *Buf { return &Buf{n: n, host: make([]float32, n)} }

// AllocInt implements Backend.
func (Host) AllocInt(n int) *IBuf { return &IBuf{n: n, host: make([]int32, n)} }

// Upload implements Backend.
func (Host) Upload(dst *Buf, src []float32) { copy(dst.host, src) }

// UploadInt implements Backend.
func (Host) UploadInt(dst *IBuf, src []int32) { copy(dst.host, src) }

// Download implements Backend.
func (Host) Download(dst []float32, src *Buf) { copy(dst, src.host) }

// DownloadInt implements Backend.
func (Host) DownloadInt(dst []int32, src *IBuf) { copy(dst, src.host) }

// Sync implements Backend; host work is done when queued.
func (Host) Sync() error { return nil }

// Close implements Backend.
func (Host) Close() error { return nil }

// Zero implements Backend.
func (Host) Zero(x *Buf) { clear(x.host) }

// Copy implements Backend.
func (Host) Copy(dst, src *Buf) { copy(dst.host, src.host) }

// Gemm implements Backend.
func (Host) Gemm(tA, tB bool, m, n, k int, alpha float32, a *Buf, lda int, b *Buf, ldb int, beta float32, c *Buf, ldc int) {
	blas32.Implementation().Sgemm(trans(tA), trans(tB), m, n, k, alpha, a.host, lda, b.host, ldb, beta, c.host, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// EmbedText implements Backend.
func (Host) EmbedText(x, tok, pos, codes *Buf, ids *IBuf, batch, tokens, nCodes, d int) {
	slots := tokens + nCodes
	for b := 0; b < batch; b++ {
		for s := 0; s < slots; s++ {
			dst := x.host[(b*slots+s)*d : (b*slots+s+1)*d]
			if s >= tokens {
				copy(dst, codes.host[(s-tokens)*d:(s-tokens+1)*d])
				continue
			}
			id := int(ids.host[b*tokens+s])
			for j := range dst {
				dst[j] = tok.host[id*d+j] + pos.host[s*d+j]
			}
		}
	}
}

// EmbedTextGrad implements Backend.
func (Host) EmbedTextGrad(dtok, dx *Buf, ids *IBuf, batch, tokens, slots, d int) {
	for b := 0; b < batch; b++ {
		for s := 0; s < tokens; s++ {
			id := int(ids.host[b*tokens+s])
			for j := 0; j < d; j++ {
				dtok.host[id*d+j] += dx.host[(b*slots+s)*d+j]
			}
		}
	}
}

// ImageSlots implements Backend.
func (Host) ImageSlots(x, cls, proj, codes *Buf, batch, regions, nCodes, d int) {
	slots := 1 + regions + nCodes
	for b := 0; b < batch; b++ {
		row := func(s int) []float32 { return x.host[(b*slots+s)*d : (b*slots+s+1)*d] }
		copy(row(0), cls.host[:d])
		for r := 0; r < regions; r++ {
			copy(row(1+r), proj.host[(b*regions+r)*d:(b*regions+r+1)*d])
		}
		for c := 0; c < nCodes; c++ {
			copy(row(1+regions+c), codes.host[c*d:(c+1)*d])
		}
	}
}

// SumSlots implements Backend.
func (Host) SumSlots(out, x *Buf, batch, slots, first, count, d int) {
	for b := 0; b < batch; b++ {
		for t := 0; t < count; t++ {
			src := x.host[(b*slots+first+t)*d : (b*slots+first+t+1)*d]
			for j, v := range src {
				out.host[t*d+j] += v
			}
		}
	}
}

// GatherSlots implements Backend.
func (Host) GatherSlots(dst, src *Buf, batch, slots, first, count, d int) {
	for b := 0; b < batch; b++ {
		copy(dst.host[b*count*d:(b+1)*count*d], src.host[(b*slots+first)*d:(b*slots+first+count)*d])
	}
}

// AddBias implements Backend.
func (Host) AddBias(y, b *Buf, rows, cols int, relu bool) {
	for r := 0; r < rows; r++ {
		row := y.host[r*cols : (r+1)*cols]
		for c := range row {
			v := row[c] + b.host[c]
			if relu && v < 0 {
				v = 0
			}
			row[c] = v
		}
	}
}

// ReluGrad implements Backend.
func (Host) ReluGrad(dy, y *Buf) {
	for i, v := range y.host {
		if v <= 0 {
			dy.host[i] = 0
		}
	}
}

// GELU implements Backend.
func (Host) GELU(y, x *Buf) {
	for i, v := range x.host {
		y.host[i] = float32(gelu(float64(v)))
	}
}

// GELUGrad implements Backend.
func (Host) GELUGrad(dy, x *Buf) {
	for i, v := range x.host {
		dy.host[i] = float32(float64(dy.host[i]) * geluSlope(float64(v)))
	}
}

// gelu is x Φ(x), models' GELU.
func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// geluSlope is gelu's derivative, Φ(x) + x φ(x).
func geluSlope(x float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

// ColSum implements Backend.
func (Host) ColSum(out, x *Buf, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c, v := range x.host[r*cols : (r+1)*cols] {
			out.host[c] += v
		}
	}
}

// LayerNorm implements Backend.
func (Host) LayerNorm(y, xhat, rstd, x, r, g, b *Buf, rows, d int, eps float64) {
	in := make([]float64, d)
	for i := 0; i < rows; i++ {
		var mean float64
		for j := range in {
			in[j] = float64(x.host[i*d+j])
			if r != nil {
				in[j] += float64(r.host[i*d+j])
			}
			mean += in[j]
		}
		mean /= float64(d)
		var variance float64
		for _, v := range in {
			variance += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(variance/float64(d)+eps)
		rstd.host[i] = float32(inv)
		for j, v := range in {
			h := (v - mean) * inv
			xhat.host[i*d+j] = float32(h)
			y.host[i*d+j] = float32(h)*g.host[j] + b.host[j]
		}
	}
}

// LayerNormGrad implements Backend.
func (Host) LayerNormGrad(dx, dg, db, dy, xhat, rstd, g *Buf, rows, d int) {
	for i := 0; i < rows; i++ {
		var meanG, meanGX float64
		for j := 0; j < d; j++ {
			gy := float64(dy.host[i*d+j] * g.host[j])
			meanG += gy
			meanGX += gy * float64(xhat.host[i*d+j])
			dg.host[j] += dy.host[i*d+j] * xhat.host[i*d+j]
			db.host[j] += dy.host[i*d+j]
		}
		meanG /= float64(d)
		meanGX /= float64(d)
		for j := 0; j < d; j++ {
			gy := float64(dy.host[i*d+j] * g.host[j])
			dx.host[i*d+j] = float32(float64(rstd.host[i]) * (gy - meanG - float64(xhat.host[i*d+j])*meanGX))
		}
	}
}

// Attention implements Backend.
func (Host) Attention(ctx, probs, q, k, v, bias *Buf, batch, slots, heads, dh int) {
	d := heads * dh
	scale := float32(1 / math.Sqrt(float64(dh)))
	for b := 0; b < batch; b++ {
		for h := 0; h < heads; h++ {
			for i := 0; i < slots; i++ {
				p := probs.host[((b*heads+h)*slots+i)*slots : ((b*heads+h)*slots+i+1)*slots]
				qi := q.host[(b*slots+i)*d+h*dh : (b*slots+i)*d+(h+1)*dh]
				best := float32(math.Inf(-1))
				for j := range p {
					kj := k.host[(b*slots+j)*d+h*dh : (b*slots+j)*d+(h+1)*dh]
					var dot float32
					for e, x := range qi {
						dot += x * kj[e]
					}
					p[j] = dot * scale
					if bias != nil {
						p[j] += bias.host[b*slots+j]
					}
					best = max(best, p[j])
				}
				var sum float32
				for j := range p {
					p[j] = float32(math.Exp(float64(p[j] - best)))
					sum += p[j]
				}
				out := ctx.host[(b*slots+i)*d+h*dh : (b*slots+i)*d+(h+1)*dh]
				clear(out)
				for j := range p {
					p[j] /= sum
					vj := v.host[(b*slots+j)*d+h*dh : (b*slots+j)*d+(h+1)*dh]
					for e := range out {
						out[e] += p[j] * vj[e]
					}
				}
			}
		}
	}
}

// AttentionGrad implements Backend.
func (Host) AttentionGrad(dq, dk, dv, dlogits, dctx, probs, q, k, v *Buf, batch, slots, heads, dh int) {
	d := heads * dh
	scale := float32(1 / math.Sqrt(float64(dh)))
	head := func(x *Buf, b, s, h int) []float32 { return x.host[(b*slots+s)*d+h*dh : (b*slots+s)*d+(h+1)*dh] }
	for b := 0; b < batch; b++ {
		for h := 0; h < heads; h++ {
			base := (b*heads + h) * slots * slots
			for i := 0; i < slots; i++ {
				p := probs.host[base+i*slots : base+(i+1)*slots]
				dl := dlogits.host[base+i*slots : base+(i+1)*slots]
				dci := head(dctx, b, i, h)
				var t float32
				for j := range p {
					vj := head(v, b, j, h)
					var dp float32
					for e, x := range dci {
						dp += x * vj[e]
					}
					dl[j] = dp
					t += p[j] * dp
				}
				dqi := head(dq, b, i, h)
				clear(dqi)
				for j := range p {
					dl[j] = p[j] * (dl[j] - t)
					kj := head(k, b, j, h)
					for e := range dqi {
						dqi[e] += scale * dl[j] * kj[e]
					}
				}
			}
			for j := 0; j < slots; j++ {
				dkj, dvj := head(dk, b, j, h), head(dv, b, j, h)
				clear(dkj)
				clear(dvj)
				for i := 0; i < slots; i++ {
					dl, p := dlogits.host[base+i*slots+j], probs.host[base+i*slots+j]
					qi, dci := head(q, b, i, h), head(dctx, b, i, h)
					for e := range dkj {
						dkj[e] += scale * dl * qi[e]
						dvj[e] += p * dci[e]
					}
				}
			}
		}
	}
}

// l2Eps is the epsilon inside the root of models.L2Normalize.
const l2Eps = 1e-12

// KeepNormalize implements Backend.
func (Host) KeepNormalize(out, norms, x *Buf, batch, slots, first, keep, d int) {
	for b := 0; b < batch; b++ {
		for f := 0; f < keep; f++ {
			src := x.host[(b*slots+first+f)*d : (b*slots+first+f+1)*d]
			var sq float32
			for _, v := range src {
				sq += v * v
			}
			n := float32(math.Sqrt(float64(sq + l2Eps)))
			norms.host[b*keep+f] = n
			for j, v := range src {
				out.host[(b*keep+f)*d+j] = v / n
			}
		}
	}
}

// KeepNormalizeGrad implements Backend.
func (Host) KeepNormalizeGrad(dx, dout, out, norms *Buf, batch, slots, first, keep, d int) {
	for b := 0; b < batch; b++ {
		for s := 0; s < slots; s++ {
			dst := dx.host[(b*slots+s)*d : (b*slots+s+1)*d]
			f := s - first
			if f < 0 || f >= keep {
				clear(dst)
				continue
			}
			y := out.host[(b*keep+f)*d : (b*keep+f+1)*d]
			dy := dout.host[(b*keep+f)*d : (b*keep+f+1)*d]
			var dot float32
			for j := range y {
				dot += y[j] * dy[j]
			}
			n := norms.host[b*keep+f]
			for j := range dst {
				dst[j] = (dy[j] - y[j]*dot) / n
			}
		}
	}
}

// MaxSim implements Backend.
func (Host) MaxSim(scores *Buf, argmax *IBuf, sims, weight, bias *Buf, bt, ft, bi, fi int) {
	cols := bi * fi
	for t := 0; t < bt; t++ {
		for i := 0; i < bi; i++ {
			var score float32
			for f := 0; f < ft; f++ {
				row := sims.host[(t*ft+f)*cols+i*fi : (t*ft+f)*cols+(i+1)*fi]
				best, arg := float32(math.Inf(-1)), 0
				for g, v := range row {
					if bias != nil {
						v += bias.host[i*fi+g]
					}
					if v > best {
						best, arg = v, g
					}
				}
				if argmax != nil {
					argmax.host[(t*ft+f)*bi+i] = int32(arg)
				}
				w := float32(1)
				if weight != nil {
					w = weight.host[t*ft+f]
				}
				score += w * best
			}
			scores.host[t*bi+i] = score
		}
	}
}

// MaxSimGrad implements Backend.
func (Host) MaxSimGrad(dsims, dscores *Buf, argmax *IBuf, weight *Buf, bt, ft, bi, fi int) {
	clear(dsims.host)
	cols := bi * fi
	for t := 0; t < bt; t++ {
		for f := 0; f < ft; f++ {
			w := float32(1)
			if weight != nil {
				w = weight.host[t*ft+f]
			}
			for i := 0; i < bi; i++ {
				g := int(argmax.host[(t*ft+f)*bi+i])
				dsims.host[(t*ft+f)*cols+i*fi+g] = w * dscores.host[t*bi+i]
			}
		}
	}
}

// Loss implements Backend. Row anchors read s[r, :], column anchors
// s[:, c]; both are handled by one function over a strided view.
func (Host) Loss(out, ds, s, teacher *Buf, b int, w LossWeights) {
	clear(ds.host)
	var total float64
	for _, col := range []bool{false, true} {
		for a := 0; a < b; a++ {
			at := func(x *Buf, j int) *float32 { // anchor a's j-th entry
				if col {
					return &x.host[j*b+a]
				}
				return &x.host[a*b+j]
			}
			total += anchorLoss(b, a, w, func(j int) float32 { return *at(s, j) },
				func(j int) float32 {
					if teacher == nil {
						return 0
					}
					return *at(teacher, j)
				},
				func(j int, g float32) { *at(ds, j) += g })
		}
	}
	out.host[0] = float32(total)
}

// anchorLoss is the loss of one anchor (a row or a column of the score
// matrix, b entries, the positive at index a), with package models'
// reductions: a hinge anchor counts whole in the sum and 1/(2b) in the
// mean, a cross-entropy anchor half and 1/(2b); grad receives the gradient
// of each entry. The CUDA kernel of the same name mirrors it.
func anchorLoss(b, a int, w LossWeights, s, teacher func(int) float32, grad func(int, float32)) float64 {
	norm, ceNorm := 1/float64(2*b), 1/float64(2*b)
	if w.Sum {
		norm, ceNorm = 1, 0.5
	}
	var loss float64
	softCE := func(weight, scale float64, target func(int) float64) {
		lse := logSumExp(b, scale, s)
		for j := 0; j < b; j++ {
			p := math.Exp(scale*float64(s(j)) - lse)
			t := target(j)
			loss -= weight * ceNorm * t * (scale*float64(s(j)) - lse)
			grad(j, float32(weight*ceNorm*scale*(p-t)))
		}
	}
	if w.NCE != 0 {
		softCE(float64(w.NCE), 1/float64(w.NCETemp), func(j int) float64 {
			if j == a {
				return 1
			}
			return 0
		})
	}
	if w.KD != 0 {
		ts := float64(w.TeacherScale)
		tl := logSumExp(b, ts, teacher)
		softCE(float64(w.KD), float64(w.StudentScale), func(j int) float64 {
			return math.Exp(ts*float64(teacher(j)) - tl)
		})
	}
	if w.VSE != 0 {
		// The first hardest negative takes the whole gradient, as in
		// models.VSEHardest.
		pos, best, arg := float64(s(a)), 0.0, -1
		for j := 0; j < b; j++ {
			if v := float64(w.Margin) + float64(s(j)) - pos; j != a && v > best {
				best, arg = v, j
			}
		}
		loss += float64(w.VSE) * norm * best
		if arg >= 0 {
			grad(arg, float32(float64(w.VSE)*norm))
			grad(a, float32(-float64(w.VSE)*norm))
		}
	}
	if w.Hinge != 0 {
		pos := float64(s(a))
		var sum8 float64
		if !w.MaskPositive { // the anchor's own term, max(0, margin + pos - pos)
			sum8 = math.Pow(max(0, float64(w.Margin)), 8)
		}
		for j := 0; j < b; j++ {
			if j != a {
				v := max(0, float64(w.Margin)+float64(s(j))-pos)
				sum8 += math.Pow(v, 8)
			}
		}
		n := math.Pow(sum8+1e-20, 0.125)
		loss += float64(w.Hinge) * norm * n
		var toPos float64
		for j := 0; j < b; j++ {
			if j == a {
				continue
			}
			v := max(0, float64(w.Margin)+float64(s(j))-pos)
			if v > 0 {
				g := float64(w.Hinge) * norm * math.Pow(v/n, 7)
				grad(j, float32(g))
				toPos += g
			}
		}
		grad(a, float32(-toPos))
	}
	return loss
}

// logSumExp is log sum over j < n of exp(scale x(j)), computed stably.
func logSumExp(n int, scale float64, x func(int) float32) float64 {
	best := math.Inf(-1)
	for j := 0; j < n; j++ {
		best = max(best, scale*float64(x(j)))
	}
	var sum float64
	for j := 0; j < n; j++ {
		sum += math.Exp(scale*float64(x(j)) - best)
	}
	return best + math.Log(sum)
}

// SumSquares implements Backend.
func (Host) SumSquares(acc, x *Buf) {
	var sq float64
	for _, v := range x.host {
		sq += float64(v) * float64(v)
	}
	acc.host[0] += float32(sq)
}

// AdamW implements Backend, with models.AdamW's arithmetic.
func (Host) AdamW(w, g, m, v, acc *Buf, s AdamStep) {
	scale := clipScale(float64(acc.host[0]), s.ClipNorm)
	c1 := 1 - math.Pow(s.Beta1, float64(s.Step))
	c2 := 1 - math.Pow(s.Beta2, float64(s.Step))
	for j := range w.host {
		gj := float64(g.host[j]) * scale
		mj := s.Beta1*float64(m.host[j]) + (1-s.Beta1)*gj
		vj := s.Beta2*float64(v.host[j]) + (1-s.Beta2)*gj*gj
		m.host[j], v.host[j] = float32(mj), float32(vj)
		update := (mj/c1)/(math.Sqrt(vj/c2)+s.Eps) + s.Decay*float64(w.host[j])
		w.host[j] = float32(float64(w.host[j]) - s.LR*update)
	}
}

// clipScale is the factor that brings a gradient of squared norm sq down
// to the norm clip (1 when it is within it or clip is 0).
func clipScale(sq, clip float64) float64 {
	if n := math.Sqrt(sq); clip > 0 && n > clip {
		return clip / n
	}
	return 1
}
