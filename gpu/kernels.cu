// CUDA kernels of package gpu's CUDA backend, compiled at run time with
// NVRTC. Each kernel mirrors the Host method of the same name in host.go,
// which is the reference the GPU check compares it with. Row-major
// float32 arrays; int32 token ids and arg-maxes. Grid-stride loops keep
// every launch valid whatever the grid size.

#define NEG_INF_F (__int_as_float(0xff800000))
#define NEG_INF_D (__longlong_as_double(0xfff0000000000000ULL))
#define FOR_EACH(i, n) for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (long)(n); i += (long)gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

// warp_row is the row a warp of a row-per-warp kernel works on.
__device__ __forceinline__ long warp_row() { return (blockIdx.x * (long)blockDim.x + threadIdx.x) / 32; }

extern "C" {

__global__ void embed_text(float* x, const float* tok, const float* pos, const float* codes, const int* ids,
                           int batch, int tokens, int ncodes, int d) {
	int slots = tokens + ncodes;
	FOR_EACH(i, (long)batch * slots * d) {
		int j = i % d;
		long row = i / d;
		int s = row % slots, b = row / slots;
		x[i] = s < tokens ? tok[(long)ids[b * tokens + s] * d + j] + pos[s * d + j] : codes[(s - tokens) * d + j];
	}
}

__global__ void embed_text_grad(float* dtok, const float* dx, const int* ids, int batch, int tokens, int slots, int d) {
	FOR_EACH(i, (long)batch * tokens * d) {
		int j = i % d;
		long row = i / d;
		int s = row % tokens, b = row / tokens;
		atomicAdd(&dtok[(long)ids[b * tokens + s] * d + j], dx[((long)b * slots + s) * d + j]);
	}
}

__global__ void image_slots(float* x, const float* cls, const float* proj, const float* codes,
                            int batch, int regions, int ncodes, int d) {
	int slots = 1 + regions + ncodes;
	FOR_EACH(i, (long)batch * slots * d) {
		int j = i % d;
		long row = i / d;
		int s = row % slots, b = row / slots;
		x[i] = s == 0 ? cls[j] : s <= regions ? proj[((long)b * regions + s - 1) * d + j] : codes[(s - 1 - regions) * d + j];
	}
}

__global__ void sum_slots(float* out, const float* x, int batch, int slots, int first, int count, int d) {
	FOR_EACH(i, (long)count * d) {
		int j = i % d, t = i / d;
		float sum = 0;
		for (int b = 0; b < batch; b++) sum += x[((long)b * slots + first + t) * d + j];
		out[i] += sum;
	}
}

__global__ void gather_slots(float* dst, const float* src, int batch, int slots, int first, int count, int d) {
	FOR_EACH(i, (long)batch * count * d) {
		int j = i % d;
		long row = i / d;
		int t = row % count, b = row / count;
		dst[i] = src[((long)b * slots + first + t) * d + j];
	}
}

__global__ void add_bias(float* y, const float* bias, int rows, int cols, int relu) {
	FOR_EACH(i, (long)rows * cols) {
		float v = y[i] + bias[i % cols];
		y[i] = relu && v < 0 ? 0 : v;
	}
}

__global__ void relu_grad(float* dy, const float* y, int n) {
	FOR_EACH(i, n) {
		if (y[i] <= 0) dy[i] = 0;
	}
}

// BERT's exact GELU, x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
__global__ void gelu(float* y, const float* x, int n) {
	FOR_EACH(i, n) {
		float v = x[i];
		y[i] = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
	}
}

// dy times GELU's slope at its input x: Phi(x) + x phi(x).
__global__ void gelu_grad(float* dy, const float* x, int n) {
	FOR_EACH(i, n) {
		float v = x[i];
		float cdf = 0.5f * (1.f + erff(v * 0.70710678118654752f));
		float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
		dy[i] *= cdf + v * pdf;
	}
}

__global__ void col_sum(float* out, const float* x, int rows, int cols) {
	FOR_EACH(c, cols) {
		float sum = 0;
		for (long r = 0; r < rows; r++) sum += x[r * cols + c];
		out[c] += sum;
	}
}

// One warp per row.
__global__ void layernorm(float* y, float* xhat, float* rstd, const float* x, const float* r,
                          const float* g, const float* b, int rows, int d, float eps) {
	long row = warp_row();
	int lane = threadIdx.x % 32;
	if (row >= rows) return;
	const float* xr = x + row * d;
	const float* rr = r ? r + row * d : 0;
	float s = 0;
	for (int j = lane; j < d; j += 32) s += xr[j] + (rr ? rr[j] : 0.f);
	float mean = warp_sum(s) / d;
	float v = 0;
	for (int j = lane; j < d; j += 32) {
		float c = xr[j] + (rr ? rr[j] : 0.f) - mean;
		v += c * c;
	}
	float inv = rsqrtf(warp_sum(v) / d + eps);
	if (lane == 0) rstd[row] = inv;
	for (int j = lane; j < d; j += 32) {
		float h = (xr[j] + (rr ? rr[j] : 0.f) - mean) * inv;
		xhat[row * d + j] = h;
		y[row * d + j] = h * g[j] + b[j];
	}
}

// One warp per row.
__global__ void layernorm_grad_x(float* dx, const float* dy, const float* xhat, const float* rstd,
                                 const float* g, int rows, int d) {
	long row = warp_row();
	int lane = threadIdx.x % 32;
	if (row >= rows) return;
	float sg = 0, sgx = 0;
	for (int j = lane; j < d; j += 32) {
		float gy = dy[row * d + j] * g[j];
		sg += gy;
		sgx += gy * xhat[row * d + j];
	}
	float meanG = warp_sum(sg) / d, meanGX = warp_sum(sgx) / d;
	for (int j = lane; j < d; j += 32) {
		float gy = dy[row * d + j] * g[j];
		dx[row * d + j] = rstd[row] * (gy - meanG - xhat[row * d + j] * meanGX);
	}
}

__global__ void layernorm_grad_params(float* dg, float* db, const float* dy, const float* xhat, int rows, int d) {
	FOR_EACH(j, d) {
		float sg = 0, sb = 0;
		for (long r = 0; r < rows; r++) {
			sg += dy[r * d + j] * xhat[r * d + j];
			sb += dy[r * d + j];
		}
		dg[j] += sg;
		db[j] += sb;
	}
}

// One thread per (item, head, query slot).
__global__ void attention(float* ctx, float* probs, const float* q, const float* k, const float* v, const float* bias,
                          int batch, int slots, int heads, int dh, float scale) {
	int d = heads * dh;
	FOR_EACH(idx, (long)batch * heads * slots) {
		int i = idx % slots;
		long bh = idx / slots;
		int h = bh % heads, b = bh / heads;
		const float* qi = q + ((long)b * slots + i) * d + h * dh;
		float* p = probs + (bh * slots + i) * slots;
		float best = NEG_INF_F;
		for (int j = 0; j < slots; j++) {
			const float* kj = k + ((long)b * slots + j) * d + h * dh;
			float dot = 0;
			for (int e = 0; e < dh; e++) dot += qi[e] * kj[e];
			float l = dot * scale + (bias ? bias[b * slots + j] : 0.f);
			p[j] = l;
			best = fmaxf(best, l);
		}
		float sum = 0;
		for (int j = 0; j < slots; j++) {
			p[j] = expf(p[j] - best);
			sum += p[j];
		}
		for (int j = 0; j < slots; j++) p[j] /= sum;
		float* out = ctx + ((long)b * slots + i) * d + h * dh;
		for (int e = 0; e < dh; e++) {
			float acc = 0;
			for (int j = 0; j < slots; j++) acc += p[j] * v[((long)b * slots + j) * d + h * dh + e];
			out[e] = acc;
		}
	}
}

// One thread per (item, head, query slot): the logits' gradient and dq.
__global__ void attention_grad_q(float* dq, float* dlogits, const float* dctx, const float* probs, const float* k,
                                 const float* v, int batch, int slots, int heads, int dh, float scale) {
	int d = heads * dh;
	FOR_EACH(idx, (long)batch * heads * slots) {
		int i = idx % slots;
		long bh = idx / slots;
		int h = bh % heads, b = bh / heads;
		const float* p = probs + (bh * slots + i) * slots;
		float* dl = dlogits + (bh * slots + i) * slots;
		const float* dci = dctx + ((long)b * slots + i) * d + h * dh;
		float t = 0;
		for (int j = 0; j < slots; j++) {
			const float* vj = v + ((long)b * slots + j) * d + h * dh;
			float dp = 0;
			for (int e = 0; e < dh; e++) dp += dci[e] * vj[e];
			dl[j] = dp;
			t += p[j] * dp;
		}
		for (int j = 0; j < slots; j++) dl[j] = p[j] * (dl[j] - t);
		float* dqi = dq + ((long)b * slots + i) * d + h * dh;
		for (int e = 0; e < dh; e++) {
			float acc = 0;
			for (int j = 0; j < slots; j++) acc += dl[j] * k[((long)b * slots + j) * d + h * dh + e];
			dqi[e] = scale * acc;
		}
	}
}

// One thread per (item, head, key slot): dk and dv.
__global__ void attention_grad_kv(float* dk, float* dv, const float* dlogits, const float* probs, const float* q,
                                  const float* dctx, int batch, int slots, int heads, int dh, float scale) {
	int d = heads * dh;
	FOR_EACH(idx, (long)batch * heads * slots) {
		int j = idx % slots;
		long bh = idx / slots;
		int h = bh % heads, b = bh / heads;
		long base = bh * slots * slots;
		for (int e = 0; e < dh; e++) {
			float ak = 0, av = 0;
			for (int i = 0; i < slots; i++) {
				long row = ((long)b * slots + i) * d + h * dh + e;
				ak += dlogits[base + (long)i * slots + j] * q[row];
				av += probs[base + (long)i * slots + j] * dctx[row];
			}
			dk[((long)b * slots + j) * d + h * dh + e] = scale * ak;
			dv[((long)b * slots + j) * d + h * dh + e] = av;
		}
	}
}

// One warp per kept fragment.
__global__ void keep_normalize(float* out, float* norms, const float* x, int batch, int slots, int first, int keep,
                               int d) {
	long row = warp_row();
	int lane = threadIdx.x % 32;
	if (row >= (long)batch * keep) return;
	int f = row % keep, b = row / keep;
	const float* src = x + ((long)b * slots + first + f) * d;
	float sq = 0;
	for (int j = lane; j < d; j += 32) sq += src[j] * src[j];
	float n = sqrtf(warp_sum(sq) + 1e-12f);
	if (lane == 0) norms[row] = n;
	for (int j = lane; j < d; j += 32) out[row * d + j] = src[j] / n;
}

// One warp per slot.
__global__ void keep_normalize_grad(float* dx, const float* dout, const float* out, const float* norms,
                                    int batch, int slots, int first, int keep, int d) {
	long row = warp_row();
	int lane = threadIdx.x % 32;
	if (row >= (long)batch * slots) return;
	int f = row % slots - first, b = row / slots;
	float* dst = dx + row * d;
	if (f < 0 || f >= keep) {
		for (int j = lane; j < d; j += 32) dst[j] = 0;
		return;
	}
	long kr = (long)b * keep + f;
	float dot = 0;
	for (int j = lane; j < d; j += 32) dot += out[kr * d + j] * dout[kr * d + j];
	dot = warp_sum(dot);
	float n = norms[kr];
	for (int j = lane; j < d; j += 32) dst[j] = (dout[kr * d + j] - out[kr * d + j] * dot) / n;
}

// One thread per (text, image) pair.
__global__ void maxsim(float* scores, int* argmax, const float* sims, const float* weight, const float* bias,
                       int bt, int ft, int bi, int fi) {
	long cols = (long)bi * fi;
	FOR_EACH(idx, (long)bt * bi) {
		int i = idx % bi, t = idx / bi;
		float score = 0;
		for (int f = 0; f < ft; f++) {
			const float* row = sims + ((long)t * ft + f) * cols + (long)i * fi;
			float best = NEG_INF_F;
			int arg = 0;
			for (int g = 0; g < fi; g++) {
				float v = row[g] + (bias ? bias[(long)i * fi + g] : 0.f);
				if (v > best) {
					best = v;
					arg = g;
				}
			}
			if (argmax) argmax[((long)t * ft + f) * bi + i] = arg;
			score += (weight ? weight[(long)t * ft + f] : 1.f) * best;
		}
		scores[idx] = score;
	}
}

// One thread per (text fragment, image); dsims must be zero.
__global__ void maxsim_grad(float* dsims, const float* dscores, const int* argmax, const float* weight,
                            int bt, int ft, int bi, int fi) {
	long cols = (long)bi * fi;
	FOR_EACH(idx, (long)bt * ft * bi) {
		int i = idx % bi;
		long tf = idx / bi;
		int t = tf / ft;
		float w = weight ? weight[tf] : 1.f;
		dsims[tf * cols + (long)i * fi + argmax[idx]] = w * dscores[(long)t * bi + i];
	}
}

// soft_ce is one anchor's cross-entropy of softmax(scale s) against a
// target: softmax(tscale teacher) when teacher is set, else one-hot at a.
// Entry j of the anchor is at base + j*stride. It adds the gradient to ds
// and returns the loss; norm is the reduction's, as in host.go's
// anchorLoss.
__device__ double soft_ce(int b, int a, const float* s, const float* teacher, float* ds, long base, long stride,
                          double weight, double scale, double tscale, double norm) {
	double best = NEG_INF_D, tbest = NEG_INF_D;
	for (int j = 0; j < b; j++) {
		best = fmax(best, scale * s[base + j * stride]);
		if (teacher) tbest = fmax(tbest, tscale * teacher[base + j * stride]);
	}
	double sum = 0, tsum = 0;
	for (int j = 0; j < b; j++) {
		sum += exp(scale * s[base + j * stride] - best);
		if (teacher) tsum += exp(tscale * teacher[base + j * stride] - tbest);
	}
	double lse = best + log(sum), loss = 0;
	for (int j = 0; j < b; j++) {
		double z = scale * s[base + j * stride];
		double p = exp(z - lse);
		double t = teacher ? exp(tscale * teacher[base + j * stride] - tbest) / tsum : (j == a ? 1.0 : 0.0);
		loss -= weight * norm * t * (z - lse);
		ds[base + j * stride] += (float)(weight * norm * scale * (p - t));
	}
	return loss;
}

// hinge_l8 is one anchor's L8 hinge (see soft_ce for the layout), with
// the anchor's own term margin^8 in its sum unless maskPositive.
__device__ double hinge_l8(int b, int a, const float* s, float* ds, long base, long stride, double weight,
                           double margin, double norm, int maskPositive) {
	double pos = s[base + a * stride], sum8 = 0;
	if (!maskPositive) {
		double m = fmax(0.0, margin), m2 = m * m, m4 = m2 * m2;
		sum8 = m4 * m4;
	}
	for (int j = 0; j < b; j++) {
		if (j == a) continue;
		double v = fmax(0.0, margin + s[base + j * stride] - pos);
		double v2 = v * v, v4 = v2 * v2;
		sum8 += v4 * v4;
	}
	double n = pow(sum8 + 1e-20, 0.125), toPos = 0;
	for (int j = 0; j < b; j++) {
		if (j == a) continue;
		double v = fmax(0.0, margin + s[base + j * stride] - pos);
		if (v > 0) {
			double g = weight * norm * pow(v / n, 7.0);
			ds[base + j * stride] += (float)g;
			toPos += g;
		}
	}
	ds[base + a * stride] -= (float)toPos;
	return weight * norm * n;
}

// hardest is one anchor's VSE++ hinge on its first hardest negative.
__device__ double hardest(int b, int a, const float* s, float* ds, long base, long stride, double weight, double margin,
                          double norm) {
	double pos = s[base + a * stride], best = 0;
	int arg = -1;
	for (int j = 0; j < b; j++) {
		double v = margin + s[base + j * stride] - pos;
		if (j != a && v > best) {
			best = v;
			arg = j;
		}
	}
	if (arg >= 0) {
		ds[base + arg * stride] += (float)(weight * norm);
		ds[base + a * stride] -= (float)(weight * norm);
	}
	return weight * norm * best;
}

// One block of b threads (b <= 1024): thread a is row anchor a, then
// column anchor a. partial must hold b doubles of shared memory.
__global__ void loss(float* out, float* ds, const float* s, const float* teacher, int b, float nce, float nceTemp,
                     float hinge, float margin, float vse, float kd, float teacherScale, float studentScale, int sum,
                     int maskPositive) {
	extern __shared__ double partial[];
	int a = threadIdx.x;
	// The reductions of host.go's anchorLoss: hinge anchors whole in a sum,
	// cross-entropy anchors half; both 1/(2b) in a mean.
	double norm = sum ? 1.0 : 1.0 / (2.0 * b), ceNorm = sum ? 0.5 : 1.0 / (2.0 * b), total = 0;
	if (a < b) {
		for (int j = 0; j < b; j++) ds[(long)a * b + j] = 0;
	}
	__syncthreads();
	for (int col = 0; col < 2; col++) {
		if (a < b) {
			long base = col ? a : (long)a * b, stride = col ? b : 1;
			if (nce != 0) total += soft_ce(b, a, s, 0, ds, base, stride, nce, 1.0 / nceTemp, 0, ceNorm);
			if (kd != 0) total += soft_ce(b, a, s, teacher, ds, base, stride, kd, studentScale, teacherScale, ceNorm);
			if (vse != 0) total += hardest(b, a, s, ds, base, stride, vse, margin, norm);
			if (hinge != 0) total += hinge_l8(b, a, s, ds, base, stride, hinge, margin, norm, maskPositive);
		}
		__syncthreads();
	}
	partial[a] = a < b ? total : 0;
	__syncthreads();
	if (a == 0) {
		double sum = 0;
		for (int j = 0; j < b; j++) sum += partial[j];
		out[0] = (float)sum;
	}
}

__global__ void sum_squares(float* acc, const float* x, long n) {
	float sum = 0;
	FOR_EACH(i, n) sum += x[i] * x[i];
	sum = warp_sum(sum);
	if (threadIdx.x % 32 == 0) atomicAdd(acc, sum);
}

__global__ void adamw(float* w, const float* g, float* m, float* v, const float* acc, long n, double lr, double b1,
                      double b2, double eps, double decay, double clip, double c1, double c2) {
	double norm = sqrt((double)acc[0]);
	double scale = clip > 0 && norm > clip ? clip / norm : 1.0;
	FOR_EACH(j, n) {
		double gj = g[j] * scale;
		double mj = b1 * m[j] + (1 - b1) * gj;
		double vj = b2 * v[j] + (1 - b2) * gj * gj;
		m[j] = (float)mj;
		v[j] = (float)vj;
		double update = (mj / c1) / (sqrt(vj / c2) + eps) + decay * w[j];
		w[j] = (float)(w[j] - lr * update);
	}
}

} // extern "C"
