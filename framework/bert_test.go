package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/filehash"
	"github.com/inflateshrink/inflateshrink/internal/pytorch"
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

// TestAuthorsModel scores a checkpoint in the authors' layout, written by
// PyTorch (tools/authors_reference.py) for the synthetic set's regions and
// a random BERT of its words, as the model authors:inflate: one run of
// seed 0 whatever the seeds, nothing trained, test results recorded with
// the checkpoint's SHA-256; and refuses authors:inflate without
// init.authors before anything is recorded.
func TestAuthorsModel(t *testing.T) {
	py, ok := pytorch.Python()
	if !ok {
		t.Skip(pytorch.SkipMessage)
	}
	ds, err := datasets.Load("synthetic-small")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, datasets.BuildVocab(ds.Train.Captions).Words()[3:]...)
	// The sizes of tools/bert_reference.py, which the checkpoint takes.
	bc := models.BERTConfig{HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 24, TypeVocabSize: 2, LayerNormEps: 1e-12}
	if err := models.WriteRandomBERT(dir, bc, vocab, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	inputs, err := json.Marshal(map[string]any{"ids": [][]int{{2, 3}}, "mask": [][]int{{1, 1}}, "regions": [][][]float32{ds.Train.Images[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs.json"), inputs, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "tools", "authors_reference.py"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, script, dir, "inflate").CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	c := tinyConfig()
	c.Model, c.Init.BERT, c.Init.Authors = "authors:inflate", dir, filepath.Join(dir, "inflate.pth.tar")
	db := openDB(t)
	sum, err := (&Runner{DB: db}).Run(context.Background(), Experiment{Name: "authors", Base: c, Sweep: Sweep{Models: []string{c.Model}, Seeds: []int64{1, 2}}})
	if err != nil || sum.Trained != 1 || sum.Failed != 0 {
		t.Fatalf("Run: %+v, %v; want the one trial run", sum, err)
	}
	runs, err := db.Runs(store.RunFilter{Experiment: "authors"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs (%v), want 1", len(runs), err)
	}
	run := runs[0]
	want, err := filehash.SHA256(c.Init.Authors)
	if err != nil {
		t.Fatal(err)
	}
	env, err := store.RunValues(db.SQL(), "environment", run.ID, "init_authors_sha256")
	if err != nil {
		t.Fatal(err)
	}
	results, err := db.Results(run.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "finished" || run.Seed != 0 || run.Schedule != "none" || env["init_authors_sha256"] != want || results["rsum"] <= 0 {
		t.Errorf("run: status %s, seed %d, schedule %s, init_authors_sha256 %q, test rsum %v; want finished, 0, none, %s, a recall",
			run.Status, run.Seed, run.Schedule, env["init_authors_sha256"], results["rsum"], want)
	}
	bad := c
	bad.Init.Authors = ""
	_, err = (&Runner{DB: db}).Run(context.Background(), Experiment{Name: "authors-bad", Base: bad, Sweep: Sweep{Models: []string{c.Model}}})
	if err == nil || !strings.Contains(err.Error(), "init.authors") {
		t.Errorf("authors:inflate without init.authors: %v; want it refused naming init.authors", err)
	}
}

// TestAuthorsSweep: a folder of the authors' checkpoints becomes one
// authors:MODE variant per checkpoint it holds, with its BERT; a folder
// without bert/ or without checkpoints is refused, naming it.
func TestAuthorsSweep(t *testing.T) {
	dir := t.TempDir()
	if _, err := AuthorsSweep(dir); err == nil || !strings.Contains(err.Error(), "no bert/") {
		t.Errorf("no bert/: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "bert"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := AuthorsSweep(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("no checkpoint: %v", err)
	}
	for _, f := range []string{"inflate.pth.tar", "shrinktofast.pth.tar", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sw, err := AuthorsSweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	bert := filepath.Join(dir, "bert")
	want := [][]string{
		{"model=authors:inflate", "init.authors=" + filepath.Join(dir, "inflate.pth.tar"), "init.bert=" + bert},
		{"model=authors:shrinktofast", "init.authors=" + filepath.Join(dir, "shrinktofast.pth.tar"), "init.bert=" + bert},
	}
	if fmt.Sprint(sw.Sets) != fmt.Sprint(want) {
		t.Errorf("Sets = %q, want %q", sw.Sets, want)
	}
	e := Experiment{Name: "coco", Base: tinyConfig(), Sweep: Sweep{Models: []string{"base"}, Seeds: []int64{1, 2}}, More: []Sweep{sw}}
	var models []string
	for _, c := range e.Trials() {
		models = append(models, fmt.Sprintf("%s/%d", c.Model, c.Seed))
	}
	slices.Sort(models)
	if got := strings.Join(models, " "); got != "authors:inflate/0 authors:shrinktofast/0 base/1 base/2" {
		t.Errorf("trials %s; want base's two seeds and each checkpoint once", got)
	}
}
