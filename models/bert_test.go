package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/wordpiece"
	"github.com/inflateshrink/inflateshrink/internal/pytorch"
	"github.com/inflateshrink/inflateshrink/internal/safetensors"
)

// bertVocab is the vocab.txt of the tests' tiny BERT.
var bertVocab = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "the", "cat", "dog", "##s", "sit", "##ting",
	"on", "red", "mat", "sofa", ",", ".", "two", "play", "##ing", "with", "ball"}

// bertCaptions are the tests' captions: of different lengths (padding
// masked from attention), one longer than the tests' 12 tokens
// (truncated, [SEP] kept), one with an unknown word.
var bertCaptions = []string{"A cat sitting on a red mat.", "Two dogs playing with the ball, on the sofa with a cat.", "A zebra."}

const bertTextLen = 12

// tinyBERT writes the tiny random BERT of tools/bert_reference.py into a
// new folder, with the hidden states PyTorch computes for bertCaptions,
// and returns the folder, the captions' batch and those hidden states
// ([caption][token][hidden]). It skips where torch is not installed.
func tinyBERT(t *testing.T) (dir string, tb datasets.TextBatch, hidden [][][]float64) {
	t.Helper()
	py, ok := pytorch.Python()
	if !ok {
		t.Skip(pytorch.SkipMessage)
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(bertVocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := wordpiece.Load(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := datasets.WordPieceVocab(tok)
	if err != nil {
		t.Fatal(err)
	}
	tb = datasets.PackTexts(v, bertCaptions, bertTextLen)
	writeInputs(t, filepath.Join(dir, "ids.json"), tb, nil)
	runReference(t, py, "bert_reference.py", dir)
	data, err := os.ReadFile(filepath.Join(dir, "hidden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &hidden); err != nil {
		t.Fatal(err)
	}
	return dir, tb, hidden
}

// bertModel is a model shaped as the BERT in dir, initialised from it.
func bertModel(t *testing.T, dir string) *Model {
	t.Helper()
	b, err := LoadBERT(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Shape(Config{RegionDim: 4, MaxTextLen: bertTextLen, MaxRegions: 3, Padding: PadKeep}, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	m.Vocab = b.Vocab
	if err := m.InitFrom(b, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBERTForward: a tiny random BERT (2 layers, d = 32, 4 heads, erf GELU,
// LayerNorm epsilon 1e-12) written by PyTorch in the Hugging Face layout
// and loaded into the text encoder gives the last hidden states of an
// independent PyTorch forward (tools/bert_reference.py, written from
// Hugging Face's BertModel) to 1e-6, on captions with padding,
// truncation and an unknown word: compared as the encoder outputs them,
// each token's state L2-normalised.
func TestBERTForward(t *testing.T) {
	dir, tb, hidden := tinyBERT(t)
	m := bertModel(t, dir)
	for _, composed := range []bool{false, true} {
		m.Composed = composed // the fused ops, and the composed reference graph
		enc, err := NewEncoder(m, len(bertCaptions))
		if err != nil {
			t.Fatal(err)
		}
		f, err := enc.EncodeTextBatch(tb)
		enc.Close()
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i, tokens := range hidden {
			for j, h := range tokens {
				var sq float64
				for _, v := range h {
					sq += v * v
				}
				norm := math.Sqrt(sq + 1e-12)
				got := f.Data[(i*f.PerItem+j)*f.Dim:][:f.Dim]
				for k, v := range h {
					worst = max(worst, math.Abs(float64(got[k])-v/norm))
				}
			}
		}
		t.Logf("composed=%v: largest difference %.3g", composed, worst)
		// 1e-6, ten times tighter than float32 needs here (2e-7): BERT's
		// LayerNorm epsilon 1e-12 read as the default 1e-5 moves the
		// states by 3e-6.
		if worst > 1e-6 {
			t.Errorf("composed=%v: largest difference from PyTorch's normalised hidden states %.3g, want <= 1e-6", composed, worst)
		}
	}
}

// TestBERTNames: a checkpoint saved by BertFor* ("bert." before every name)
// with the TensorFlow conversion's LayerNorm names (gamma, beta) loads the
// same weights as BertModel's names.
func TestBERTNames(t *testing.T) {
	dir, _, _ := tinyBERT(t)
	want := bertModel(t, dir)
	tensors, meta, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range tensors {
		name := "bert." + tensors[i].Name
		name = strings.Replace(strings.Replace(name, "LayerNorm.weight", "LayerNorm.gamma", 1), "LayerNorm.bias", "LayerNorm.beta", 1)
		tensors[i].Name = name
	}
	tensors = append(tensors, safetensors.Tensor{Name: "cls.predictions.bias", Shape: []int{len(bertVocab)}, F32: make([]float32, len(bertVocab))})
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, meta); err != nil {
		t.Fatal(err)
	}
	got := bertModel(t, dir)
	for _, name := range want.Params.Names() {
		if !slices.Equal(got.Params.Data(name), want.Params.Data(name)) {
			t.Errorf("param %s differs between the two layouts", name)
		}
	}
}

// TestBERTBadInput: each way a checkpoint or a model can be wrong is
// refused, naming the file, field or shape at fault.
func TestBERTBadInput(t *testing.T) {
	dir, _, _ := tinyBERT(t)
	config, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(t *testing.T, name string, f func(string) string) string {
		t.Helper()
		bad := t.TempDir()
		for _, file := range []string{"config.json", "vocab.txt", "model.safetensors"} {
			data, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			if file == name {
				data = []byte(f(string(data)))
			}
			if err := os.WriteFile(filepath.Join(bad, file), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return bad
	}
	for _, tc := range []struct {
		name, file string
		f          func(string) string
		want       string
	}{
		{"tanh GELU", "config.json", func(s string) string { return strings.Replace(s, `"gelu"`, `"gelu_new"`, 1) }, `hidden_act "gelu_new"`},
		{"no hidden size", "config.json", func(s string) string { return strings.Replace(s, `"hidden_size"`, `"width"`, 1) }, "hidden_size is 0"},
		{"vocabulary size", "vocab.txt", func(s string) string { return s + "extra\n" }, "says vocab_size 22"},
		{"no [CLS]", "vocab.txt", func(s string) string { return strings.Replace(s, "[CLS]", "[cls]", 1) }, "no [CLS] line"},
		{"damaged weights", "model.safetensors", func(s string) string { return s[:len(s)/2] }, "model.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBERT(edit(t, tc.file, tc.f))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("LoadBERT: %v; want an error naming %s and %q", err, tc.file, tc.want)
			}
		})
	}
	if !strings.Contains(string(config), `"num_hidden_layers": 2`) {
		t.Fatalf("config.json lacks the 2 layers the cases below assume:\n%s", config)
	}
	b, err := LoadBERT(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Shape(Config{RegionDim: 4}, 3); err == nil || !strings.Contains(err.Error(), "has 2 layers") {
		t.Errorf("Shape of 3 layers from 2: %v", err)
	}
	if _, err := b.Shape(Config{RegionDim: 4, MaxTextLen: 32}, 2); err == nil || !strings.Contains(err.Error(), "24 positions") {
		t.Errorf("Shape of 32 tokens from 24 positions: %v", err)
	}
	m, err := New(Config{VocabSize: len(bertVocab), RegionDim: 4, Dim: 16, Heads: 2, Layers: 2, MaxTextLen: bertTextLen}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitFrom(b, nil); err == nil || !strings.Contains(err.Error(), "not shaped as BERT") {
		t.Errorf("InitFrom into a model of width 16: %v", err)
	}
}

// TestWriteRandomBERT: a checkpoint WriteRandomBERT writes loads, and
// InitFrom with IsLayerParam (a distillation student's) takes BERT's
// layers, transposed, and leaves every other parameter as it was.
func TestWriteRandomBERT(t *testing.T) {
	_, b := randomBERT(t, BERTConfig{HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 16,
		MaxPositionEmbeddings: 16, TypeVocabSize: 2, LayerNormEps: 1e-12})
	c, err := b.Shape(Config{RegionDim: 4, MaxTextLen: 8, MaxRegions: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]float32{}
	for _, name := range m.Params.Names() {
		before[name] = slices.Clone(m.Params.Data(name))
	}
	if err := m.InitFrom(b, IsLayerParam); err != nil {
		t.Fatal(err)
	}
	for _, name := range m.Params.Names() {
		if changed := !slices.Equal(m.Params.Data(name), before[name]); changed != IsLayerParam(name) && !strings.HasSuffix(name, ".g") && !strings.HasSuffix(name, ".b") {
			t.Errorf("param %s changed: %v, want %v", name, changed, IsLayerParam(name))
		}
	}
	q, err := b.tensor("encoder.layer.0.attention.self.query.weight", 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	w := m.Params.Data("shared.layer0.attn.q.w")
	if w[1*8+3] != q.F32[3*8+1] || w[5*8+2] != q.F32[2*8+5] {
		t.Errorf("attn.q.w is not BERT's query weight transposed")
	}
	if _, err := b.tensor("encoder.layer.1.output.dense.weight", 8, 16); err != nil {
		t.Errorf("the second layer: %v", err)
	}
}

// randomBERT writes a random BERT of shape bc with the tests' vocabulary
// into a new folder and loads it.
func randomBERT(t *testing.T, bc BERTConfig) (string, *BERT) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteRandomBERT(dir, bc, bertVocab, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBERT(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, b
}

// writeInputs writes the JSON a reference script reads: tb's ids and
// attention masks ([caption][token], 1 on every token but the padding),
// and images' regions unless nil.
func writeInputs(t *testing.T, path string, tb datasets.TextBatch, images [][][]float32) {
	t.Helper()
	in := map[string]any{}
	var ids, masks [][]int
	for i, n := range tb.Lens {
		ids = append(ids, tb.IDs[i*tb.MaxLen:(i+1)*tb.MaxLen])
		mask := make([]int, tb.MaxLen)
		for j := range n {
			mask[j] = 1
		}
		masks = append(masks, mask)
	}
	in["ids"], in["mask"] = ids, masks
	if images != nil {
		in["regions"] = images
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runReference runs tools/script with py and args, failing t with its
// output when it fails.
func runReference(t *testing.T, py, script string, args ...string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "tools", script))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, append([]string{path}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, out)
	}
}
