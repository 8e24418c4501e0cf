package framework

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// progress records every step through the run and shows how training
// goes: a line redrawn on the terminal with rate and ETA, or a structured
// log record every logEvery otherwise.
type progress struct {
	run      stepLogger
	log      *slog.Logger
	terminal bool
	label    string
	total    int
	start    time.Time
	last     time.Time
	step     int
	loss     float64
}

type stepLogger interface {
	LogStep(step int, values map[string]float64) error
}

const (
	drawEvery = 200 * time.Millisecond
	logEvery  = 15 * time.Second
)

func newProgress(run stepLogger, log *slog.Logger, terminal bool, label string, total int) *progress {
	now := time.Now()
	return &progress{run: run, log: log, terminal: terminal, label: label, total: total, start: now, last: now}
}

// LogStep implements models.StepLogger.
func (p *progress) LogStep(step int, values map[string]float64) error {
	p.step, p.loss = step, values["loss"]
	now := time.Now()
	if p.terminal && now.Sub(p.last) >= drawEvery {
		p.last = now
		fmt.Fprintf(os.Stderr, "\r\033[K%s", p.line(now))
	} else if !p.terminal && now.Sub(p.last) >= logEvery {
		p.last = now
		p.log.Info("training", "run", p.label, "step", step, "of", p.total, "loss", p.loss, "steps_per_s", p.rate(now))
	}
	return p.run.LogStep(step, values)
}

func (p *progress) rate(now time.Time) float64 {
	return float64(p.step) / now.Sub(p.start).Seconds()
}

func (p *progress) line(now time.Time) string {
	rate := p.rate(now)
	eta := time.Duration(float64(p.total-p.step) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%s  step %d/%d  loss %.4f  %.1f steps/s  ETA %s", p.label, p.step, p.total, p.loss, rate, eta)
}

// done ends the progress line.
func (p *progress) done() {
	if p.terminal && p.step > 0 {
		fmt.Fprintf(os.Stderr, "\r\033[K%s  done in %s\n", p.line(time.Now()), time.Since(p.start).Round(time.Second))
	}
}
