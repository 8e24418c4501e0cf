#!/usr/bin/env python3
"""README's recipe table ("What differs from the paper") from a results
database: each departure of experiments/recipe against the authors' recipe,
as the difference of validation rSum (variant minus authors'), per model
(base / fast), paired by seed, the mean first and each seed's in brackets.

Usage: tools/recipe_table.py reference/results.db
"""
import sqlite3
import sys

# The config keys the recipe experiment varies, and the authors' values.
AUTHORS = {"train.margin": "0.6", "train.loss": "hinge-l8", "train.reduction": "sum", "shared_layers": "true",
           "padding": "keep", "train.weight_decay": "0.01", "train.batches": "captions",
           "train.learning_rate": "0.001", "train.warmup_epochs": "0", "train.epochs": "20"}

EARLIER = [("train.margin", "0.2"), ("train.loss", "hinge-l8-masked"), ("train.reduction", "mean"),
           ("shared_layers", "false"), ("padding", "mask"), ("train.weight_decay", "0.0001"),
           ("train.batches", "images"), ("train.epochs", "100"), ("train.warmup_epochs", "30")]

ROWS = [
    ("Hinge margin", "0.6 (late interaction), 0.2 (1x1)", "the same", "`train.margin=0.2` (every model)", [("train.margin", "0.2")]),
    ("L8 hinge", "each anchor's positive pair inside the sum", "the same", "`train.loss=hinge-l8-masked`", [("train.loss", "hinge-l8-masked")]),
    ("Reduction over the batch", "sum (loss and KD)", "the same", "`train.reduction=mean`", [("train.reduction", "mean")]),
    ("Text and image layers", "one shared transformer", "the same", "`shared_layers=false`", [("shared_layers", "false")]),
    ("Text padding", "kept as MaxSim fragments", "the same", "`padding=mask`", [("padding", "mask")]),
    ("Weight decay", "0.01", "the same", "`train.weight_decay=0.0001`", [("train.weight_decay", "0.0001")]),
    ("Batches", "over captions (an epoch: every caption)", "the same", "`train.batches=images` (with 5x the epochs)", [("train.batches", "images"), ("train.epochs", "100")]),
    ("Learning rate", "1e-4 (fine-tuning BERT)", "1e-3 (from scratch)", "`train.learning_rate=0.0001`", [("train.learning_rate", "0.0001")]),
    ("InfoNCE warm-up", "none", "none", "`train.warmup_epochs=6`", [("train.warmup_epochs", "6")]),
    ("Epochs", "40, ×0.1 at 20 (from BERT)", "20, ×0.1 at 15 (chosen on validation)", "`train.epochs`, `train.decay_epoch`", None),
    ("Initialisation and size", "BERT-base's first 3 layers, d = 768, k = 32", "random, d = 32, 1 layer, k = 4", "`dim`, `layers`, `codes` (BERT: issue 15)", None),
    ("Every earlier choice at once", "—", "—", "`framework.EarlierRecipe()` + a warm-up of a third", EARLIER),
]


def main():
    db = sqlite3.connect(sys.argv[1])
    runs = db.execute("SELECT run_id, model, seed, val_rsum FROM run_summary "
                      "WHERE experiment = 'recipe' AND status = 'finished' AND val_rsum IS NOT NULL").fetchall()
    by_variant = {}
    for run_id, model, seed, val in runs:
        params = dict(db.execute("SELECT key, value FROM params WHERE run_id = ?", (run_id,)).fetchall())
        diff = frozenset((k, params.get(k, "hinge-l8" if k == "train.loss" else None))
                         for k in AUTHORS if params.get(k, "hinge-l8" if k == "train.loss" else None) != AUTHORS[k])
        by_variant.setdefault(diff, {}).setdefault(model, {})[seed] = val
    authors = by_variant.get(frozenset(), {})

    def effect(changes):
        variant = by_variant.get(frozenset(changes))
        if not variant:
            return "not yet run"
        parts, seeds = [], set()
        for model in ("base", "fast"):
            diffs = [(s, v - authors[model][s]) for s, v in sorted(variant.get(model, {}).items())
                     if s in authors.get(model, {})]
            seeds |= {s for s, _ in diffs}
            if not diffs:
                parts.append("–")
                continue
            mean = sum(d for _, d in diffs) / len(diffs)
            each = ", ".join(f"{d:+.1f}" for _, d in diffs)
            parts.append(f"{mean:+.1f}" + (f" ({each})" if len(diffs) > 1 else ""))
        return " / ".join(parts) + f" (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, sorted(seeds)))})"

    print("| choice | the authors' code | default here | key for the departure | effect on validation rSum, base / fast |")
    print("|---|---|---|---|---|")
    for name, theirs, ours, key, changes in ROWS:
        print(f"| {name} | {theirs} | {ours} | {key} | {'not measured (see below)' if changes is None else effect(changes)} |")


if __name__ == "__main__":
    main()
