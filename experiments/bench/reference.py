#!/usr/bin/env python3
"""PyTorch reference peer of `go run -tags openblas ./experiments/bench`.

The same model as models.SpeedConfig, built the way models' graphs are:
text = token embedding + position embedding, then 4 learnable codes; image
= [CLS] slot, Linear(2048 -> 256) of 36 regions, 4 codes; each side
LayerNorm, one post-LN transformer block (4 heads, feed-forward 1024,
ReLU), every output kept and L2-normalised; text-query MaxSim with padding
masks; symmetric InfoNCE (temperature 0.1) plus the L8 hinge (margin 0.2),
as the Go benchmark's warm-up objective computes both; AdamW, gradient
clipping 2.0. Random inputs of the real shapes.

Prints one JSON object: the device's name, per-step seconds of training,
and the seconds of full-gallery MaxSim scoring in blocks (as
models.ScoreGallery does). Configure threads from the environment before
torch loads (the Go command sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
OMP_WAIT_POLICY and OPENBLAS_CORETYPE).

--device cuda (or cuda:N) runs model, batches and gallery on that GPU, as
the peer of the Go fp32 cuBLAS build: float32 with TF32 off, so matmuls do
full fp32 arithmetic on both sides. Inputs are drawn on the CPU with the
same seeds as on --device cpu, and each step's clock includes the copy of
its batch to the GPU, since the Go step uploads its batch too. The GPU is
synchronised before every clock reading: CUDA calls return before the work
is done.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, D, HEADS, FF, L, R, RD, CODES = 10031, 256, 4, 1024, 32, 36, 2048, 4
MASK_OFF = -1e4


def sync(dev):
    """Waits for the device's queued work, so that a clock reading after it
    covers that work; nothing to wait for on the CPU."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.ff1, self.ff2 = nn.Linear(D, FF), nn.Linear(FF, D)

    def forward(self, x, bias):
        b, s, _ = x.shape
        dh = D // HEADS

        def split(t):
            return t.view(b, s, HEADS, dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        logits = q @ k.transpose(-1, -2) / math.sqrt(dh) + bias[:, None, None, :]
        ctx = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, s, D)
        h = self.ln1(x + self.o(ctx))
        return self.ln2(h + self.ff2(F.relu(self.ff1(h))))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.randn(L, D) * 0.1)
        self.tcodes = nn.Parameter(torch.randn(CODES, D) * 0.1)
        self.tln = nn.LayerNorm(D)
        self.proj = nn.Linear(RD, D)
        self.cls = nn.Parameter(torch.randn(1, D) * 0.1)
        self.icodes = nn.Parameter(torch.randn(CODES, D) * 0.1)
        self.iln = nn.LayerNorm(D)
        self.tblock, self.iblock = Block(), Block()

    def text(self, ids, bias):
        b = ids.shape[0]
        x = torch.cat([self.tok(ids) + self.pos, self.tcodes.expand(b, -1, -1)], 1)
        return F.normalize(self.tblock(self.tln(x), bias), dim=-1, eps=1e-6)

    def image(self, regions, bias):
        b = regions.shape[0]
        x = torch.cat([self.cls.expand(b, -1, -1), self.proj(regions), self.icodes.expand(b, -1, -1)], 1)
        return F.normalize(self.iblock(self.iln(x), bias), dim=-1, eps=1e-6)


def maxsim(t, i, tweight, ibias):
    sims = torch.einsum("tfd,igd->tfig", t, i) + ibias[None, None, :, :]
    return (sims.max(-1).values * tweight[:, :, None]).sum(1)


def losses(s):
    b = s.shape[0]
    eye = torch.eye(b, device=s.device)
    labels = torch.arange(b, device=s.device)
    nce = 0.5 * (F.cross_entropy(s / 0.1, labels) + F.cross_entropy(s.t() / 0.1, labels))
    diag = s.diag()
    total = 0
    # row anchors compare s[r, c] with s[r, r], column anchors with s[c, c]
    for axis, shifted in ((1, s - diag[:, None]), (0, s - diag[None, :])):
        viol = F.relu(0.2 + shifted) * (1 - eye)
        total = total + ((viol ** 8).sum(axis) + 1e-20).pow(0.125).sum()
    return nce + total / (2 * b)


def train(steps, batch, dev, precision="fp32"):
    torch.manual_seed(1)
    m = Model().to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4)
    ts = L + CODES
    ims = 1 + R + CODES
    times = []
    for _ in range(steps + 1):
        ids = torch.randint(3, V, (batch, L))
        regions = torch.randn(batch, R, RD)
        tbias = torch.zeros(batch, ts)
        ibias = torch.zeros(batch, ims)
        tweight = torch.ones(batch, ts)
        sync(dev)
        start = time.perf_counter()
        ids, regions, tbias, ibias, tweight = (x.to(dev) for x in (ids, regions, tbias, ibias, tweight))
        # bf16: what a PyTorch user runs, autocast around forward and loss
        # (the weights and optimiser stay float32).
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            s = maxsim(m.text(ids, tbias), m.image(regions, ibias), tweight, ibias)
            loss = losses(s)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 2.0)
        opt.step()
        sync(dev)
        times.append(time.perf_counter() - start)
    return times[1:]


def gallery(images, captions, frags, dim, dev):
    torch.manual_seed(2)
    t = F.normalize(torch.randn(captions, frags, dim), dim=-1).to(dev)
    i = F.normalize(torch.randn(images, frags, dim), dim=-1).to(dev)
    sync(dev)
    start = time.perf_counter()
    with torch.no_grad():
        out = torch.empty(images, captions, device=dev)
        for c0 in range(0, captions, 256):
            tb = t[c0:c0 + 256].reshape(-1, dim)
            for i0 in range(0, images, 64):
                prod = tb @ i[i0:i0 + 64].reshape(-1, dim).t()
                best = prod.view(tb.shape[0] // frags, frags, -1, frags).max(-1).values.sum(1)
                out[i0:i0 + 64, c0:c0 + 256] = best.t()
    sync(dev)
    return time.perf_counter() - start


def device(name):
    """The --device value as a torch.device: cpu, cuda or cuda:N."""
    if name != "cpu" and name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise argparse.ArgumentTypeError(f"{name!r}: want cpu, cuda or cuda:N")
    return torch.device(name)


def blas_core():
    """The OpenBLAS kernels torch runs on ("Haswell", "SkylakeX", ...), read
    from the OpenBLAS library loaded in this process; "" when it uses
    another BLAS."""
    import ctypes
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    for path in libs:
        try:
            f = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return f().decode()
    return ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--gallery", default="", help="images,captions,frags,dim; empty for none")
    p.add_argument("--device", type=device, default=torch.device("cpu"), help="cpu, cuda or cuda:N")
    p.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32",
                   help="matrix products: float32, TF32 allowed, or torch.autocast(bfloat16)")
    a = p.parse_args()
    dev = a.device
    name = "cpu"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            p.error(f"--device {dev}: torch {torch.__version__} sees no CUDA device")
        if (dev.index or 0) >= torch.cuda.device_count():
            p.error(f"--device {dev}: only {torch.cuda.device_count()} CUDA device(s)")
        # fp32 as cuBLAS computes it without tensor-core TF32 shortcuts,
        # unless --precision tf32 allows them.
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
        name = torch.cuda.get_device_name(dev)
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "device": name, "threads": a.threads, "blas_core": blas_core(),
           "precision": a.precision, "step_seconds": train(a.steps, a.batch, dev, a.precision)}
    if a.gallery:
        out["gallery_seconds"] = gallery(*map(int, a.gallery.split(",")), dev)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
