#!/usr/bin/env python3
"""Write a tiny random BERT in the Hugging Face layout, and its hidden states.

Usage: bert_reference.py DIR

DIR holds vocab.txt and ids.json ({"ids": [[...], ...], "mask": [[...], ...]},
what the Go test encoded). The script writes DIR/config.json and
DIR/model.safetensors (a BertModel's state dict under Hugging Face's names,
random weights from a fixed seed) and DIR/hidden.json (last_hidden_state,
[batch][tokens][hidden]).

The forward pass below is written from the definition of Hugging Face's
BertModel (transformers/models/bert/modeling_bert.py: BertEmbeddings,
BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput), eval mode
(no dropout), token type 0 everywhere, without importing transformers, so
that it checks the Go encoder independently (package models, TestBERTForward).
Only Debian's python3-torch is needed.
"""

import json
import math
import struct
import sys

import torch

LAYERS, HIDDEN, HEADS, INTERMEDIATE, POSITIONS, TYPES, EPS = 2, 32, 4, 64, 24, 2, 1e-12


def random_bert(vocab_size, prefix="", seed=7, layers=LAYERS, g=None):
    """A BertModel's weights under their Hugging Face names (after prefix)."""
    g = g or torch.Generator().manual_seed(seed)

    def rnd(*shape, mean=0.0, std=0.5):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean).float()

    w = {
        prefix + "embeddings.word_embeddings.weight": rnd(vocab_size, HIDDEN),
        prefix + "embeddings.position_embeddings.weight": rnd(POSITIONS, HIDDEN),
        prefix + "embeddings.token_type_embeddings.weight": rnd(TYPES, HIDDEN),
        prefix + "embeddings.LayerNorm.weight": rnd(HIDDEN, mean=1.0, std=0.2),
        prefix + "embeddings.LayerNorm.bias": rnd(HIDDEN, std=0.2),
    }
    for l in range(layers):
        p = f"{prefix}encoder.layer.{l}."
        for name, (out, inp) in {
            "attention.self.query": (HIDDEN, HIDDEN),
            "attention.self.key": (HIDDEN, HIDDEN),
            "attention.self.value": (HIDDEN, HIDDEN),
            "attention.output.dense": (HIDDEN, HIDDEN),
            "intermediate.dense": (INTERMEDIATE, HIDDEN),
            "output.dense": (HIDDEN, INTERMEDIATE),
        }.items():
            # PyTorch's Linear keeps its weight as (out, in).
            w[p + name + ".weight"] = rnd(out, inp, std=1 / math.sqrt(inp))
            w[p + name + ".bias"] = rnd(out, std=0.2)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + name + ".weight"] = rnd(HIDDEN, mean=1.0, std=0.2)
            w[p + name + ".bias"] = rnd(HIDDEN, std=0.2)
    return w


def layer_norm(x, w, prefix):
    return torch.nn.functional.layer_norm(x, (HIDDEN,), w[prefix + ".weight"], w[prefix + ".bias"], EPS)


def linear(x, w, prefix):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def embeddings(w, ids, prefix=""):
    """BertEmbeddings: word + token type 0 + position, then LayerNorm."""
    positions = torch.arange(ids.shape[1])
    types = torch.zeros_like(ids)
    x = (w[prefix + "embeddings.word_embeddings.weight"][ids]
         + w[prefix + "embeddings.token_type_embeddings.weight"][types]
         + w[prefix + "embeddings.position_embeddings.weight"][positions])
    return layer_norm(x, w, prefix + "embeddings.LayerNorm")


def encoder(w, x, bias, prefix="", layers=LAYERS):
    """BertEncoder over x, with the additive attention bias (batch, tokens)."""
    batch, length, _ = x.shape
    bias = bias[:, None, None, :]
    head = HIDDEN // HEADS
    for l in range(layers):
        p = f"{prefix}encoder.layer.{l}."

        def split(t):
            return t.view(batch, length, HEADS, head).permute(0, 2, 1, 3)

        q = split(linear(x, w, p + "attention.self.query"))
        k = split(linear(x, w, p + "attention.self.key"))
        v = split(linear(x, w, p + "attention.self.value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head) + bias
        ctx = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(batch, length, HIDDEN)
        att = layer_norm(linear(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm")
        inter = linear(att, w, p + "intermediate.dense")
        inter = inter * 0.5 * (1.0 + torch.erf(inter / math.sqrt(2.0)))  # ACT2FN["gelu"]
        x = layer_norm(linear(inter, w, p + "output.dense") + att, w, p + "output.LayerNorm")
    return x


def forward(w, ids, mask):
    """BertModel(input_ids=ids, attention_mask=mask).last_hidden_state."""
    # get_extended_attention_mask: (1 - mask) * the dtype's minimum, added
    # to every query's logits.
    bias = (1.0 - mask.float()) * torch.finfo(torch.float32).min
    return encoder(w, embeddings(w, ids), bias)


def write_safetensors(path, tensors):
    """The safetensors format: header length, JSON header, raw bytes."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1]
    with open(out + "/vocab.txt") as f:
        vocab_size = len(f.read().splitlines())
    with open(out + "/ids.json") as f:
        inputs = json.load(f)
    w = random_bert(vocab_size)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu", "max_position_embeddings": POSITIONS, "type_vocab_size": TYPES,
        "vocab_size": vocab_size, "layer_norm_eps": EPS, "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": 0,
    }
    with open(out + "/config.json", "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(out + "/model.safetensors", w)
    with torch.no_grad():
        hidden = forward(w, torch.tensor(inputs["ids"]), torch.tensor(inputs["mask"]))
    with open(out + "/hidden.json", "w") as f:
        json.dump(hidden.tolist(), f)


if __name__ == "__main__":
    main()
