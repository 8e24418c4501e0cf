package framework

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/store"
)

// TestCrossConfig: cascade names parse, the cross keys are spelled out
// for a cascade and cleared for every other model (whose hash therefore
// does not move), and bad values are refused naming the key.
func TestCrossConfig(t *testing.T) {
	base := DefaultConfig()
	withKey, err := base.Set("cross.top_k=7")
	if err != nil {
		t.Fatal(err)
	}
	if withKey.normalised().Hash() != base.normalised().Hash() || strings.Contains(withKey.normalised().JSON(), "cross") {
		t.Errorf("a cross key changed model %q: %s", base.Model, withKey.normalised().JSON())
	}
	c, err := withKey.Set("model=inflated>>cross")
	if err != nil {
		t.Fatal(err)
	}
	n := c.normalised()
	want := CrossConfig{TopK: 7, Negatives: 3, Epochs: base.Train.Epochs, Layers: 2, LearningRate: base.Train.LearningRate}
	if n.Cross != want || n.Codes != base.Codes || !strings.Contains(n.JSON(), `"cross":{"top_k":7`) || strings.Contains(n.JSON(), "hard_negatives") {
		t.Errorf("cascade normalised to %+v (codes %d), want %+v with codes %d", n.Cross, n.Codes, want, base.Codes)
	}
	if err := n.Validate(); err != nil {
		t.Errorf("valid cascade refused: %v", err)
	}
	if chain, _ := n.chain(); n.schedule(chain) != "n+k>>cross" {
		t.Errorf("schedule %q, want n+k>>cross", n.schedule(chain))
	}
	for _, tt := range []struct{ name, set, want string }{
		{"negative top_k", "cross.top_k=-1", "cross.top_k"},
		{"negatives fill the batch", "cross.negatives=32", "cross.negatives"},
		{"negative epochs", "cross.epochs=-2", "cross.epochs"},
		{"negative layers", "cross.layers=-1", "cross.layers"},
		{"negative learning rate", "cross.learning_rate=-0.1", "cross.learning_rate"},
		{"hard pool below negatives", "cross.hard_negatives=2", "cross.hard_negatives"},
		{"negative hard pool", "cross.hard_negatives=-5", "cross.hard_negatives"},
		{"unknown key", "cross.depth=2", "cross.depth"},
		{"not a number", "cross.top_k=many", "cross.top_k"},
		{"bad first stage", "model=fats>>cross", "fats"},
		{"nothing to re-rank", "model=>>cross", "chain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := base.Set("model=fast>>cross")
			if err == nil {
				bad, err = bad.Set(tt.set)
			}
			if err == nil {
				err = bad.normalised().Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestCrossEndToEnd trains fast and fast>>cross for one epoch on
// synthetic-small: the cascade reuses the fast run as its first stage and
// records recall, ranks in both directions and its cost.
func TestCrossEndToEnd(t *testing.T) {
	c := tinyConfig()
	c.Train.Epochs, c.Train.WarmupEpochs = 1, 0
	c.Cross.TopK = 5
	e := Experiment{Name: "cross", Base: c, Sweep: Sweep{Models: []string{"fast", "fast>>cross"}}}
	db, err := store.Open(filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sum, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trials != 2 || sum.Trained != 2 {
		t.Fatalf("%+v, want 2 trials trained", sum)
	}
	var runs int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM runs`).Scan(&runs); err != nil || runs != 2 {
		t.Fatalf("%d runs (%v), want 2: the cascade's first stage is the fast run", runs, err)
	}
	var id, teacher, fastID int64
	var schedule string
	var rsum, interactions, queryMs, pairMs, k, captions sql.NullFloat64
	row := db.SQL().QueryRow(`SELECT s.run_id, s.teacher_run_id, s.schedule, s.rsum, s.interactions, s.query_ms, s.test_captions,
		(SELECT value FROM latency WHERE run_id = s.run_id AND name = 'cross_pair_ms'),
		(SELECT value FROM latency WHERE run_id = s.run_id AND name = 'rerank_k'),
		(SELECT run_id FROM run_summary WHERE model = 'fast')
		FROM run_summary s WHERE model = 'fast>>cross' AND status = 'finished'`)
	if err := row.Scan(&id, &teacher, &schedule, &rsum, &interactions, &queryMs, &captions, &pairMs, &k, &fastID); err != nil {
		t.Fatal(err)
	}
	var regions int // resolved from the data set
	if err := db.SQL().QueryRow(`SELECT value FROM params WHERE run_id = ? AND key = 'max_regions'`, id).Scan(&regions); err != nil {
		t.Fatal(err)
	}
	slots := 1 + c.MaxTextLen + regions
	if teacher != fastID || schedule != "1>>cross" || !rsum.Valid || rsum.Float64 <= 0 ||
		interactions.Float64 != float64(2*slots*slots) || !(queryMs.Float64 > 0) || !(pairMs.Float64 > 0) || k.Float64 != 5 {
		t.Errorf("cascade run %d: teacher %d (fast %d), schedule %q, rsum %v, interactions %v (want %d), query %v ms, pair %v ms, k %v",
			id, teacher, fastID, schedule, rsum, interactions, 2*slots*slots, queryMs, pairMs, k)
	}
	for _, dir := range []string{store.I2T, store.T2I} {
		ranks, ok, err := db.Ranks(id, "test", dir)
		if err != nil || !ok || len(ranks) == 0 {
			t.Errorf("%s ranks: %d, %v, %v", dir, len(ranks), ok, err)
		}
	}
	var steps int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM steps WHERE run_id = ?`, id).Scan(&steps); err != nil || steps == 0 {
		t.Errorf("cascade logged %d training steps (%v)", steps, err)
	}
	again, err := (&Runner{DB: db}).Run(context.Background(), e)
	if err != nil || again.Skipped != 2 {
		t.Errorf("rerun: %+v, %v; want both trials skipped", again, err)
	}

	// With hard negatives mined by the fast model: a new cascade, the
	// first stage not trained again.
	hard := e
	hard.Name, hard.Base.Cross.HardNegatives = "cross-hard", 4
	hard.Sweep.Models = []string{"fast>>cross"}
	sum, err = (&Runner{DB: db}).Run(context.Background(), hard)
	if err != nil || sum.Trained != 1 {
		t.Fatalf("hard negatives: %+v, %v; want the cascade trained on the fast run", sum, err)
	}
	var pool int
	if err := db.SQL().QueryRow(`SELECT p.value, s.rsum FROM run_summary s JOIN params p ON p.run_id = s.run_id AND p.key = 'cross.hard_negatives'
		WHERE s.experiment = 'cross-hard' AND s.status = 'finished'
		AND s.teacher_run_id = (SELECT run_id FROM run_summary WHERE experiment = 'cross-hard' AND model = 'fast')`).Scan(&pool, &rsum); err != nil || pool != 4 || !(rsum.Float64 > 0) {
		t.Errorf("hard-negative cascade: pool %d, rsum %v, %v", pool, rsum, err)
	}
}
