package dashboard

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inflateshrink/inflateshrink/store"
)

// recentFailures is how many failed or interrupted runs the status lists.
const recentFailures = 20

// liveRun is a running run and how far it has got.
type liveRun struct {
	RunID       int64  `json:"run_id"`
	Experiment  string `json:"experiment"`
	Model       string `json:"model"`
	Seed        int64  `json:"seed"`
	Dataset     string `json:"dataset"`
	StartedAt   string `json:"started_at"`
	HeartbeatAt string `json:"heartbeat_at"`
	// HeartbeatAge is the seconds since the run's process last said it
	// was alive; Stale is whether that is longer than store.StaleAfter,
	// after which the next sweep will mark the run interrupted.
	HeartbeatAge num  `json:"heartbeat_age_s"`
	Stale        bool `json:"stale"`

	Step          int `json:"step"`            // the last step written (steps are written in batches)
	Epoch         int `json:"epoch"`           // the epoch in progress, 1-based; 0 before the first step
	Epochs        int `json:"epochs"`          // planned (training may stop early: train.patience)
	StepsPerEpoch int `json:"steps_per_epoch"` // 0 until the first epoch ended
	ResumedFrom   int `json:"resumed_from"`    // epochs done by the run it resumed; their steps are copied

	Progress num `json:"progress"`  // fraction of the planned steps, null while unknown
	Elapsed  num `json:"elapsed_s"` // since this run started
	ETA      num `json:"eta_s"`     // at the rate of this run's own steps
	Loss     num `json:"loss"`      // the last step's
	ValRSum  num `json:"val_rsum"`  // the last validation's
}

// finishedBadly is a failed or interrupted run.
type finishedBadly struct {
	RunID      int64  `json:"run_id"`
	Experiment string `json:"experiment"`
	Model      string `json:"model"`
	Seed       int64  `json:"seed"`
	Status     string `json:"status"`
	Error      string `json:"error"`
	FinishedAt string `json:"finished_at"`
}

// status answers /api/status: the running runs with their progress and
// ETA, and the latest failed or interrupted ones, in every experiment.
func (s *Server) status(r *http.Request, db store.Reader) (any, error) {
	now := s.opt.Now().UTC()
	out := struct {
		Now         string          `json:"now"`
		Running     []*liveRun      `json:"running"`
		Failed      int             `json:"failed"`      // all failed runs
		Interrupted int             `json:"interrupted"` // all interrupted runs
		Recent      []finishedBadly `json:"recent_failures"`
	}{Now: now.Format(time.RFC3339), Running: []*liveRun{}, Recent: []finishedBadly{}}
	running, err := store.RunningRuns(db)
	if err != nil {
		return nil, err
	}
	for _, a := range running {
		l := &liveRun{RunID: a.ID, Experiment: a.Experiment, Model: a.Model, Seed: a.Seed, Dataset: a.Dataset,
			StartedAt: a.StartedAt, HeartbeatAt: a.HeartbeatAt}
		if err := progress(db, l, now); err != nil {
			return nil, err
		}
		out.Running = append(out.Running, l)
	}
	counts, err := store.StatusCounts(db)
	if err != nil {
		return nil, err
	}
	out.Failed, out.Interrupted = counts["failed"], counts["interrupted"]
	failures, err := store.LatestFailures(db, recentFailures)
	if err != nil {
		return nil, err
	}
	for _, a := range failures {
		out.Recent = append(out.Recent, finishedBadly{RunID: a.ID, Experiment: a.Experiment, Model: a.Model, Seed: a.Seed,
			Status: a.Status, Error: a.Error, FinishedAt: a.FinishedAt})
	}
	return out, nil
}

// progress fills in how far running run l has got at time now.
func progress(db store.Reader, l *liveRun, now time.Time) error {
	nan := num(math.NaN())
	l.HeartbeatAge, l.Progress, l.Elapsed, l.ETA, l.Loss, l.ValRSum = nan, nan, nan, nan, nan, nan
	if t, err := time.Parse(time.RFC3339Nano, l.HeartbeatAt); err == nil {
		age := now.Sub(t)
		l.HeartbeatAge, l.Stale = num(age.Seconds()), age > store.StaleAfter
	}
	started, err := time.Parse(time.RFC3339Nano, l.StartedAt)
	if err == nil {
		l.Elapsed = num(now.Sub(started).Seconds())
	}

	params, err := store.RunValues(db, "params", l.RunID, "train.epochs", "cross.epochs")
	if err != nil {
		return err
	}
	l.Epochs, _ = strconv.Atoi(params["train.epochs"])
	if e, err := strconv.Atoi(params["cross.epochs"]); err == nil && e > 0 && strings.HasSuffix(l.Model, ">>cross") {
		l.Epochs = e
	}
	env, err := store.RunValues(db, "environment", l.RunID, "resumed_from_epoch")
	if err != nil {
		return err
	}
	l.ResumedFrom, _ = strconv.Atoi(env["resumed_from_epoch"])

	p, err := store.RunProgress(db, l.RunID)
	if err != nil {
		return err
	}
	if p.Step == 0 {
		return nil // no step written yet
	}
	l.Step = p.Step
	if p.HasEpoch {
		l.Epoch = int(p.LastEpoch) + 1
	}
	l.Loss, l.ValRSum = num(p.LastLoss), num(p.LastValRSum)
	// Every epoch has as many steps as the first: once it has ended, the
	// planned steps are known.
	if p.FirstOfEpoch1 < 2 || l.Epochs == 0 {
		return nil
	}
	l.StepsPerEpoch = p.FirstOfEpoch1 - 1
	total := l.Epochs * l.StepsPerEpoch
	l.Progress = num(min(1, float64(l.Step)/float64(total)))
	// A resumed run starts with the steps of the run it continues: only its
	// own steps tell its rate.
	own := l.Step - l.ResumedFrom*l.StepsPerEpoch
	if own > 0 && l.Elapsed.ok() {
		l.ETA = num(max(0, float64(l.Elapsed)*float64(total-l.Step)/float64(own)))
	}
	return nil
}
