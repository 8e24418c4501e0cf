package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/inflateshrink/inflateshrink/models"
)

// TestEncodeAndScoreMatchModels encodes a test split on the Host backend
// and scores it, against models' Encoder and ScoreGallery, with a chunk
// that leaves a short last chunk.
func TestEncodeAndScoreMatchModels(t *testing.T) {
	split, vocab, regionDim := smallSplit(t, 13)
	for _, keep := range []models.Keep{models.KeepAll, models.KeepFirst} {
		c := models.Config{VocabSize: vocab.Size(), RegionDim: regionDim, Dim: 16, Heads: 2, MaxTextLen: 10, MaxRegions: 8, TextCodes: 2, ImageCodes: 3, Keep: keep}
		m, err := models.New(c, rand.New(rand.NewPCG(9, 9)))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := models.NewEncoder(m, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		wantT, err := ref.EncodeTexts(vocab, split.Captions)
		if err != nil {
			t.Fatal(err)
		}
		wantI, err := ref.EncodeImages(split.Images)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := NewEncoder(Host{}, m, 4)
		if err != nil {
			t.Fatal(err)
		}
		gotT, err := enc.EncodeTexts(vocab, split.Captions)
		if err != nil {
			t.Fatal(err)
		}
		gotI, err := enc.EncodeImages(split.Images)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			name      string
			got, want models.Fragments
		}{{"texts", gotT, wantT}, {"images", gotI, wantI}} {
			if rel, ok := closeTo(f.got.Data, f.want.Data, 1e-4, 1); !ok || f.got.PerItem != f.want.PerItem {
				t.Errorf("keep %s: %s differ by %.3g (%d vs %d per item)", keep, f.name, rel, f.got.PerItem, f.want.PerItem)
			}
			if rel, ok := closeTo(f.got.Mask, f.want.Mask, 0, 1); !ok {
				t.Errorf("keep %s: %s masks differ by %g", keep, f.name, rel)
			}
		}
		want, err := models.ScoreGallery(wantT, wantI)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ScoreGallery(Host{}, wantT, wantI)
		if err != nil {
			t.Fatal(err)
		}
		if rel, ok := closeTo(got.Data, want.Data, 1e-5, 1); !ok {
			t.Errorf("keep %s: gallery scores differ by %.3g", keep, rel)
		}
	}
}
