package models

import (
	"encoding/gob"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCheckpointVocab: a model's vocabulary is saved with it and loads
// back; a checkpoint written before vocabularies were saved (without the
// fields) still loads, with no vocabulary; a vocabulary that disagrees with
// the config is refused when saving, and a damaged one when loading.
func TestCheckpointVocab(t *testing.T) {
	ds, v := tinyData(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, m *Model, path string) error
		vocab bool   // the loaded model has the vocabulary
		err   string // the error of write or Load, "" for none
	}{
		{name: "with vocabulary", vocab: true, write: func(t *testing.T, m *Model, path string) error {
			m.Vocab = v
			return m.Save(path)
		}},
		{name: "without vocabulary", write: func(t *testing.T, m *Model, path string) error {
			return m.Save(path)
		}},
		{name: "written before vocabularies", write: func(t *testing.T, m *Model, path string) error {
			return writeOldCheckpoint(m, m.Config, path)
		}},
		{name: "vocabulary of another size", err: "vocabulary has", write: func(t *testing.T, m *Model, path string) error {
			m.Config.VocabSize++
			defer func() { m.Config.VocabSize-- }()
			m.Vocab = v
			return m.Save(path)
		}},
		{name: "damaged vocabulary", err: "vocabulary does not match", write: func(t *testing.T, m *Model, path string) error {
			m.Vocab = v
			if err := m.Save(path); err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// Change the longest word in place: the vocabulary is written
			// before the parameter names, so its first occurrence is there.
			word := ""
			for _, w := range v.Words() {
				if len(w) > len(word) {
					word = w
				}
			}
			i := strings.Index(string(b), word)
			b[i] ^= 0x01
			return os.WriteFile(path, b, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(t, ds, v, 0, KeepTokens)
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".ckpt")
			err := tc.write(t, m, path)
			var got *Model
			if err == nil {
				got, err = Load(path)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err %v, want one naming %s and containing %q", err, path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != m.Config {
				t.Errorf("config %+v, want %+v", got.Config, m.Config)
			}
			switch {
			case tc.vocab && !reflect.DeepEqual(got.Vocab, v):
				t.Errorf("vocabulary of %v words, want the saved one's %d", got.Vocab, v.Size())
			case !tc.vocab && got.Vocab != nil:
				t.Errorf("vocabulary of %d words, want none", got.Vocab.Size())
			}
		})
	}
}

// writeOldCheckpoint writes m as Save did before checkpoints held the
// vocabulary, with config standing for its Config (the Config of an
// earlier version: gob matches fields by name).
func writeOldCheckpoint[C any](m *Model, config C, path string) error {
	type old struct {
		Config C
		Names  []string
		Shapes [][]int
		Data   [][]float32
		SHA256 []byte
	}
	ck := checkpoint{Config: m.Config}
	for _, name := range m.Params.Names() {
		ck.Names = append(ck.Names, name)
		ck.Shapes = append(ck.Shapes, []int(m.Params.Tensor(name).Shape().Clone()))
		ck.Data = append(ck.Data, m.Params.Data(name))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return gob.NewEncoder(f).Encode(old{config, ck.Names, ck.Shapes, ck.Data, ck.sum()})
}
