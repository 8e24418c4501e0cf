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
	"strings"
	"syscall"
	"time"

	"github.com/inflateshrink/inflateshrink/gpu"
	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

// Main is the command line every program under experiments/ shares: it
// parses the flags, runs e into the database and renders its report. It
// exits 1 on any error, 2 on bad flags.
func Main(e Experiment) {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	exit(Command(ctx, e, os.Args[1:], os.Stdout, os.Stderr))
}

// stopSignals end a sweep cleanly, the runs in progress recorded as
// interrupted: Ctrl-C, and SIGTERM, which Slurm and most schedulers send
// before they kill a job.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// Command runs e as Main does, with explicit arguments and output.
func Command(ctx context.Context, e Experiment, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(e.Name, flag.ContinueOnError)
	dbPath := fs.String("db", "results.db", "results database `path` (SQLite)")
	reportDir := fs.String("report", "", "report `directory` (default report/<name>)")
	seed := fs.Int64("seed", 0, "run only this seed (default: the experiment's seeds)")
	data := fs.String("data", "", "data set `name` (default: the experiment's)")
	name := fs.String("name", e.Name, "record the experiment under this `name`")
	redefine := fs.Bool("redefine", false, "replace the stored definition of an experiment that changed, instead of stopping")
	workers := fs.Int("workers", 1, "train up to `N` stages at once in this process (the BLAS already uses every core: see README)")
	failFast := fs.Bool("fail-fast", false, "stop at the first failed trial instead of recording it and going on")
	trialIndex := fs.Int("trial", -1, "run only trial `i` (from 0, as a Slurm array task does) and write no report")
	slurm := fs.String("slurm", "", "write a Slurm job-array script for the sweep to `file` and exit")
	shards := fs.String("shards", "shards", "with -slurm: `directory` of the array tasks' databases")
	authors := fs.String("authors", "", "also score the authors' released checkpoints in `directory` (bert/ and <mode>.pth.tar; README, Paper scale) beside the experiment's models")
	device := fs.String("device", "cpu", "where to train and evaluate: `cpu`, cuda or cuda:N (cuda needs a -tags gpu build)")
	var sets setList
	fs.Var(&sets, "set", "override a config value, `key=value` (repeatable), e.g. -set train.epochs=2")
	program := filepath.Base(os.Args[0]) // what the user runs, whatever the experiment's name
	help := fmt.Sprintf("usage: %s [flags]\n\nTrains and evaluates the trials of experiment %s (skipping those results.db holds), then writes its report.\n\nflags:\n", program, e.Name)
	if err := cli.Parse(program, fs, args, stdout, help); err != nil {
		return err
	}
	if err := cli.NoArgs(program, fs, ""); err != nil {
		return err
	}
	if *workers < 1 {
		return cli.Usage(program, fmt.Errorf("-workers %d: want at least 1", *workers))
	}
	dev, err := gpu.ParseDevice(*device)
	if err != nil {
		return cli.Usage(program, err)
	}
	for _, s := range sets {
		key, _, _ := strings.Cut(s, "=")
		if axis := e.axisOwner(key); axis != "" {
			return cli.Usage(program, fmt.Errorf("-set %s: the sweep's %s axis sets %s in every trial; change the experiment instead", s, axis, key))
		}
		if e.Base, err = e.Base.Set(s); err != nil {
			return cli.Usage(program, err)
		}
	}
	e.Name = *name
	if *reportDir == "" {
		*reportDir = filepath.Join("report", e.Name)
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			e.Sweep.Seeds = []int64{*seed}
		case "data":
			e.Dataset = *data
		}
	})
	if *authors != "" {
		sw, err := AuthorsSweep(*authors)
		if err != nil {
			return cli.Usage(program, err)
		}
		e.More = append(e.More, sw)
	}
	if err := e.Check(); err != nil {
		return cli.Usage(program, err)
	}
	trials := e.Trials()
	for _, t := range trials {
		if err := t.Validate(); err != nil {
			return cli.Usage(program, err)
		}
	}
	if *trialIndex < -1 || *trialIndex >= len(trials) {
		return cli.Usage(program, fmt.Errorf("-trial %d: the sweep has %d trials (0 to %d)", *trialIndex, len(trials), len(trials)-1))
	}
	var only func(int) bool
	if *trialIndex >= 0 {
		i := *trialIndex
		only = func(j int) bool { return j == i }
	}
	if *slurm != "" {
		var selected []int
		for i := range trials {
			if only == nil || only(i) {
				selected = append(selected, i)
			}
		}
		return writeSlurmFile(*slurm, e, SlurmSettings{DB: *dbPath, Shards: *shards, Args: forwardedArgs(fs, sets), Trials: selected}, stdout)
	}

	var gpuInfo gpu.Info
	if dev.CUDA { // before anything is recorded: a missing GPU is no failed run
		if gpuInfo, err = gpu.Probe(dev); err != nil {
			return err
		}
	}
	db, err := store.Open(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("matrix products", "blas", models.BLAS())
	runner := &Runner{DB: db, Log: log, Progress: isTerminal(os.Stderr) && stderr == os.Stderr,
		Workers: *workers, FailFast: *failFast, Redefine: *redefine, Only: only, Device: dev, gpuInfo: gpuInfo}
	start := time.Now()
	sum, runErr := runner.Run(ctx, e)
	fmt.Fprintf(stdout, "%s: %d trials, %d already done, %d trained, %d failed in %s (results in %s)\n",
		e.Name, sum.Trials, sum.Skipped, sum.Trained, sum.Failed, time.Since(start).Round(time.Second), *dbPath)
	if len(sum.Interrupted) > 0 {
		fmt.Fprintf(stdout, "runs %v had been left running by a process that stopped: marked interrupted, their trials run again\n", sum.Interrupted)
	}
	if len(sum.Failures) > 0 {
		fmt.Fprintf(stdout, "failed:\n  %s\n", strings.Join(sum.Failures, "\n  "))
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "interrupted: the runs in progress are recorded as interrupted; run the same command again to resume")
		return errors.Join(runErr, ctx.Err())
	}
	if *trialIndex >= 0 {
		return runErr // a shard: the report comes from the merged database
	}
	paths, repErr := renderReport(db.SQL(), e.Name, *reportDir)
	if repErr == nil {
		fmt.Fprintf(stdout, "report: %s\n", paths[0])
	}
	return errors.Join(runErr, repErr)
}

// forwardedArgs lists the flags set on the command line that decide the
// trials, for the array tasks of a Slurm script to repeat.
func forwardedArgs(fs *flag.FlagSet, sets setList) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "db", "report", "slurm", "shards", "trial", "set", "workers":
		default:
			out = append(out, "-"+f.Name+"="+f.Value.String())
		}
	})
	for _, s := range sets {
		out = append(out, "-set", s)
	}
	return out
}

func renderReport(db *sql.DB, experiment, dir string) ([]string, error) {
	return reports.Render(db, experiment, dir, reports.Settings{})
}
