#!/usr/bin/env python3
"""Write a checkpoint in the authors' layout, and the scores their code gives.

Usage: authors_reference.py DIR MODE

DIR holds vocab.txt and inputs.json ({"ids": [[...]], "mask": [[...]],
"regions": [[[...]]]}: captions and images, what the Go test made). The
script writes DIR/MODE.pth.tar, random weights under the names of the
authors' EncoderText (sourcesemnlp/Inflate_shrink, models/model.py) in
MODE, saved as their train.py saves (torch.save of {"epoch", "model":
[state_dict of the DataParallel-wrapped EncoderText]: every name under
"module."}), and DIR/MODE.scores.json: for every image i and caption c,
in that order (their istest expansion), the score of
EncoderText.forward(..., istest=True), written here from that code:
BERT embeddings for the text, the Linear fc then the LayerNorm norm for
the regions, inflate's codes through norm, attention masks of -10000,
L2-normalised outputs, the first mini_tl of each side kept, and the sum
over text fragments of the best image fragment. The BERT layers follow
tools/bert_reference.py (Hugging Face's BertModel). MODE is base, fast,
inflate, shrinktobase or shrinktofast; the tiny sizes are
bert_reference's, with 4 codes per side and the text length as the
authors' self.length.
"""

import collections
import json
import sys

import torch
import torch.nn.functional as F

import bert_reference as bert

POLY, NORM_EPS = 4, 1e-5


def main():
    out, mode = sys.argv[1], sys.argv[2]
    with open(out + "/vocab.txt") as f:
        vocab_size = len(f.read().splitlines())
    with open(out + "/inputs.json") as f:
        inputs = json.load(f)
    ids, mask = torch.tensor(inputs["ids"]), torch.tensor(inputs["mask"]).float()
    regions = torch.tensor(inputs["regions"], dtype=torch.float32)
    length, region_dim = ids.shape[1], regions.shape[2]

    g = torch.Generator().manual_seed(11)
    w = bert.random_bert(vocab_size, prefix="encoder.", g=g)
    # shrinktobase trains encoder2 from encoder; shrinktofast encoder3 from encoder2.
    students = {"shrinktobase": ["encoder2"], "shrinktofast": ["encoder2", "encoder3"]}.get(mode, [])
    for s in students:
        w.update({k: v for k, v in bert.random_bert(vocab_size, prefix=s + ".", g=g).items() if ".encoder.layer." in k})

    def rnd(*shape, mean=0.0, std=0.5):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean).float()

    w["fc.weight"], w["fc.bias"] = rnd(bert.HIDDEN, region_dim, std=0.2), rnd(bert.HIDDEN, std=0.2)
    w["norm.weight"], w["norm.bias"] = rnd(bert.HIDDEN, mean=1.0, std=0.2), rnd(bert.HIDDEN, std=0.2)
    if mode in ("inflate", "shrinktobase"):
        w["poly_code_embeddings_v.weight"] = rnd(POLY, bert.HIDDEN)
        w["poly_code_embeddings_t.weight"] = rnd(POLY, bert.HIDDEN)
    # A module's state_dict is an OrderedDict.
    state = collections.OrderedDict(("module." + k, v) for k, v in w.items())
    torch.save({"epoch": 1, "model": [state], "best_rsum": 0.0},
               f"{out}/{mode}.pth.tar")

    def norm(x):
        return F.layer_norm(x, (bert.HIDDEN,), w["norm.weight"], w["norm.bias"], NORM_EPS)

    with torch.no_grad():
        text = bert.embeddings(w, ids, "encoder.")
        vision = norm(regions @ w["fc.weight"].T + w["fc.bias"])
        vmask = torch.ones(vision.shape[:2])
        layers, tmask = "encoder.", mask
        if mode == "inflate":
            codes_t = norm(w["poly_code_embeddings_t.weight"]).expand(len(ids), -1, -1)
            codes_v = norm(w["poly_code_embeddings_v.weight"]).expand(len(regions), -1, -1)
            text, vision = torch.cat([text, codes_t], 1), torch.cat([vision, codes_v], 1)
            tmask = torch.cat([mask, torch.ones(len(ids), POLY)], 1)
            vmask = torch.ones(vision.shape[:2])
        if students:
            layers = students[-1] + "."
        keep = {"base": length, "fast": 1, "inflate": length + POLY, "shrinktobase": length, "shrinktofast": 1}[mode]
        t = F.normalize(bert.encoder(w, text, (1.0 - tmask) * -10000.0, layers), p=2, dim=2)[:, :keep]
        v = F.normalize(bert.encoder(w, vision, (1.0 - vmask) * -10000.0, layers), p=2, dim=2)[:, :keep]
        scores = []
        for i in range(len(v)):
            for c in range(len(t)):
                scores.append((t[c] @ v[i].T).max(dim=1).values.sum().item())
    with open(f"{out}/{mode}.scores.json", "w") as f:
        json.dump(scores, f)


if __name__ == "__main__":
    main()
