// Command emoji chooses how the emoji pictures become image tokens, on
// validation: it trains base and fast, the two first stages, on the emoji
// style hold-out (train on seven emoji art styles, validate on fxemoji
// and streamline-emojis, test on openmoji) under the default recipe, once
// for every tokenisation of package imagetok (the default grid of
// averaged cells, finer grids of raw pixels from the 24- and 48-pixel
// thumbnails, tokens that also carry the whole thumbnail), and once more
// under this framework's earlier recipe on the default tokens, the setting
// the real-data issue measured (rSum 26 of 600). Every model is also
// evaluated on the Tux Paint stamps as a transfer test. Set the data up
// first:
//
//	go run ./datasets/setup emoji
//	go run ./datasets/setup tuxpaint
//	go run ./experiments/emoji [-experiment emoji|emoji-small] [-workers 2] [framework flags]
//
// Two experiments: "emoji-small" on the 200-emoji subset (seconds a model)
// tries every tokenisation, and "emoji" on the full style hold-out (18,575
// training pictures, one to four minutes a model on 2 cores) tries the
// default and the three with the best mean validation rSum of base and
// fast on emoji-small (Candidates). The best of emoji-small is the
// tokenisation of paper-emoji. Both also score the non-learned baselines
// of package baselines on the default tokens. Rank the configurations
// with `go run ./framework/cmd/results -db results.db best -experiment emoji`.
package main

import (
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
	"github.com/inflateshrink/inflateshrink/framework"

	_ "github.com/inflateshrink/inflateshrink/datasets/all"
)

func main() { framework.MainAll(experiments()...) }

// Candidates are the tokenisations tried on the full set: the three best
// of emoji-small by the mean validation rSum of base and fast, measured
// at seed 1 (reference/results.db has them): s24g4c3k12 (base 201.0, fast
// 239.2), s24g4c3k8 (210.3, 208.2) and s24g8c3 (183.5, 232.0), against
// 166.0 and 188.7 for the default tokens.
var Candidates = []string{"s24g4c3k12", "s24g4c3k8", "s24g8c3"}

func experiments() []framework.Experiment {
	var all []string
	for _, v := range imagetok.Variants {
		all = append(all, v.Name())
	}
	return []framework.Experiment{experiment("emoji-small", "emoji-style-small", all), experiment("emoji", "emoji-style", Candidates)}
}

// experiment is the sweep on the data set named set, with each of
// tokenisations as a variant of it besides the default.
func experiment(name, set string, tokenisations []string) framework.Experiment {
	sets := [][]string{{"dataset=" + set}}
	for _, v := range tokenisations {
		sets = append(sets, []string{"dataset=" + set + "@" + v})
	}
	// The earlier recipe as the emoji experiment ran it: 15 epochs over
	// the images (one caption each, so as many steps an epoch as over the
	// captions), a third of them warming up with InfoNCE, decay at 12.
	earlier := append(framework.EarlierRecipe(), "dataset="+set,
		"train.epochs=15", "train.warmup_epochs=5", "train.decay_epoch=12")
	models := []string{"base", "fast"}
	return framework.Experiment{
		Name:     name,
		Base:     framework.DefaultConfig(),
		Transfer: []string{"tuxpaint"},
		Sweep:    framework.Sweep{Models: models, Sets: sets, Seeds: []int64{1}},
		More: []framework.Sweep{
			{Models: models, Sets: [][]string{earlier}},
			{Models: []string{"baseline:caption-mean", "baseline:caption-nearest", "baseline:word-mean"}, Sets: [][]string{{"dataset=" + set}}},
		},
	}
}
