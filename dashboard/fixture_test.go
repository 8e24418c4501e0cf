package dashboard

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

// The fixture is one small database that every test of the package reads,
// written through store's write API as a sweep writes it.
//
// Data set fixtureSet: 6 test images (a colour each, a 4x4 thumbnail) with
// 2 captions each, caption c describing image c/2.
//
// Experiment "other" (run 1): one finished base run, written first.
// Experiment "sweep", every run 3 epochs of 4 steps (train.warmup_epochs 1,
// train.decay_epoch 2), validated after each epoch:
//
//	run  model     seed  status    test rSum  val rSum  interactions  query ms  index floats
//	2    base      1     finished  300        295       144           1.2       288
//	3    base      2     finished  310        305       144           1.3       288
//	4    base      3     finished  120        100       144           1.1       288   (not converged)
//	5    fast      1     finished  150        150       1             0.3       32
//	6    fast      2     finished  160        158       1             0.35      32
//	7    inflated  1     failed
//	8    inflated  2     running: 6 steps written (epoch 2 of 3), the first
//	                     epoch's copied from the run it resumed
//
// Runs 3 and 6 store the ranks of fixtureRanks; the other finished runs
// ranks of 1 throughout.
const fixtureSet = "dashboard-test-pictures"

var fixtureColours = []struct {
	name    string
	r, g, b uint8
}{{"red", 220, 30, 30}, {"green", 30, 180, 60}, {"blue", 40, 60, 220}, {"yellow", 230, 210, 40}, {"cyan", 40, 200, 210}, {"magenta", 200, 40, 190}}

func init() {
	datasets.Register(fixtureSet, func() (*datasets.Dataset, error) {
		d := &datasets.Dataset{Name: fixtureSet, Protocol: "6img-2cap", RegionDim: 2}
		for i, c := range fixtureColours {
			rgb := make([]uint8, 0, 3*4*4)
			for range 16 {
				rgb = append(rgb, c.r, c.g, c.b)
			}
			for _, s := range []*datasets.Split{&d.Train, &d.Val, &d.Test} {
				s.Images = append(s.Images, [][]float32{{float32(i), 1}})
				s.Captions = append(s.Captions, "a "+c.name+" square", c.name+" all over")
				s.CaptionImage = append(s.CaptionImage, i, i)
			}
			d.Test.Pictures = append(d.Test.Pictures, datasets.Picture{Side: 4, RGB: rgb})
		}
		return d, nil
	})
}

// fixtureRanks are the ranks of runs 3 (A) and 6 (B). Caption queries (t2i,
// of 6 images): at k = 1, A wins captions 0, 3, 7 and 10 (in order of rank
// ratio: 7, 3, 10, 0), B wins 2, 4 and 6 (4, 6, 2). Image queries (i2t,
// of 12 captions): A wins images 2 and 3, B wins 4 and 1.
var fixtureRanks = map[int64][2][]int{ // run -> i2t, t2i
	3: {{1, 2, 1, 1, 4, 1}, {1, 1, 2, 1, 5, 1, 3, 1, 1, 2, 1, 1}},
	6: {{1, 1, 3, 2, 1, 1}, {2, 1, 1, 4, 1, 1, 1, 6, 1, 2, 3, 1}},
}

// fixtureRun is one row of the table above.
type fixtureRun struct {
	model, schedule        string
	codes                  int
	seed                   int64
	rsum, val, qms, floats float64
	interactions           float64
}

var fixtureFinished = []fixtureRun{
	{"base", "n", 0, 1, 300, 295, 1.2, 288, 144},
	{"base", "n", 0, 2, 310, 305, 1.3, 288, 144},
	{"base", "n", 0, 3, 120, 100, 1.1, 288, 144},
	{"fast", "1", 0, 1, 150, 150, 0.3, 32, 1},
	{"fast", "1", 0, 2, 160, 158, 0.35, 32, 1},
}

const (
	fixtureEpochs   = 3
	fixturePerEpoch = 4
)

// fixtureLoss is the loss a fixture run logs at a step: falling, and
// higher for a higher seed, so that the seeds make a band.
func fixtureLoss(seed int64, step int) float64 { return 5/float64(step) + 0.1*float64(seed) }

// fixtureVal is the validation rSum after epoch e (1-based) of a run that
// ends at val.
func fixtureVal(val float64, e int) float64 { return val * float64(e) / fixtureEpochs }

func fixtureInfo(experiment, model, schedule string, codes int, seed int64) store.RunInfo {
	return store.RunInfo{
		Experiment: experiment, ConfigHash: fmt.Sprintf("%s-%s-%d", experiment, model, seed), Model: model,
		Codes: codes, Schedule: schedule, Seed: seed, Dataset: fixtureSet, Protocol: "6img-2cap",
		Config: fmt.Sprintf(`{"model":%q,"seed":%d}`, model, seed),
		Params: map[string]string{
			"model": model, "seed": fmt.Sprint(seed), "codes": fmt.Sprint(codes), "dataset": fixtureSet,
			"train.epochs": fmt.Sprint(fixtureEpochs), "train.warmup_epochs": "1", "train.decay_epoch": "2",
			"train.decay_factor": "0.1", "train.learning_rate": "0.001", "train.reduction": "sum",
		},
	}
}

// logSteps logs steps from..to of a fixture run, with each epoch's
// validation at its last step.
func logSteps(t testing.TB, r *store.Run, seed int64, val float64, from, to int) {
	t.Helper()
	for step := from; step <= to; step++ {
		v := map[string]float64{"loss": fixtureLoss(seed, step), "lr": 0.001, "epoch": float64((step - 1) / fixturePerEpoch)}
		if step%fixturePerEpoch == 0 {
			v["val_rsum"] = fixtureVal(val, step/fixturePerEpoch)
		}
		if err := r.LogStep(step, v); err != nil {
			t.Fatal(err)
		}
	}
}

// writeFixture writes the fixture database into dir and returns its path.
func writeFixture(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "results.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, e := range []string{"other", "sweep"} {
		if _, err := db.EnsureExperiment(e, `{}`); err != nil {
			t.Fatal(err)
		}
	}
	start := func(info store.RunInfo) *store.Run {
		t.Helper()
		r, err := db.StartRun(info)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ones := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = 1
		}
		return out
	}

	r := start(fixtureInfo("other", "base", "n", 0, 1))
	check(t, r.RecordResults("test", map[string]float64{"rsum": 200}))
	check(t, r.Finish(1))

	for _, f := range fixtureFinished {
		r := start(fixtureInfo("sweep", f.model, f.schedule, f.codes, f.seed))
		logSteps(t, r, f.seed, f.val, 1, fixtureEpochs*fixturePerEpoch)
		check(t, r.RecordResults("test", map[string]float64{"rsum": f.rsum, "i2t_r1": f.rsum / 10, "t2i_r1": f.rsum / 12}))
		check(t, r.RecordResults("val", map[string]float64{"rsum": f.val, "epoch": fixtureEpochs, "epochs": fixtureEpochs}))
		check(t, r.RecordLatency(map[string]float64{"interactions": f.interactions, "query_ms": f.qms, "index_floats": f.floats}))
		ranks, ok := fixtureRanks[r.ID()]
		if !ok {
			ranks = [2][]int{ones(6), ones(12)}
		}
		check(t, r.RecordRanks("test", ranks[0], ranks[1]))
		check(t, r.Finish(10))
	}

	r = start(fixtureInfo("sweep", "inflated", "n+k", 4, 1))
	logSteps(t, r, 1, 0, 1, 3)
	check(t, r.Fail(errors.New("models: non-finite loss NaN at step 3 (epoch 1, learning rate 0.001)")))

	// The running run: its steps written as a sweep writes them with each
	// epoch's training state, and left running (its process "dies" when
	// the database is closed).
	info := fixtureInfo("sweep", "inflated", "n+k", 4, 2)
	info.Env = map[string]string{"resumed_from_epoch": "1"}
	r = start(info)
	logSteps(t, r, 2, 200, 1, 6)
	check(t, r.Flush())
	return path
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newServer serves the fixture database, opened read-only as the command
// opens it.
func newServer(t testing.TB, opt Options) (*Server, string) {
	t.Helper()
	path := writeFixture(t, t.TempDir())
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if opt.LoadDataset == nil {
		opt.LoadDataset = datasets.Load
	}
	if opt.Name == "" {
		opt.Name = path
	}
	s, err := New(db, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

// openReadOnly opens path for New, closing it when the test ends.
func openReadOnly(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fixedClock is a clock for the live status, dur after now.
func fixedClock(dur time.Duration) func() time.Time {
	t := time.Now().Add(dur)
	return func() time.Time { return t }
}

// serve starts an httptest server for s.
func serve(t testing.TB, s *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

var _ http.Handler = (*Server)(nil)
