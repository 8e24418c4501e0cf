// Command search retrieves with a trained model: the gallery images that
// best match a text query, or the captions that best match a gallery
// image. The gallery is the test split of the model's data set (-data
// another, e.g. tuxpaint for a model trained on emoji).
//
//	go run ./cmd/search [-db results.db] -run ID -text "a red car" [-k 10]
//	go run ./cmd/search -run ID -image 17
//	go run ./cmd/search -checkpoint PATH -data NAME -text "..."
//	go run ./cmd/search export [-db results.db] -run ID -out model.safetensors [-pairs pairs.safetensors]
//
// A run is looked up in the results database (opened read-only), which
// records its checkpoint and data set. The model's vocabulary comes from
// its checkpoint; a checkpoint written before vocabularies were saved gets
// it rebuilt from its data set's training captions, as training built it.
//
// The gallery's fragments are encoded once into an index saved beside the
// checkpoint (<checkpoint>.<data set>.index) and reused while the
// checkpoint, gallery and vocabulary are unchanged (-reindex rebuilds it).
// With -coarse-run or -coarse-checkpoint a cascade searches instead: the
// coarse model (a 1x1 "fast" model) scores the whole gallery, and its
// -candidates best items are re-ranked by the model's MaxSim.
//
// The emoji and Tux Paint galleries have pictures: their results are
// written as PNG files into -out (default search-results), with an HTML
// contact sheet, index.html, with -html. Synthetic images are region
// vectors: their results are the image ids and captions.
//
// export writes the model's weights to safetensors with its config and
// vocabulary as JSON metadata; -pairs also writes a few gallery pairs with
// the scores Go computes for them, which tools/safetensors_check.py
// reproduces in PyTorch.
//
// "search -h" and "search export -h" print the usage on stdout and exit
// 0; a usage error is printed once and exits 2; any other error exits 1.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/inflateshrink/inflateshrink/datasets/all" // the real data sets
	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/search"
)

func main() {
	os.Exit(exitStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// exitStatus runs args and returns the exit status (see cli.Exit: 0, 2
// for a mistake in the command line, 1).
func exitStatus(args []string, stdout, stderr io.Writer) int {
	return cli.Exit("search", run(args, stdout, stderr), stderr)
}

const searchUsage = `usage: search [-db results.db] (-run ID | -checkpoint PATH -data NAME) (-text QUERY | -image N) [flags]
       search export (-run ID | -checkpoint PATH) -out FILE.safetensors [-pairs FILE] [flags]

Retrieves the test-split images of the model's data set that best match a
text query (-text), or the captions that best match one of its images
(-image N, an index into the gallery). Emoji and Tux Paint results are
written as PNG files into -out (and index.html with -html).

'search export -h' shows export's flags.

flags:
`

const exportUsage = `usage: search export [-db results.db] (-run ID | -checkpoint PATH) -out FILE.safetensors [-pairs FILE [-n 8] [-data NAME]]

Writes the model's weights to safetensors (float32, named as in the
checkpoint) with its config and vocabulary as JSON metadata. -pairs also
writes n captions and n images of the gallery with the scores Go computes
for them: python3 tools/safetensors_check.py FILE.safetensors PAIRS
reproduces them in PyTorch.

flags:
`

// options are the command line's flags.
type options struct {
	db, run, checkpoint, data, trainData string
	// search
	text                  string
	image                 int
	imageSet              bool
	k                     int
	out                   string
	html                  bool
	zoom                  int
	coarseRun, coarseCkpt string
	candidates            int
	reindex               bool
	// export
	pairs string
	n     int
}

// parse parses args into fs (help on stdout for -h); a query is a flag,
// so positional arguments are a mistake.
func parse(command string, fs *flag.FlagSet, args []string, stdout io.Writer, help string) error {
	if err := cli.Parse(command, fs, args, stdout, help); err != nil {
		return err
	}
	return cli.NoArgs(command, fs, `a query goes in -text "..."`)
}

func modelFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.db, "db", "results.db", "results database `path` that -run refers to")
	fs.StringVar(&o.run, "run", "", "the run `ID` whose checkpoint to use (see: go run ./framework/cmd/results runs)")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "a checkpoint `file` to use instead of a run's (needs -data)")
	fs.StringVar(&o.trainData, "train-data", "", "the data set `name` the model was trained on, whose training captions rebuild the vocabulary of a checkpoint that holds none (default: the run's data set, or -data)")
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "export" {
		return export(args[1:], stdout)
	}
	var o options
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	modelFlags(fs, &o)
	fs.StringVar(&o.data, "data", "", "the data set `name` whose test split is the gallery (default: the run's)")
	fs.StringVar(&o.text, "text", "", "the text `query`: retrieve images")
	fs.Func("image", "a gallery image's `index`: retrieve captions", func(s string) error {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 {
			return fmt.Errorf("want an image index >= 0, got %q", s)
		}
		o.image, o.imageSet = i, true
		return nil
	})
	fs.IntVar(&o.k, "k", 10, "how many results")
	fs.StringVar(&o.out, "out", "", "`folder` for the result pictures of an image gallery (default search-results)")
	fs.BoolVar(&o.html, "html", false, "also write an HTML contact sheet, index.html, into -out")
	fs.IntVar(&o.zoom, "zoom", 4, "enlarge the pictures written `n` times")
	fs.StringVar(&o.coarseRun, "coarse-run", "", "cascade: the run `ID` of a coarse (1x1) model that preselects -candidates items for the model to re-rank")
	fs.StringVar(&o.coarseCkpt, "coarse-checkpoint", "", "cascade: a coarse model's checkpoint `file` instead of -coarse-run")
	fs.IntVar(&o.candidates, "candidates", 100, "cascade: items the coarse model preselects per query")
	fs.BoolVar(&o.reindex, "reindex", false, "encode the gallery again even when a valid index is saved")
	if err := parse("search", fs, args, stdout, searchUsage); err != nil {
		return err
	}
	if err := checkSource(o.run, o.checkpoint, "-run", "-checkpoint"); err != nil {
		return cli.Usage("search", err)
	}
	switch {
	case o.checkpoint != "" && o.data == "":
		return cli.Usage("search", errors.New("-checkpoint needs -data NAME, the data set whose test split is the gallery"))
	case (o.text == "") == !o.imageSet:
		return cli.Usage("search", errors.New("give one query: -text QUERY or -image N"))
	case o.k <= 0:
		return cli.Usage("search", fmt.Errorf("-k must be positive, got %d", o.k))
	case o.zoom <= 0:
		return cli.Usage("search", fmt.Errorf("-zoom must be positive, got %d", o.zoom))
	case o.coarseRun != "" && o.coarseCkpt != "":
		return cli.Usage("search", errors.New("give one coarse model: -coarse-run or -coarse-checkpoint"))
	case o.candidates <= 0:
		return cli.Usage("search", fmt.Errorf("-candidates must be positive, got %d", o.candidates))
	case (o.coarseRun != "" || o.coarseCkpt != "") && o.k > o.candidates:
		return cli.Usage("search", fmt.Errorf("-k %d exceeds -candidates %d: the cascade returns at most its candidates", o.k, o.candidates))
	}
	if o.coarseRun != "" {
		if _, err := search.ParseRun(o.coarseRun); err != nil {
			return cli.Usage("search", fmt.Errorf("-coarse-run: %w", err))
		}
	}
	return searchCmd(o, stdout, stderr)
}

// checkSource checks the flags that name a model.
func checkSource(run, checkpoint, runFlag, ckptFlag string) error {
	switch {
	case run == "" && checkpoint == "":
		return fmt.Errorf("name a model: %s ID or %s PATH", runFlag, ckptFlag)
	case run != "" && checkpoint != "":
		return fmt.Errorf("give %s or %s, not both", runFlag, ckptFlag)
	case run != "":
		if _, err := search.ParseRun(run); err != nil {
			return fmt.Errorf("%s: %w", runFlag, err)
		}
	}
	return nil
}

// source resolves a run id (in o.db) or a checkpoint path.
func source(o options, run, checkpoint string) (search.Source, error) {
	if run == "" {
		abs, err := filepath.Abs(checkpoint)
		if err != nil {
			return search.Source{}, err
		}
		return search.Source{Checkpoint: abs}, nil
	}
	id, err := search.ParseRun(run)
	if err != nil {
		return search.Source{}, err
	}
	return search.FromRun(o.db, id)
}

// load loads the model a run or a checkpoint names.
func load(o options, run, checkpoint string, data *search.Loader) (*search.Model, error) {
	src, err := source(o, run, checkpoint)
	if err != nil {
		return nil, err
	}
	train := o.trainData
	if src.Run == 0 {
		train = cmp.Or(train, o.data)
	}
	return search.Load(src, train, data)
}

func searchCmd(o options, stdout, stderr io.Writer) error {
	data := &search.Loader{}
	m, err := load(o, o.run, o.checkpoint, data)
	if err != nil {
		return err
	}
	name := cmp.Or(o.data, m.Source.Dataset)
	g, err := search.NewGallery(name, data)
	if err != nil {
		return err
	}
	if !g.HasPictures() && (o.out != "" || o.html) {
		return fmt.Errorf("gallery %s has no pictures (its images are region vectors): -out and -html need an image data set (emoji, tuxpaint)", name)
	}
	s, st, err := search.NewSearcher(m, g, o.reindex)
	if err != nil {
		return err
	}
	defer s.Close()
	if m.Source.Run != 0 {
		fmt.Fprintf(stdout, "model:   %s, checkpoint %s\n", m.Source, m.Source.Checkpoint)
	} else {
		fmt.Fprintf(stdout, "model:   %s\n", m.Source)
	}
	fmt.Fprintf(stdout, "vocab:   %d words, from %s\n", m.Vocab.Size(), m.VocabFrom)
	fmt.Fprintf(stdout, "gallery: test split of %s, %d images, %d captions; %s\n", name, len(g.Split.Images), len(g.Split.Captions), st)
	if o.coarseRun != "" || o.coarseCkpt != "" {
		cm, err := load(o, o.coarseRun, o.coarseCkpt, data)
		if err != nil {
			return fmt.Errorf("coarse model: %w", err)
		}
		cs, cst, err := search.NewSearcher(cm, g, o.reindex)
		if err != nil {
			return fmt.Errorf("coarse model: %w", err)
		}
		s.Coarse, s.Candidates = cs, o.candidates
		fmt.Fprintf(stdout, "cascade: %s (%dx%d fragments) preselects %d candidates; %s\n", cm.Source, cm.Config.TextFragments(), cm.Config.ImageFragments(), o.candidates, cst)
	}
	var hits []search.Hit
	if o.text != "" {
		tokens, unknown := m.Tokens(o.text)
		fmt.Fprintf(stdout, "query:   %q, read as %s", o.text, strings.Join(tokens, " "))
		if len(unknown) > 0 {
			fmt.Fprintf(stdout, " (not in the vocabulary: %s)", strings.Join(unknown, ", "))
		}
		fmt.Fprintln(stdout)
		if hits, err = s.Text(o.text, o.k); err != nil {
			return err
		}
	} else {
		if o.image >= len(g.Split.Images) {
			return cli.Usage("search", fmt.Errorf("-image %d: gallery %s has images 0 to %d", o.image, name, len(g.Split.Images)-1))
		}
		fmt.Fprintf(stdout, "query:   image %d, captioned %s\n", o.image, quoteAll(captions(g, o.image)))
		if hits, err = s.Image(o.image, o.k); err != nil {
			return err
		}
	}
	var files []string
	if g.HasPictures() {
		out := cmp.Or(o.out, "search-results")
		r := search.Result{Source: m.Source.String(), Gallery: g, Text: o.text, Image: o.image, Hits: hits}
		if files, err = search.Write(out, r, o.zoom, o.html); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout)
	if o.text != "" {
		// One line per caption of each image, the first beside its rank.
		fmt.Fprintf(stdout, "%4s  %9s  %6s  %s\n", "rank", "score", "image", map[bool]string{true: "file, captions", false: "captions"}[files != nil])
		for r, h := range hits {
			lines := captions(g, h.Item)
			for j := range lines {
				lines[j] = strconv.Quote(lines[j])
			}
			if files != nil {
				lines = append([]string{files[r]}, lines...)
			}
			fmt.Fprintf(stdout, "%4d  %9.4f  %6d  %s\n", r+1, h.Score, h.Item, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(stdout, "%4s  %9s  %6s  %s\n", "", "", "", l)
			}
		}
	} else {
		fmt.Fprintf(stdout, "%4s  %9s  %7s  %6s  %s\n", "rank", "score", "caption", "image", "text")
		for r, h := range hits {
			own := ""
			if g.Split.CaptionImage[h.Item] == o.image {
				own = "  (the query's own caption)"
			}
			fmt.Fprintf(stdout, "%4d  %9.4f  %7d  %6d  %q%s\n", r+1, h.Score, h.Item, g.Split.CaptionImage[h.Item], g.Split.Captions[h.Item], own)
		}
	}
	if files != nil {
		if o.text == "" {
			fmt.Fprintf(stdout, "\nthe query image: %s\n", files[0])
		}
		if o.html {
			fmt.Fprintf(stdout, "contact sheet: %s\n", files[len(files)-1])
		}
	}
	return nil
}

// captions lists the captions of gallery image i.
func captions(g *search.Gallery, i int) []string {
	var out []string
	for _, c := range g.ImageCaptions[i] {
		out = append(out, g.Split.Captions[c])
	}
	return out
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func export(args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	modelFlags(fs, &o)
	fs.StringVar(&o.out, "out", "", "the safetensors `file` to write")
	fs.StringVar(&o.pairs, "pairs", "", "also write gallery pairs and Go's scores of them to this safetensors `file`, for tools/safetensors_check.py")
	fs.IntVar(&o.n, "n", 8, "with -pairs: how many captions and images")
	fs.StringVar(&o.data, "data", "", "with -pairs: the data set `name` whose test split gives the pairs (default: the run's); with -checkpoint: rebuilds a missing vocabulary")
	if err := parse("search export", fs, args, stdout, exportUsage); err != nil {
		return err
	}
	if err := checkSource(o.run, o.checkpoint, "-run", "-checkpoint"); err != nil {
		return cli.Usage("search export", err)
	}
	switch {
	case o.out == "":
		return cli.Usage("search export", errors.New("-out FILE.safetensors is required"))
	case o.n <= 0:
		return cli.Usage("search export", fmt.Errorf("-n must be positive, got %d", o.n))
	case o.pairs != "" && o.run == "" && o.data == "":
		return cli.Usage("search export", errors.New("-pairs with -checkpoint needs -data NAME, the data set whose test split gives the pairs"))
	}
	data := &search.Loader{}
	src, err := source(o, o.run, o.checkpoint)
	if err != nil {
		return err
	}
	train := o.trainData
	if src.Run == 0 {
		train = cmp.Or(train, o.data)
	}
	var m *search.Model
	if m, err = search.Load(src, train, data); err != nil {
		// A checkpoint without a vocabulary exports without one when
		// nothing says how to rebuild it.
		if src.Run != 0 || train != "" {
			return err
		}
		if m, err = search.LoadWithoutVocab(src); err != nil {
			return err
		}
	}
	if err := search.Export(m, o.out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d tensors, %d parameters, config and %s as metadata\n", o.out, len(m.Params.Names()), m.Params.Count(), vocabWords(m))
	if o.pairs == "" {
		return nil
	}
	g, err := search.NewGallery(cmp.Or(o.data, m.Source.Dataset), data)
	if err != nil {
		return err
	}
	if err := search.ExportPairs(m, g, o.n, o.pairs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d pairs of %s's test split with Go's scores (check: python3 tools/safetensors_check.py %s %s)\n", o.pairs, min(o.n, len(g.Split.Images)), g.Name, o.out, o.pairs)
	return nil
}

func vocabWords(m *search.Model) string {
	if m.Vocab == nil {
		return "no vocabulary (the checkpoint holds none; -train-data NAME rebuilds it)"
	}
	return fmt.Sprintf("a vocabulary of %d words", m.Vocab.Size())
}
