package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/internal/safetensors"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// AuthorsMode is the MODE an authors' checkpoint was trained in (their
// train.py --MODE), which decides which encoder scores and what it keeps.
type AuthorsMode string

const (
	AuthorsBase        AuthorsMode = "base"         // encoder, first 32 outputs per side
	AuthorsFast        AuthorsMode = "fast"         // encoder, first output per side
	AuthorsInflate     AuthorsMode = "inflate"      // encoder with 32 codes per side, first 64 outputs
	AuthorsShrinkBase  AuthorsMode = "shrinktobase" // encoder2 (the I→B student), first 32 outputs
	AuthorsShrinkFast  AuthorsMode = "shrinktofast" // encoder3 (the I→B→F student), first output
	authorsCodeNormEps             = 1e-5           // their LayerNorm "norm": image features and codes
)

// AuthorsSizes are the data shapes an authors' model reads: caption tokens
// (their 32) and image regions (SCAN's 36).
type AuthorsSizes struct{ TextLen, Regions int }

// LoadAuthors reads a checkpoint written by the authors' code
// (sourcesemnlp/Inflate_shrink: torch.save of {"model":
// [EncoderText.state_dict()], ...}, every name under DataParallel's
// "module."), trained in mode, into a model that scores pairs as their
// forward does at test time. b gives BERT's config and vocabulary (their
// bert/ folder; its weights are not read). The model takes their layout
// (Config.NoImageCLS, CodesAfterNorm, ImageNormEps, KeepLimit; CPU only):
// captions are their BERT embeddings; images their Linear "fc" then their
// LayerNorm "norm"; the codes, inflate's poly_code_embeddings, pass
// through "norm" once, here at load time; the scoring encoder's layers
// are encoder, encoder2 or encoder3 by mode; pads are kept as fragments.
func LoadAuthors(path string, b *BERT, mode AuthorsMode, sizes AuthorsSizes) (*Model, error) {
	state, err := readAuthorsState(path)
	if err != nil {
		return nil, err
	}
	encoder, keep, codes := "encoder", KeepAll, 0
	limit := sizes.TextLen
	switch mode {
	case AuthorsBase:
	case AuthorsFast:
		keep = KeepFirst
	case AuthorsInflate:
		if t, ok := state["poly_code_embeddings_t.weight"]; ok && len(t.Shape) == 2 {
			codes = t.Shape[0]
		}
		limit += codes
	case AuthorsShrinkBase:
		encoder = "encoder2"
	case AuthorsShrinkFast:
		encoder, keep = "encoder3", KeepFirst
	default:
		return nil, fmt.Errorf("models: authors' checkpoint %s: unknown mode %q (want base, fast, inflate, shrinktobase or shrinktofast)", path, mode)
	}
	// BERT's embeddings are always encoder's; the scoring layers encoder's,
	// encoder2's or encoder3's.
	bert := &BERT{Dir: path, Config: b.Config, Vocab: b.Vocab, tensors: map[string]safetensors.Tensor{}}
	layers := 0
	for name, t := range state {
		switch {
		case strings.HasPrefix(name, "encoder.embeddings."):
			bert.tensors[strings.TrimPrefix(name, "encoder.")] = t
		case strings.HasPrefix(name, encoder+".encoder.layer."):
			rest := strings.TrimPrefix(name, encoder+".")
			bert.tensors[rest] = t
			n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(rest, "encoder.layer."), ".", 2)[0])
			if err == nil {
				layers = max(layers, n+1)
			}
		}
	}
	if layers == 0 {
		return nil, fmt.Errorf("models: authors' checkpoint %s has no %s.encoder.layer.* (mode %s)", path, encoder, mode)
	}
	fc, ok := state["fc.weight"]
	if !ok || len(fc.Shape) != 2 {
		return nil, fmt.Errorf("models: authors' checkpoint %s has no 2-D fc.weight (the image projection)", path)
	}
	c, err := b.Shape(Config{RegionDim: fc.Shape[1], MaxTextLen: sizes.TextLen, MaxRegions: sizes.Regions,
		TextCodes: codes, ImageCodes: codes, Keep: keep, Padding: PadKeep,
		NoImageCLS: true, CodesAfterNorm: true, ImageNormEps: authorsCodeNormEps, KeepLimit: limit}, layers)
	if err != nil {
		return nil, err
	}
	// Every weight that scores comes from the checkpoint; the rest (the
	// hidden image [CLS]) from a fixed draw.
	m, err := New(c, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	m.Vocab = b.Vocab
	if err := m.InitFrom(bert, nil); err != nil {
		return nil, err
	}
	d := c.Dim
	for _, x := range []bertCopy{{"image.proj.w", "fc.weight", true}, {"image.proj.b", "fc.bias", false},
		{"image.ln.g", "norm.weight", false}, {"image.ln.b", "norm.bias", false}} {
		t, ok := state[x.src]
		if !ok {
			return nil, fmt.Errorf("models: authors' checkpoint %s has no %s", path, x.src)
		}
		if err := copyTensor(m, x, t); err != nil {
			return nil, fmt.Errorf("models: authors' checkpoint %s: %w", path, err)
		}
	}
	g, bias := m.Params.Data("image.ln.g"), m.Params.Data("image.ln.b")
	for _, side := range []struct{ ours, theirs string }{{"text.codes", "poly_code_embeddings_t.weight"}, {"image.codes", "poly_code_embeddings_v.weight"}} {
		if codes == 0 {
			break
		}
		t, ok := state[side.theirs]
		if !ok || len(t.F32) != codes*d {
			return nil, fmt.Errorf("models: authors' checkpoint %s: %s is missing or not %d x %d", path, side.theirs, codes, d)
		}
		dst := m.Params.Data(side.ours)
		for j := range codes {
			layerNormRowTo(dst[j*d:(j+1)*d], t.F32[j*d:(j+1)*d], g, bias, authorsCodeNormEps)
		}
	}
	return m, nil
}

// layerNormRowTo writes LayerNorm(x) with gain g, bias b and eps to dst,
// in float64 as PyTorch's float32 LayerNorm accumulates closely enough.
func layerNormRowTo(dst, x, g, b []float32, eps float64) {
	var mean, v float64
	for _, e := range x {
		mean += float64(e)
	}
	mean /= float64(len(x))
	for _, e := range x {
		v += (float64(e) - mean) * (float64(e) - mean)
	}
	inv := 1 / math.Sqrt(v/float64(len(x))+eps)
	for i, e := range x {
		dst[i] = float32((float64(e)-mean)*inv*float64(g[i]) + float64(b[i]))
	}
}

// readAuthorsState reads the state dict of an authors' checkpoint, names
// without "module.", values as float32 tensors in row-major order.
func readAuthorsState(path string) (map[string]safetensors.Tensor, error) {
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("models: authors' checkpoint %s: %w", path, err)
	}
	top, ok := obj.(*types.Dict)
	if !ok {
		return nil, fmt.Errorf("models: authors' checkpoint %s holds a %T, want the dict torch.save wrote", path, obj)
	}
	model, ok := top.Get("model")
	if !ok {
		return nil, fmt.Errorf("models: authors' checkpoint %s has no \"model\" entry", path)
	}
	states, ok := model.(*types.List)
	if !ok || states.Len() < 1 {
		return nil, fmt.Errorf("models: authors' checkpoint %s: \"model\" is a %T, want a list of state dicts", path, model)
	}
	var entries []types.DictEntry
	switch sd := states.Get(0).(type) {
	case *types.OrderedDict: // what state_dict() returns
		for e := sd.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			entries = append(entries, types.DictEntry{Key: entry.Key, Value: entry.Value})
		}
	case *types.Dict:
		entries = *sd
	default:
		return nil, fmt.Errorf("models: authors' checkpoint %s: \"model\"[0] is a %T, want a state dict", path, sd)
	}
	out := map[string]safetensors.Tensor{}
	for _, entry := range entries {
		name, _ := entry.Key.(string)
		t, ok := entry.Value.(*pytorch.Tensor)
		if !ok {
			continue // not a tensor (a buffer's metadata)
		}
		values, err := float32s(t)
		if err != nil {
			return nil, fmt.Errorf("models: authors' checkpoint %s: %s: %w", path, name, err)
		}
		name = strings.TrimPrefix(name, "module.")
		out[name] = safetensors.Tensor{Name: name, Shape: t.Size, F32: values}
	}
	return out, nil
}

// float32s are t's values in row-major order, whatever its strides.
func float32s(t *pytorch.Tensor) ([]float32, error) {
	s, ok := t.Source.(*pytorch.FloatStorage)
	if !ok {
		return nil, fmt.Errorf("storage %T, want float32 (FloatStorage)", t.Source)
	}
	n := 1
	for _, d := range t.Size {
		n *= d
	}
	out := make([]float32, n)
	index := make([]int, len(t.Size))
	for i := range out {
		off := t.StorageOffset
		for k, ix := range index {
			off += ix * t.Stride[k]
		}
		if off < 0 || off >= len(s.Data) {
			return nil, fmt.Errorf("element %d lies outside its storage", i)
		}
		out[i] = s.Data[off]
		for k := len(index) - 1; k >= 0; k-- {
			if index[k]++; index[k] < t.Size[k] {
				break
			}
			index[k] = 0
		}
	}
	return out, nil
}
