package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestOldConfigsNeverMatch: a config recorded before the authors' recipe
// became the default (no train.reduction, batches, validate_every,
// patience) meant this framework's earlier recipe (mean reductions, the
// masked hinge, batches of images). Its hash must not be that of any
// trial now, or a finished old run would be taken for a new trial: the
// new keys are always written out, and the old config, read today, is
// refused rather than run under the new meaning of its empty values.
func TestOldConfigsNeverMatch(t *testing.T) {
	const recorded = `{"model":"base","codes":0,"seed":1,"dataset":"coco","dim":16,"heads":2,"layers":1,"ff_dim":32,"max_text_len":16,"max_regions":0,"padding":"mask","shared_layers":false,"train":{"batch_size":16,"epochs":2,"learning_rate":0.001,"decay_epoch":1,"decay_factor":0.1,"weight_decay":0.0001,"clip_norm":2,"margin":0.2,"fast_margin":0.2,"warmup_epochs":1,"warmup_temp":0.1},"distill":{"teacher_temp":0,"student_temp":0,"train_embeddings":false}}`
	c, err := ParseConfig([]byte(recorded))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash() == "0631065ab7b75805" {
		t.Errorf("an old config keeps its old hash %s: its finished runs would be taken for trials of the new recipe", c.Hash())
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "train.reduction") {
		t.Errorf("an old config validates (%v); want it refused naming train.reduction", err)
	}
	for _, key := range []string{`"reduction":"sum"`, `"batches":"captions"`, `"validate_every":1`, `"patience":0`} {
		if !strings.Contains(DefaultConfig().JSON(), key) {
			t.Errorf("the default config's JSON lacks %s: %s", key, DefaultConfig().JSON())
		}
	}
	e := Experiment{Name: "quickstart", Base: DefaultConfig(), Sweep: Sweep{Models: []string{"base"}}}
	if d := e.Definition(); strings.Contains(d, "CodeSides") || strings.Contains(d, "More") || strings.Contains(d, "Losses") || strings.Contains(d, "Sets") {
		t.Errorf("a definition without the new axes mentions them: %s", d)
	}
}

// TestNewKeysRoundTrip: the sweep keys set by -set change the config and
// its hash, survive JSON, and bad values are refused naming the key.
func TestNewKeysRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		set     string
		check   func(Config) bool
		wantErr string // part of Validate's or Set's error; "" for none
	}{
		{"loss vse++", "train.loss=vse++", func(c Config) bool { return c.Train.Loss == "vse++" }, ""},
		{"loss infonce", "train.loss=infonce", func(c Config) bool { return c.Train.Loss == "infonce" }, ""},
		{"loss hinge", "train.loss=hinge-l8", func(c Config) bool { return c.Train.Loss == "hinge-l8" }, ""},
		{"text codes", "code_sides=text", func(c Config) bool { return c.CodeSides == "text" }, ""},
		{"image codes", "code_sides=image", func(c Config) bool { return c.CodeSides == "image" }, ""},
		{"numeric chain", "model=inflated>c16>c4>fast", func(c Config) bool { return c.Model == "inflated>c16>c4>fast" }, ""},
		{"unknown loss", "train.loss=triplet", nil, `train.loss "triplet"`},
		{"unknown sides", "code_sides=left", nil, `"left"`},
		{"bad numeric stage", "model=inflated>c0", nil, `"c0"`},
		{"codes sides as number", "code_sides=3", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := DefaultConfig()
			c, err := base.Set(tt.set)
			if err == nil {
				err = c.Validate()
			}
			if tt.check == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) || c.Hash() == base.Hash() {
				t.Errorf("Set(%q) did not take: %+v", tt.set, c)
			}
			back, err := ParseConfig([]byte(c.JSON()))
			if err != nil || back.Hash() != c.Hash() {
				t.Errorf("JSON round trip: %v, hash %s -> %s", err, c.Hash(), back.Hash())
			}
		})
	}
}

// TestParamsSpellOutDefaults: a run's params name every key at the value
// the trial uses, those its JSON leaves out at the default included, and
// match its JSON form everywhere else; a model without a cross encoder
// records no cross keys.
func TestParamsSpellOutDefaults(t *testing.T) {
	cross, err := DefaultConfig().Set("model=fast>>cross")
	if err != nil {
		t.Fatal(err)
	}
	sides := DefaultConfig()
	sides.Model, sides.CodeSides = "inflated", "image"
	tests := []struct {
		name string
		c    Config
		want map[string]string // some of the params
		none []string          // keys that must be absent
	}{
		{"defaults", DefaultConfig().normalised(), map[string]string{"code_sides": "both", "train.loss": "hinge-l8", "train.precision": "fp32", "train.epochs": "20", "train.learning_rate": "0.001", "shared_layers": "true"}, []string{"cross.top_k", "cross.hard_negatives"}},
		{"sides set", sides.normalised(), map[string]string{"code_sides": "image"}, nil},
		{"cross", cross.normalised(), map[string]string{"cross.top_k": "20", "cross.hard_negatives": "0", "cross.layers": "2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.c.Params()
			for k, v := range tt.want {
				if p[k] != v {
					t.Errorf("param %s = %q, want %q", k, p[k], v)
				}
			}
			for _, k := range tt.none {
				if v, ok := p[k]; ok {
					t.Errorf("param %s = %q recorded; want none", k, v)
				}
			}
			// Every key of the JSON form is a param, at the same value.
			var plain map[string]any
			if err := json.Unmarshal([]byte(tt.c.JSON()), &plain); err != nil {
				t.Fatal(err)
			}
			for k, v := range flatten(plain) {
				if p[k] != v {
					t.Errorf("param %s = %q, the JSON form has %v", k, p[k], v)
				}
			}
		})
	}
}

// TestTrialsNewAxes expands the sweep axes added for the experiments.
func TestTrialsNewAxes(t *testing.T) {
	type trial struct {
		model, sides, loss string
		codes              int
		teacher, student   float64
	}
	key := func(c Config) trial {
		return trial{c.Model, c.CodeSides, c.Train.Loss, c.Codes, c.Distill.TeacherTemp, c.Distill.StudentTemp}
	}
	tests := []struct {
		name  string
		sweep Sweep
		more  []Sweep
		want  []trial
	}{
		{
			name:  "code sides, once for a chain without codes",
			sweep: Sweep{Models: []string{"base", "inflated"}, Codes: []int{2}, CodeSides: []string{"both", "text", "image"}},
			want: []trial{
				{model: "base"}, {model: "inflated", codes: 2},
				{model: "inflated", sides: "text", codes: 2}, {model: "inflated", sides: "image", codes: 2},
			},
		},
		{
			name:  "losses change every chain",
			sweep: Sweep{Models: []string{"fast", "inflated>fast"}, Codes: []int{4}, Losses: []string{"vse++", "infonce"}},
			want: []trial{
				{model: "fast", loss: "vse++"}, {model: "inflated>fast", loss: "vse++", codes: 4},
				{model: "fast", loss: "infonce"}, {model: "inflated>fast", loss: "infonce", codes: 4},
			},
		},
		{
			name:  "KD temperatures only reach chains",
			sweep: Sweep{Models: []string{"inflated", "inflated>fast"}, Codes: []int{4}, KDTemps: []KDTemps{{16, 16}, {2, 16}}},
			want: []trial{
				{model: "inflated", codes: 4}, {model: "inflated>fast", codes: 4, teacher: 16, student: 16},
				{model: "inflated>fast", codes: 4, teacher: 2, student: 16},
			},
		},
		{
			name:  "more sweeps join, shared trials once",
			sweep: Sweep{Models: []string{"inflated", "inflated>base>fast"}, Codes: []int{4}},
			more:  []Sweep{{Models: []string{"inflated", "inflated>c8>fast"}, Codes: []int{4}}, {Models: []string{"base>fast"}}},
			want: []trial{
				{model: "inflated", codes: 4}, {model: "inflated>base>fast", codes: 4},
				{model: "inflated>c8>fast", codes: 4}, {model: "base>fast"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Experiment{Name: "x", Base: DefaultConfig(), Sweep: tt.sweep, More: tt.more}
			var got []trial
			for _, c := range e.Trials() {
				if err := c.Validate(); err != nil {
					t.Errorf("trial %+v: %v", key(c), err)
				}
				got = append(got, key(c))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("trials\n %v\nwant\n %v", got, tt.want)
			}
		})
	}
}

// TestSweepAxesRun trains the new axes end to end on a tiny set: a
// text-only inflated model has fewer interactions than one inflated on
// both sides, a numeric chain records its schedule, and each loss trains.
func TestSweepAxesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several small models")
	}
	db := openDB(t)
	c := tinyConfig()
	c.Train.Epochs = 1
	e := Experiment{Name: "axes", Base: c, Sweep: Sweep{
		Models: []string{"inflated"}, Codes: []int{2}, CodeSides: []string{"both", "text"},
	}, More: []Sweep{
		{Models: []string{"inflated>c4>fast"}, Codes: []int{2}},
		{Models: []string{"fast"}, Losses: []string{"vse++", "infonce"}},
	}}
	var out, errOut bytes.Buffer
	if err := Command(context.Background(), e, []string{"-db", db.Path(), "-report", t.TempDir()}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	rows := summary(t, db, "axes")
	var both, text float64
	schedules := map[string]string{}
	for _, r := range rows {
		if r.status != "finished" {
			t.Errorf("%s: %s", r.model, r.status)
		}
		schedules[r.model] = r.schedule
	}
	if err := db.SQL().QueryRow(`SELECT s.interactions FROM run_summary s JOIN runs r ON r.id = s.run_id
		WHERE s.experiment = 'axes' AND s.model = 'inflated' AND r.config NOT LIKE '%code_sides%'`).Scan(&both); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow(`SELECT s.interactions FROM run_summary s JOIN runs r ON r.id = s.run_id
		WHERE s.experiment = 'axes' AND s.model = 'inflated' AND r.config LIKE '%"code_sides":"text"%'`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	// synthetic-small: 16 text slots; image [CLS] + regions; 2 codes.
	if !(text < both) {
		t.Errorf("interactions: text-only codes %v, both sides %v; want fewer", text, both)
	}
	if schedules["inflated>c4>fast"] != "n+k>4>1" || schedules["inflated>c4"] != "n+k>4" {
		t.Errorf("schedules %v", schedules)
	}
	if len(rows) != 2+3+2-1 { // inflated x2 sides; inflated (shared), >c4, >c4>fast; fast x2 losses
		t.Errorf("%d runs: %+v", len(rows), rows)
	}
}

// TestCommandAll: a program of several experiments runs each, or the one
// -experiment selects, and refuses per-experiment flags without it.
func TestCommandAll(t *testing.T) {
	c := tinyConfig()
	c.Train.Epochs, c.Model = 1, "fast"
	es := []Experiment{{Name: "one", Base: c}, {Name: "two", Base: c}}
	tests := []struct {
		name    string
		args    []string
		ran     []string
		wantErr string
	}{
		{"both", nil, []string{"one", "two"}, ""},
		{"selected", []string{"-experiment", "two"}, []string{"two"}, ""},
		{"selected attached", []string{"-experiment=one", "-name", "uno"}, []string{"uno"}, ""},
		{"unknown", []string{"-experiment", "three"}, nil, `"three"`},
		{"name needs selection", []string{"-name", "x"}, nil, "-name"},
		{"report needs selection", []string{"-report=x"}, nil, "-report"},
		{"missing value", []string{"-experiment"}, nil, "-experiment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			t.Chdir(t.TempDir()) // the reports go to report/<name> here
			args := append([]string{"-db", db.Path()}, tt.args...)
			var out, errOut bytes.Buffer
			err := CommandAll(context.Background(), es, args, &out, &errOut)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			var ran []string
			rows, err := db.SQL().Query(`SELECT experiment FROM run_summary ORDER BY run_id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				rows.Scan(&name)
				ran = append(ran, name)
			}
			if fmt.Sprint(ran) != fmt.Sprint(tt.ran) {
				t.Errorf("ran %v, want %v", ran, tt.ran)
			}
		})
	}
}

// TestSetsAxis: each Sets entry is a variant of the base config, crossed
// with the other axes and seeds; an empty entry is the base itself; a bad
// assignment is refused by Check (and Run) naming it.
func TestSetsAxis(t *testing.T) {
	e := Experiment{Name: "sets", Base: DefaultConfig(), Sweep: Sweep{
		Models: []string{"base", "fast"},
		Sets:   [][]string{nil, {"train.margin=0.2", "train.reduction=mean"}, {"dataset=synthetic:objects=8-16"}},
		Seeds:  []int64{1, 2},
	}}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	trials := e.Trials()
	if len(trials) != 3*2*2 {
		t.Fatalf("%d trials, want 12 (3 variants x 2 models x 2 seeds)", len(trials))
	}
	count := map[string]int{}
	for _, c := range trials {
		switch {
		case c.Train.Margin == 0.2 && c.Train.Reduction == "mean":
			count["ours"]++
		case c.Dataset == "synthetic:objects=8-16":
			count["data"]++
		case c.Train.Margin == 0.6 && c.Train.Reduction == "sum" && c.Dataset == "synthetic":
			count["base"]++
		}
	}
	if count["ours"] != 4 || count["data"] != 4 || count["base"] != 4 {
		t.Errorf("trials per variant %v, want 4 each", count)
	}
	e.Sweep.Sets = append(e.Sweep.Sets, []string{"train.nonsense=1"})
	if err := e.Check(); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("Check with a bad assignment: %v", err)
	}
	if _, err := (&Runner{DB: openDB(t)}).Run(context.Background(), e); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("Run with a bad assignment: %v", err)
	}
}
