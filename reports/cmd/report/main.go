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
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/inflateshrink/inflateshrink/framework/store"
	"github.com/inflateshrink/inflateshrink/reports"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// names collects repeated -experiment flags.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "results.db", "results `database` to read")
	out := fs.String("out", "report", "`directory` to write <experiment>/ reports into")
	var exps names
	fs.Var(&exps, "experiment", "experiment `name` to render (repeatable; default: every experiment)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected arguments %q", fs.Args())
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return fmt.Errorf("report: -db %s: %w", *dbPath, err)
	}
	defer db.Close()
	if len(exps) == 0 {
		if exps, err = reports.Experiments(db); err != nil {
			return fmt.Errorf("report: -db %s: %w", *dbPath, err)
		}
		if len(exps) == 0 {
			return fmt.Errorf("report: -db %s holds no runs", *dbPath)
		}
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
