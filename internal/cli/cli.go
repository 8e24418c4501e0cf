// Package cli is the scaffolding the project's commands share (results,
// report, search, dashboard): flags that print help on stdout for -h and
// nothing on an error, errors in the command line kept apart from errors
// in the work, and one mapping from an error to an exit status and a
// message printed once.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// UsageError is a mistake in the command line of Command, written as a
// user types it: "report", or "results runs" for a subcommand.
type UsageError struct {
	Command string
	Err     error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage returns err as a mistake in the command line of command.
func Usage(command string, err error) error { return &UsageError{command, err} }

// Usagef is Usage with a formatted message.
func Usagef(command, format string, args ...any) error {
	return &UsageError{command, fmt.Errorf(format, args...)}
}

// Parse parses args into fs. On -h it prints help and fs's flags to stdout
// and returns flag.ErrHelp; a flag error is returned as a *UsageError of
// command, and nothing is printed (Exit prints it, once).
func Parse(command string, fs *flag.FlagSet, args []string, stdout io.Writer, help string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, help)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return err
	case err != nil:
		return Usage(command, err)
	}
	return nil
}

// NoArgs returns a *UsageError when fs was given positional arguments;
// hint, when not empty, follows the message in parentheses.
func NoArgs(command string, fs *flag.FlagSet, hint string) error {
	if fs.NArg() == 0 {
		return nil
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	return Usagef(command, "unexpected arguments %q%s", fs.Args(), hint)
}

// Exit prints err once to stderr and returns the exit status of program:
// 0 for no error and for -h; 2 for a mistake in the command line, with a
// pointer to the command's -h; 1 for any other error. A message that
// already starts with "program: " is not prefixed again.
func Exit(program string, err error, stderr io.Writer) int {
	var u *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		command := orElse(u.Command, program)
		fmt.Fprintf(stderr, "%s: %s\n", command, strings.TrimPrefix(u.Error(), command+": "))
		fmt.Fprintf(stderr, "run '%s -h' for usage\n", command)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %s\n", program, strings.TrimPrefix(err.Error(), program+": "))
		return 1
	}
}

func orElse(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
