// Package exptest runs an experiment of experiments/ end to end at a toy
// size, so that each experiment's test checks its declaration (chains,
// axes, keys) without the cost of its real sizes.
package exptest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/scan"
	"github.com/inflateshrink/inflateshrink/framework"
	"github.com/inflateshrink/inflateshrink/store"
)

// Data is the data set of every experiment's test: synthetic-small's
// sizes and difficulty, with exactly four regions per image, so that the
// non-learned baselines (which need images of one region count, as the
// grid tokens of the real sets have) run on it too.
const Data = "synthetic:objects=4-4,noise=0.1,twins=0.5,train=320,val=40,test=100"

// small is the toy size, as -set assignments.
var small = []string{"dataset=" + Data, "dim=16", "heads=2", "layers=1", "ff_dim=32", "codes=4",
	"max_text_len=16", "max_regions=0", "train.batch_size=16",
	"train.epochs=1", "train.decay_epoch=1", "train.validate_every=1",
	"cross.epochs=0"} // a cascade's cross encoder trains for the one epoch too

// Run trains every trial of e for one epoch of a small model on Data, one
// seed, into a temporary database, and fails t unless every trial
// finished. The toy size overrides the base config and every Sets
// variant (which keeps what else it sets), so variants that differ only
// in size or data set become one trial. It returns the number of trials.
func Run(t *testing.T, e framework.Experiment) int {
	t.Helper()
	e.Dataset = ""
	e.Sweep.Seeds = []int64{1}
	for _, a := range small {
		var err error
		if e.Base, err = e.Base.Set(a); err != nil {
			t.Fatal(err)
		}
	}
	e.Sweep.Sets = toySets(e.Sweep.Sets)
	e.More = slices.Clone(e.More)
	for i := range e.More {
		e.More[i].Sets = toySets(e.More[i].Sets)
	}
	for _, trial := range e.Trials() {
		if err := trial.Validate(); err != nil {
			t.Fatalf("%s: trial %s: %v", e.Name, trial.Model, err)
		}
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sum, err := (&framework.Runner{DB: db}).Run(context.Background(), e)
	if err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	if sum.Failed != 0 || sum.Trained != sum.Trials || sum.Trials != len(e.Trials()) {
		t.Errorf("%s: %+v, want all %d trials trained", e.Name, sum, len(e.Trials()))
	}
	learns(t, db, e)
	return sum.Trials
}

// Trials of one toy epoch sit near chance, so finishing them says nothing
// of whether anything was learnt. learns trains base under the
// experiment's (toy-sized) base recipe for learnEpochs and fails t unless
// its validation rSum reaches learnMargin times the chance level: a model
// whose optimiser does nothing stays near 1× (measured: base reaches about
// 2.5× chance in 3 epochs; its trials of 1 epoch reach 1.0–1.3×).
const (
	learnEpochs = 3
	learnMargin = 1.5
)

func learns(t *testing.T, db *store.DB, e framework.Experiment) {
	t.Helper()
	probe := framework.Experiment{Name: e.Name + "-learns", Base: e.Base,
		Sweep: framework.Sweep{Models: []string{"base"}, Seeds: []int64{1}}}
	probe.Base.Train.Epochs, probe.Base.Train.DecayEpoch = learnEpochs, learnEpochs
	probe.Base.Train.WarmupEpochs = 0
	if _, err := (&framework.Runner{DB: db}).Run(context.Background(), probe); err != nil {
		t.Fatalf("%s: %v", probe.Name, err)
	}
	runs, err := db.Runs(store.RunFilter{Experiment: probe.Name, Status: "finished"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%s: finished runs %v, %v; want one", probe.Name, runs, err)
	}
	val, err := db.Results(runs[0].ID, "val")
	if err != nil {
		t.Fatal(err)
	}
	if rsum, chance := val["rsum"], val["chance_rsum"]; !(chance > 0 && rsum >= learnMargin*chance) {
		t.Errorf("%s: base under the experiment's recipe reached validation rSum %.1f in %d epochs; chance is %.1f, want at least %.1f× chance",
			e.Name, rsum, learnEpochs, chance, learnMargin)
	}
}

// toySets appends the toy size to every variant of sets. A variant with
// an InfoNCE warm-up keeps one (of the toy's one epoch), so that it stays
// a trial of its own.
func toySets(sets [][]string) [][]string {
	out := make([][]string, len(sets))
	for i, set := range sets {
		out[i] = append(append([]string(nil), set...), small...)
		for _, a := range set {
			if v, ok := strings.CutPrefix(a, "train.warmup_epochs="); ok && v != "0" {
				out[i] = append(out[i], "train.warmup_epochs=1")
			}
		}
	}
	return out
}

// PaperScale checks that e is the paper's main experiment on dataset at
// the authors' sizes (framework.PaperConfig and PaperModels, at least 3
// seeds), then runs it at the toy size, as its command (framework.Command,
// with -set and -seed) on Data written in SCAN's layout (scan.WriteSet)
// under $INFLATESHRINK_SCAN: every model finishes and the report is
// written.
func PaperScale(t *testing.T, e framework.Experiment, dataset string) {
	t.Helper()
	c := e.Base
	if e.Dataset != dataset || c.Dim != 768 || c.Heads != 12 || c.Layers != 3 || c.FFDim != 3072 || !c.SharedLayers ||
		c.MaxTextLen != 32 || c.MaxRegions != 32 || c.Codes != 32 ||
		c.Train.BatchSize != 128 || c.Train.Epochs != 40 || c.Train.DecayEpoch != 20 {
		t.Errorf("%s on %s: %+v, want the authors' sizes on %s", e.Name, e.Dataset, c, dataset)
	}
	if !slices.Equal(e.Sweep.Models, framework.PaperModels()) || len(e.Sweep.Seeds) < 3 {
		t.Errorf("models %v, seeds %v", e.Sweep.Models, e.Sweep.Seeds)
	}
	set := scan.Sets[slices.IndexFunc(scan.Sets, func(s scan.Set) bool { return s.Name == dataset })]
	ds, err := datasets.Load(Data)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := scan.WriteSet(root, set, ds, 4); err != nil {
		t.Fatal(err)
	}
	t.Setenv(scan.EnvDir, root)
	dbPath, report := filepath.Join(root, "results.db"), filepath.Join(root, "report")
	args := []string{"-db", dbPath, "-report", report, "-seed", "1"}
	for _, a := range small {
		if !strings.HasPrefix(a, "dataset=") { // the command's own: dataset
			args = append(args, "-set", a)
		}
	}
	var out strings.Builder
	if err := framework.Command(context.Background(), e, args, &out, &out); err != nil {
		t.Fatalf("%s %s: %v\n%s", e.Name, strings.Join(args, " "), err, out.String())
	}
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(store.RunFilter{Experiment: e.Name, Status: "finished"})
	if err != nil {
		t.Fatal(err)
	}
	var finished []string
	for _, r := range runs {
		if !slices.Contains(finished, r.Model) {
			finished = append(finished, r.Model)
		}
	}
	for _, m := range e.Sweep.Models {
		if !slices.Contains(finished, m) {
			t.Errorf("%s on generated %s files: model %s did not finish (finished: %v)", e.Name, dataset, m, finished)
		}
	}
	if _, err := os.Stat(filepath.Join(report, e.Name+".md")); err != nil {
		t.Errorf("%s: no report: %v", e.Name, err)
	}
}
