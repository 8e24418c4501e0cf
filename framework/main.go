package framework

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/inflateshrink/inflateshrink/framework/store"
	"github.com/inflateshrink/inflateshrink/reports"
)

// Main is the command line every program under experiments/ shares: it
// parses the flags, runs e into the database and renders its report. It
// exits 1 on any error, 2 on bad flags.
func Main(e Experiment) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := Command(ctx, e, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

// Command runs e as Main does, with explicit arguments and output.
func Command(ctx context.Context, e Experiment, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(e.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "results.db", "results database `path` (SQLite)")
	reportDir := fs.String("report", filepath.Join("report", e.Name), "report `directory`")
	seed := fs.Int64("seed", 0, "run only this seed (default: the experiment's seeds)")
	data := fs.String("data", "", "data set `name` (default: the experiment's)")
	var sets setList
	fs.Var(&sets, "set", "override a config value, `key=value` (repeatable), e.g. -set train.epochs=2")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./experiments/%s [flags]\n\nTrains and evaluates the experiment's trials (skipping those results.db holds), then writes its report.\n\n", e.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var err error
	for _, s := range sets {
		if e.Base, err = e.Base.Set(s); err != nil {
			return usageError{err}
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			e.Sweep.Seeds = []int64{*seed}
		case "data":
			e.Dataset = *data
		}
	})
	for _, t := range e.Trials() {
		if err := t.Validate(); err != nil {
			return usageError{err}
		}
	}

	db, err := store.Open(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	runner := &Runner{DB: db, Log: log, Progress: isTerminal(os.Stderr) && stderr == os.Stderr}
	start := time.Now()
	sum, runErr := runner.Run(ctx, e)
	fmt.Fprintf(stdout, "%s: %d trials, %d already done, %d trained, %d failed in %s (results in %s)\n",
		e.Name, sum.Trials, sum.Skipped, sum.Trained, sum.Failed, time.Since(start).Round(time.Second), *dbPath)
	if ctx.Err() != nil {
		return errors.Join(runErr, ctx.Err())
	}
	paths, repErr := renderReport(db.SQL(), e.Name, *reportDir)
	if repErr == nil {
		fmt.Fprintf(stdout, "report: %s\n", paths[0])
	}
	return errors.Join(runErr, repErr)
}

func renderReport(db *sql.DB, experiment, dir string) ([]string, error) {
	return reports.Render(db, experiment, dir, reports.Settings{})
}
