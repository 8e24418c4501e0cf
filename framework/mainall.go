package framework

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/internal/cli"
)

// MainAll is Main for a program that runs several experiments one after
// the other (the same models on two data sets, say, each its own
// experiment and report). Every flag applies to each of them, except that
// -experiment NAME selects one, and the flags that name one experiment's
// output (-name, -report, -trial, -slurm) need that selection.
func MainAll(es ...Experiment) {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	exit(CommandAll(ctx, es, os.Args[1:], os.Stdout, os.Stderr))
}

// exit ends the process as Main does for err (see cli.Exit: 0, 2 for a
// mistake in the command line, 1).
func exit(err error) {
	os.Exit(cli.Exit(filepath.Base(os.Args[0]), err, os.Stderr))
}

// perExperiment are the flags whose value belongs to a single experiment.
var perExperiment = []string{"name", "report", "trial", "slurm"}

// CommandAll runs es as MainAll does, with explicit arguments and output:
// each experiment in turn through Command, stopping at a cancelled ctx
// but not at an experiment's failures (they are reported at the end).
func CommandAll(ctx context.Context, es []Experiment, args []string, stdout, stderr io.Writer) error {
	selected, rest, err := takeFlag(args, "experiment")
	if err != nil {
		return cli.Usage("", err)
	}
	if selected != "" {
		i := slices.IndexFunc(es, func(e Experiment) bool { return e.Name == selected })
		if i < 0 {
			return cli.Usage("", fmt.Errorf("-experiment %q: this program runs %s", selected, experimentNames(es)))
		}
		es = es[i : i+1]
	}
	if len(es) > 1 {
		for _, name := range perExperiment {
			if hasFlag(rest, name) {
				return cli.Usage("", fmt.Errorf("-%s names one experiment's output: add -experiment NAME (one of %s)", name, experimentNames(es)))
			}
		}
	}
	if len(es) > 1 && (hasFlag(rest, "h") || hasFlag(rest, "help")) {
		fmt.Fprintf(stderr, "This program runs the experiments %s in turn; -experiment NAME runs one. Each takes these flags:\n\n", experimentNames(es))
	}
	var errs []error
	for _, e := range es {
		if err := Command(ctx, e, rest, stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) || errors.As(err, new(*cli.UsageError)) || ctx.Err() != nil {
				return err
			}
			errs = append(errs, fmt.Errorf("%s: %w", e.Name, err))
		}
	}
	return errors.Join(errs...)
}

func experimentNames(es []Experiment) string {
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}

// flagName returns the name of a command-line flag argument ("-x",
// "--x", "-x=v") and whether it has its value attached.
func flagName(arg string) (name string, attached bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return "", false
	}
	name = strings.TrimLeft(arg, "-")
	name, _, attached = strings.Cut(name, "=")
	return name, attached
}

// hasFlag reports whether args set the named flag.
func hasFlag(args []string, name string) bool {
	return slices.ContainsFunc(args, func(a string) bool { n, _ := flagName(a); return n == name })
}

// takeFlag removes the named string flag from args and returns its value
// (the last one given) and the other arguments.
func takeFlag(args []string, name string) (value string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		n, attached := flagName(args[i])
		switch {
		case n != name:
			rest = append(rest, args[i])
		case attached:
			_, value, _ = strings.Cut(args[i], "=")
		case i+1 < len(args):
			value = args[i+1]
			i++
		default:
			return "", nil, fmt.Errorf("flag needs an argument: -%s", name)
		}
	}
	return value, rest, nil
}
