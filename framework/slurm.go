package framework

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/inflateshrink/inflateshrink/framework/environ"
)

// SlurmSettings controls WriteSlurm. The zero value of each field means its
// documented default.
type SlurmSettings struct {
	// Program is the command, as shell words, that runs the experiment;
	// default: this program again (see environ.Program).
	Program string
	// Args are passed to every task before its own -db and -trial.
	Args []string
	// Dir is the directory tasks run in; default the current one.
	Dir string
	// DB is the database the shards are merged into; default "results.db".
	DB string
	// Shards is the directory of the tasks' databases, relative to Dir;
	// default "shards".
	Shards string
	// Trials are the indices in e.Trials() to run; default all.
	Trials []int
}

// WriteSlurm writes a Slurm job-array script for e: one array task per
// trial, task i running trial i with its own SQLite database
// <Shards>/trial-<i>.db (SQLite over a network file system is unsafe to
// share between hosts; one writer per file is safe). A chain's task trains
// every stage of its chain, so a teacher shared by several trials is
// trained by each of their tasks: deterministic training makes those runs
// equal, and merging keeps one. Fold the shards with
// `go run ./framework/cmd/results merge`, which the script's header shows.
func WriteSlurm(w io.Writer, e Experiment, s SlurmSettings) error {
	if s.Program == "" {
		s.Program = environ.Program()
	}
	if s.Dir == "" {
		var err error
		if s.Dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("framework: slurm script: %w", err)
		}
	}
	if s.DB == "" {
		s.DB = "results.db"
	}
	if s.Shards == "" {
		s.Shards = "shards"
	}
	if s.Trials == nil {
		for i := range e.Trials() {
			s.Trials = append(s.Trials, i)
		}
	}
	n := len(s.Trials)
	if n == 0 {
		return fmt.Errorf("framework: slurm script: experiment %q has no trial to run", e.Name)
	}
	indices := make([]string, n)
	for i, t := range s.Trials {
		indices[i] = strconv.Itoa(t)
	}
	args := make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = environ.ShellQuote(a)
	}
	return slurmTemplate.Execute(w, map[string]any{
		"Name": e.Name, "Trials": n, "Array": strings.Join(indices, ","), "Dir": environ.ShellQuote(s.Dir),
		"Shards": environ.ShellQuote(s.Shards), "DB": environ.ShellQuote(s.DB),
		"Command": strings.TrimSpace(s.Program + " " + strings.Join(args, " ")),
	})
}

var slurmTemplate = template.Must(template.New("slurm").Parse(`#!/bin/bash
# Slurm job array for experiment {{.Name}}: {{.Trials}} trials, one array task
# each, task i writing its own database {{.Shards}}/trial-i.db.
#   submit:  sbatch <this file>
#   then:    go run ./framework/cmd/results merge -db {{.DB}} {{.Shards}}/trial-*.db
# Merging is idempotent: merge again after resubmitting failed tasks.
# Add the resources your cluster wants (--time, --mem, --cpus-per-task=2, ...).
#SBATCH --job-name={{.Name}}
#SBATCH --array={{.Array}}
#SBATCH --output={{.Shards}}/slurm-%A_%a.out
set -eu
: "${SLURM_ARRAY_TASK_ID:?not set: run this script with sbatch, or set it to a trial index}"
cd {{.Dir}}
mkdir -p {{.Shards}}
exec {{.Command}} -db {{.Shards}}/trial-"$SLURM_ARRAY_TASK_ID".db -trial "$SLURM_ARRAY_TASK_ID"
`))

// writeSlurmFile writes the script to path, executable, and says so. It
// creates the shard directory too: Slurm opens each task's output file
// there before the script runs.
func writeSlurmFile(path string, e Experiment, s SlurmSettings, stdout io.Writer) error {
	for _, dir := range []string{filepath.Dir(path), s.Shards} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("framework: slurm script: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("framework: slurm script: %w", err)
	}
	if err := WriteSlurm(f, e, s); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("framework: slurm script %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s: Slurm job array for experiment %s; submit it with sbatch %s\n", path, e.Name, path)
	return nil
}
