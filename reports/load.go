package reports

import (
	"cmp"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/store"
)

// Run statuses as run_summary stores them.
const (
	StatusFinished = "finished"
	StatusFailed   = "failed"
	StatusRunning  = "running"
	// StatusInterrupted is a run whose process was killed or stopped; its
	// trial runs again on the next invocation.
	StatusInterrupted = "interrupted"
)

// paperOrder is the order in which the paper tells its story: the two late
// interaction models, the dual encoder, then the two shrunk students.
var paperOrder = []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"}

// Row is one run of run_summary. Nullable REAL columns are NaN when NULL;
// Error is "" and TeacherRunID is 0 when NULL.
type Row struct {
	Experiment string
	RunID      int64
	Model      string // base | inflated | fast | inflated>base | inflated>base>fast | another chain
	Codes      int    // learnable codes k of the chain's inflated stage, 0 if none
	Schedule   string // fragments per side of each stage, e.g. "n+k>n>1"
	Seed       int64
	Dataset    string
	Protocol   string
	Status     string // StatusFinished, StatusFailed, StatusRunning or StatusInterrupted
	Error      string

	I2T, T2I         [3]float64 // R@1, R@5, R@10 in percent
	RSum             float64    // sum of the six recalls
	I2TMedR, T2IMedR float64    // median ranks
	ChanceRSum       float64    // rSum that random scores would get on this test set
	TestImages       float64
	TestCaptions     float64

	Interactions  float64 // fragment-to-fragment similarities per text-image pair
	QueryMs       float64 // time to score and rank the gallery for one text query
	IndexFloats   float64 // floats stored per image in the index
	EncodeTextMs  float64
	EncodeImageMs float64
	TrainSeconds  float64

	TeacherRunID int64
	ConfigHash   string
	StartedAt    string
	FinishedAt   string

	// ValRSum is the validation rSum of the checkpoint the run selected
	// (the one with the best validation rSum, which test was evaluated
	// on), SelectedEpoch that checkpoint's epoch (1-based) and
	// EpochsTrained the epochs the run trained; NaN for a run recorded
	// before validation was evaluated (results split "val").
	ValRSum, SelectedEpoch, EpochsTrained float64

	// Params is the run's flattened config from the params table (nil in a
	// database without one); see Row.identity for how runs are grouped.
	Params map[string]string
	// Ranks are the per-query ranks on the test split (nil slices for a run
	// recorded before results.db kept them): what the seed-aware bootstrap and
	// the recall@K curves are computed from.
	Ranks metrics.QueryRanks
}

// Finished reports whether the run finished, i.e. whether its metrics count.
func (r Row) Finished() bool { return r.Status == StatusFinished }

// Load reads the runs of one experiment from run_summary, ordered by the
// paper's model order (base, inflated, fast, inflated>base,
// inflated>base>fast, then any other model name alphabetically), then seed,
// then run_id. It is an error if the experiment has no runs. It reads in
// one transaction (store.Snapshot), so that runs another process records
// meanwhile are wholly in or wholly out.
func Load(db *sql.DB, experiment string) ([]Row, error) {
	var rows []Row
	err := store.Snapshot(db, func(q store.Reader) (err error) {
		rows, err = load(q, experiment)
		return err
	})
	return rows, err
}

// load is Load on q, which should be a snapshot: run_summary, params,
// ranks and results are read in separate queries.
func load(q store.Reader, experiment string) ([]Row, error) {
	summaries, err := store.Summaries(q, experiment)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	if len(summaries) == 0 {
		return nil, fmt.Errorf("reports: experiment %q has no runs in run_summary", experiment)
	}
	out := make([]Row, len(summaries))
	for i, s := range summaries {
		out[i] = rowOf(s)
	}
	if err := loadParams(q, experiment, out); err != nil {
		return nil, err
	}
	if err := loadRanks(q, experiment, out); err != nil {
		return nil, err
	}
	if err := loadValidation(q, experiment, out); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, compareRows)
	return out, nil
}

// rowOf is a run_summary row as a report row, before its params, ranks
// and validation are filled in.
func rowOf(s store.RunSummary) Row {
	return Row{
		Experiment: s.Experiment, RunID: s.RunID, Model: s.Model, Codes: s.Codes, Schedule: s.Schedule,
		Seed: s.Seed, Dataset: s.Dataset, Protocol: s.Protocol, Status: s.Status, Error: s.Error,
		I2T: s.I2T, T2I: s.T2I, RSum: s.RSum, I2TMedR: s.I2TMedR, T2IMedR: s.T2IMedR,
		ChanceRSum: s.ChanceRSum, TestImages: s.TestImages, TestCaptions: s.TestCaptions,
		Interactions: s.Interactions, QueryMs: s.QueryMs, IndexFloats: s.IndexFloats,
		EncodeTextMs: s.EncodeTextMs, EncodeImageMs: s.EncodeImageMs, TrainSeconds: s.TrainSeconds,
		TeacherRunID: s.TeacherRunID, ConfigHash: s.ConfigHash, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
	}
}

// loadParams fills Row.Params of rows, the runs of experiment: every key
// of each run's config, defaults and earlier records included (the store
// completes them).
func loadParams(q store.Reader, experiment string, rows []Row) error {
	params, err := store.ExperimentParams(q, experiment)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	byID := indexRows(rows)
	for id, p := range params {
		if r := byID[id]; r != nil { // else not a run of rows: see indexRows
			r.Params = p
		}
	}
	return nil
}

// loadRanks fills Row.Ranks of rows from the test split's stored ranks.
func loadRanks(q store.Reader, experiment string, rows []Row) error {
	ranks, err := store.ExperimentRanks(q, experiment, "test")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	byID := indexRows(rows)
	for id, rr := range ranks {
		if r := byID[id]; r != nil { // else not a run of rows: see indexRows
			r.Ranks.I2T, r.Ranks.T2I = rr.I2T, rr.T2I
		}
	}
	return nil
}

// loadValidation fills the validation fields of rows from the results
// table's split "val" (read there rather than from run_summary, whose
// columns for it a database of schema version 3 or older lacks; reports
// open databases read-only, without migrating them).
func loadValidation(q store.Reader, experiment string, rows []Row) error {
	byID := indexRows(rows)
	for _, r := range byID {
		r.ValRSum, r.SelectedEpoch, r.EpochsTrained = math.NaN(), math.NaN(), math.NaN()
	}
	val, err := store.ExperimentResults(q, experiment, "val", "rsum", "epoch", "epochs")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	for id, v := range val {
		r := byID[id]
		if r == nil {
			continue // not a run of rows: see indexRows
		}
		if x, ok := v["rsum"]; ok {
			r.ValRSum = x
		}
		if x, ok := v["epoch"]; ok {
			r.SelectedEpoch = x
		}
		if x, ok := v["epochs"]; ok {
			r.EpochsTrained = x
		}
	}
	return nil
}

// HasValidation reports whether the run recorded a validation rSum.
func (r Row) HasValidation() bool { return !math.IsNaN(r.ValRSum) }

// indexRows maps run ids to the rows, for filling them in place. A query
// for the rows' params, ranks or results selects the experiment's runs
// again, so outside a snapshot it may return a run recorded since the rows
// were read, which is not in the map: the loaders skip such runs.
func indexRows(rows []Row) map[int64]*Row {
	m := make(map[int64]*Row, len(rows))
	for i := range rows {
		m[rows[i].RunID] = &rows[i]
	}
	return m
}

// HasRanks reports whether the run stored its per-query ranks in both
// directions.
func (r Row) HasRanks() bool { return len(r.Ranks.I2T) > 0 && len(r.Ranks.T2I) > 0 }

// compareRows orders runs by paper model order, then seed, then run id.
func compareRows(a, b Row) int {
	if c := compareModels(a.Model, b.Model); c != 0 {
		return c
	}
	if a.Seed != b.Seed {
		return cmp.Compare(a.Seed, b.Seed)
	}
	return cmp.Compare(a.RunID, b.RunID)
}

// compareModels puts the paper's five models first, in the paper's order, and
// any other model after them, alphabetically.
func compareModels(a, b string) int {
	ra, rb := modelRank(a), modelRank(b)
	if ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

func modelRank(model string) int {
	if i := slices.Index(paperOrder, model); i >= 0 {
		return i
	}
	return len(paperOrder)
}
