package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"gorgonia.org/tensor"
)

// Params holds a model's weights by name. The tensors are shared by every
// graph built from the model, so an optimiser step is seen by all of them.
type Params struct {
	names   []string
	tensors map[string]*tensor.Dense
}

// Names lists the parameter names in a fixed order.
func (p *Params) Names() []string { return p.names }

// Tensor returns the named parameter, or nil.
func (p *Params) Tensor(name string) *tensor.Dense { return p.tensors[name] }

// Data returns the named parameter's values (shared, not copied).
func (p *Params) Data(name string) []float32 { return p.tensors[name].Data().([]float32) }

// Count is the total number of scalar parameters.
func (p *Params) Count() int {
	n := 0
	for _, t := range p.tensors {
		n += t.Shape().TotalSize()
	}
	return n
}

// IsLayerParam reports whether name belongs to a transformer block (as
// opposed to embeddings, projection, codes and the embedding LayerNorm).
// Distillation students retrain only these.
func IsLayerParam(name string) bool { return strings.Contains(name, ".layer") }

// init kinds.
const (
	initZero = iota
	initOne
	initNormal // N(0, 0.1): embeddings, codes, [CLS]
	initGlorot // uniform Glorot: linear weights
)

type paramSpec struct {
	name  string
	shape []int
	init  int
}

// paramSpecs lists every parameter of cfg in a fixed order, so that the
// same seed always yields the same weights.
func paramSpecs(cfg Config) []paramSpec {
	d := cfg.Dim
	var specs []paramSpec
	add := func(name string, init int, shape ...int) {
		specs = append(specs, paramSpec{name, shape, init})
	}
	add("text.tok", initNormal, cfg.VocabSize, d)
	add("text.pos", initNormal, cfg.MaxTextLen, d)
	if cfg.TextCodes > 0 {
		add("text.codes", initNormal, cfg.TextCodes, d)
	}
	add("text.ln.g", initOne, d)
	add("text.ln.b", initZero, d)
	add("image.proj.w", initGlorot, cfg.RegionDim, d)
	add("image.proj.b", initZero, d)
	add("image.cls", initNormal, 1, d)
	if cfg.ImageCodes > 0 {
		add("image.codes", initNormal, cfg.ImageCodes, d)
	}
	add("image.ln.g", initOne, d)
	add("image.ln.b", initZero, d)
	stacks := []string{"text", "image"}
	if cfg.SharedLayers {
		stacks = []string{"shared"}
	}
	for _, side := range stacks {
		specs = append(specs, layerSpecs(cfg, side)...)
	}
	return specs
}

// layerSpecs lists the parameters of cfg.Layers transformer blocks named
// stack.layer0., stack.layer1., ... (what builder.block reads).
func layerSpecs(cfg Config, stack string) []paramSpec {
	d := cfg.Dim
	var specs []paramSpec
	add := func(name string, init int, shape ...int) {
		specs = append(specs, paramSpec{name, shape, init})
	}
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("%s.layer%d.", stack, l)
		for _, m := range []string{"q", "k", "v", "o"} {
			add(p+"attn."+m+".w", initGlorot, d, d)
			add(p+"attn."+m+".b", initZero, d)
		}
		add(p+"ln1.g", initOne, d)
		add(p+"ln1.b", initZero, d)
		add(p+"ff1.w", initGlorot, d, cfg.FFDim)
		add(p+"ff1.b", initZero, cfg.FFDim)
		add(p+"ff2.w", initGlorot, cfg.FFDim, d)
		add(p+"ff2.b", initZero, d)
		add(p+"ln2.g", initOne, d)
		add(p+"ln2.b", initZero, d)
	}
	return specs
}

// newParams draws the parameters specs lists from rng, in their order.
func newParams(specs []paramSpec, rng *rand.Rand) *Params {
	p := &Params{tensors: map[string]*tensor.Dense{}}
	for _, s := range specs {
		size := 1
		for _, n := range s.shape {
			size *= n
		}
		data := make([]float32, size)
		switch s.init {
		case initOne:
			for i := range data {
				data[i] = 1
			}
		case initNormal:
			for i := range data {
				data[i] = float32(0.1 * rng.NormFloat64())
			}
		case initGlorot:
			limit := math.Sqrt(6 / float64(s.shape[0]+s.shape[len(s.shape)-1]))
			for i := range data {
				data[i] = float32(limit * (2*rng.Float64() - 1))
			}
		}
		p.names = append(p.names, s.name)
		p.tensors[s.name] = tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(data))
	}
	return p
}

// checkpoint is the on-disk form of a model.
type checkpoint struct {
	Config Config
	// Vocab is the caption vocabulary's words in id order
	// (datasets.Vocab.Words); empty in checkpoints written before it was
	// saved, and in those of a model without one. VocabSHA256 is its
	// digest (vocabSum). Gob matches fields by name, so checkpoints
	// without them load, and programs built before them ignore them.
	Vocab       []string
	VocabSHA256 []byte
	Names       []string
	Shapes      [][]int
	Data        [][]float32
	// SHA256 is the digest of Data (sum), so that a file damaged after it
	// was written is refused rather than loaded; empty in checkpoints
	// written before it existed, which load unchecked.
	SHA256 []byte
}

// sum is the SHA-256 of the parameters' bytes, little-endian, in order.
func (ck *checkpoint) sum() []byte {
	h := sha256.New()
	var buf [4]byte
	for _, d := range ck.Data {
		for _, v := range d {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	return h.Sum(nil)
}

// vocabSum is the SHA-256 of the vocabulary's words, each followed by a
// zero byte.
func (ck *checkpoint) vocabSum() []byte {
	h := sha256.New()
	for _, w := range ck.Vocab {
		h.Write([]byte(w))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// TempPattern is the os.CreateTemp pattern of the temporary file that
// becomes path when renamed: "<name>.tmp<pid>-*", so that a sweep that
// starts can tell the files a dead process left (see framework) from a
// live one's.
func TempPattern(path string) string {
	return fmt.Sprintf("%s.tmp%d-*", filepath.Base(path), os.Getpid())
}

// Save writes the model to path atomically (a temporary file renamed into
// place), so a crash never leaves a half-written checkpoint behind.
func (m *Model) Save(path string) error {
	ck := checkpoint{Config: m.Config}
	for _, name := range m.Params.names {
		t := m.Params.tensors[name]
		ck.Names = append(ck.Names, name)
		ck.Shapes = append(ck.Shapes, []int(t.Shape().Clone()))
		ck.Data = append(ck.Data, t.Data().([]float32))
	}
	ck.SHA256 = ck.sum()
	if m.Vocab != nil {
		if m.Vocab.Size() != m.Config.VocabSize {
			return fmt.Errorf("models: save checkpoint %s: the vocabulary has %d words, the model's config %d", path, m.Vocab.Size(), m.Config.VocabSize)
		}
		ck.Vocab = m.Vocab.Words()
		ck.VocabSHA256 = ck.vocabSum()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("models: checkpoint directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), TempPattern(path))
	if err != nil {
		return fmt.Errorf("models: save checkpoint %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(ck); err != nil {
		tmp.Close()
		return fmt.Errorf("models: save checkpoint %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("models: save checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("models: save checkpoint %s: %w", path, err)
	}
	return nil
}

// Load reads a model written by Save, with its vocabulary when the
// checkpoint holds one (Model.Vocab is nil otherwise).
func Load(path string) (*Model, error) {
	cfg, p, vocab, err := load(path, paramSpecs)
	if err != nil {
		return nil, err
	}
	return &Model{Config: cfg, Params: p, Vocab: vocab}, nil
}

// load reads a checkpoint whose parameters must be those specs lists for
// its config: a dual model's (paramSpecs) or a cross encoder's. The
// vocabulary is nil when the checkpoint holds none.
func load(path string, specs func(Config) []paramSpec) (Config, *Params, *datasets.Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, nil, nil, fmt.Errorf("models: load checkpoint: %w", err)
	}
	defer f.Close()
	var ck checkpoint
	if err := gob.NewDecoder(f).Decode(&ck); err != nil {
		return Config{}, nil, nil, fmt.Errorf("models: load checkpoint %s: %w", path, err)
	}
	if len(ck.SHA256) > 0 && !bytes.Equal(ck.SHA256, ck.sum()) {
		return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s is damaged: its parameters do not match their SHA-256", path)
	}
	if len(ck.Vocab) > 0 && !bytes.Equal(ck.VocabSHA256, ck.vocabSum()) {
		return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s is damaged: its vocabulary does not match its SHA-256", path)
	}
	if err := ck.Config.Validate(); err != nil {
		return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s: %w", path, err)
	}
	var vocab *datasets.Vocab
	if len(ck.Vocab) > 0 {
		if vocab, err = datasets.NewVocab(ck.Vocab); err != nil {
			return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s: %w", path, err)
		}
		if vocab.Size() != ck.Config.VocabSize {
			return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s holds a vocabulary of %d words, its config says %d", path, vocab.Size(), ck.Config.VocabSize)
		}
	}
	want := specs(ck.Config.WithDefaults())
	if len(want) != len(ck.Names) {
		return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s holds %d parameters, its config needs %d", path, len(ck.Names), len(want))
	}
	p := &Params{tensors: map[string]*tensor.Dense{}}
	for i, s := range want {
		if ck.Names[i] != s.name || fmt.Sprint(ck.Shapes[i]) != fmt.Sprint(s.shape) {
			return Config{}, nil, nil, fmt.Errorf("models: checkpoint %s: parameter %d is %s%v, want %s%v", path, i, ck.Names[i], ck.Shapes[i], s.name, s.shape)
		}
		p.names = append(p.names, s.name)
		p.tensors[s.name] = tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(ck.Data[i]))
	}
	return ck.Config.WithDefaults(), p, vocab, nil
}

// CopyFrom copies every parameter of src whose name and shape match one of
// p's and returns the names copied, sorted.
func (p *Params) CopyFrom(src *Params, keep func(name string) bool) []string {
	var copied []string
	for _, name := range p.names {
		s, ok := src.tensors[name]
		if !ok || !keep(name) || !s.Shape().Eq(p.tensors[name].Shape()) {
			continue
		}
		copy(p.Data(name), s.Data().([]float32))
		copied = append(copied, name)
	}
	sort.Strings(copied)
	return copied
}
