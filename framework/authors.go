package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/store"
)

// A model named "authors:MODE" (authors:inflate, authors:shrinktobase,
// ...) is a checkpoint released by the paper's authors, init.authors, of
// their train.py's MODE, read with init.bert's config and vocabulary and
// scored by this framework's evaluator (models.LoadAuthors): nothing
// trains; validation, test and transfer splits are recorded like a
// model's, so that reports show the authors' models beside ours. Its
// result does not depend on the seed, so every seed of a sweep is the one
// trial of seed 0.
const authorsPrefix = "authors:"

// authorsOf reports whether model names an authors' checkpoint, and its
// mode.
func authorsOf(model string) (models.AuthorsMode, bool) {
	m, ok := strings.CutPrefix(model, authorsPrefix)
	return models.AuthorsMode(m), ok
}

// untrained reports whether model is evaluated without training: a
// baseline or an authors' checkpoint, each one stage of seed 0.
func untrained(model string) bool {
	_, baseline := baselineOf(model)
	_, authors := authorsOf(model)
	return baseline || authors
}

// validateAuthors names what an authors' model lacks.
func (c Config) validateAuthors(mode models.AuthorsMode) error {
	switch mode {
	case models.AuthorsBase, models.AuthorsFast, models.AuthorsInflate, models.AuthorsShrinkBase, models.AuthorsShrinkFast:
	default:
		return fmt.Errorf("framework: unknown model %q (the authors' modes: authors:base, authors:fast, authors:inflate, authors:shrinktobase, authors:shrinktofast)", c.Model)
	}
	if c.Init.Authors == "" || c.Init.BERT == "" {
		return fmt.Errorf("framework: model %s needs init.authors (the checkpoint) and init.bert (the BERT folder it was trained from, for its config and vocabulary)", c.Model)
	}
	return nil
}

// evaluateAuthors loads c's authors' checkpoint and records its
// validation (epoch 0: nothing was chosen), test and transfer results
// and cost, as a trained model's are recorded.
func (r *Runner) evaluateAuthors(run *store.Run, c Config, mode models.AuthorsMode, transfer []string) error {
	l, err := r.dataset(c.Dataset, c.Init.BERT)
	if err != nil {
		return err
	}
	m, err := models.LoadAuthors(c.Init.Authors, l.bert, mode, models.AuthorsSizes{TextLen: c.MaxTextLen, Regions: c.MaxRegions})
	if err != nil {
		return err
	}
	ev, release, err := newEvaluator(nil, m)
	if err != nil {
		return err
	}
	defer release()
	if len(l.ds.Val.Captions) > 0 {
		if err := evaluate(run, ev, m.Config, l.vocab, &l.ds.Val, "val", 1, false); err != nil {
			return err
		}
	}
	if err := run.RecordResults("val", map[string]float64{"epoch": 0, "epochs": 0}); err != nil {
		return err
	}
	if err := r.evaluateTest(run, ev, m, l, transfer); err != nil {
		return err
	}
	return run.Finish(0)
}

// AuthorsSweep is the sweep that scores the authors' released checkpoints
// in dir beside an experiment's own models (see authorsPrefix): dir holds
// bert/, the BERT folder they trained from (config.json, vocab.txt,
// model.safetensors), and any of base.pth.tar, fast.pth.tar,
// inflate.pth.tar, shrinktobase.pth.tar (their I→B) and
// shrinktofast.pth.tar (their I→B→F), each scored as authors:MODE. It
// fails, naming dir, when bert/ or every checkpoint is missing.
func AuthorsSweep(dir string) (Sweep, error) {
	bert := filepath.Join(dir, "bert")
	if fi, err := os.Stat(bert); err != nil || !fi.IsDir() {
		return Sweep{}, fmt.Errorf("framework: the authors' checkpoints in %s: no bert/ folder (the BERT they trained from)", dir)
	}
	var sets [][]string
	for _, mode := range []models.AuthorsMode{models.AuthorsBase, models.AuthorsFast, models.AuthorsInflate, models.AuthorsShrinkBase, models.AuthorsShrinkFast} {
		path := filepath.Join(dir, string(mode)+".pth.tar")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		sets = append(sets, []string{"model=" + authorsPrefix + string(mode), "init.authors=" + path, "init.bert=" + bert})
	}
	if len(sets) == 0 {
		return Sweep{}, fmt.Errorf("framework: the authors' checkpoints in %s: none of base, fast, inflate, shrinktobase, shrinktofast .pth.tar", dir)
	}
	return Sweep{Sets: sets}, nil
}
