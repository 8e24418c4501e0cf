package dashboard

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/referencedb"
	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

// get serves path from s and decodes its JSON answer into v, failing the
// test unless the status is want.
func get(t *testing.T, s http.Handler, path string, want int, v any) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != want {
		t.Fatalf("GET %s: status %d, want %d: %s", path, rec.Code, want, rec.Body)
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, rec.Body)
		}
	}
}

// apiError is what an endpoint answers for a bad request.
type apiError struct {
	Error string `json:"error"`
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*max(1, math.Abs(b)) }

// TestPagesAndAssets: the pages and their embedded scripts are served,
// with nothing referenced from outside the server.
func TestPagesAndAssets(t *testing.T) {
	s, _ := newServer(t, Options{})
	for _, path := range []string{"/", "/cost", "/curves", "/drill"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, `<script src="/static/app.js"`) ||
			!strings.Contains(body, `/static/vendor/chart.js/chart.umd.min.js`) {
			t.Errorf("GET %s: status %d, body %.300s", path, rec.Code, body)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("GET %s references another server: %s", path, body)
		}
	}
	for path, ctype := range map[string]string{
		"/static/app.js": "text/javascript", "/static/style.css": "text/css",
		"/static/vendor/chart.js/chart.umd.min.js": "text/javascript",
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Body.Len() < 1000 {
			t.Errorf("GET %s: status %d, type %q, %d bytes", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	}
	for _, path := range []string{"/nope", "/static/nope.js", "/api/nope"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
}

func TestExperiments(t *testing.T) {
	s, path := newServer(t, Options{})
	var got struct {
		Database    string
		Experiments []experimentSummary
	}
	get(t, s, "/api/experiments", 200, &got)
	if got.Database != path || len(got.Experiments) != 2 {
		t.Fatalf("got %+v", got)
	}
	// The sweep wrote last, so it comes first: the pages open on it.
	e := got.Experiments[0]
	want := experimentSummary{Name: "sweep", Runs: 7, Status: map[string]int{"finished": 5, "failed": 1, "running": 1},
		Datasets: []string{fixtureSet}, LastActivity: e.LastActivity}
	if !reflect.DeepEqual(e, want) || got.Experiments[1].Name != "other" || e.LastActivity <= got.Experiments[1].LastActivity {
		t.Errorf("experiments = %+v, want first %+v", got.Experiments, want)
	}
}

// runsAnswer is /api/runs's answer, as the page reads it.
type runsAnswer struct {
	Varying []string
	Configs []struct {
		ID     int
		Label  string
		Runs   []int64
		Params map[string]string
		Seeds  []struct {
			Seed         int64
			RunID        int64 `json:"run_id"`
			RSum         float64
			ValRSum      float64 `json:"val_rsum"`
			NotConverged bool    `json:"not_converged"`
		}
		RSum    struct{ Mean, SD *float64 }
		ValRSum struct{ Mean, SD *float64 } `json:"val_rsum"`
	}
	Runs []struct {
		ID          int64 `json:"run_id"`
		Status      string
		Config      int
		RSum        *float64
		RanksSplits []string `json:"ranks_splits"`
		Error       string
	}
}

func TestRuns(t *testing.T) {
	s, _ := newServer(t, Options{})
	var got runsAnswer
	get(t, s, "/api/runs?experiment=sweep", 200, &got)
	if want := []string{"model", "codes", "schedule"}; !slices.Equal(got.Varying, want) {
		t.Errorf("varying = %q, want %q", got.Varying, want)
	}
	type seedWant struct {
		run    int64
		nc     bool
		rsum   float64
		config int
	}
	// Configurations in the paper's order; the failed and the running
	// inflated runs make one without finished seeds.
	wantConfigs := []struct {
		label string
		runs  []int64
		mean  float64
		seeds []seedWant
	}{
		{"base", []int64{2, 3, 4}, (300 + 310 + 120) / 3.0, []seedWant{{2, false, 300, 0}, {3, false, 310, 0}, {4, true, 120, 0}}},
		{"inflated", []int64{7, 8}, math.NaN(), nil},
		{"fast", []int64{5, 6}, 155, []seedWant{{5, false, 150, 2}, {6, false, 160, 2}}},
	}
	if len(got.Configs) != len(wantConfigs) {
		t.Fatalf("%d configs, want %d: %+v", len(got.Configs), len(wantConfigs), got.Configs)
	}
	for i, w := range wantConfigs {
		c := got.Configs[i]
		if c.ID != i || c.Label != w.label || !slices.Equal(c.Runs, w.runs) {
			t.Errorf("config %d = %d %q runs %v, want %q runs %v", i, c.ID, c.Label, c.Runs, w.label, w.runs)
		}
		if len(c.Seeds) != len(w.seeds) {
			t.Errorf("config %q: %d seeds, want %d", w.label, len(c.Seeds), len(w.seeds))
			continue
		}
		for j, ws := range w.seeds {
			if g := c.Seeds[j]; g.RunID != ws.run || g.NotConverged != ws.nc || g.RSum != ws.rsum {
				t.Errorf("config %q seed %d = %+v, want %+v", w.label, j, g, ws)
			}
		}
		switch {
		case math.IsNaN(w.mean) && c.RSum.Mean != nil:
			t.Errorf("config %q: mean %v, want null", w.label, *c.RSum.Mean)
		case !math.IsNaN(w.mean) && (c.RSum.Mean == nil || !near(*c.RSum.Mean, w.mean)):
			t.Errorf("config %q: mean %v, want %v", w.label, c.RSum.Mean, w.mean)
		}
	}
	if sd := got.Configs[2].RSum.SD; sd == nil || !near(*sd, math.Sqrt(50)) {
		t.Errorf("fast's sd = %v, want %v", sd, math.Sqrt(50))
	}
	if len(got.Runs) != 7 {
		t.Fatalf("%d runs, want 7", len(got.Runs))
	}
	for _, r := range got.Runs {
		wantRanks := r.Status == "finished"
		if (len(r.RanksSplits) > 0) != wantRanks || (r.RSum != nil) != wantRanks {
			t.Errorf("run %d (%s): ranks splits %q, rsum %v", r.ID, r.Status, r.RanksSplits, r.RSum)
		}
		if (r.Error != "") != (r.Status == "failed") {
			t.Errorf("run %d (%s): error %q", r.ID, r.Status, r.Error)
		}
	}

	var e apiError
	get(t, s, "/api/runs?experiment=nope", 404, &e)
	if !strings.Contains(e.Error, "other, sweep") {
		t.Errorf("unknown experiment: %q does not list the experiments", e.Error)
	}
	get(t, s, "/api/runs", 400, nil)
}

// TestEmptyExperiment: an experiment whose sweep has not started a run yet
// shows nothing, which is no error.
func TestEmptyExperiment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := store.Open(path)
	check(t, err)
	_, err = db.EnsureExperiment("fresh", `{}`)
	check(t, err)
	check(t, db.Close())
	s, err := New(openReadOnly(t, path), Options{})
	check(t, err)
	for _, endpoint := range []string{"runs", "cost", "curves"} {
		var got map[string]any
		get(t, s, "/api/"+endpoint+"?experiment=fresh", 200, &got)
		for k, v := range got {
			if v == nil {
				t.Errorf("%s: %s is null, want a value (an empty list)", endpoint, k)
			}
		}
	}
	var st statusAnswer
	get(t, s, "/api/status", 200, &st)
	if len(st.Running) != 0 || st.Failed != 0 {
		t.Errorf("status of an empty database: %+v", st)
	}
}

// TestLabelsMatchReports: the pages group and label the runs of the
// committed reference database as its reports do.
func TestLabelsMatchReports(t *testing.T) {
	db := openReadOnly(t, referencedb.Copy(t, ".."))
	names, err := reports.Experiments(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("reference/results.db has no experiment")
	}
	for _, name := range names {
		rows, err := reports.Load(db, name)
		if err != nil {
			t.Fatal(err)
		}
		table := reports.MarkdownTable(rows)
		var runs []*run
		err = store.Snapshot(db, func(q store.Reader) error {
			runs, err = loadRuns(q, name)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range configs(runs) {
			if len(c.finishedRuns()) > 0 && !strings.Contains(table, c.Label) {
				t.Errorf("%s: label %q is not a row of the report's table:\n%s", name, c.Label, table)
			}
		}
	}
}

type costAnswer struct {
	Axes []struct {
		Key    string
		Points []struct {
			RunID int64 `json:"run_id"`
			X, Y  float64
			Label string
		}
		Front []int64
	}
}

func TestCost(t *testing.T) {
	s, _ := newServer(t, Options{})
	var got costAnswer
	get(t, s, "/api/cost?experiment=sweep", 200, &got)
	want := map[string][]int64{"interactions": {6, 3}, "query_ms": {5, 6, 2, 3}, "index_floats": {6, 3}}
	if len(got.Axes) != len(want) {
		t.Fatalf("%d axes, want %d", len(got.Axes), len(want))
	}
	for _, a := range got.Axes {
		if len(a.Points) != len(fixtureFinished) {
			t.Errorf("%s: %d points, want %d", a.Key, len(a.Points), len(fixtureFinished))
		}
		if !slices.Equal(a.Front, want[a.Key]) {
			t.Errorf("%s: front %v, want %v", a.Key, a.Front, want[a.Key])
		}
	}
	if p := got.Axes[1].Points[0]; p.RunID != 2 || p.X != 1.2 || p.Y != 300 || p.Label != "base" {
		t.Errorf("first query_ms point = %+v", p)
	}
}

func TestDiff(t *testing.T) {
	s, _ := newServer(t, Options{})
	var got struct {
		A, B   runBrief
		Params []struct {
			Key  string
			A, B *string
		}
		Same    int
		Metrics []struct {
			Name string
			A, B *float64
		}
	}
	get(t, s, "/api/diff?a=2&b=6", 200, &got)
	var keys []string
	for _, p := range got.Params {
		keys = append(keys, fmt.Sprintf("%s: %v -> %v", p.Key, *p.A, *p.B))
	}
	want := []string{"model: base -> fast", "seed: 1 -> 2"}
	if got.A.ID != 2 || got.B.ID != 6 || !slices.Equal(keys, want) || got.Same != 11 {
		t.Errorf("diff 2 6: %+v %+v, params %q (%d same), want %q (11 same: the fixture's 8 and the store's code_sides, train.loss and train.precision)", got.A, got.B, keys, got.Same, want)
	}
	if m := got.Metrics[0]; m.Name != "rsum" || *m.A != 300 || *m.B != 160 {
		t.Errorf("first metric = %s %v %v", m.Name, m.A, m.B)
	}
	// A failed run has no metrics: null, never 0.
	get(t, s, "/api/diff?a=7&b=1", 200, &got)
	if m := got.Metrics[0]; m.A != nil || m.B == nil || *m.B != 200 {
		t.Errorf("rsum of the failed run 7 against run 1: %v, %v", m.A, m.B)
	}
	get(t, s, "/api/diff?a=2", 400, nil)
	get(t, s, "/api/diff?a=2&b=x", 400, nil)
	get(t, s, "/api/diff?a=2&b=99", 404, nil)
}

type curvesAnswer struct {
	Configs []struct {
		Config     int
		Label      string
		Runs       []int64
		Unit       string
		Epochs     float64
		Boundaries []boundary
		Loss       struct{ X, Mean, Lo, Hi []float64 }
		ValRSum    struct{ X, Mean, Lo, Hi []float64 } `json:"val_rsum"`
	}
}

func TestCurves(t *testing.T) {
	s, _ := newServer(t, Options{})
	var got curvesAnswer
	get(t, s, "/api/curves?experiment=sweep", 200, &got)
	marks := []boundary{{1, "warm-up ends (1)"}, {2, "lr decay (2)"}}
	want := []struct {
		label      string
		runs       []int64
		loss, vals int
	}{
		// Fewer steps than bins: a point per step. The running inflated run
		// has written 6 of its 12 steps and one validation; the failed one
		// is left out.
		{"base", []int64{2, 3, 4}, 12, 3},
		{"inflated", []int64{8}, 6, 1},
		{"fast", []int64{5, 6}, 12, 3},
	}
	if len(got.Configs) != len(want) {
		t.Fatalf("%d configs, want %d", len(got.Configs), len(want))
	}
	for i, w := range want {
		c := got.Configs[i]
		if c.Label != w.label || !slices.Equal(c.Runs, w.runs) || c.Unit != "epoch" || c.Epochs != fixtureEpochs ||
			!reflect.DeepEqual(c.Boundaries, marks) || len(c.Loss.X) != w.loss || len(c.ValRSum.X) != w.vals {
			t.Errorf("config %d: %q runs %v unit %s epochs %v marks %v, %d losses, %d validations; want %q %v, %d, %d",
				i, c.Label, c.Runs, c.Unit, c.Epochs, c.Boundaries, len(c.Loss.X), len(c.ValRSum.X), w.label, w.runs, w.loss, w.vals)
		}
	}
	// Base at step 5 (x = 1.25): the seeds' losses 5/5 + 0.1 seed.
	base := got.Configs[0]
	if x := base.Loss.X[4]; !near(x, 1.25) || !near(base.Loss.Mean[4], 1.2) || !near(base.Loss.Lo[4], 1.1) || !near(base.Loss.Hi[4], 1.3) {
		t.Errorf("base loss point 4: x %v, mean %v in [%v, %v]; want 1.25, 1.2 in [1.1, 1.3]", x, base.Loss.Mean[4], base.Loss.Lo[4], base.Loss.Hi[4])
	}
	// Validation after epoch 3 is each seed's val rSum.
	if v := base.ValRSum; !slices.Equal(v.X, []float64{1, 2, 3}) || !near(v.Mean[2], (295+305+100)/3.0) || v.Lo[2] != 100 || v.Hi[2] != 305 {
		t.Errorf("base validation = %+v", v)
	}
}

// TestCurvesBinning: a long run's loss is averaged into at most maxBins
// points, each at the mean x of its steps.
func TestCurvesBinning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := store.Open(path)
	check(t, err)
	_, err = db.EnsureExperiment("long", `{}`)
	check(t, err)
	info := fixtureInfo("long", "base", "n", 0, 1)
	info.Params["train.epochs"] = "10"
	r, err := db.StartRun(info)
	check(t, err)
	const perEpoch = 47
	for step := 1; step <= 10*perEpoch; step++ {
		check(t, r.LogStep(step, map[string]float64{"loss": float64(step), "epoch": float64((step - 1) / perEpoch)}))
	}
	check(t, r.Finish(1))
	check(t, db.Close())
	s, err := New(openReadOnly(t, path), Options{})
	check(t, err)
	var got curvesAnswer
	get(t, s, "/api/curves?experiment=long", 200, &got)
	loss := got.Configs[0].Loss
	if len(loss.X) != maxBins {
		t.Fatalf("%d points, want %d", len(loss.X), maxBins)
	}
	// 470 steps in 100 bins: bin b holds steps with floor((s-1)*100/470) = b,
	// and its x is their mean step over 47 steps per epoch.
	for b, x := range loss.X {
		var sum, n float64
		for s := 1; s <= 470; s++ {
			if (s-1)*100/470 == b {
				sum += float64(s)
				n++
			}
		}
		if !near(x, sum/n/perEpoch) || !near(loss.Mean[b], sum/n) {
			t.Fatalf("bin %d: x %v, mean %v; want %v, %v", b, x, loss.Mean[b], sum/n/perEpoch, sum/n)
		}
	}
}

func TestPlan(t *testing.T) {
	params := func(kv ...string) map[string]string {
		m := map[string]string{"train.epochs": "20", "train.warmup_epochs": "3", "train.decay_epoch": "15", "train.decay_factor": "0.1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name string
		r    run
		want []boundary
	}{
		{"first stage", run{Model: "base", Params: params()}, []boundary{{3, "warm-up ends (3)"}, {15, "lr decay (15)"}}},
		{"no warm-up", run{Model: "base", Params: params("train.warmup_epochs", "0")}, []boundary{{15, "lr decay (15)"}}},
		{"InfoNCE has none", run{Model: "fast", Params: params("train.loss", "infonce")}, []boundary{{15, "lr decay (15)"}}},
		{"a student has none", run{Model: "inflated>base", Teacher: 1, Params: params()}, []boundary{{15, "lr decay (15)"}}},
		{"no decay", run{Model: "base", Params: params("train.decay_factor", "1")}, []boundary{{3, "warm-up ends (3)"}}},
		{"decay after the end", run{Model: "base", Params: params("train.decay_epoch", "20")}, []boundary{{3, "warm-up ends (3)"}}},
		// The cross encoder decays at the first stage's fraction of its own epochs.
		{"cross encoder", run{Model: "fast>>cross", Teacher: 1, Params: params("cross.epochs", "6")}, []boundary{{4, "lr decay (4)"}}},
	} {
		if got := planOf(&tt.r).boundaries(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// drillAnswer is /api/drill's answer, as the page reads it.
type drillAnswer struct {
	Queries   int
	Dataset   string
	Annotated bool
	Note      string
	RanksA    []int `json:"ranks_a"`
	RanksB    []int `json:"ranks_b"`
	AWins     struct {
		Wins   int
		Recall *float64
		Top    []drillQuery
	} `json:"a_wins"`
	BWins struct {
		Wins   int
		Recall *float64
		Top    []drillQuery
	} `json:"b_wins"`
}

func queriesOf(qs []drillQuery) []int {
	out := []int{}
	for _, q := range qs {
		out = append(out, q.Query)
	}
	return out
}

func TestDrill(t *testing.T) {
	s, _ := newServer(t, Options{})
	for _, tt := range []struct {
		query  string
		n      int
		a, b   []int
		recall [2]float64 // NaN: none (k = 0)
	}{
		{"a=3&b=6", 12, []int{7, 3, 10, 0}, []int{4, 6, 2}, [2]float64{100 * 8 / 12.0, 100 * 7 / 12.0}},
		{"a=3&b=6&dir=t2i&k=0", 12, []int{7, 3, 10, 0}, []int{4, 6, 2}, [2]float64{math.NaN(), math.NaN()}},
		{"a=3&b=6&k=5", 12, []int{7}, []int{}, [2]float64{100, 100 * 11 / 12.0}},
		{"a=6&b=3", 12, []int{4, 6, 2}, []int{7, 3, 10, 0}, [2]float64{100 * 7 / 12.0, 100 * 8 / 12.0}},
		{"a=3&b=6&dir=i2t", 6, []int{2, 3}, []int{4, 1}, [2]float64{100 * 4 / 6.0, 100 * 4 / 6.0}},
		{"a=3&b=6&limit=2", 12, []int{7, 3}, []int{4, 6}, [2]float64{100 * 8 / 12.0, 100 * 7 / 12.0}},
	} {
		var got drillAnswer
		get(t, s, "/api/drill?"+tt.query, 200, &got)
		if got.Queries != tt.n || len(got.RanksA) != tt.n || len(got.RanksB) != tt.n ||
			!slices.Equal(queriesOf(got.AWins.Top), tt.a) || !slices.Equal(queriesOf(got.BWins.Top), tt.b) {
			t.Errorf("%s: %d queries, A wins %v, B wins %v; want %d, %v, %v",
				tt.query, got.Queries, queriesOf(got.AWins.Top), queriesOf(got.BWins.Top), tt.n, tt.a, tt.b)
		}
		for i, r := range []*float64{got.AWins.Recall, got.BWins.Recall} {
			if math.IsNaN(tt.recall[i]) != (r == nil) || (r != nil && !near(*r, tt.recall[i])) {
				t.Errorf("%s: recall %d = %v, want %v", tt.query, i, r, tt.recall[i])
			}
		}
		if !strings.Contains(tt.query, "limit") && (got.AWins.Wins != len(tt.a) || got.BWins.Wins != len(tt.b)) {
			t.Errorf("%s: wins %d and %d, want %d and %d", tt.query, got.AWins.Wins, got.BWins.Wins, len(tt.a), len(tt.b))
		}
	}

	// The queries shown as a person sees them: caption 7 is the second
	// caption of image 3 (yellow); image 2 (blue) has two captions.
	var got drillAnswer
	get(t, s, "/api/drill?a=3&b=6", 200, &got)
	q := got.AWins.Top[0]
	if !got.Annotated || got.Dataset != fixtureSet || q.Text != "yellow all over" || q.Image != 3 || q.RankA != 1 || q.RankB != 6 ||
		q.Thumb != "/api/thumb?dataset="+fixtureSet+"&image=3" {
		t.Errorf("caption query = %+v (annotated %v, %q)", q, got.Annotated, got.Note)
	}
	get(t, s, "/api/drill?a=3&b=6&dir=i2t", 200, &got)
	if q := got.AWins.Top[0]; q.Image != 2 || !slices.Equal(q.Captions, []string{"a blue square", "blue all over"}) {
		t.Errorf("image query = %+v", q)
	}

	// The thumbnail the drill-down links to is the image's picture.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", got.AWins.Top[0].Thumb, nil))
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if r, g, b, _ := img.At(1, 1).RGBA(); img.Bounds().Dx() != 4 || r>>8 != 40 || g>>8 != 60 || b>>8 != 220 {
		t.Errorf("thumbnail of image 2: %v, colour %d %d %d, want 4x4 blue", img.Bounds(), r>>8, g>>8, b>>8)
	}

	for query, code := range map[string]int{
		"a=3":                   400,
		"a=3&b=6&dir=x":         400,
		"a=3&b=6&k=-1":          400,
		"a=3&b=6&limit=0":       400,
		"a=3&b=8":               404, // the running run stored no ranks yet
		"a=3&b=6&split=val":     404,
		"a=3&b=99":              404,
		"a=3&b=1&split=nothing": 404,
	} {
		var e apiError
		get(t, s, "/api/drill?"+query, code, &e)
		if e.Error == "" {
			t.Errorf("%s: no error message", query)
		}
	}
}

// TestDrillWithoutData: without data sets, or with one that no longer
// matches the ranks, the drill-down still answers, with query numbers and
// a note saying why there is no more.
func TestDrillWithoutData(t *testing.T) {
	s, _ := newServer(t, Options{LoadDataset: func(string) (*datasets.Dataset, error) {
		return &datasets.Dataset{Test: datasets.Split{Captions: []string{"only one"}, CaptionImage: []int{0}, Images: [][][]float32{{{1}}}}}, nil
	}})
	var got drillAnswer
	get(t, s, "/api/drill?a=3&b=6", 200, &got)
	if got.Annotated || !strings.Contains(got.Note, "did the data set change") || got.AWins.Top[0].Text != "" || got.AWins.Top[0].Thumb != "" {
		t.Errorf("changed data set: annotated %v, note %q, first %+v", got.Annotated, got.Note, got.AWins.Top[0])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/thumb?dataset="+fixtureSet+"&image=0", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("thumbnail of a data set without pictures: status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/thumb?dataset=synthetic&image=0", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("thumbnail of a data set no drill-down loaded: status %d", rec.Code)
	}
}

// statusAnswer is /api/status's answer.
type statusAnswer struct {
	Running []struct {
		RunID         int64 `json:"run_id"`
		Step, Epoch   int
		Epochs        int
		StepsPerEpoch int `json:"steps_per_epoch"`
		ResumedFrom   int `json:"resumed_from"`
		Progress      *float64
		Elapsed       *float64 `json:"elapsed_s"`
		ETA           *float64 `json:"eta_s"`
		Loss          *float64
		ValRSum       *float64 `json:"val_rsum"`
		Stale         bool
	}
	Failed, Interrupted int
	Recent              []struct {
		RunID  int64 `json:"run_id"`
		Status string
		Error  string
	} `json:"recent_failures"`
}

func TestStatus(t *testing.T) {
	s, _ := newServer(t, Options{Now: fixedClock(time.Minute)})
	var got statusAnswer
	get(t, s, "/api/status", 200, &got)
	if len(got.Running) != 1 {
		t.Fatalf("running = %+v", got.Running)
	}
	r := got.Running[0]
	// 6 of 3 x 4 steps after a minute or so: half done. The first 4 were
	// copied from the run it resumed, so its own 2 steps took the minute,
	// and the 6 to go take three.
	if r.RunID != 8 || r.Step != 6 || r.Epoch != 2 || r.Epochs != 3 || r.StepsPerEpoch != 4 || r.ResumedFrom != 1 || r.Stale ||
		r.Progress == nil || *r.Progress != 0.5 || r.Elapsed == nil || *r.Elapsed < 30 || r.ETA == nil || !near(*r.ETA, 3**r.Elapsed) ||
		r.Loss == nil || !near(*r.Loss, fixtureLoss(2, 6)) || r.ValRSum == nil || !near(*r.ValRSum, fixtureVal(200, 1)) {
		t.Errorf("running run = %+v", r)
	}
	if got.Failed != 1 || got.Interrupted != 0 || len(got.Recent) != 1 || got.Recent[0].RunID != 7 ||
		!strings.Contains(got.Recent[0].Error, "non-finite loss") {
		t.Errorf("failures: %d failed, %d interrupted, recent %+v", got.Failed, got.Interrupted, got.Recent)
	}

	// Long after its last heartbeat, the run is flagged stale.
	s, _ = newServer(t, Options{Now: fixedClock(store.StaleAfter + time.Minute)})
	get(t, s, "/api/status", 200, &got)
	if !got.Running[0].Stale {
		t.Errorf("no heartbeat for %v: not stale", store.StaleAfter+time.Minute)
	}
}

// TestWhileSweepWrites: the dashboard reads a database that a sweep keeps
// writing, sees the new steps and runs, and never fails for it.
func TestWhileSweepWrites(t *testing.T) {
	path := writeFixture(t, t.TempDir())
	s, err := New(openReadOnly(t, path), Options{LoadDataset: datasets.Load})
	check(t, err)
	w, err := store.Open(path)
	check(t, err)
	defer w.Close()
	run, err := w.StartRun(fixtureInfo("sweep", "fast", "1", 0, 3))
	check(t, err)

	// Readers hammer every endpoint while the writer logs steps.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for _, path := range []string{"/api/experiments", "/api/runs?experiment=sweep", "/api/curves?experiment=sweep",
		"/api/status", "/api/cost?experiment=sweep", "/api/drill?a=3&b=6"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				time.Sleep(5 * time.Millisecond) // readers of a person's pace, not a benchmark's
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != http.StatusOK {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %d %s", path, rec.Code, rec.Body))
					mu.Unlock()
					return
				}
			}
		}()
	}
	stepOf := func() int {
		var st statusAnswer
		get(t, s, "/api/status", 200, &st)
		for _, r := range st.Running {
			if r.RunID == run.ID() {
				return r.Step
			}
		}
		return -1
	}
	if got := stepOf(); got != 0 {
		t.Errorf("new run: step %d, want 0", got)
	}
	for epoch := range fixtureEpochs {
		logSteps(t, run, 3, 170, epoch*fixturePerEpoch+1, (epoch+1)*fixturePerEpoch)
		check(t, run.Flush())
		if got, want := stepOf(), (epoch+1)*fixturePerEpoch; got != want {
			t.Errorf("after epoch %d: step %d, want %d", epoch+1, got, want)
		}
	}
	check(t, run.RecordResults("test", map[string]float64{"rsum": 170}))
	check(t, run.Finish(1))
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	var got runsAnswer
	get(t, s, "/api/runs?experiment=sweep", 200, &got)
	if fast := got.Configs[2]; len(fast.Seeds) != 3 || fast.Seeds[2].RSum != 170 {
		t.Errorf("fast after the new seed finished: %+v", fast.Seeds)
	}
	if stepOf() != -1 {
		t.Error("the finished run is still listed as running")
	}
}

func TestSchemaVersions(t *testing.T) {
	for version, want := range map[string]string{"2": "older than the 3", "99": "newer than this program's"} {
		path := filepath.Join(t.TempDir(), "results.db")
		db, err := store.Open(path)
		check(t, err)
		_, err = db.SQL().Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, version)
		check(t, err)
		check(t, db.Close())
		_, err = New(openReadOnly(t, path), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("schema version %s: error %v, want one saying %q", version, err, want)
		}
	}
}

// TestJSONNulls: a missing number is null, not 0 or NaN (which is not
// JSON at all).
func TestJSONNulls(t *testing.T) {
	b, err := json.Marshal([]num{1.5, num(math.NaN()), num(math.Inf(1)), 0})
	if err != nil || string(b) != "[1.5,null,null,0]" {
		t.Errorf("got %s, %v", b, err)
	}
}
