// Package search retrieves with a trained model: the images of a data
// set's test split (the gallery) for a text query, or its captions for one
// of its images. The gallery's fragments are encoded once into an index
// saved beside the checkpoint (IndexPath) and reused while the checkpoint,
// the gallery and the vocabulary stay the same. Scoring is the retrieval
// engine's: MaxSim over the whole gallery (models.ScoreGallery,
// retrieval.TopK), or a cascade in which a cheap coarse model (a 1x1 dual
// encoder, the "fast" models) preselects candidates that the model
// re-ranks by MaxSim (retrieval.Cascade, retrieval.Rerank).
//
// cmd/search is its command line; Export writes a model's weights to
// safetensors for other frameworks (tools/safetensors_check.py loads them
// into PyTorch).
package search

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/retrieval"
	"github.com/inflateshrink/inflateshrink/store"
)

// Source says where a model comes from.
type Source struct {
	Checkpoint string // the checkpoint file
	Run        int64  // its run in a results database; 0 for a checkpoint given by path
	DB         string // that database
	Model      string // the run's model (chain), "" when unknown
	Dataset    string // the data set it was trained on, "" when unknown
	Status     string // the run's status, "" when unknown
}

// String names the source for people: "run 7 (inflated>base on
// synthetic-small)" or the checkpoint's path.
func (s Source) String() string {
	if s.Run == 0 {
		return "checkpoint " + s.Checkpoint
	}
	return fmt.Sprintf("run %d (%s on %s)", s.Run, s.Model, s.Dataset)
}

// FromRun looks run id up in the results database at dbPath, opened
// read-only: its checkpoint (a relative path is relative to the database's
// folder, as store.DB.CheckpointPath resolves it), model and data set.
func FromRun(dbPath string, id int64) (Source, error) {
	if _, err := os.Stat(dbPath); err != nil {
		return Source{}, fmt.Errorf("search: no results database at %s (-db): %w", dbPath, err)
	}
	db, err := store.OpenReadOnly(dbPath)
	if err != nil {
		return Source{}, fmt.Errorf("search: %w", err)
	}
	defer db.Close()
	rec, ok, err := store.RunByID(db, id)
	if err != nil {
		return Source{}, fmt.Errorf("search: %s: %w", dbPath, err)
	}
	if !ok {
		return Source{}, fmt.Errorf("search: %s has no run %d (go run ./framework/cmd/results -db %s runs lists them)", dbPath, id, dbPath)
	}
	src := Source{Run: id, DB: dbPath, Model: rec.Model, Dataset: rec.Dataset, Status: rec.Status, Checkpoint: rec.Checkpoint}
	if src.Checkpoint == "" {
		why := "status " + src.Status
		if rec.Error != "" {
			why += ": " + rec.Error
		}
		return Source{}, fmt.Errorf("search: run %d of %s has no checkpoint (%s)", id, dbPath, why)
	}
	if !filepath.IsAbs(src.Checkpoint) {
		src.Checkpoint = filepath.Join(filepath.Dir(dbPath), src.Checkpoint)
	}
	return src, nil
}

// Loader loads data sets by name, each once.
type Loader struct {
	// Load loads a data set; nil means datasets.Load.
	Load func(name string) (*datasets.Dataset, error)
	sets map[string]*datasets.Dataset
}

// Get returns the named data set, loading it on first use.
func (l *Loader) Get(name string) (*datasets.Dataset, error) {
	if ds, ok := l.sets[name]; ok {
		return ds, nil
	}
	load := l.Load
	if load == nil {
		load = datasets.Load
	}
	ds, err := load(name)
	if err != nil {
		return nil, err
	}
	if l.sets == nil {
		l.sets = map[string]*datasets.Dataset{}
	}
	l.sets[name] = ds
	return ds, nil
}

// Model is a loaded model with the vocabulary it tokenises with.
type Model struct {
	*models.Model
	Source Source
	// VocabFrom says where the vocabulary came from: "the checkpoint", or
	// the data set whose training captions rebuilt it.
	VocabFrom string
}

// Load reads src's checkpoint. A checkpoint written before vocabularies
// were saved gets the one its training built: datasets.BuildVocab of the
// training captions of trainData (src.Dataset when empty), checked
// against the model's vocabulary size.
func Load(src Source, trainData string, data *Loader) (*Model, error) {
	if chain, ok := strings.CutSuffix(src.Model, ">>cross"); ok {
		return nil, fmt.Errorf("search: run %d is a cross encoder (%s), which scores pairs, not a gallery: search with the run of its first stage, %s, and see framework's cascade evaluation for the re-ranking", src.Run, src.Model, chain)
	}
	m, err := models.Load(src.Checkpoint)
	if err != nil {
		if src.Run != 0 {
			return nil, fmt.Errorf("search: run %d: %w", src.Run, err)
		}
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Model{Model: m, Source: src, VocabFrom: "the checkpoint"}
	if m.Vocab != nil {
		return out, nil
	}
	name := cmp.Or(trainData, src.Dataset)
	if name == "" {
		return nil, fmt.Errorf("search: checkpoint %s holds no vocabulary (written before vocabularies were saved): name the data set it was trained on with -train-data, whose training captions rebuild it", src.Checkpoint)
	}
	ds, err := data.Get(name)
	if err != nil {
		return nil, fmt.Errorf("search: rebuild the vocabulary of %s: %w", src, err)
	}
	if len(ds.Train.Captions) == 0 {
		return nil, fmt.Errorf("search: checkpoint %s holds no vocabulary and data set %s has no training captions to rebuild it from: name the data set it was trained on with -train-data", src.Checkpoint, name)
	}
	v := datasets.BuildVocab(ds.Train.Captions)
	if v.Size() != m.Config.VocabSize {
		return nil, fmt.Errorf("search: checkpoint %s holds no vocabulary, and the training captions of %s give %d words where the model has %d: it was not trained on %s (name its data set with -train-data)",
			src.Checkpoint, name, v.Size(), m.Config.VocabSize, name)
	}
	m.Vocab = v
	out.VocabFrom = "the training captions of " + name + " (the checkpoint holds none)"
	return out, nil
}

// LoadWithoutVocab reads src's checkpoint as it is: Vocab stays nil when
// the checkpoint holds none (enough to export the weights, not to search).
func LoadWithoutVocab(src Source) (*Model, error) {
	m, err := models.Load(src.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	from := "the checkpoint"
	if m.Vocab == nil {
		from = "nowhere (the checkpoint holds none)"
	}
	return &Model{Model: m, Source: src, VocabFrom: from}, nil
}

// Gallery is what a search ranks: a data set's test split.
type Gallery struct {
	Name  string
	Split *datasets.Split
	// ImageCaptions[i] lists the captions of image i.
	ImageCaptions [][]int
}

// NewGallery is the test split of the data set name, loaded by data.
func NewGallery(name string, data *Loader) (*Gallery, error) {
	ds, err := data.Get(name)
	if err != nil {
		return nil, fmt.Errorf("search: gallery: %w", err)
	}
	s := &ds.Test
	if len(s.Images) == 0 {
		return nil, fmt.Errorf("search: data set %s has an empty test split: nothing to search", name)
	}
	if err := s.Validate(ds.RegionDim); err != nil {
		return nil, fmt.Errorf("search: gallery %s: %w", name, err)
	}
	g := &Gallery{Name: name, Split: s, ImageCaptions: make([][]int, len(s.Images))}
	for c, i := range s.CaptionImage {
		g.ImageCaptions[i] = append(g.ImageCaptions[i], c)
	}
	return g, nil
}

// HasPictures reports whether the gallery's images can be shown.
func (g *Gallery) HasPictures() bool { return len(g.Split.Pictures) == len(g.Split.Images) }

// check reports whether m can encode g's images. Images of more regions
// than the model takes keep their first MaxRegions, as evaluation keeps
// them (datasets.PackImages).
func (g *Gallery) check(m *Model) error {
	for _, img := range g.Split.Images {
		if len(img) > 0 && len(img[0]) != m.Config.RegionDim {
			return fmt.Errorf("search: gallery %s has regions of %d values, %s takes %d (a model and a gallery of different tokenisations?)", g.Name, len(img[0]), m.Source, m.Config.RegionDim)
		}
	}
	return nil
}

// Hit is one retrieved item (an image, or a caption) and its score.
type Hit struct {
	Item  int
	Score float32
}

// Searcher searches one gallery with one model.
type Searcher struct {
	Model   *Model
	Gallery *Gallery
	Index   *Index
	// Coarse, if not nil, is the first stage of a cascade over the same
	// gallery: its scores choose Candidates items per query (default
	// 100), which Model re-ranks.
	Coarse     *Searcher
	Candidates int

	enc *models.Encoder
}

// Close releases the searcher's encoders.
func (s *Searcher) Close() {
	if s.enc != nil {
		s.enc.Close()
		s.enc = nil
	}
	if s.Coarse != nil {
		s.Coarse.Close()
	}
}

// encodeText encodes one query with the searcher's model.
func (s *Searcher) encodeText(query string) (models.Fragments, error) {
	if s.enc == nil {
		enc, err := models.NewEncoder(s.Model.Model, 1)
		if err != nil {
			return models.Fragments{}, err
		}
		s.enc = enc
	}
	return s.enc.EncodeTexts(s.Model.Vocab, []string{query})
}

// Tokens returns query as the model reads it: its tokens ([CLS] first,
// truncated to the model's caption length) and the words the vocabulary
// does not know.
func (m *Model) Tokens(query string) (tokens, unknown []string) {
	for _, id := range m.Vocab.Encode(query, m.Config.MaxTextLen) {
		tokens = append(tokens, m.Vocab.Word(id))
	}
	if m.Vocab.WordPiece() {
		return tokens, nil // every word has pieces: an unknown one is the token [UNK]
	}
	for _, w := range datasets.Tokenize(query) {
		if m.Vocab.Unknown(m.Vocab.ID(w)) && !slices.Contains(unknown, w) {
			unknown = append(unknown, w)
		}
	}
	return tokens, unknown
}

func (s *Searcher) candidates(k int) (int, error) {
	n := cmp.Or(s.Candidates, 100)
	if k > n {
		return 0, fmt.Errorf("search: k=%d exceeds the cascade's %d candidates (raise -candidates)", k, n)
	}
	return n, nil
}

// Text returns the k images that best match query, best first.
func (s *Searcher) Text(query string, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be positive, got %d", k)
	}
	q, err := s.encodeText(query)
	if err != nil {
		return nil, fmt.Errorf("search: encode the query: %w", err)
	}
	var hits [][]retrieval.Hit
	if s.Coarse == nil {
		hits, err = retrieval.Search(q, s.Index.Images, k)
	} else {
		var n int
		if n, err = s.candidates(k); err != nil {
			return nil, err
		}
		var cq models.Fragments
		if cq, err = s.Coarse.encodeText(query); err != nil {
			return nil, fmt.Errorf("search: encode the query with the coarse model: %w", err)
		}
		hits, err = retrieval.Cascade{CoarseTexts: cq, CoarseImages: s.Coarse.Index.Images,
			FineTexts: q, FineImages: s.Index.Images, Candidates: min(n, s.Index.Images.N)}.Search(min(k, s.Index.Images.N))
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make([]Hit, len(hits[0]))
	for j, h := range hits[0] {
		out[j] = Hit{Item: h.Image, Score: h.Score}
	}
	return out, nil
}

// Image returns the k captions that best match gallery image i, best
// first.
func (s *Searcher) Image(i, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be positive, got %d", k)
	}
	if i < 0 || i >= s.Index.Images.N {
		return nil, fmt.Errorf("search: image %d is not in gallery %s (images 0 to %d)", i, s.Gallery.Name, s.Index.Images.N-1)
	}
	texts, img := s.Index.Texts, item(s.Index.Images, i)
	var scores metrics.Scores
	var err error
	fine := map[int]float32{}
	if s.Coarse == nil {
		if scores, err = models.ScoreGallery(texts, img); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	} else {
		if s.Coarse.Index.Texts.N != texts.N {
			return nil, fmt.Errorf("search: the coarse model indexed %d captions, the model %d", s.Coarse.Index.Texts.N, texts.N)
		}
		n, err := s.candidates(k)
		if err != nil {
			return nil, err
		}
		coarse, err := models.ScoreGallery(s.Coarse.Index.Texts, item(s.Coarse.Index.Images, i))
		if err != nil {
			return nil, fmt.Errorf("search: coarse stage: %w", err)
		}
		rescore := func(_ int, items []int, out []float32) error {
			for j, c := range items {
				if err := models.ScorePairs(texts, img, c, []int{0}, out[j:j+1]); err != nil {
					return err
				}
				fine[c] = out[j]
			}
			return nil
		}
		if scores, err = retrieval.Rerank(coarse, n, retrieval.ImageToText, rescore); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		k = min(k, n)
	}
	// One image's row of captions, read as a column of one "caption"
	// over as many "images" as there are captions: the same values in
	// the same order, which TopK ranks.
	hits, err := retrieval.TopK(metrics.Scores{Images: scores.Captions, Captions: 1, Data: scores.Data}, k)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make([]Hit, len(hits[0]))
	for j, h := range hits[0] {
		out[j] = Hit{Item: h.Image, Score: h.Score}
		if s.Coarse != nil {
			out[j].Score = fine[h.Image]
		}
	}
	return out, nil
}

// item is the fragments of item i of f alone.
func item(f models.Fragments, i int) models.Fragments {
	return models.Fragments{N: 1, PerItem: f.PerItem, Dim: f.Dim,
		Data: f.Data[i*f.PerItem*f.Dim : (i+1)*f.PerItem*f.Dim],
		Mask: f.Mask[i*f.PerItem : (i+1)*f.PerItem]}
}

// fingerprint is the hex SHA-256 of what an index encodes besides the
// weights: the gallery's name, captions and regions, and the vocabulary.
func fingerprint(g *Gallery, v *datasets.Vocab) string {
	h := sha256.New()
	var b [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	num := func(n int) {
		binary.LittleEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	str(g.Name)
	words := v.Words()
	num(len(words))
	for _, w := range words {
		str(w)
	}
	num(len(g.Split.Captions))
	for c, text := range g.Split.Captions {
		str(text)
		num(g.Split.CaptionImage[c])
	}
	num(len(g.Split.Images))
	buf := make([]byte, 0, 4096)
	for _, img := range g.Split.Images {
		num(len(img))
		for _, r := range img {
			buf = buf[:0]
			for _, x := range r {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ParseRun reads a run id given on the command line.
func ParseRun(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("run id %q is not a positive integer", s)
	}
	return id, nil
}
