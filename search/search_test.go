package search

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/safetensors"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/store"
)

// testData is the gallery of these tests: synthetic-small, where a tiny
// model learns within a few epochs.
const testData = "synthetic-small"

var (
	trainOnce  sync.Once
	trainedDir string
	trainErr   error
)

// trained returns the checkpoint of a tiny model trained on testData (once
// per test binary, with its vocabulary) and one of the same weights
// saved without it, as checkpoints were before vocabularies were saved.
func trained(t *testing.T) (withVocab, withoutVocab string) {
	t.Helper()
	trainOnce.Do(func() {
		trainedDir, trainErr = os.MkdirTemp("", "search-test-")
		if trainErr != nil {
			return
		}
		var m *models.Model
		if m, trainErr = trainTiny(models.KeepTokens); trainErr != nil {
			return
		}
		if trainErr = m.Save(filepath.Join(trainedDir, "base.ckpt")); trainErr != nil {
			return
		}
		m.Vocab = nil
		trainErr = m.Save(filepath.Join(trainedDir, "old.ckpt"))
	})
	if trainErr != nil {
		t.Fatal(trainErr)
	}
	return filepath.Join(trainedDir, "base.ckpt"), filepath.Join(trainedDir, "old.ckpt")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if trainedDir != "" {
		os.RemoveAll(trainedDir)
	}
	os.Exit(code)
}

// trainTiny trains a small model keeping keep fragments on testData (4
// s on two cores; t2i R@1 13% of 100 images for KeepTokens).
func trainTiny(keep models.Keep) (*models.Model, error) {
	ds, err := datasets.Load(testData)
	if err != nil {
		return nil, err
	}
	v := datasets.BuildVocab(ds.Train.Captions)
	m, err := models.New(models.Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 32, FFDim: 64,
		MaxRegions: max(ds.Train.MaxRegions(), ds.Test.MaxRegions()), Keep: keep}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, err
	}
	m.Vocab = v
	_, err = models.Train(context.Background(), m, &ds.Train, v, models.Contrastive{Temperature: 0.1},
		models.TrainSettings{BatchSize: 32, Epochs: 15, DecayEpoch: 12, LearningRate: 3e-3}, rand.New(rand.NewPCG(3, 4)), nil)
	return m, err
}

// copyFile copies a checkpoint into dir, so that a test's index files
// stay in its own folder.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func open(t *testing.T, ckpt string, data *Loader) *Searcher {
	t.Helper()
	m, err := Load(Source{Checkpoint: ckpt, Dataset: testData}, "", data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGallery(testData, data)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := NewSearcher(m, g, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// galleryRanks are the per-query ranks of the whole gallery as the
// framework evaluates them: every caption against every image.
func galleryRanks(t *testing.T, s *Searcher) metrics.QueryRanks {
	t.Helper()
	scores, err := models.ScoreGallery(s.Index.Texts, s.Index.Images)
	if err != nil {
		t.Fatal(err)
	}
	r, err := metrics.Ranks(scores, s.Gallery.Split.CaptionImage)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSearchFindsTheCaptionedImage: a query that is a gallery caption
// finds its image first wherever the full-gallery evaluation ranks it
// first, and an image query finds one of its captions first wherever the
// evaluation does; the model has learned (R@1 well above chance).
func TestSearchFindsTheCaptionedImage(t *testing.T) {
	ckpt, _ := trained(t)
	s := open(t, copyFile(t, ckpt, t.TempDir()), &Loader{})
	ranks := galleryRanks(t, s)
	split := s.Gallery.Split
	r := ranks.Retrieval()
	t.Logf("the tiny model's gallery recall: t2i R@1 %.1f%%, i2t R@1 %.1f%%", r.T2I[0], r.I2T[0])
	if r.T2I[0] < 5 { // chance: 1%
		t.Fatalf("t2i R@1 %.1f%% on %d images: the tiny model did not learn", r.T2I[0], len(split.Images))
	}
	checked := 0
	for c, rank := range ranks.T2I {
		if rank != 1 || checked == 5 {
			continue
		}
		checked++
		hits, err := s.Text(split.Captions[c], 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 5 || hits[0].Item != split.CaptionImage[c] {
			t.Errorf("query %q (caption %d): hits %+v, want image %d first", split.Captions[c], c, hits, split.CaptionImage[c])
		}
		for j := 1; j < len(hits); j++ {
			if hits[j].Score > hits[j-1].Score {
				t.Errorf("query %q: hits not best first: %+v", split.Captions[c], hits)
			}
		}
	}
	checked = 0
	for i, rank := range ranks.I2T {
		if rank != 1 || checked == 5 {
			continue
		}
		checked++
		hits, err := s.Image(i, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 3 || split.CaptionImage[hits[0].Item] != i {
			t.Errorf("image %d: hits %+v, want one of its captions %v first", i, hits, s.Gallery.ImageCaptions[i])
		}
	}
	if _, err := s.Image(len(split.Images), 3); err == nil || !strings.Contains(err.Error(), testData) {
		t.Errorf("image past the gallery: err %v, want one naming the gallery", err)
	}
}

// TestLoad: a checkpoint without a vocabulary searches as the same
// weights with it do, its vocabulary rebuilt from the training captions;
// without a data set to rebuild it from, or with the wrong one, the error
// says what to do; a cross encoder's run is refused with the run to use.
func TestLoad(t *testing.T) {
	withVocab, old := trained(t)
	dir := t.TempDir()
	data := &Loader{Load: func(name string) (*datasets.Dataset, error) {
		switch name {
		case "other":
			return &datasets.Dataset{Name: name, Train: datasets.Split{Captions: []string{"another vocabulary"}}}, nil
		case "empty":
			return &datasets.Dataset{Name: name}, nil
		}
		return datasets.Load(name)
	}}
	for _, tc := range []struct {
		name      string
		ckpt      string
		src       Source
		trainData string
		from, err string
	}{
		{name: "saved", ckpt: withVocab, from: "the checkpoint"},
		{name: "rebuilt from the run's data set", ckpt: old, src: Source{Dataset: testData}, from: "the training captions of " + testData},
		{name: "rebuilt from -train-data", ckpt: old, trainData: testData, from: "the training captions of " + testData},
		{name: "nothing to rebuild from", ckpt: old, err: "holds no vocabulary"},
		{name: "the wrong data set", ckpt: old, trainData: "other", err: "where the model has"},
		{name: "a data set without training captions", ckpt: old, trainData: "empty", err: "has no training captions"},
		{name: "a cross encoder", ckpt: withVocab, src: Source{Run: 3, Model: "fast>>cross"}, err: "is a cross encoder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			src.Checkpoint = copyFile(t, tc.ckpt, dir)
			m, err := Load(src, tc.trainData, data)
			if tc.err != "" {
				name := src.Checkpoint
				if src.Run != 0 {
					name = fmt.Sprintf("run %d", src.Run)
				}
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), name) {
					t.Fatalf("err %v, want one naming %s and containing %q", err, name, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.VocabFrom, tc.from) {
				t.Errorf("vocabulary from %q, want %q", m.VocabFrom, tc.from)
			}
			ds, _ := data.Get(testData)
			if want := datasets.BuildVocab(ds.Train.Captions); !reflect.DeepEqual(m.Vocab, want) {
				t.Errorf("vocabulary of %d words is not the training captions' (%d)", m.Vocab.Size(), want.Size())
			}
		})
	}
}

// TestIndex: the index is built once and saved beside the checkpoint,
// reused while valid, and rebuilt (saying why) when the checkpoint
// changes, the file is damaged or a rebuild is asked for.
func TestIndex(t *testing.T) {
	ckpt, _ := trained(t)
	dir := t.TempDir()
	path := copyFile(t, ckpt, dir)
	data := &Loader{}
	m, err := Load(Source{Checkpoint: path}, "", data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGallery(testData, data)
	if err != nil {
		t.Fatal(err)
	}
	idxPath := filepath.Join(dir, "base.ckpt.synthetic-small.index")
	var first *Index
	for _, tc := range []struct {
		name    string
		before  func(t *testing.T)
		rebuild bool
		loaded  bool
		why     string
	}{
		{name: "first use builds"},
		{name: "second use loads", loaded: true},
		{name: "asked to rebuild", rebuild: true, why: "rebuilt on request"},
		{name: "damaged file", why: "does not read", before: func(t *testing.T) {
			if err := os.WriteFile(idxPath, []byte("not an index"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "checkpoint changed", why: "checkpoint changed", before: func(t *testing.T) {
			m.Params.Data("text.pos")[0] += 0.5
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "loads again", loaded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			idx, st, err := OpenIndex(m, g, tc.rebuild)
			if err != nil {
				t.Fatal(err)
			}
			if st.Path != idxPath || st.Loaded != tc.loaded || !strings.Contains(st.Why, tc.why) || st.SaveErr != nil {
				t.Errorf("status %+v (%s), want path %s, loaded %v, why %q", st, st, idxPath, tc.loaded, tc.why)
			}
			if _, err := os.Stat(idxPath); err != nil {
				t.Errorf("no index saved: %v", err)
			}
			if idx.Images.N != len(g.Split.Images) || idx.Texts.N != len(g.Split.Captions) {
				t.Errorf("index of %d images and %d captions, want %d and %d", idx.Images.N, idx.Texts.N, len(g.Split.Images), len(g.Split.Captions))
			}
			if first == nil {
				first = idx
			} else if tc.name == "second use loads" && !reflect.DeepEqual(idx, first) {
				t.Error("the loaded index differs from the one built")
			}
		})
	}
	if got := IndexPath("/x/m.ckpt", "synthetic:objects=8-16,noise=0.5"); got != "/x/m.ckpt.synthetic_objects_8-16_noise_0.5.index" {
		t.Errorf("IndexPath = %s", got)
	}
}

// TestCascade: a cascade whose coarse model preselects the whole gallery
// returns what the model alone does, in both directions; with fewer
// candidates it returns at most as many, each scored by the model.
func TestCascade(t *testing.T) {
	ckpt, _ := trained(t)
	dir := t.TempDir()
	data := &Loader{}
	s := open(t, copyFile(t, ckpt, dir), data)
	fast, err := trainTiny(models.KeepFirst)
	if err != nil {
		t.Fatal(err)
	}
	fastPath := filepath.Join(dir, "fast.ckpt")
	if err := fast.Save(fastPath); err != nil {
		t.Fatal(err)
	}
	plain := *s
	s.Coarse = open(t, fastPath, data)
	split := s.Gallery.Split
	for _, tc := range []struct {
		name       string
		candidates int
	}{
		{"every item a candidate", len(split.Captions)},
		{"20 candidates", 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Candidates = tc.candidates
			for _, q := range []int{0, 7, 42} {
				want, err := plain.Text(split.Captions[q], 10)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Text(split.Captions[q], 10)
				if err != nil {
					t.Fatal(err)
				}
				wantI, err := plain.Image(q, 10)
				if err != nil {
					t.Fatal(err)
				}
				gotI, err := s.Image(q, 10)
				if err != nil {
					t.Fatal(err)
				}
				if tc.candidates >= len(split.Captions) {
					if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotI, wantI) {
						t.Errorf("query %d: cascade %+v / %+v, model alone %+v / %+v", q, got, gotI, want, wantI)
					}
					continue
				}
				// Each hit keeps the model's score of it.
				all, _ := plain.Text(split.Captions[q], len(split.Images))
				score := map[int]float32{}
				for _, h := range all {
					score[h.Item] = h.Score
				}
				for _, h := range got {
					if h.Score != score[h.Item] {
						t.Errorf("query %d: image %d scored %v by the cascade, %v by the model", q, h.Item, h.Score, score[h.Item])
					}
				}
			}
			if _, err := s.Text("a red cube", tc.candidates+1); err == nil || !strings.Contains(err.Error(), "candidates") {
				t.Errorf("k above the candidates: err %v", err)
			}
			// A coarse index of another gallery is an error, not a panic.
			coarse := *s.Coarse.Index
			short := &Searcher{Model: s.Coarse.Model, Gallery: s.Gallery, Index: &coarse}
			coarse.Images.N, coarse.Texts.N = coarse.Images.N-1, coarse.Texts.N-1
			other := Searcher{Model: s.Model, Gallery: s.Gallery, Index: s.Index, Coarse: short, Candidates: 10}
			if _, err := other.Text("a red cube", 5); err == nil || !strings.Contains(err.Error(), "coarse stage has") {
				t.Errorf("text query, coarse index of another gallery: err %v", err)
			}
			if _, err := other.Image(0, 5); err == nil || !strings.Contains(err.Error(), "coarse model indexed") {
				t.Errorf("image query, coarse index of another gallery: err %v", err)
			}
			other.Close() // and short
		})
	}
}

// TestFromRun: a run's checkpoint and data set are read from the results
// database, a relative checkpoint resolved against its folder; a missing
// run, or one without a checkpoint, is an error naming the run and the
// database.
func TestFromRun(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "results.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureExperiment("e", ""); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ckpt := range []string{filepath.Join(dir, "checkpoints", "a.ckpt"), ""} {
		run, err := db.StartRun(store.RunInfo{Experiment: "e", ConfigHash: "h" + ckpt, Model: "base", Schedule: "n", Seed: 1, Dataset: testData, Protocol: "p", Config: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		if ckpt != "" {
			if err := run.SetCheckpoint(ckpt); err != nil {
				t.Fatal(err)
			}
			if err := run.Finish(1); err != nil {
				t.Fatal(err)
			}
		} else if err := run.Fail(os.ErrInvalid); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID())
	}
	db.Close()
	src, err := FromRun(dbPath, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	want := Source{Checkpoint: filepath.Join(dir, "checkpoints", "a.ckpt"), Run: ids[0], DB: dbPath, Model: "base", Dataset: testData, Status: "finished"}
	if src != want {
		t.Errorf("source %+v, want %+v", src, want)
	}
	for _, tc := range []struct {
		name string
		id   int64
		want string
	}{
		{"no such run", 99, "has no run 99"},
		{"no checkpoint", ids[1], "has no checkpoint (status failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromRun(dbPath, tc.id); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dbPath) {
				t.Errorf("err %v, want one naming %s and containing %q", err, dbPath, tc.want)
			}
		})
	}
}

// TestWritePictures: the hits' pictures become PNG files, zoomed, with a
// contact sheet; a later query replaces an earlier one's files and
// leaves other files alone.
func TestWritePictures(t *testing.T) {
	const side = 3
	var split datasets.Split
	for i := range 4 {
		rgb := make([]uint8, 3*side*side)
		for j := range rgb {
			rgb[j] = uint8(40*i + j)
		}
		split.Images = append(split.Images, [][]float32{{float32(i)}})
		split.Captions = append(split.Captions, "picture <"+string(rune('a'+i))+">")
		split.CaptionImage = append(split.CaptionImage, i)
		split.Pictures = append(split.Pictures, datasets.Picture{Side: side, RGB: rgb})
	}
	g := &Gallery{Name: "pictures", Split: &split, ImageCaptions: [][]int{{0}, {1}, {2}, {3}}}
	dir := t.TempDir()
	for _, name := range []string{"rank09-image3.png", "mine.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		r     Result
		files []string
		html  []string
	}{
		{"text query", Result{Text: "a <query>", Hits: []Hit{{2, 0.9}, {0, 0.5}}},
			[]string{"rank01-image2.png", "rank02-image0.png", "index.html"}, []string{"a &lt;query&gt;", "picture &lt;c&gt;", `src="rank02-image0.png"`}},
		{"image query", Result{Image: 1, Hits: []Hit{{1, 0.9}, {3, 0.2}}},
			[]string{"query-image1.png", "index.html"}, []string{"Captions for image 1", `class="match"`, "picture &lt;d&gt;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Gallery, tc.r.Source = g, "test"
			files, err := Write(dir, tc.r, 2, true)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			if !slices.Equal(names, tc.files) {
				t.Errorf("wrote %v, want %v", names, tc.files)
			}
			entries, _ := os.ReadDir(dir)
			var all []string
			for _, e := range entries {
				all = append(all, e.Name())
			}
			if want := append(slices.Sorted(slices.Values(tc.files)), "mine.png"); !slices.Equal(slices.Sorted(slices.Values(all)), slices.Sorted(slices.Values(want))) {
				t.Errorf("folder holds %v, want %v", all, want)
			}
			f, err := os.Open(files[0])
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 2*side || b.Dy() != 2*side {
				t.Errorf("%s is %v, want %d pixels square", files[0], b, 2*side)
			}
			page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
			for _, want := range tc.html {
				if !strings.Contains(string(page), want) {
					t.Errorf("index.html lacks %q:\n%s", want, page)
				}
			}
		})
	}
	if _, err := Write(dir, Result{Gallery: &Gallery{Name: "synthetic", Split: &datasets.Split{Images: split.Images}}}, 1, false); err == nil || !strings.Contains(err.Error(), "synthetic has no pictures") {
		t.Errorf("gallery without pictures: err %v", err)
	}
}

// TestExport: the export holds every parameter as it is in the checkpoint,
// the config and the vocabulary; the pairs hold Go's scores of them.
func TestExport(t *testing.T) {
	ckpt, _ := trained(t)
	dir := t.TempDir()
	s := open(t, copyFile(t, ckpt, dir), &Loader{})
	m := s.Model
	out := filepath.Join(dir, "model.safetensors")
	if err := Export(m, out); err != nil {
		t.Fatal(err)
	}
	tensors, meta, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(tensors) != len(m.Params.Names()) {
		t.Fatalf("%d tensors, want %d", len(tensors), len(m.Params.Names()))
	}
	for i, name := range m.Params.Names() {
		if tensors[i].Name != name || !slices.Equal(tensors[i].Shape, []int(m.Params.Tensor(name).Shape())) || !slices.Equal(tensors[i].F32, m.Params.Data(name)) {
			t.Errorf("tensor %d is %s%v, want %s%v with the checkpoint's values", i, tensors[i].Name, tensors[i].Shape, name, m.Params.Tensor(name).Shape())
		}
	}
	var cfg models.Config
	if err := json.Unmarshal([]byte(meta["config"]), &cfg); err != nil || cfg != m.Config {
		t.Errorf("config metadata %s (%v), want %+v", meta["config"], err, m.Config)
	}
	var words []string
	if err := json.Unmarshal([]byte(meta["vocab"]), &words); err != nil || !slices.Equal(words, m.Vocab.Words()) {
		t.Errorf("vocab metadata of %d words (%v), want %d", len(words), err, m.Vocab.Size())
	}
	if meta["format"] != Format {
		t.Errorf("format %q, want %q", meta["format"], Format)
	}
	pairs := filepath.Join(dir, "pairs.safetensors")
	if err := ExportPairs(m, s.Gallery, 4, pairs); err != nil {
		t.Fatal(err)
	}
	pt, pmeta, err := safetensors.ReadFile(pairs)
	if err != nil {
		t.Fatal(err)
	}
	var items []int
	if err := json.Unmarshal([]byte(pmeta["items"]), &items); err != nil || len(items) != 4 {
		t.Fatalf("items %q (%v)", pmeta["items"], err)
	}
	for _, tn := range pt {
		if tn.Name != "scores" {
			continue
		}
		// Score caption t (one of image items[t]'s) against image items[i]
		// from the index: the same numbers.
		for ti, it := range items {
			c := s.Gallery.ImageCaptions[it][0]
			for ii, img := range items {
				want := make([]float32, 1)
				if err := models.ScorePairs(s.Index.Texts, s.Index.Images, c, []int{img}, want); err != nil {
					t.Fatal(err)
				}
				if got := tn.F32[ti*4+ii]; got != want[0] {
					t.Errorf("scores[%d][%d] = %v, the index gives %v", ti, ii, got, want[0])
				}
			}
		}
	}
}
