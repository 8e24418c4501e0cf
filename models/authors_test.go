package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/pytorch"
)

// TestAuthorsCheckpoint: a checkpoint in the authors' layout, written by
// PyTorch's torch.save as their train.py saves (tools/authors_reference.py,
// random weights), loads in each of their five modes and scores every
// caption against every image as their test-time forward does, to 1e-5,
// through the fused ops and the composed graph. The images have more
// regions (9) than captions have tokens (6), so base keeps the first 6
// region outputs of 9 and inflate the first 10 of 9 regions and 4 codes,
// as their code keeps the first 32 (or 64) of SCAN's 36.
func TestAuthorsCheckpoint(t *testing.T) {
	py, ok := pytorch.Python()
	if !ok {
		t.Skip(pytorch.SkipMessage)
	}
	const textLen, regions, regionDim = 6, 9, 16
	// The sizes of tools/bert_reference.py, which the checkpoint takes.
	dir, b := randomBERT(t, BERTConfig{HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 24, TypeVocabSize: 2, LayerNormEps: 1e-12})
	tb := datasets.PackTexts(b.Vocab, bertCaptions, textLen)
	rng := rand.New(rand.NewPCG(3, 4))
	images := make([][][]float32, len(bertCaptions))
	for i := range images {
		images[i] = make([][]float32, regions)
		for r := range images[i] {
			images[i][r] = make([]float32, regionDim)
			for k := range images[i][r] {
				images[i][r][k] = float32(rng.NormFloat64())
			}
		}
	}
	writeInputs(t, filepath.Join(dir, "inputs.json"), tb, images)
	for _, mode := range []AuthorsMode{AuthorsBase, AuthorsFast, AuthorsInflate, AuthorsShrinkBase, AuthorsShrinkFast} {
		t.Run(string(mode), func(t *testing.T) {
			runReference(t, py, "authors_reference.py", dir, string(mode))
			data, err := os.ReadFile(filepath.Join(dir, string(mode)+".scores.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want []float64
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			m, err := LoadAuthors(filepath.Join(dir, string(mode)+".pth.tar"), b, mode, AuthorsSizes{TextLen: textLen, Regions: regions})
			if err != nil {
				t.Fatal(err)
			}
			for _, composed := range []bool{false, true} {
				m.Composed = composed
				enc, err := NewEncoder(m, len(images))
				if err != nil {
					t.Fatal(err)
				}
				texts, err := enc.EncodeTextBatch(tb)
				if err != nil {
					t.Fatal(err)
				}
				imgs, err := enc.EncodeImageBatch(datasets.PackImages(images, regions, regionDim))
				enc.Close()
				if err != nil {
					t.Fatal(err)
				}
				s, err := ScoreGallery(texts, imgs)
				if err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i, w := range want {
					worst = max(worst, math.Abs(float64(s.Data[i])-w))
				}
				t.Logf("composed=%v: %d x %d fragments, largest score difference %.3g", composed, texts.PerItem, imgs.PerItem, worst)
				if len(s.Data) != len(want) || worst > 1e-5 {
					t.Errorf("composed=%v: %d scores, largest difference from the authors' forward %.3g; want %d within 1e-5", composed, len(s.Data), worst, len(want))
				}
			}
		})
	}
	if _, err := LoadAuthors(filepath.Join(dir, "base.pth.tar"), b, "tiny", AuthorsSizes{TextLen: textLen, Regions: regions}); err == nil || !strings.Contains(err.Error(), `"tiny"`) {
		t.Errorf("an unknown mode: %v", err)
	}
	if _, err := LoadAuthors(filepath.Join(dir, "base.pth.tar"), b, AuthorsShrinkBase, AuthorsSizes{TextLen: textLen, Regions: regions}); err == nil || !strings.Contains(err.Error(), "encoder2") {
		t.Errorf("a base checkpoint read as shrinktobase: %v; want an error naming encoder2", err)
	}
}
