package search

import (
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inflateshrink/inflateshrink/internal/filehash"
	"github.com/inflateshrink/inflateshrink/models"
)

// indexVersion is the index file's format; an index of another version is
// rebuilt.
const indexVersion = 1

// Index holds a gallery's encoded fragments: every image's and every
// caption's, as the model that made them keeps them.
type Index struct {
	Version int
	// Checkpoint is the SHA-256 of the checkpoint file that encoded the
	// gallery, Gallery the fingerprint of the gallery and vocabulary
	// (its name, captions, regions and words): an index whose either
	// differs is stale.
	Checkpoint, Dataset, Gallery string
	Texts, Images                models.Fragments
}

// IndexPath is the file of the index of checkpoint over data set
// dataset: beside the checkpoint, named after both ("m.ckpt" over
// "emoji-style-small" is "m.ckpt.emoji-style-small.index"; characters
// other than letters, digits and ".-_@" become "_").
func IndexPath(checkpoint, dataset string) string {
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_@", r)) {
			return r
		}
		return '_'
	}, dataset)
	return checkpoint + "." + name + ".index"
}

// IndexStatus says how OpenIndex came by its index.
type IndexStatus struct {
	Path    string
	Loaded  bool          // read from Path
	Built   time.Duration // the time it took to encode the gallery, when built
	Why     string        // why a saved index was not used ("" when none was there)
	SaveErr error         // why the built index could not be saved, if it could not
}

func (s IndexStatus) String() string {
	switch {
	case s.Loaded:
		return "index " + s.Path + " (loaded)"
	case s.SaveErr != nil:
		return fmt.Sprintf("index built in %.1fs, not saved: %v", s.Built.Seconds(), s.SaveErr)
	case s.Why != "":
		return fmt.Sprintf("index %s (built in %.1fs: %s)", s.Path, s.Built.Seconds(), s.Why)
	}
	return fmt.Sprintf("index %s (built in %.1fs)", s.Path, s.Built.Seconds())
}

// OpenIndex returns the index of m over g: the one saved at IndexPath when
// it is valid for m's checkpoint, g and m's vocabulary (and rebuild is
// false), otherwise one built by encoding every caption and image, which
// it saves there. An index that cannot be saved (a read-only folder) is
// used all the same; the status says why it was not saved.
func OpenIndex(m *Model, g *Gallery, rebuild bool) (*Index, IndexStatus, error) {
	st := IndexStatus{Path: IndexPath(m.Source.Checkpoint, g.Name)}
	if err := g.check(m); err != nil {
		return nil, st, err
	}
	sum, err := filehash.SHA256(m.Source.Checkpoint)
	if err != nil {
		return nil, st, fmt.Errorf("search: %w", err)
	}
	want := Index{Version: indexVersion, Checkpoint: sum, Dataset: g.Name, Gallery: fingerprint(g, m.Vocab)}
	if !rebuild {
		idx, why := readIndex(st.Path, want, m.Config, g)
		if idx != nil {
			st.Loaded = true
			return idx, st, nil
		}
		st.Why = why
	} else {
		st.Why = "rebuilt on request"
	}
	start := time.Now()
	enc, err := models.NewEncoder(m.Model, min(128, max(len(g.Split.Captions), len(g.Split.Images))))
	if err != nil {
		return nil, st, fmt.Errorf("search: %w", err)
	}
	defer enc.Close()
	idx := want
	if idx.Texts, err = enc.EncodeTexts(m.Vocab, g.Split.Captions); err != nil {
		return nil, st, fmt.Errorf("search: encode the captions of %s: %w", g.Name, err)
	}
	if idx.Images, err = enc.EncodeImages(g.Split.Images); err != nil {
		return nil, st, fmt.Errorf("search: encode the images of %s: %w", g.Name, err)
	}
	st.Built = time.Since(start)
	st.SaveErr = writeIndex(st.Path, &idx)
	return &idx, st, nil
}

// readIndex reads the index at path and returns it when it is want's
// (same version, checkpoint, data set and gallery) and its fragments fit
// the model and gallery; otherwise nil and why not ("" when there is no
// file).
func readIndex(path string, want Index, c models.Config, g *Gallery) (*Index, string) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, ""
	}
	if err != nil {
		return nil, err.Error()
	}
	defer f.Close()
	var idx Index
	if err := gob.NewDecoder(f).Decode(&idx); err != nil {
		return nil, "the saved index does not read: " + err.Error()
	}
	switch {
	case idx.Version != want.Version:
		return nil, fmt.Sprintf("the saved index has format %d, not %d", idx.Version, want.Version)
	case idx.Checkpoint != want.Checkpoint:
		return nil, "the checkpoint changed since the saved index was built"
	case idx.Dataset != want.Dataset:
		return nil, fmt.Sprintf("the saved index is of data set %s", idx.Dataset)
	case idx.Gallery != want.Gallery:
		return nil, "the gallery or the vocabulary changed since the saved index was built"
	}
	for _, f := range []struct {
		name       string
		f          models.Fragments
		n, perItem int
	}{
		{"caption", idx.Texts, len(g.Split.Captions), c.TextFragments()},
		{"image", idx.Images, len(g.Split.Images), c.ImageFragments()},
	} {
		if f.f.N != f.n || f.f.PerItem != f.perItem || f.f.Dim != c.Dim || len(f.f.Data) != f.n*f.perItem*c.Dim || len(f.f.Mask) != f.n*f.perItem {
			return nil, fmt.Sprintf("the saved index's %s fragments do not fit the model and gallery", f.name)
		}
	}
	return &idx, ""
}

// writeIndex saves idx to path atomically.
func writeIndex(path string, idx *Index) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(idx); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// NewSearcher opens m's index over g (see OpenIndex).
func NewSearcher(m *Model, g *Gallery, rebuild bool) (*Searcher, IndexStatus, error) {
	idx, st, err := OpenIndex(m, g, rebuild)
	if err != nil {
		return nil, st, err
	}
	return &Searcher{Model: m, Gallery: g, Index: idx}, st, nil
}
