// Command report regenerates experiment reports from an existing
// results.db, without training anything:
//
//	go run ./reports/cmd/report -db results.db -out report [-experiment NAME ...]
//
// Each experiment's report goes to <out>/<experiment>/ (Markdown, HTML,
// LaTeX and figures; see reports.Render); with no -experiment, every
// experiment in the database. The database is opened read-only
// (store.OpenReadOnly), so a committed results.db is left as it is,
// whatever its schema version, and may sit in a read-only directory; a
// damaged one is refused. Each report reads one snapshot of the database,
// so a sweep may go on writing it meanwhile.
//
// -h prints the usage and exits 0. A usage error (an unknown flag, a stray
// argument, an -experiment the database has no runs of, which lists those
// it has) prints the error once, with a pointer to -h, and exits 2; any
// other failure exits 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/reports"
	"github.com/inflateshrink/inflateshrink/store"
)

func main() {
	os.Exit(exitStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// exitStatus runs the command line args and returns its exit status (see
// cli.Exit: 0, 2 for a mistake in the command line, 1).
func exitStatus(args []string, stdout, stderr io.Writer) int {
	return cli.Exit("report", run(args, stdout), stderr)
}

const usage = `usage: report [-db results.db] [-out report] [-experiment NAME]...

Report renders the report of each experiment recorded in a results database
to <out>/<experiment>/ (Markdown, HTML, LaTeX and figures), without training
anything: with no -experiment, every experiment. The database is opened
read-only.

flags:
`

// names collects repeated -experiment flags.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

// run runs the command line args, writing what it rendered and its help
// to stdout.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dbPath := fs.String("db", "results.db", "results `database` to read")
	out := fs.String("out", "report", "`directory` to write <experiment>/ reports into")
	var exps names
	fs.Var(&exps, "experiment", "experiment `name` to render (repeatable; default: every experiment)")
	if err := cli.Parse("report", fs, args, stdout, usage); err != nil {
		return err
	}
	if err := cli.NoArgs("report", fs, ""); err != nil {
		return err
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return fmt.Errorf("report: -db %s: %w", *dbPath, err)
	}
	defer db.Close()
	recorded, err := reports.Experiments(db)
	if err != nil {
		return fmt.Errorf("report: -db %s: %w", *dbPath, err)
	}
	if len(recorded) == 0 {
		return fmt.Errorf("report: -db %s holds no runs", *dbPath)
	}
	for _, e := range exps {
		if !slices.Contains(recorded, e) {
			return cli.Usagef("report", "-experiment %q: no runs in %s; want %s", e, *dbPath, oneOf(recorded))
		}
	}
	if len(exps) == 0 {
		exps = recorded
	}
	var errs []error
	for _, e := range exps {
		paths, err := reports.Render(db, e, filepath.Join(*out, e), reports.Settings{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "report: %s (%d files)\n", paths[0], len(paths))
	}
	return errors.Join(errs...)
}

// oneOf lists values as "a, b or c".
func oneOf(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
