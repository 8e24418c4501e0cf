package framework

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/store"
)

// TestInitFromBERT trains a first stage and its distilled student from a
// small random BERT (models.WriteRandomBERT, its vocab.txt the synthetic
// set's words): both finish, read captions with its WordPiece
// vocabulary (their checkpoints keep it), record init.bert and the
// weights' SHA-256, and a trial whose width is not BERT's is refused
// before anything is recorded, naming the key to set.
func TestInitFromBERT(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	ds, err := datasets.Load("synthetic-small")
	if err != nil {
		t.Fatal(err)
	}
	words := datasets.BuildVocab(ds.Train.Captions).Words()[3:] // without <pad>, <unk>, <cls>
	dir := t.TempDir()
	bc := models.BERTConfig{HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 32,
		MaxPositionEmbeddings: 32, TypeVocabSize: 2, LayerNormEps: 1e-12}
	if err := models.WriteRandomBERT(dir, bc, append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, words...), rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	b, err := models.LoadBERT(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tinyConfig()
	c.Init.BERT = dir // layers 1: BERT's first of 2
	db := openDB(t)
	r := &Runner{DB: db}
	e := Experiment{Name: "bert", Base: c, Sweep: Sweep{Models: []string{"base", "inflated>base"}}}
	sum, err := r.Run(context.Background(), e)
	if err != nil || sum.Trained != 2 || sum.Failed != 0 {
		t.Fatalf("Run: %+v, %v; want 2 trained", sum, err)
	}
	runs, err := db.Runs(store.RunFilter{Experiment: "bert"})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		params, err := store.RunValues(db.SQL(), "params", run.ID)
		if err != nil {
			t.Fatal(err)
		}
		env, err := store.RunValues(db.SQL(), "environment", run.ID, "init_bert_sha256")
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != "finished" || params["init.bert"] != dir || params["init.bert_layers"] != "1" || env["init_bert_sha256"] != b.Digest {
			t.Errorf("%s: status %s, init.bert %q, init.bert_layers %q, init_bert_sha256 %q; want finished, %s, 1, %s",
				run.Model, run.Status, params["init.bert"], params["init.bert_layers"], env["init_bert_sha256"], dir, b.Digest)
		}
		m, err := models.Load(db.CheckpointPath(run))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Vocab.WordPiece() || m.Config.Activation != models.ActGELU || m.Config.LayerNormEps != 1e-12 {
			t.Errorf("%s: checkpoint has WordPiece vocabulary %v, activation %s, epsilon %g; want BERT's", run.Model, m.Vocab.WordPiece(), m.Config.Activation, m.Config.LayerNormEps)
		}
	}

	wide := c
	wide.Dim = 32
	_, err = (&Runner{DB: db}).Run(context.Background(), Experiment{Name: "bert-wide", Base: wide, Sweep: Sweep{Models: []string{"base"}}})
	if err == nil || !strings.Contains(err.Error(), "dim=32, but BERT's is 16 (set dim=16)") {
		t.Errorf("a trial wider than BERT: %v; want it refused naming dim", err)
	}
	if runs, err := db.Runs(store.RunFilter{Experiment: "bert-wide"}); err != nil || len(runs) != 0 {
		t.Errorf("the refused trial recorded %d runs (%v)", len(runs), err)
	}
}

// TestPrecisionNeedsGPU: a trial computing in bf16 or tf32 is refused on
// the CPU before anything is recorded, naming the key and the flag; an
// unknown precision is refused by Validate, naming the value.
func TestPrecisionNeedsGPU(t *testing.T) {
	db := openDB(t)
	c := tinyConfig()
	c.Train.Precision = "bf16"
	_, err := (&Runner{DB: db}).Run(context.Background(), Experiment{Name: "bf16", Base: c, Sweep: Sweep{Models: []string{"base"}}})
	if err == nil || !strings.Contains(err.Error(), "train.precision=bf16") || !strings.Contains(err.Error(), "-device cuda") {
		t.Errorf("bf16 on the CPU: %v; want it refused naming train.precision and -device cuda", err)
	}
	if runs, err := db.Runs(store.RunFilter{Experiment: "bf16"}); err != nil || len(runs) != 0 {
		t.Errorf("the refused trial recorded %d runs (%v)", len(runs), err)
	}
	c.Train.Precision = "fp16"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `precision "fp16"`) {
		t.Errorf("Validate of fp16: %v", err)
	}
}
