package search

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/filehash"
	"github.com/inflateshrink/inflateshrink/internal/safetensors"
	"github.com/inflateshrink/inflateshrink/models"
)

// Format is the "format" metadata of an export: what the tensors are and
// how they compute (tools/safetensors_check.py implements it).
const Format = "inflateshrink-late-interaction-v1"

// Export writes m's parameters to path as safetensors (float32, named as
// in the checkpoint: "text.tok", "shared.layer0.attn.q.w", ...; linear
// weights are (in, out): y = x w + b) with metadata, all strings:
//
//	format         Format
//	config         the models.Config as JSON (defaults filled in)
//	vocab          the vocabulary's words in id order as a JSON array
//	               (special words <pad>, <unk>, <cls> first); absent when
//	               the model has none
//	source, model, dataset, run
//	               where the weights come from ("" when unknown)
//	checkpoint_sha256
//	               the checkpoint file's SHA-256
//	layer_norm_eps, l2_eps, mask_off
//	               the constants of the forward pass: LayerNorm's epsilon,
//	               the one inside the L2 norm's root, the additive bias
//	               that removes a padded slot from attention and MaxSim
func Export(m *Model, path string) error {
	c := m.Config.WithDefaults()
	if c.NoImageCLS || c.CodesAfterNorm || c.ImageNormEps != 0 || c.KeepLimit != 0 {
		// Its readers (tools/safetensors_check.py) build this package's
		// own layout: the authors' would score differently there.
		return fmt.Errorf("search: export: the authors' layout (models.LoadAuthors) has no export format")
	}
	cfg, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("search: export: %w", err)
	}
	sum, err := filehash.SHA256(m.Source.Checkpoint)
	if err != nil {
		return fmt.Errorf("search: export: %w", err)
	}
	meta := map[string]string{
		"format":            Format,
		"config":            string(cfg),
		"source":            m.Source.String(),
		"model":             m.Source.Model,
		"dataset":           m.Source.Dataset,
		"checkpoint_sha256": sum,
		"layer_norm_eps":    strconv.FormatFloat(c.LayerNormEps, 'g', -1, 64),
		"l2_eps":            "1e-12",
		"mask_off":          "-10000",
	}
	if m.Source.Run != 0 {
		meta["run"] = strconv.FormatInt(m.Source.Run, 10)
	}
	if m.Vocab != nil {
		words, err := json.Marshal(m.Vocab.Words())
		if err != nil {
			return fmt.Errorf("search: export: %w", err)
		}
		meta["vocab"] = string(words)
		meta["vocab_from"] = m.VocabFrom
	}
	var tensors []safetensors.Tensor
	for _, name := range m.Params.Names() {
		tensors = append(tensors, safetensors.Tensor{Name: name, Shape: m.Params.Tensor(name).Shape().Clone(), F32: m.Params.Data(name)})
	}
	if err := safetensors.WriteFile(path, tensors, meta); err != nil {
		return fmt.Errorf("search: export %s: %w", m.Source, err)
	}
	return nil
}

// ExportPairs writes to path (safetensors) n captions and n images of
// gallery g, caption j being one of image j's, as m reads them, with what
// Go computes of them: a check that another implementation of the
// forward pass reproduces the model. Tensors:
//
//	text.ids         int64 (n, MaxTextLen): [CLS] and token ids, PadID after
//	text.lens        int64 (n): real ids per caption, [CLS] included
//	image.regions    float32 (n, MaxRegions, RegionDim), zero padded
//	image.counts     int64 (n): real regions per image
//	text.fragments   float32 (n, TextFragments, Dim): kept, L2-normalised
//	text.weight      float32 (n, TextFragments): 1 scored, 0 padding
//	image.fragments  float32 (n, ImageFragments, Dim)
//	image.mask       float32 (n, ImageFragments): 1 scored, 0 padding
//	scores           float32 (n, n): scores[t][i], the MaxSim of caption t
//	                 and image i (models.ScoreGallery, as evaluation scores)
//
// Metadata "captions" holds the captions' text (a JSON array), so that a
// tokeniser can be checked against text.ids, and "items" the gallery
// images' indices.
func ExportPairs(m *Model, g *Gallery, n int, path string) error {
	if n <= 0 {
		return fmt.Errorf("search: pairs: n must be positive, got %d", n)
	}
	if err := g.check(m); err != nil {
		return err
	}
	n = min(n, len(g.Split.Images))
	c := m.Config
	var captions []string
	var images [][][]float32
	var items []int
	for j := range n {
		i := j * len(g.Split.Images) / n
		items = append(items, i)
		captions = append(captions, g.Split.Captions[g.ImageCaptions[i][0]])
		images = append(images, g.Split.Images[i])
	}
	enc, err := models.NewEncoder(m.Model, n)
	if err != nil {
		return fmt.Errorf("search: pairs: %w", err)
	}
	defer enc.Close()
	tb := datasets.PackTexts(m.Vocab, captions, c.MaxTextLen)
	ib := datasets.PackImages(images, c.MaxRegions, c.RegionDim)
	texts, err := enc.EncodeTextBatch(tb)
	if err != nil {
		return fmt.Errorf("search: pairs: %w", err)
	}
	imgs, err := enc.EncodeImageBatch(ib)
	if err != nil {
		return fmt.Errorf("search: pairs: %w", err)
	}
	s, err := models.ScoreGallery(texts, imgs)
	if err != nil {
		return fmt.Errorf("search: pairs: %w", err)
	}
	scores := make([]float32, n*n)
	for t := range n {
		for i := range n {
			scores[t*n+i] = s.Data[i*s.Captions+t]
		}
	}
	i64 := func(x []int) []int64 {
		out := make([]int64, len(x))
		for k, v := range x {
			out[k] = int64(v)
		}
		return out
	}
	tensors := []safetensors.Tensor{
		{Name: "text.ids", Shape: []int{n, c.MaxTextLen}, I64: i64(tb.IDs)},
		{Name: "text.lens", Shape: []int{n}, I64: i64(tb.Lens)},
		{Name: "image.regions", Shape: []int{n, c.MaxRegions, c.RegionDim}, F32: ib.Regions},
		{Name: "image.counts", Shape: []int{n}, I64: i64(ib.Counts)},
		{Name: "text.fragments", Shape: []int{n, texts.PerItem, texts.Dim}, F32: texts.Data},
		{Name: "text.weight", Shape: []int{n, texts.PerItem}, F32: texts.Mask},
		{Name: "image.fragments", Shape: []int{n, imgs.PerItem, imgs.Dim}, F32: imgs.Data},
		{Name: "image.mask", Shape: []int{n, imgs.PerItem}, F32: imgs.Mask},
		{Name: "scores", Shape: []int{n, n}, F32: scores},
	}
	capJSON, _ := json.Marshal(captions)
	itemJSON, _ := json.Marshal(items)
	meta := map[string]string{"captions": string(capJSON), "items": string(itemJSON), "gallery": g.Name, "source": m.Source.String()}
	if err := safetensors.WriteFile(path, tensors, meta); err != nil {
		return fmt.Errorf("search: pairs: %w", err)
	}
	return nil
}
