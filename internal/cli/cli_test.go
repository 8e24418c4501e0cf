package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestExit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"help", fmt.Errorf("wrapped: %w", flag.ErrHelp), 0, ""},
		{"usage of the program", Usagef("", "no command"), 2, "tool: no command\nrun 'tool -h' for usage\n"},
		{"usage of a subcommand", Usagef("tool sub", "want one id"), 2, "tool sub: want one id\nrun 'tool sub -h' for usage\n"},
		{"usage, prefixed already", Usagef("tool", "tool: bad"), 2, "tool: bad\nrun 'tool -h' for usage\n"},
		{"usage, wrapped", fmt.Errorf("ctx: %w", Usagef("tool", "bad")), 2, "tool: bad\nrun 'tool -h' for usage\n"},
		{"work", errors.New("disk full"), 1, "tool: disk full\n"},
		{"work, prefixed already", errors.New("tool: disk full"), 1, "tool: disk full\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := Exit("tool", tt.err, &stderr); code != tt.code || stderr.String() != tt.stderr {
				t.Errorf("Exit = %d, %q; want %d, %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}

func TestParse(t *testing.T) {
	newFlags := func() (*flag.FlagSet, *int) {
		fs := flag.NewFlagSet("tool", flag.ContinueOnError)
		return fs, fs.Int("k", 1, "how many `results`")
	}
	for _, tt := range []struct {
		name      string
		args      []string
		k         int
		stdout    string // substrings, "|"-separated
		usage     bool
		help      bool
		extraArgs bool
	}{
		{"flags", []string{"-k", "3"}, 3, "", false, false, false},
		{"help", []string{"-h"}, 1, "usage: tool|-k results", false, true, false},
		{"unknown flag", []string{"-x"}, 1, "", true, false, false},
		{"bad value", []string{"-k", "many"}, 0, "", true, false, false},
		{"positional", []string{"-k", "2", "extra"}, 2, "", false, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, k := newFlags()
			var stdout strings.Builder
			err := Parse("tool", fs, tt.args, &stdout, "usage: tool [-k N]\n")
			var u *UsageError
			if errors.Is(err, flag.ErrHelp) != tt.help || errors.As(err, &u) != tt.usage || *k != tt.k {
				t.Fatalf("Parse(%q) = %v, k %d", tt.args, err, *k)
			}
			if u != nil && u.Command != "tool" {
				t.Errorf("usage error of %q, want tool", u.Command)
			}
			for _, want := range strings.Split(tt.stdout, "|") {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout %q lacks %q", stdout.String(), want)
				}
			}
			if tt.stdout == "" && stdout.Len() > 0 {
				t.Errorf("printed %q", stdout.String())
			}
			noArgs := NoArgs("tool", fs, "a query goes in -k")
			if (noArgs != nil) != tt.extraArgs {
				t.Errorf("NoArgs = %v", noArgs)
			}
			if noArgs != nil && noArgs.Error() != `unexpected arguments ["extra"] (a query goes in -k)` {
				t.Errorf("NoArgs = %q", noArgs)
			}
		})
	}
}
