#!/usr/bin/env python3
"""Load an inflateshrink model exported to safetensors into plain PyTorch
and reproduce the scores Go computes.

    go run ./cmd/search export -run ID -out model.safetensors -pairs pairs.safetensors
    python3 tools/safetensors_check.py model.safetensors pairs.safetensors

The export (search.Export) holds the weights, named as in the Go checkpoint,
and as metadata the model's config (JSON), its vocabulary (a JSON list of
words in id order) and the constants of the forward pass. LateInteraction
below is the model's forward pass written from models/model.go and
models/ops.go: both encoders (token or region embeddings, learnable codes,
LayerNorm, post-LN transformer blocks, the kept fragments L2-normalised)
and the MaxSim score, for every Keep (n+k, n, 1, codes) and Padding (mask,
keep, include) and shared or separate layers. It needs only torch (no
safetensors package).

The pairs file (search.ExportPairs) holds n captions and n images of a
gallery as Go packed them, Go's fragments and Go's n x n score matrix. The
check tokenises the captions itself (from the metadata's text) and compares
its ids with Go's, encodes both sides, and compares fragments and scores:
it exits 0 when every difference is within --tol (default 1e-5), 1
otherwise, 2 on a usage error.
"""

import argparse
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8), "I32": (torch.int32, 4)}
PAD_ID, UNK_ID, CLS_ID = 0, 1, 2


def read_safetensors(path):
    """Return ({name: tensor}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header of {n} bytes in a file of {len(data)}")
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        dtype, width = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        count = math.prod(e["shape"])
        if end - begin != count * width or end > len(body):
            raise ValueError(f"{path}: tensor {name} has offsets {begin}..{end} for {count} values")
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype) if count else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def tokenize(caption):
    """datasets.Tokenize: lower-case, split on every rune that is not a
    letter or a decimal digit."""
    words, cur = [], []
    for ch in caption.lower():
        if ch.isalpha() or ch.isdecimal():
            cur.append(ch)
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    return words


class LateInteraction(torch.nn.Module):
    """The dual encoder of models.Model with MaxSim scoring."""

    def __init__(self, tensors, meta, dtype=torch.float64):
        super().__init__()
        if meta.get("format") != "inflateshrink-late-interaction-v1":
            raise ValueError(f"unknown export format {meta.get('format')!r}")
        self.cfg = json.loads(meta["config"])
        self.words = json.loads(meta["vocab"]) if "vocab" in meta else None
        self.ids = {w: i for i, w in enumerate(self.words or [])}
        self.ln_eps = float(meta.get("layer_norm_eps", "1e-05"))
        # models.Config.Activation: "relu", or BERT's erf "gelu"
        self.act = torch.relu if self.cfg.get("Activation", "relu") in ("", "relu") else \
            (lambda z: z * 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0))))
        self.l2_eps = float(meta.get("l2_eps", "1e-12"))
        self.mask_off = float(meta.get("mask_off", "-10000"))
        self.names = {}
        for name, t in tensors.items():
            key = name.replace(".", "__")  # module attribute names cannot hold dots
            self.register_parameter(key, torch.nn.Parameter(t.to(dtype), requires_grad=False))
            self.names[name] = key
        self.dtype = dtype

    def p(self, name):
        return getattr(self, self.names[name])

    # Sizes, as models.Config computes them.
    def kept(self, tokens, codes):
        keep = self.cfg["Keep"]
        return {"1": 1, "codes": codes, "n": tokens}.get(keep, tokens + codes)

    def first_kept(self, tokens):
        return tokens if self.cfg["Keep"] == "codes" else 0

    # Inputs, as datasets.PackTexts and models.TextMasks / ImageMasks make them.
    def encode_ids(self, caption):
        ids = [CLS_ID] + [self.ids.get(w, UNK_ID) for w in tokenize(caption)]
        return ids[: self.cfg["MaxTextLen"]]

    def pack_texts(self, captions):
        L = self.cfg["MaxTextLen"]
        rows = [self.encode_ids(c) for c in captions]
        ids = torch.full((len(rows), L), PAD_ID, dtype=torch.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
        return ids, torch.tensor([len(r) for r in rows], dtype=torch.int64)

    def text_masks(self, lens):
        c = self.cfg
        L, codes = c["MaxTextLen"], c["TextCodes"]
        slots, first, frags = L + codes, self.first_kept(L), self.kept(L, codes)
        s = torch.arange(slots)
        real = (s[None, :] < lens[:, None]) | (s[None, :] >= L) | (c["Padding"] == "include")
        bias = torch.where(real, 0.0, self.mask_off).to(self.dtype)
        kept = real[:, first : first + frags] | (c["Padding"] == "keep")
        return bias, kept.to(self.dtype)

    def image_masks(self, counts):
        c = self.cfg
        R, codes = c["MaxRegions"], c["ImageCodes"]
        slots, first, frags = 1 + R + codes, self.first_kept(1 + R), self.kept(1 + R, codes)
        s = torch.arange(slots)
        region = s[None, :] - 1
        real = (s[None, :] == 0) | (region < counts[:, None]) | (region >= R) | (c["Padding"] == "include")
        bias = torch.where(real, 0.0, self.mask_off).to(self.dtype)
        kept = real[:, first : first + frags] | (c["Padding"] == "keep")
        return bias, kept.to(self.dtype)

    # The forward pass (models/model.go, models/ops.go).
    def layer_norm(self, x, prefix):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.ln_eps) * self.p(prefix + "g") + self.p(prefix + "b")

    def linear(self, x, prefix):
        return x @ self.p(prefix + "w") + self.p(prefix + "b")

    def attention(self, x, prefix, bias):
        B, S, d = x.shape
        H = self.cfg["Heads"]
        dh = d // H

        def heads(m):
            return self.linear(x, prefix + m + ".").reshape(B, S, H, dh).transpose(1, 2)

        q, k, v = heads("q"), heads("k"), heads("v")
        logits = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if bias is not None:
            logits = logits + bias[:, None, None, :]
        ctx = torch.softmax(logits, -1) @ v
        return self.linear(ctx.transpose(1, 2).reshape(B, S, d), prefix + "o.")

    def block(self, x, prefix, bias):
        h = self.layer_norm(x + self.attention(x, prefix + "attn.", bias), prefix + "ln1.")
        ff = self.linear(self.act(self.linear(h, prefix + "ff1.")), prefix + "ff2.")
        return self.layer_norm(h + ff, prefix + "ln2.")

    def encode(self, side, x, bias, first, keep):
        x = self.layer_norm(x, side + ".ln.")
        stack = "shared" if self.cfg["SharedLayers"] else side
        attn_bias = None if self.cfg["Padding"] == "include" else bias
        for layer in range(self.cfg["Layers"]):
            x = self.block(x, f"{stack}.layer{layer}.", attn_bias)
        x = x[:, first : first + keep]
        return x / torch.sqrt((x * x).sum(-1, keepdim=True) + self.l2_eps)

    def encode_texts(self, ids, lens):
        """Kept, L2-normalised fragments (B, TextFragments, d) and their weights."""
        c = self.cfg
        x = self.p("text.tok")[ids] + self.p("text.pos")[None]
        if c["TextCodes"]:
            x = torch.cat([x, self.p("text.codes")[None].expand(len(ids), -1, -1)], 1)
        bias, weight = self.text_masks(lens)
        L = c["MaxTextLen"]
        return self.encode("text", x, bias, self.first_kept(L), self.kept(L, c["TextCodes"])), weight

    def encode_images(self, regions, counts):
        """Kept, L2-normalised fragments (B, ImageFragments, d) and their mask."""
        c = self.cfg
        B = len(regions)
        parts = [self.p("image.cls")[None].expand(B, -1, -1), self.linear(regions.to(self.dtype), "image.proj.")]
        if c["ImageCodes"]:
            parts.append(self.p("image.codes")[None].expand(B, -1, -1))
        bias, mask = self.image_masks(counts)
        R = c["MaxRegions"]
        return self.encode("image", torch.cat(parts, 1), bias, self.first_kept(1 + R), self.kept(1 + R, c["ImageCodes"])), mask

    @staticmethod
    def maxsim(texts, weight, images, mask):
        """scores[t, i]: the sum over caption t's weighted fragments of the
        best cosine against image i's real fragments (models.ScoreGallery)."""
        sims = torch.einsum("tfd,igd->tfig", texts, images)
        sims = sims.masked_fill(mask[None, None] == 0, float("-inf"))
        best = sims.max(-1).values
        return torch.where(weight[:, :, None] != 0, best * weight[:, :, None], torch.zeros_like(best)).sum(1)

    def forward(self, ids, lens, regions, counts):
        t, w = self.encode_texts(ids, lens)
        i, m = self.encode_images(regions, counts)
        return self.maxsim(t, w, i, m)


def load(path, dtype=torch.float64):
    tensors, meta = read_safetensors(path)
    return LateInteraction(tensors, meta, dtype)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the export: go run ./cmd/search export -out FILE")
    ap.add_argument("pairs", help="the pairs: go run ./cmd/search export -pairs FILE")
    ap.add_argument("--tol", type=float, default=1e-5, help="largest difference accepted (default 1e-5)")
    args = ap.parse_args(argv)
    model = load(args.model)
    pairs, pmeta = read_safetensors(args.pairs)
    captions = json.loads(pmeta["captions"])
    failures = []

    ids, lens = pairs["text.ids"], pairs["text.lens"]
    if model.words is not None:
        my_ids, my_lens = model.pack_texts(captions)
        if not torch.equal(my_ids, ids) or not torch.equal(my_lens, lens):
            failures.append("token ids: Python's tokeniser differs from Go's")
    with torch.no_grad():
        texts, weight = model.encode_texts(ids, lens)
        images, mask = model.encode_images(pairs["image.regions"], pairs["image.counts"])
        scores = model.maxsim(texts, weight, images, mask)
    diffs = {
        "text fragments": (texts - pairs["text.fragments"].double()).abs().max().item(),
        "image fragments": (images - pairs["image.fragments"].double()).abs().max().item(),
        "scores": (scores - pairs["scores"].double()).abs().max().item(),
    }
    if not torch.equal(weight, pairs["text.weight"].double()) or not torch.equal(mask, pairs["image.mask"].double()):
        failures.append("fragment masks differ from Go's")
    c = model.cfg
    print(f"model: {c['Keep']} fragments kept, d={c['Dim']}, {c['Layers']} layer(s), "
          f"{'shared' if c['SharedLayers'] else 'separate'} layers, padding {c['Padding']}, codes {c['TextCodes']}/{c['ImageCodes']}")
    n = len(captions)
    print(f"{n} captions x {n} images of {pmeta.get('gallery', '?')}; caption t describes image t")
    print(f"{'pair':>9}  {'Go':>12}  {'PyTorch':>12}  {'|diff|':>9}")
    go = pairs["scores"].double()
    for t in range(min(n, 4)):
        for i in range(min(n, 2)):
            print(f"{t:>4},{i:<4}  {go[t, i].item():12.6f}  {scores[t, i].item():12.6f}  {abs(go[t, i] - scores[t, i]).item():9.2e}")
    for what, d in diffs.items():
        ok = d <= args.tol
        print(f"max |diff| of {what}: {d:.2e} {'<=' if ok else '>'} {args.tol:g}")
        if not ok:
            failures.append(f"{what} differ by {d:.2e}")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK: PyTorch reproduces Go's fragments and scores")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
