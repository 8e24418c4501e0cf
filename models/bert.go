package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/wordpiece"
	"github.com/inflateshrink/inflateshrink/internal/safetensors"
)

// BERTConfig is what the encoder needs of a Hugging Face BERT config.json.
type BERTConfig struct {
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	VocabSize             int     `json:"vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
}

// BERT is a BERT checkpoint in the Hugging Face layout: one folder holding
// config.json, model.safetensors and vocab.txt (what
// `huggingface-cli download bert-base-uncased` fetches, or
// BertModel.save_pretrained writes).
type BERT struct {
	Dir    string
	Config BERTConfig
	Vocab  *datasets.Vocab // vocab.txt's WordPiece vocabulary
	// Digest is the SHA-256 of model.safetensors, hex: which weights a run
	// started from, whatever the folder is called.
	Digest string
	// tensors by their BertModel name ("embeddings.word_embeddings.weight",
	// "encoder.layer.0.attention.self.query.weight", ...): a BertFor*
	// checkpoint's "bert." prefix is dropped, and the LayerNorm names of
	// the original TensorFlow conversion (gamma, beta) read as weight and
	// bias.
	tensors map[string]safetensors.Tensor
}

// LoadBERT reads the BERT checkpoint in dir. Errors name the file and the
// field at fault.
func LoadBERT(dir string) (*BERT, error) {
	b := &BERT{Dir: dir, tensors: map[string]safetensors.Tensor{}}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: BERT: %w", err)
	}
	if err := json.Unmarshal(data, &b.Config); err != nil {
		return nil, fmt.Errorf("models: BERT: %s: %w", path, err)
	}
	c := b.Config
	for _, f := range []struct {
		name  string
		value int
	}{
		{"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize}, {"max_position_embeddings", c.MaxPositionEmbeddings},
		{"type_vocab_size", c.TypeVocabSize}, {"vocab_size", c.VocabSize},
	} {
		if f.value < 1 {
			return nil, fmt.Errorf("models: BERT: %s: %s is %d, want a positive number", path, f.name, f.value)
		}
	}
	if c.HiddenAct != "gelu" {
		// "gelu_new" and the others are tanh approximations or other
		// functions: loading them into an erf GELU would change the model.
		return nil, fmt.Errorf("models: BERT: %s: hidden_act %q; this encoder has BERT's erf GELU, \"gelu\"", path, c.HiddenAct)
	}
	if c.LayerNormEps <= 0 {
		return nil, fmt.Errorf("models: BERT: %s: layer_norm_eps is %g, want a positive number", path, c.LayerNormEps)
	}
	tok, err := wordpiece.Load(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, fmt.Errorf("models: BERT: %w", err)
	}
	if b.Vocab, err = datasets.WordPieceVocab(tok); err != nil {
		return nil, fmt.Errorf("models: BERT: %s: %w", filepath.Join(dir, "vocab.txt"), err)
	}
	if b.Vocab.Size() != c.VocabSize {
		return nil, fmt.Errorf("models: BERT: %s holds %d pieces, %s says vocab_size %d", filepath.Join(dir, "vocab.txt"), b.Vocab.Size(), path, c.VocabSize)
	}
	path = filepath.Join(dir, "model.safetensors")
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: BERT: %w", err)
	}
	sum := sha256.Sum256(data)
	b.Digest = hex.EncodeToString(sum[:])
	tensors, _, err := safetensors.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("models: BERT: %s: %w", path, err)
	}
	for _, t := range tensors {
		name := strings.TrimPrefix(t.Name, "bert.")
		name = strings.Replace(strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1), "LayerNorm.beta", "LayerNorm.bias", 1)
		if t.F32 == nil {
			return nil, fmt.Errorf("models: BERT: %s: tensor %q is %s, want floats", path, t.Name, t.DType())
		}
		b.tensors[name] = t
	}
	return b, nil
}

// Shape returns c with the shape of b's first `layers` layers: width,
// heads, feed-forward width, layers, BERT's GELU and LayerNorm epsilon,
// its vocabulary size and one transformer shared by text and image (the
// authors' encoder). It fails when b has fewer layers or c's captions are
// longer than b's positions.
func (b *BERT) Shape(c Config, layers int) (Config, error) {
	bc := b.Config
	if layers < 1 || layers > bc.NumHiddenLayers {
		return c, fmt.Errorf("models: BERT %s has %d layers; cannot take the first %d", b.Dir, bc.NumHiddenLayers, layers)
	}
	c = c.WithDefaults()
	if c.MaxTextLen > bc.MaxPositionEmbeddings {
		return c, fmt.Errorf("models: captions of %d tokens exceed BERT %s's %d positions", c.MaxTextLen, b.Dir, bc.MaxPositionEmbeddings)
	}
	c.Dim, c.Heads, c.FFDim, c.Layers = bc.HiddenSize, bc.NumAttentionHeads, bc.IntermediateSize, layers
	c.Activation, c.LayerNormEps = ActGELU, bc.LayerNormEps
	c.VocabSize, c.SharedLayers = bc.VocabSize, true
	return c, nil
}

// InitFrom copies the first m.Config.Layers layers of b into the
// parameters of m that only accepts (every one when only is nil; a
// distillation student takes only its layers, IsLayerParam, since its
// embeddings come from its teacher). m's Config must be b.Shape's (m.Vocab,
// when set, must be b's). What goes where: the word
// embeddings into text.tok; the first MaxTextLen position embeddings plus
// token type 0's (every caption is one segment of type 0, so BERT adds that
// one row to every position) into text.pos; the embedding LayerNorm into
// text.ln; each layer's query, key, value and attention output, the
// attention LayerNorm, the intermediate and output dense layers and the
// output LayerNorm into the shared layers' attn.q/k/v/o, ln1, ff1, ff2 and
// ln2 (weights transposed: PyTorch keeps a Linear's as out x in). The image
// projection, [CLS] slot, codes and image LayerNorm keep their
// initialisation, as in the authors' model, whose image side is new.
func (m *Model) InitFrom(b *BERT, only func(name string) bool) error {
	c := m.Config
	want, err := b.Shape(c, c.Layers)
	if err != nil {
		return err
	}
	if c.Dim != want.Dim || c.Heads != want.Heads || c.FFDim != want.FFDim || c.Activation != want.Activation ||
		c.LayerNormEps != want.LayerNormEps || c.VocabSize != want.VocabSize || !c.SharedLayers {
		return fmt.Errorf("models: init from BERT %s: the model is not shaped as BERT (models.BERT.Shape): dim %d, heads %d, ff %d, %s, eps %g, vocabulary %d, shared layers %v; BERT: %d, %d, %d, %s, %g, %d, true",
			b.Dir, c.Dim, c.Heads, c.FFDim, c.Activation, c.LayerNormEps, c.VocabSize, c.SharedLayers,
			want.Dim, want.Heads, want.FFDim, want.Activation, want.LayerNormEps, want.VocabSize)
	}
	if m.Vocab != nil && !m.Vocab.WordPiece() {
		return fmt.Errorf("models: init from BERT %s: the model reads a word-level vocabulary; BERT's embeddings need its WordPiece vocabulary (BERT.Vocab)", b.Dir)
	}
	d := c.Dim
	take := func(name string) bool { return only == nil || only(name) }
	copyRows := func(dst, src string, rows int) error {
		if !take(dst) {
			return nil
		}
		t, err := b.tensor(src, -1, d)
		if err != nil {
			return err
		}
		if t.Shape[0] < rows {
			return fmt.Errorf("models: BERT %s: %s has %d rows, want at least %d", b.Dir, src, t.Shape[0], rows)
		}
		copy(m.Params.Data(dst), t.F32[:rows*d])
		return nil
	}
	if err := copyRows("text.tok", "embeddings.word_embeddings.weight", c.VocabSize); err != nil {
		return err
	}
	if err := copyRows("text.pos", "embeddings.position_embeddings.weight", c.MaxTextLen); err != nil {
		return err
	}
	if take("text.pos") {
		typ, err := b.tensor("embeddings.token_type_embeddings.weight", -1, d)
		if err != nil {
			return err
		}
		pos := m.Params.Data("text.pos")
		for i := range pos {
			pos[i] += typ.F32[i%d]
		}
	}
	copies := []bertCopy{
		{"text.ln.g", "embeddings.LayerNorm.weight", false},
		{"text.ln.b", "embeddings.LayerNorm.bias", false},
	}
	for l := range c.Layers {
		p, q := fmt.Sprintf("shared.layer%d.", l), fmt.Sprintf("encoder.layer.%d.", l)
		for _, x := range []struct{ ours, theirs string }{
			{"attn.q.", "attention.self.query."}, {"attn.k.", "attention.self.key."}, {"attn.v.", "attention.self.value."},
			{"attn.o.", "attention.output.dense."}, {"ff1.", "intermediate.dense."}, {"ff2.", "output.dense."},
		} {
			copies = append(copies,
				bertCopy{p + x.ours + "w", q + x.theirs + "weight", true},
				bertCopy{p + x.ours + "b", q + x.theirs + "bias", false})
		}
		for _, x := range []struct{ ours, theirs string }{{"ln1.", "attention.output.LayerNorm."}, {"ln2.", "output.LayerNorm."}} {
			copies = append(copies,
				bertCopy{p + x.ours + "g", q + x.theirs + "weight", false},
				bertCopy{p + x.ours + "b", q + x.theirs + "bias", false})
		}
	}
	for _, x := range copies {
		if !take(x.dst) {
			continue
		}
		shape := m.Params.Tensor(x.dst).Shape()
		want := []int{shape.TotalSize()}
		if x.transpose {
			want = []int{shape[1], shape[0]} // PyTorch's out x in
		}
		t, err := b.tensor(x.src, want...)
		if err != nil {
			return err
		}
		if err := copyTensor(m, x, t); err != nil {
			return fmt.Errorf("models: BERT %s: %w", b.Dir, err)
		}
	}
	return nil
}

// bertCopy is a parameter of ours (dst) and the BERT tensor it takes its
// values from (src), transposed when a Linear's weight.
type bertCopy struct {
	dst, src  string
	transpose bool
}

// copyTensor copies t into m's parameter x.dst (transposed when x says).
func copyTensor(m *Model, x bertCopy, t safetensors.Tensor) error {
	dst := m.Params.Tensor(x.dst)
	shape := dst.Shape()
	w := m.Params.Data(x.dst)
	if len(t.F32) != len(w) {
		return fmt.Errorf("%s has %d values (shape %v), %s takes %d (shape %v)", x.src, len(t.F32), t.Shape, x.dst, len(w), shape)
	}
	if !x.transpose {
		copy(w, t.F32)
		return nil
	}
	in, out := shape[0], shape[1]
	if len(t.Shape) != 2 || t.Shape[0] != out || t.Shape[1] != in {
		return fmt.Errorf("%s has shape %v, want %d x %d", x.src, t.Shape, out, in)
	}
	for o := range out {
		for i := range in {
			w[i*out+o] = t.F32[o*in+i]
		}
	}
	return nil
}

// tensor returns b's tensor name, checking its shape (-1: any size).
func (b *BERT) tensor(name string, shape ...int) (safetensors.Tensor, error) {
	t, ok := b.tensors[name]
	if !ok {
		return t, fmt.Errorf("models: BERT %s: model.safetensors has no tensor %s (nor bert.%s)", b.Dir, name, name)
	}
	ok = len(t.Shape) == len(shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = shape[i] == -1 || shape[i] == t.Shape[i]
	}
	if !ok {
		return t, fmt.Errorf("models: BERT %s: tensor %s has shape %v, want %v (-1: any)", b.Dir, name, t.Shape, shape)
	}
	return t, nil
}

// WriteRandomBERT writes a BERT checkpoint of shape c into dir, in the
// Hugging Face layout LoadBERT reads (BertModel's names), with vocab as
// its vocab.txt and weights drawn from rng: N(0, 0.02) as BERT's
// initialiser, LayerNorm gains 1 and biases 0. It is for smoke runs and
// tests of the init.bert path where no pretrained checkpoint is at hand;
// c.VocabSize is len(vocab).
func WriteRandomBERT(dir string, c BERTConfig, vocab []string, rng *rand.Rand) error {
	c.VocabSize = len(vocab)
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	config, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o644); err != nil {
		return fmt.Errorf("models: write BERT: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("models: write BERT: %w", err)
	}
	var tensors []safetensors.Tensor
	add := func(name string, fill func() float32, shape ...int) {
		t := safetensors.Tensor{Name: name, Shape: shape, F32: make([]float32, shape[0]*shape[len(shape)-1])}
		if len(shape) == 1 {
			t.F32 = t.F32[:shape[0]]
		}
		for i := range t.F32 {
			t.F32[i] = fill()
		}
		tensors = append(tensors, t)
	}
	normal := func() float32 { return float32(rng.NormFloat64() * 0.02) }
	one := func() float32 { return 1 }
	zero := func() float32 { return 0 }
	h := c.HiddenSize
	add("embeddings.word_embeddings.weight", normal, c.VocabSize, h)
	add("embeddings.position_embeddings.weight", normal, c.MaxPositionEmbeddings, h)
	add("embeddings.token_type_embeddings.weight", normal, c.TypeVocabSize, h)
	add("embeddings.LayerNorm.weight", one, h)
	add("embeddings.LayerNorm.bias", zero, h)
	for l := range c.NumHiddenLayers {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, d := range []struct {
			name    string
			out, in int
		}{
			{"attention.self.query", h, h}, {"attention.self.key", h, h}, {"attention.self.value", h, h},
			{"attention.output.dense", h, h}, {"intermediate.dense", c.IntermediateSize, h}, {"output.dense", h, c.IntermediateSize},
		} {
			add(p+d.name+".weight", normal, d.out, d.in)
			add(p+d.name+".bias", zero, d.out)
		}
		for _, ln := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			add(p+ln+".weight", one, h)
			add(p+ln+".bias", zero, h)
		}
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, nil); err != nil {
		return fmt.Errorf("models: write BERT: %w", err)
	}
	return nil
}
