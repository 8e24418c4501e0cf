package reports

import (
	"fmt"
	"slices"
	"strings"
)

// authorsSetting is one setting of the authors' recipe (their code,
// sourcesemnlp/Inflate_shrink; DESIGN.md section 3) under the key our runs
// record it with.
type authorsSetting struct {
	key, value string
	// inflated marks a setting only inflated stages use (codes).
	inflated bool
}

// authorsRecipe is the authors' recipe at the paper's sizes, as our keys
// spell it.
var authorsRecipe = []authorsSetting{
	{key: "dim", value: "768"}, {key: "heads", value: "12"}, {key: "layers", value: "3"}, {key: "ff_dim", value: "3072"},
	{key: "max_text_len", value: "32"}, {key: "max_regions", value: "32"}, {key: "codes", value: "32", inflated: true},
	{key: "shared_layers", value: "true"}, {key: "padding", value: "keep"},
	{key: "train.batch_size", value: "128"}, {key: "train.epochs", value: "40"}, {key: "train.decay_epoch", value: "20"},
	{key: "train.decay_factor", value: "0.1"}, {key: "train.learning_rate", value: "0.0001"}, {key: "train.weight_decay", value: "0.01"},
	{key: "train.clip_norm", value: "2"}, {key: "train.margin", value: "0.6"}, {key: "train.fast_margin", value: "0.2"},
	{key: "train.loss", value: "hinge-l8"}, {key: "train.reduction", value: "sum"}, {key: "train.batches", value: "captions"},
	{key: "train.warmup_epochs", value: "0"},
	// 0 is the authors' temperatures (distill.Settings): 16/16, 2/16 to fast.
	{key: "distill.teacher_temp", value: "0"}, {key: "distill.student_temp", value: "0"},
}

// structuralDifferences are what differs from the authors whatever the
// config: no key changes them.
var structuralDifferences = []string{
	"Weights, gradients and every operation but the GPU's matrix products (train.precision) are float32; the authors trained with apex's O1 mixed precision.",
	"The image side has a learned [CLS] slot before its regions (the fast model reads its output), and the image codes pass through the image side's embedding LayerNorm; " +
		"the authors' image side has no [CLS] (their fast model reads the first region's output) and passes its codes through a LayerNorm of their own.",
	"Each stage keeps the checkpoint of its best validation rSum and evaluates the test split once, on it; COCO 1K is the mean of its 5 folds (the authors' code evaluates the first fold).",
}

// isPaperData reports whether rows were trained on the paper's data (SCAN's
// COCO or Flickr30K features), where the authors' recipe applies.
func isPaperData(rows []Row) bool {
	return slices.ContainsFunc(rows, func(r Row) bool {
		name, _, _ := strings.Cut(r.Dataset, "@")
		return name == "coco" || name == "f30k"
	})
}

// recipeSection lists every difference of rows' finished runs from the
// authors' recipe: each setting whose recorded value departs from theirs
// (with the values used), the initialisation, and the structural
// differences.
func recipeSection(rows []Row) string {
	var b strings.Builder
	b.WriteString("What these runs did differently from the authors' recipe (their code at the paper's sizes), read from the runs' recorded configs.\n\n")
	b.WriteString("| setting | the authors | these runs |\n|---|---|---|\n")
	differs := 0
	for _, s := range authorsRecipe {
		var used []string
		for _, r := range rows {
			v, ok := r.Params[s.key]
			if r.Status != "finished" || !ok || (s.inflated && !strings.Contains(r.Model, "inflated")) {
				continue
			}
			if !slices.Contains(used, v) {
				used = append(used, v)
			}
		}
		if len(used) == 0 || (len(used) == 1 && used[0] == s.value) {
			continue
		}
		slices.Sort(used)
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.key, s.value, strings.Join(used, ", "))
		differs++
	}
	random := false
	var bert []string
	for _, r := range rows {
		if r.Status != "finished" || r.Params == nil {
			continue
		}
		if dir := r.Params["init.bert"]; dir == "" {
			random = true
		} else if !slices.Contains(bert, dir) {
			bert = append(bert, dir)
		}
	}
	if random {
		b.WriteString("| `init.bert` | BERT-base's first 3 layers and its WordPiece vocabulary | random weights and a word vocabulary of the training captions |\n")
		differs++
	}
	if differs == 0 {
		b.WriteString("| (none) | | |\n")
	}
	if len(bert) > 0 {
		fmt.Fprintf(&b, "\nStarted from BERT: %s (each run records the weights' SHA-256 as its environment key init_bert_sha256).\n", strings.Join(bert, ", "))
	}
	b.WriteString("\nWhatever the config:\n\n")
	for _, d := range structuralDifferences {
		fmt.Fprintf(&b, "- %s\n", d)
	}
	return b.String()
}
