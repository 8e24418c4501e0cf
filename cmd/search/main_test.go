package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/framework"
	"github.com/inflateshrink/inflateshrink/internal/safetensors"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/store"
)

// call runs the command line and returns its exit status and output.
func call(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = exitStatus(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	sweepOnce sync.Once
	sweepDB   string
	sweepRuns map[string]int64
	sweepErr  error
)

// sweep trains base and fast on synthetic-small through the framework,
// as the quickstart does at a tiny size, once per test binary: a results
// database whose runs record their checkpoints.
func sweep(t *testing.T) (db string, runs map[string]int64) {
	t.Helper()
	sweepOnce.Do(func() {
		dir, err := os.MkdirTemp("", "search-cli-")
		if sweepErr = err; err != nil {
			return
		}
		sweepDB = filepath.Join(dir, "results.db")
		sdb, err := store.Open(sweepDB)
		if sweepErr = err; err != nil {
			return
		}
		defer sdb.Close()
		c := framework.DefaultConfig()
		c.Dataset = "synthetic-small"
		c.Dim, c.FFDim = 16, 32
		c.Train.BatchSize, c.Train.Epochs, c.Train.DecayEpoch = 16, 2, 1
		e := framework.Experiment{Name: "tiny", Base: c, Sweep: framework.Sweep{Models: []string{"base", "fast"}}}
		if _, sweepErr = (&framework.Runner{DB: sdb}).Run(context.Background(), e); sweepErr != nil {
			return
		}
		rows, err := sdb.SQL().Query(`SELECT model, id FROM runs`)
		if sweepErr = err; err != nil {
			return
		}
		defer rows.Close()
		sweepRuns = map[string]int64{}
		for rows.Next() {
			var model string
			var id int64
			if sweepErr = rows.Scan(&model, &id); sweepErr != nil {
				return
			}
			sweepRuns[model] = id
		}
	})
	if sweepErr != nil {
		t.Fatal(sweepErr)
	}
	return sweepDB, sweepRuns
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sweepDB != "" {
		os.RemoveAll(filepath.Dir(sweepDB))
	}
	os.Exit(code)
}

// resultRow matches a row of the text query's table: rank, score, image.
var resultRow = regexp.MustCompile(`(?m)^\s+(\d+)\s+(-?\d+\.\d{4})\s+(\d+)\s+`)

// TestTextQueryFromARun: the query of a test caption that the run's own
// evaluation (its recorded test ranks) ranks first returns that caption's
// image first, with the run's checkpoint and data set read from the
// database; a second search reuses the saved index; an image query lists
// its own caption first where the evaluation does.
func TestTextQueryFromARun(t *testing.T) {
	dbPath, runs := sweep(t)
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t2i, _, err := db.Ranks(runs["base"], "test", store.T2I)
	if err != nil {
		t.Fatal(err)
	}
	i2t, _, err := db.Ranks(runs["base"], "test", store.I2T)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := datasets.Load("synthetic-small")
	if err != nil {
		t.Fatal(err)
	}
	caption := -1
	for c, r := range t2i {
		if r == 1 {
			caption = c
			break
		}
	}
	if caption < 0 {
		t.Fatal("the run ranks no test caption's image first")
	}
	query := ds.Test.Captions[caption]
	run := strconv.FormatInt(runs["base"], 10)
	for i, want := range []string{"(built in", "(loaded)"} {
		code, out, errOut := call("-db", dbPath, "-run", run, "-text", query, "-k", "3")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		rows := resultRow.FindAllStringSubmatch(out, -1)
		if len(rows) != 3 || rows[0][3] != strconv.Itoa(ds.Test.CaptionImage[caption]) {
			t.Fatalf("query %q: want image %d first of 3 rows:\n%s", query, ds.Test.CaptionImage[caption], out)
		}
		if !strings.Contains(out, want) || !strings.Contains(out, strconv.Quote(query)) {
			t.Errorf("search %d: output lacks %q or the caption:\n%s", i+1, want, out)
		}
		if i == 0 {
			t.Logf("search -run %s -text %q -k 3\n%s", run, query, out)
		}
	}
	for i, r := range i2t {
		if r != 1 {
			continue
		}
		code, out, errOut := call("-db", dbPath, "-run", run, "-image", strconv.Itoa(i), "-k", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(out, "\n")
		first := ""
		for j, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "rank") && j+1 < len(lines) {
				first = lines[j+1]
			}
		}
		if !strings.Contains(first, "(the query's own caption)") {
			t.Errorf("image %d: first caption %q is not its own:\n%s", i, first, out)
		}
		break
	}
}

// TestCascadeFromRuns: the fast run preselects for the base run; with
// every image a candidate the cascade returns what base alone does.
func TestCascadeFromRuns(t *testing.T) {
	dbPath, runs := sweep(t)
	base, fast := strconv.FormatInt(runs["base"], 10), strconv.FormatInt(runs["fast"], 10)
	query := "a red cube and a small blue ball"
	_, plain, _ := call("-db", dbPath, "-run", base, "-text", query, "-k", "5")
	code, out, errOut := call("-db", dbPath, "-run", base, "-text", query, "-k", "5", "-coarse-run", fast, "-candidates", "100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "cascade: run "+fast+" (fast on synthetic-small) (1x1 fragments) preselects 100 candidates") {
		t.Errorf("no cascade line:\n%s", out)
	}
	table := func(s string) string { return s[strings.Index(s, "\n\n"):] }
	if table(out) != table(plain) {
		t.Errorf("cascade over the whole gallery\n%s\ndiffers from base alone\n%s", out, plain)
	}
}

// pictureSet is a data set whose test images have pictures, as the emoji
// and Tux Paint sets do.
const pictureSet = "search-test-pictures"

func init() {
	datasets.Register(pictureSet, func() (*datasets.Dataset, error) {
		d := &datasets.Dataset{Name: pictureSet, RegionDim: 2}
		for i, caption := range []string{"a red square", "a green square", "a blue circle", "a red circle"} {
			rgb := make([]uint8, 3*4*4)
			for p := 0; p < 16; p++ {
				rgb[3*p+i%3] = 200
			}
			for _, s := range []*datasets.Split{&d.Train, &d.Test} {
				s.Images = append(s.Images, [][]float32{{float32(i), 1}, {1, float32(i)}})
				s.Captions = append(s.Captions, caption)
				s.CaptionImage = append(s.CaptionImage, i)
			}
			d.Test.Pictures = append(d.Test.Pictures, datasets.Picture{Side: 4, RGB: rgb})
		}
		return d, nil
	})
}

// newCheckpoint saves an untrained model for data set name (its vocabulary
// that of the training captions) into dir.
func newCheckpoint(t *testing.T, name, dir string) string {
	t.Helper()
	ds, err := datasets.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	v := datasets.BuildVocab(ds.Train.Captions)
	m, err := models.New(models.Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 8, MaxRegions: max(ds.Train.MaxRegions(), ds.Test.MaxRegions())}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m.Vocab = v
	path := filepath.Join(dir, "m.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPictures: a gallery with pictures writes the results as PNG files
// (and a contact sheet with -html) that the output lists, for the test
// set of this file and for the real emoji and Tux Paint sets where they
// are set up.
func TestPictures(t *testing.T) {
	for _, tc := range []struct{ data, text string }{
		{pictureSet, "a red circle"},
		{"emoji-style-small", "grinning face"},
		{"tuxpaint", "a red apple"},
	} {
		t.Run(tc.data, func(t *testing.T) {
			if _, err := datasets.Load(tc.data); err != nil {
				t.Skipf("data set not set up: %v", err)
			}
			dir := t.TempDir()
			ckpt := newCheckpoint(t, tc.data, dir)
			if tc.data == "tuxpaint" { // a test-only set: train on emoji's
				ckpt = newCheckpoint(t, "emoji-style-small", dir)
			}
			out := filepath.Join(dir, "results")
			code, stdout, stderr := call("-checkpoint", ckpt, "-data", tc.data, "-text", tc.text, "-k", "3", "-out", out, "-html", "-zoom", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			files, _ := filepath.Glob(filepath.Join(out, "rank*.png"))
			if len(files) != 3 || !strings.Contains(stdout, "contact sheet: "+filepath.Join(out, "index.html")) {
				t.Fatalf("files %v; output:\n%s", files, stdout)
			}
			for _, f := range files {
				if !strings.Contains(stdout, f) {
					t.Errorf("output does not list %s:\n%s", f, stdout)
				}
				r, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(r)
				r.Close()
				if err != nil || img.Bounds().Dx() < 8 {
					t.Errorf("%s: %v, %v", f, err, img.Bounds())
				}
			}
			if tc.data != pictureSet {
				t.Logf("search -checkpoint %s -data %s -text %q -k 3 -out %s -html\n%s", ckpt, tc.data, tc.text, out, stdout)
			}
			code, stdout, stderr = call("-checkpoint", ckpt, "-data", tc.data, "-image", "1", "-k", "2", "-out", out)
			if code != 0 {
				t.Fatalf("image query: exit %d: %s", code, stderr)
			}
			if q := filepath.Join(out, "query-image1.png"); !strings.Contains(stdout, "the query image: "+q) {
				t.Errorf("image query: output does not name %s:\n%s", q, stdout)
			}
			if files, _ := filepath.Glob(filepath.Join(out, "rank*.png")); len(files) != 0 {
				t.Errorf("the text query's files %v are left beside the image query's", files)
			}
		})
	}
}

// TestExport: export writes the weights and, with -pairs, the check
// pairs; the output names both.
func TestExport(t *testing.T) {
	dbPath, runs := sweep(t)
	dir := t.TempDir()
	model, pairs := filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "p.safetensors")
	code, out, errOut := call("export", "-db", dbPath, "-run", strconv.FormatInt(runs["base"], 10), "-out", model, "-pairs", pairs, "-n", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Logf("search export -run %d -out %s -pairs %s -n 3\n%s", runs["base"], model, pairs, out)
	tensors, meta, err := safetensors.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if len(tensors) == 0 || meta["run"] != strconv.FormatInt(runs["base"], 10) || meta["dataset"] != "synthetic-small" || meta["vocab"] == "" {
		t.Errorf("%d tensors, metadata %v", len(tensors), meta)
	}
	if _, pmeta, err := safetensors.ReadFile(pairs); err != nil || pmeta["gallery"] != "synthetic-small" {
		t.Errorf("pairs: %v %v", err, pmeta)
	}
	for _, want := range []string{"wrote " + model, "wrote " + pairs, "3 pairs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestUsage: -h prints the usage on stdout and exits 0; usage errors exit
// 2, printed once with the flag at fault; other errors exit 1 and name
// the run, file or data set at fault.
func TestUsage(t *testing.T) {
	dbPath, runs := sweep(t)
	base := strconv.FormatInt(runs["base"], 10)
	missing := filepath.Join(t.TempDir(), "missing.ckpt")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout for 0, in stderr otherwise
	}{
		{"help", []string{"-h"}, 0, "usage: search"},
		{"export help", []string{"export", "-h"}, 0, "usage: search export"},
		{"no model", []string{"-text", "x"}, 2, "name a model: -run ID or -checkpoint PATH"},
		{"two models", []string{"-run", "1", "-checkpoint", "x", "-data", "d", "-text", "x"}, 2, "give -run or -checkpoint, not both"},
		{"bad run id", []string{"-run", "seven", "-text", "x"}, 2, `-run: run id "seven" is not a positive integer`},
		{"checkpoint without data", []string{"-checkpoint", "x.ckpt", "-text", "x"}, 2, "-checkpoint needs -data NAME"},
		{"no query", []string{"-run", base}, 2, "give one query: -text QUERY or -image N"},
		{"two queries", []string{"-run", base, "-text", "x", "-image", "1"}, 2, "give one query"},
		{"negative image", []string{"-run", base, "-image", "-1"}, 2, `want an image index >= 0, got "-1"`},
		{"bad k", []string{"-run", base, "-text", "x", "-k", "0"}, 2, "-k must be positive"},
		{"k above candidates", []string{"-run", base, "-text", "x", "-coarse-run", "2", "-candidates", "5"}, 2, "-k 10 exceeds -candidates 5"},
		{"query as an argument", []string{"-run", base, "a", "red", "car"}, 2, `unexpected arguments ["a" "red" "car"]`},
		{"unknown flag", []string{"-run", base, "-txt", "x"}, 2, "flag provided but not defined: -txt"},
		{"export without out", []string{"export", "-run", base}, 2, "-out FILE.safetensors is required"},
		{"no such run", []string{"-db", dbPath, "-run", "99", "-text", "x"}, 1, fmt.Sprintf("%s has no run 99", dbPath)},
		{"no such database", []string{"-db", "/nonexistent/none.db", "-run", "1", "-text", "x"}, 1, "no results database at /nonexistent/none.db (-db)"},
		{"no such checkpoint", []string{"-checkpoint", missing, "-data", "synthetic-small", "-text", "x"}, 1, missing},
		{"no such data set", []string{"-db", dbPath, "-run", base, "-data", "nosuch", "-text", "x"}, 1, `unknown data set "nosuch"`},
		{"image past the gallery", []string{"-db", dbPath, "-run", base, "-image", "100"}, 2, "-image 100: gallery synthetic-small has images 0 to 99"},
		{"gallery of another tokenisation", []string{"-db", dbPath, "-run", base, "-data", pictureSet, "-text", "x"}, 1, "gallery search-test-pictures has regions of 2 values, run " + base + " (base on synthetic-small) takes"},
		{"pictures of a synthetic gallery", []string{"-db", dbPath, "-run", base, "-text", "x", "-out", t.TempDir()}, 1, "gallery synthetic-small has no pictures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := call(tc.args...)
			got := stderr
			if tc.code == 0 {
				got = stdout
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d with %q", code, stdout, stderr, tc.code, tc.want)
			}
			// The error once, and for a usage error a pointer to the usage.
			if lines := strings.Count(stderr, "\n"); tc.code != 0 && lines != tc.code {
				t.Errorf("stderr of %d lines, want %d: %q", lines, tc.code, stderr)
			}
			if tc.code == 2 && !strings.Contains(stderr, "-h' for usage") {
				t.Errorf("a usage error without a pointer to the usage: %q", stderr)
			}
		})
	}
}
