package dashboard

import (
	"database/sql"
	"errors"
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
	err := eachRow(db, func(rows *sql.Rows) error {
		l := &liveRun{}
		var heartbeat sql.NullString
		err := rows.Scan(&l.RunID, &l.Experiment, &l.Model, &l.Seed, &l.Dataset, &l.StartedAt, &heartbeat)
		l.HeartbeatAt = heartbeat.String
		out.Running = append(out.Running, l)
		return err
	}, `SELECT r.id, e.name, r.model, r.seed, r.dataset, r.started_at, r.heartbeat_at
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.status = 'running' ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	for _, l := range out.Running {
		if err := progress(db, l, now); err != nil {
			return nil, err
		}
	}
	err = db.QueryRow(`SELECT count(CASE WHEN status = 'failed' THEN 1 END), count(CASE WHEN status = 'interrupted' THEN 1 END)
		FROM runs`).Scan(&out.Failed, &out.Interrupted)
	if err != nil {
		return nil, err
	}
	err = eachRow(db, func(rows *sql.Rows) error {
		var f finishedBadly
		var msg, at sql.NullString
		err := rows.Scan(&f.RunID, &f.Experiment, &f.Model, &f.Seed, &f.Status, &msg, &at)
		f.Error, f.FinishedAt = msg.String, at.String
		out.Recent = append(out.Recent, f)
		return err
	}, `SELECT r.id, e.name, r.model, r.seed, r.status, r.error, r.finished_at
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.status IN ('failed', 'interrupted')
		ORDER BY coalesce(r.finished_at, r.started_at) DESC, r.id DESC LIMIT ?`, recentFailures)
	if err != nil {
		return nil, err
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

	params := map[string]string{}
	err = eachRow(db, func(rows *sql.Rows) error {
		var k, v string
		err := rows.Scan(&k, &v)
		params[k] = v
		return err
	}, `SELECT key, value FROM params WHERE run_id = ? AND key IN ('train.epochs', 'cross.epochs')`, l.RunID)
	if err != nil {
		return err
	}
	l.Epochs, _ = strconv.Atoi(params["train.epochs"])
	if e, err := strconv.Atoi(params["cross.epochs"]); err == nil && e > 0 && strings.HasSuffix(l.Model, ">>cross") {
		l.Epochs = e
	}
	var resumed sql.NullString
	err = db.QueryRow(`SELECT value FROM environment WHERE run_id = ? AND key = 'resumed_from_epoch'`, l.RunID).Scan(&resumed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	l.ResumedFrom, _ = strconv.Atoi(resumed.String)

	var step, firstOfEpoch1 sql.NullInt64
	var epoch sql.NullFloat64
	err = db.QueryRow(`SELECT
		(SELECT max(step) FROM steps WHERE run_id = ?1),
		(SELECT min(step) FROM steps WHERE run_id = ?1 AND name = 'epoch' AND value >= 1),
		(SELECT value FROM steps WHERE run_id = ?1 AND name = 'epoch' ORDER BY step DESC LIMIT 1)`, l.RunID).
		Scan(&step, &firstOfEpoch1, &epoch)
	if err != nil {
		return err
	}
	if !step.Valid {
		return nil // no step written yet
	}
	l.Step = int(step.Int64)
	if epoch.Valid {
		l.Epoch = int(epoch.Float64) + 1
	}
	for name, dst := range map[string]*num{"loss": &l.Loss, "val_rsum": &l.ValRSum} {
		var v sql.NullFloat64
		err := db.QueryRow(`SELECT value FROM steps WHERE run_id = ? AND name = ? ORDER BY step DESC LIMIT 1`, l.RunID, name).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		*dst = nullNum(v)
	}
	// Every epoch has as many steps as the first: once it has ended, the
	// planned steps are known.
	if !firstOfEpoch1.Valid || firstOfEpoch1.Int64 < 2 || l.Epochs == 0 {
		return nil
	}
	l.StepsPerEpoch = int(firstOfEpoch1.Int64) - 1
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
