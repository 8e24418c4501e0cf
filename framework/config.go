package framework

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/distill"
	"github.com/inflateshrink/inflateshrink/gpu"
	"github.com/inflateshrink/inflateshrink/models"
)

// Config is everything that decides a trial's result. Its JSON form (with
// the field tags below) is what is hashed, stored and overridden by -set.
type Config struct {
	Model string `json:"model"` // a shrink chain: base, inflated, fast, cM, or stages joined by '>' (see package distill)
	Codes int    `json:"codes"` // learnable codes per side of the chain's inflated stage
	// CodeSides is where the inflated stage puts its codes: "both" (the
	// default, also ""), "text" or "image". Omitted from the JSON when
	// empty, like every field added after results were first recorded, so
	// that the hashes of earlier trials stay as they were.
	CodeSides string `json:"code_sides,omitempty"`
	Seed      int64  `json:"seed"`    // every random draw of the trial derives from it
	Dataset   string `json:"dataset"` // a name known to datasets.Load

	Dim          int    `json:"dim"`
	Heads        int    `json:"heads"`
	Layers       int    `json:"layers"`
	FFDim        int    `json:"ff_dim"`
	MaxTextLen   int    `json:"max_text_len"`
	MaxRegions   int    `json:"max_regions"` // 0: the data set's largest image
	Padding      string `json:"padding"`     // mask or include
	SharedLayers bool   `json:"shared_layers"`

	Train   TrainConfig   `json:"train"`
	Distill DistillConfig `json:"distill"`
	// Cross is the cross encoder of a model "CHAIN>>cross" (see
	// cross.go); every other model clears it, so it stays out of their
	// JSON and hashes.
	Cross CrossConfig `json:"cross,omitzero"`
	// Init is where the encoder's weights start; zero (random weights)
	// stays out of the JSON and hashes.
	Init InitConfig `json:"init,omitzero"`
}

// InitConfig starts the encoders from pretrained weights.
type InitConfig struct {
	// BERT is a folder holding a Hugging Face BERT checkpoint
	// (config.json, model.safetensors, vocab.txt; see models.LoadBERT).
	// Every stage's shared transformer starts from its first BERTLayers
	// layers, and captions are read with its WordPiece vocabulary, as the
	// authors' model does. dim, heads, ff_dim and layers must be BERT's
	// (bert-base: 768, 12, 3072) and shared_layers true. The run records
	// the SHA-256 of its weights (environment key init_bert_sha256).
	BERT string `json:"bert,omitempty"`
	// BERTLayers is how many of BERT's layers the encoder takes, its first;
	// 0 means layers.
	BERTLayers int `json:"bert_layers,omitempty"`
	// Authors is a checkpoint released by the paper's authors (their
	// train.py's .pth.tar), which a model "authors:MODE" scores without
	// training (see authorsPrefix); init.bert names the BERT folder it was
	// trained from. The run records its SHA-256 (init_authors_sha256).
	Authors string `json:"authors,omitempty"`
}

// TrainConfig is the optimisation of every stage.
type TrainConfig struct {
	BatchSize    int     `json:"batch_size"`
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learning_rate"`
	DecayEpoch   int     `json:"decay_epoch"`
	DecayFactor  float64 `json:"decay_factor"`
	WeightDecay  float64 `json:"weight_decay"`
	ClipNorm     float64 `json:"clip_norm"`
	// Margin is the hinge margin of late-interaction first stages,
	// FastMargin that of a 1x1 first stage (the authors: 0.6 and 0.2).
	Margin     float64 `json:"margin"`
	FastMargin float64 `json:"fast_margin"`
	// WarmupEpochs of InfoNCE (at WarmupTemp) precede the hinge in a
	// first stage; see models.Warmup for why.
	WarmupEpochs int     `json:"warmup_epochs"`
	WarmupTemp   float64 `json:"warmup_temp"`
	// Loss is the first stage's loss: "hinge-l8" (the authors', also ""),
	// "hinge-l8-masked" (without each anchor's own pair in its L8 sum),
	// "vse++" (hardest negative, at the same margins) or "infonce" (at
	// WarmupTemp for the whole training, no warm-up). See
	// models.FirstStage.
	Loss string `json:"loss,omitempty"`
	// Reduction combines the losses of a batch's anchors, for every loss
	// of every stage: "sum" (the authors') or "mean" (models.Reduction).
	Reduction string `json:"reduction"`
	// Batches is what an epoch visits: "captions" (the authors': every
	// caption once, with its image) or "images" (every image once, with a
	// random one of its captions); see datasets.Batching.
	Batches string `json:"batches"`
	// ValidateEvery is the period, in epochs, of the validation that
	// chooses each stage's weights (and the last epoch is always
	// validated); Patience, when positive, stops a stage after that many
	// validations without a better validation rSum. See
	// models.Validation.
	ValidateEvery int `json:"validate_every"`
	Patience      int `json:"patience"`
	// Precision is how the GPU computes matrix products: "fp32" (the
	// default, also ""), "tf32" or "bf16" (gpu.Precision; float32 weights
	// and kernels either way). Anything but fp32 needs -device cuda.
	Precision string `json:"precision,omitempty"`
}

// DistillConfig is the knowledge distillation of every later stage; zero
// temperatures take the authors' values (see distill.Settings).
type DistillConfig struct {
	TeacherTemp     float64 `json:"teacher_temp"`
	StudentTemp     float64 `json:"student_temp"`
	TrainEmbeddings bool    `json:"train_embeddings"`
}

// DefaultConfig is the quickstart's configuration: the authors' recipe
// (see README, "What differs from the paper") at a size that trains the
// five models on two cores in minutes.
func DefaultConfig() Config {
	return Config{
		Model: "base", Codes: 4, Seed: 1, Dataset: "synthetic",
		Dim: 32, Heads: 2, Layers: 1, FFDim: 64, MaxTextLen: 16, Padding: string(models.PadKeep), SharedLayers: true,
		Train: TrainConfig{
			BatchSize: 32, Epochs: 20, LearningRate: 1e-3, DecayEpoch: 15, DecayFactor: 0.1,
			WeightDecay: 0.01, ClipNorm: 2, Margin: 0.6, FastMargin: 0.2,
			WarmupEpochs: 0, WarmupTemp: 0.1,
			Reduction: string(models.ReduceSum), Batches: string(datasets.ByCaption), ValidateEvery: 1,
		},
	}
}

// PaperConfig is the authors' recipe at the paper's sizes: one shared
// transformer of 3 layers with d = 768, 12 heads and feed-forward 3072
// (the shape of BERT-base's first 3 layers), 32 caption tokens, 32 regions
// per image (of SCAN's 36), k = 32 codes per side, batches of 128, 40
// epochs with the learning rate x0.1 from epoch 20. What still differs
// from the authors (README, "Paper scale"): the encoder starts from random
// weights and reads the framework's word vocabulary unless init.bert names
// a BERT checkpoint (then its first 3 layers and its WordPiece
// vocabulary); the learning rate stays the from-scratch 1e-3 (theirs,
// 1e-4, fine-tunes BERT); float32 throughout.
func PaperConfig() Config {
	c := DefaultConfig()
	c.Codes = 32
	c.Dim, c.Heads, c.Layers, c.FFDim = 768, 12, 3, 3072
	c.MaxTextLen, c.MaxRegions = 32, 32
	c.Train.BatchSize, c.Train.Epochs, c.Train.DecayEpoch = 128, 40, 20
	return c
}

// PaperModels are the models of the paper's main experiment: the five of
// its table (base, inflated, fast, and the inflated teacher shrunk to base
// and on to fast), the shrink chain through 16 and 4 codes, and the cross
// encoder re-ranking fast's candidates, the accurate-but-slow end.
func PaperModels() []string {
	return []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast", "inflated>c16>c4>fast", "fast>>cross"}
}

// EarlierRecipe are the -set assignments that turn the default config
// back into this framework's recipe before it followed the authors' code
// (README, "What differs from the paper"): margin 0.2 for every model, the
// L8 hinge without the positive pair's term, means over the batch,
// separate text and image layers, padding masked from the score, weight
// decay 1e-4 and batches of distinct images. Its epochs and InfoNCE
// warm-up are left to the caller, since an epoch over images is shorter
// than one over captions where an image has several.
func EarlierRecipe() []string {
	return []string{"train.margin=0.2", "train.loss=hinge-l8-masked", "train.reduction=mean",
		"shared_layers=false", "padding=mask", "train.weight_decay=0.0001", "train.batches=images"}
}

// Hash is the trial's identity: the first 16 hex digits of the SHA-256 of
// its JSON form.
func (c Config) Hash() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // Config holds only plain values
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// JSON returns the config's JSON form.
func (c Config) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Params is the trial's record in results.db: every key of its config,
// dotted, with the value the trial uses, the defaults that its JSON form
// leaves out (so that earlier hashes hold) spelled out, so that no reader
// of the record needs to know them: code_sides "both", train.loss
// "hinge-l8", train.precision "fp32" and, for a cross model,
// cross.hard_negatives 0 (a run from
// random weights has no init keys). Values are
// formatted as their JSON form decodes (20, 0.001, true).
func (c Config) Params() map[string]string {
	if c.CodeSides == "" {
		c.CodeSides = distill.SidesBoth
	}
	if c.Train.Loss == "" {
		c.Train.Loss = models.LossHingeL8
	}
	if c.Train.Precision == "" {
		c.Train.Precision = string(gpu.FP32)
	}
	tree := fullTree(reflect.ValueOf(c))
	if c.Cross == (CrossConfig{}) {
		delete(tree, "cross") // not a cross model: see Config.Cross
	}
	if c.Init == (InitConfig{}) {
		delete(tree, "init") // random weights, as every run before the key
	}
	b, err := json.Marshal(tree)
	if err != nil {
		panic(err) // Config holds only plain values
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return flatten(m)
}

// flatten lists a decoded JSON object's values that are not objects under
// their dotted paths, printed as fmt prints them.
func flatten(obj map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if obj, ok := v.(map[string]any); ok {
			for k, x := range obj {
				walk(prefix+k+".", x)
			}
			return
		}
		out[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
	}
	walk("", obj)
	return out
}

// ParseConfig reads a JSON config, refusing unknown keys.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("framework: config: %w", err)
	}
	return c, nil
}

// Set overrides one dotted key of c ("train.epochs=2", "dim=64"). Unknown
// keys and values of the wrong type are errors naming them.
func (c Config) Set(assignment string) (Config, error) {
	key, value, ok := strings.Cut(assignment, "=")
	if !ok || key == "" {
		return c, fmt.Errorf("framework: -set %q: want key=value", assignment)
	}
	tree := fullTree(reflect.ValueOf(c))
	node := tree
	parts := strings.Split(key, ".")
	for i, p := range parts {
		cur, ok := node[p]
		if !ok {
			return c, fmt.Errorf("framework: -set %q: unknown key %q (known: %s)", assignment, strings.Join(parts[:i+1], "."), strings.Join(keys(node), ", "))
		}
		if i == len(parts)-1 {
			if _, isObj := cur.(map[string]any); isObj {
				return c, fmt.Errorf("framework: -set %q: %q is a group, set one of its keys", assignment, key)
			}
			switch cur.(type) {
			case string:
				node[p] = value
			default:
				var v any
				if err := json.Unmarshal([]byte(value), &v); err != nil {
					return c, fmt.Errorf("framework: -set %q: value %q is not a number or boolean", assignment, value)
				}
				node[p] = v
			}
			break
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return c, fmt.Errorf("framework: -set %q: %q has no keys", assignment, strings.Join(parts[:i+1], "."))
		}
		node = next
	}
	b, _ := json.Marshal(tree)
	out, err := ParseConfig(b)
	if err != nil {
		return c, fmt.Errorf("framework: -set %q: %w", assignment, err)
	}
	return out, nil
}

// fullTree is the JSON tree of a struct with every field present, the
// omitempty ones included, so that Set knows every key whatever its value.
func fullTree(v reflect.Value) map[string]any {
	out := map[string]any{}
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if f := v.Field(i); f.Kind() == reflect.Struct {
			out[name] = fullTree(f)
		} else {
			out[name] = f.Interface()
		}
	}
	return out
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// normalised clears the values that cannot change c's result, so that
// trials that differ only there share one hash (and one run): the codes
// and their sides of a chain without an inflated stage, the distillation
// settings of a single stage, and "both", the default sides, spelled out.
//
// A cross model's cross encoder settings are spelled out at their
// defaults instead, so that its record names them; every other model's
// are cleared.
func (c Config) normalised() Config {
	if _, ok := baselineOf(c.Model); ok {
		// Nothing of a baseline's result depends on the seed or a stage.
		c.Seed, c.Codes, c.CodeSides, c.Distill, c.Cross, c.Init = 0, 0, "", DistillConfig{}, CrossConfig{}, InitConfig{}
		return c
	}
	if _, ok := authorsOf(c.Model); ok {
		// The checkpoint decides everything but the data and the sizes
		// read from it.
		c.Seed, c.Codes, c.CodeSides, c.Distill, c.Cross, c.Init.BERTLayers = 0, 0, "", DistillConfig{}, CrossConfig{}, 0
		return c
	}
	first, cross := firstStage(c.Model)
	if c.CodeSides == distill.SidesBoth {
		c.CodeSides = ""
	}
	if !strings.Contains(first, "inflated") {
		c.Codes, c.CodeSides = 0, ""
	}
	if !strings.Contains(first, ">") {
		c.Distill = DistillConfig{}
	}
	if c.Init.BERT != "" && c.Init.BERTLayers == 0 {
		c.Init.BERTLayers = c.Layers // spelled out, like the cross encoder's defaults
	}
	if cross {
		c.Cross = c.Cross.withDefaults(c.Train)
	} else {
		c.Cross = CrossConfig{}
	}
	return c
}

// setList collects repeated -set flags.
type setList []string

func (s *setList) String() string     { return strings.Join(*s, " ") }
func (s *setList) Set(v string) error { *s = append(*s, v); return nil }

// Validate reports the first value of c that cannot make a trial.
func (c Config) Validate() error {
	if m, ok := baselineOf(c.Model); ok {
		if err := validateBaseline(m); err != nil {
			return err
		}
	} else if m, ok := authorsOf(c.Model); ok {
		if err := c.validateAuthors(m); err != nil {
			return err
		}
	} else if _, err := c.chain(); err != nil {
		return err
	}
	if _, cross := firstStage(c.Model); cross {
		if err := c.Cross.validate(c.Train); err != nil {
			return err
		}
	}
	if _, err := gpu.ParsePrecision(c.Train.Precision); err != nil {
		return fmt.Errorf("framework: config value train.precision: %w", err)
	}
	if err := c.Init.validate(c); err != nil {
		return err
	}
	if c.Train.Loss != "" && !slices.Contains(models.LossNames(), c.Train.Loss) {
		return fmt.Errorf("framework: config value train.loss %q is unknown (want %s)", c.Train.Loss, strings.Join(models.LossNames(), ", "))
	}
	if r := models.Reduction(c.Train.Reduction); r == "" || r.Validate() != nil {
		return fmt.Errorf("framework: config value train.reduction %q is unknown (want %q or %q)", c.Train.Reduction, models.ReduceSum, models.ReduceMean)
	}
	if b := datasets.Batching(c.Train.Batches); b == "" || b.Validate() != nil {
		return fmt.Errorf("framework: config value train.batches %q is unknown (want %q or %q)", c.Train.Batches, datasets.ByCaption, datasets.ByImage)
	}
	if err := datasets.Check(c.Dataset); err != nil {
		return fmt.Errorf("framework: %w", err)
	}
	if err := c.checkRanges(); err != nil {
		return err
	}
	mc := models.Config{VocabSize: 1, RegionDim: 1, Dim: c.Dim, Heads: c.Heads, Layers: c.Layers, FFDim: c.FFDim,
		MaxTextLen: c.MaxTextLen, MaxRegions: max(c.MaxRegions, 1), Padding: models.PadMode(c.Padding)}
	if err := mc.Validate(); err != nil {
		return fmt.Errorf("framework: %w", err)
	}
	return c.checkMemory(physicalMemory())
}

// numericRange is the allowed interval of one numeric config key; an
// open end is excluded (learning rates above 0, not 0).
type numericRange struct {
	key              string
	value, low, high float64
	openLow          bool
}

func (r numericRange) ok() bool {
	above := r.value > r.low || !r.openLow && r.value == r.low
	return above && r.value <= r.high && !math.IsNaN(r.value)
}

// checkRanges checks every numeric key against its range. Zero never
// stands for a default in a framework config (DefaultConfig spells every
// value out, and a run records what it trained with), so sizes start at
// 1. The upper ends are far past what a run here can use; they catch
// typos (dim=100000), not choices.
func (c Config) checkRanges() error {
	t, d := c.Train, c.Distill
	f := func(key string, v float64, low, high float64) numericRange {
		return numericRange{key, v, low, high, false}
	}
	above := func(key string, v float64, low, high float64) numericRange {
		return numericRange{key, v, low, high, true}
	}
	epochs := float64(t.Epochs)
	for _, r := range []numericRange{
		f("codes", float64(c.Codes), 0, 1024),
		f("dim", float64(c.Dim), 1, 8192), f("heads", float64(c.Heads), 1, 256), f("layers", float64(c.Layers), 1, 64),
		f("ff_dim", float64(c.FFDim), 1, 65536), f("max_text_len", float64(c.MaxTextLen), 1, 4096),
		f("max_regions", float64(c.MaxRegions), 0, 4096),
		f("train.batch_size", float64(t.BatchSize), 2, 1<<16), f("train.epochs", epochs, 1, 1e5),
		above("train.learning_rate", t.LearningRate, 0, 10),
		f("train.decay_epoch", float64(t.DecayEpoch), 1, epochs), above("train.decay_factor", t.DecayFactor, 0, 1),
		f("train.weight_decay", t.WeightDecay, 0, 1), f("train.clip_norm", t.ClipNorm, 0, 1e6),
		f("train.margin", t.Margin, 0, 100), f("train.fast_margin", t.FastMargin, 0, 100),
		f("train.warmup_epochs", float64(t.WarmupEpochs), 0, epochs), above("train.warmup_temp", t.WarmupTemp, 0, 1e3),
		f("train.validate_every", float64(t.ValidateEvery), 1, max(epochs, 1)), f("train.patience", float64(t.Patience), 0, 1e5),
		f("distill.teacher_temp", d.TeacherTemp, 0, 1e3), f("distill.student_temp", d.StudentTemp, 0, 1e3),
	} {
		if !r.ok() {
			lowBracket := "["
			if r.openLow {
				lowBracket = "("
			}
			return fmt.Errorf("framework: config value %s = %g is out of range %s%g, %g]", r.key, r.value, lowBracket, r.low, r.high)
		}
	}
	return nil
}

// checkMemory refuses a config whose training would not fit in memory
// bytes (0: unknown, not checked), so that a typo does not end in the
// runtime's "fatal error: out of memory", which no deferred handler can
// record. The estimate counts the float32 parameters four times (weights,
// gradients, AdamW's two moments) and the activations of one batch: per
// layer, per sequence of tokens and regions (plus codes), about
// 12 dim + 2 ff_dim values and heads x len^2 attention weights, kept for
// the backward pass, and the batch x batch x len_text x len_image
// late-interaction products. It leaves out the vocabulary (known only
// with the data) and is meant to be within a factor of two.
func (c Config) checkMemory(bytes uint64) error {
	if bytes == 0 {
		return nil
	}
	dim, ff, layers, heads := float64(c.Dim), float64(c.FFDim), float64(c.Layers), float64(c.Heads)
	b := float64(c.Train.BatchSize)
	text, image := float64(c.MaxTextLen+1+c.Codes), float64(max(c.MaxRegions, 64)+1+c.Codes)
	params := layers * 2 * (4*dim*dim + 2*dim*ff + 9*dim)
	var acts float64
	for _, n := range []float64{text, image} {
		acts += b * layers * (n*(12*dim+2*ff) + heads*n*n)
	}
	acts += b * b * text * image
	est := 4 * (4*params + 2*acts)
	if est > float64(bytes) {
		return fmt.Errorf("framework: config needs about %.1f GiB to train (dim %d, ff_dim %d, layers %d, batch %d), more than this machine's %.1f GiB",
			est/(1<<30), c.Dim, c.FFDim, c.Layers, c.Train.BatchSize, float64(bytes)/(1<<30))
	}
	return nil
}

// physicalMemory is the machine's memory in bytes from /proc/meminfo, 0
// where that cannot be read.
func physicalMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// validate names the first init value that cannot start c's encoders (the
// checkpoint itself is read, and its shape checked against c, when the
// sweep starts: see Runner.dataset).
func (x InitConfig) validate(c Config) error {
	if _, ok := authorsOf(c.Model); ok != (x.Authors != "") {
		return fmt.Errorf("framework: config value init.authors %q goes with a model authors:MODE, and only there (model %q)", x.Authors, c.Model)
	}
	if x.BERT == "" {
		if x.BERTLayers != 0 {
			return fmt.Errorf("framework: config value init.bert_layers %d needs init.bert, a BERT checkpoint's folder", x.BERTLayers)
		}
		return nil
	}
	if x.BERTLayers != 0 && x.BERTLayers != c.Layers {
		return fmt.Errorf("framework: config values init.bert_layers %d and layers %d differ: the encoder is BERT's first layers (set layers=%d)", x.BERTLayers, c.Layers, x.BERTLayers)
	}
	if x.Authors != "" {
		return nil // the checkpoint decides the encoder's shape
	}
	if !c.SharedLayers {
		return fmt.Errorf("framework: init.bert needs shared_layers=true: BERT's layers are one transformer, shared by text and image as in the authors' model")
	}
	return nil
}
