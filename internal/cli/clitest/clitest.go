// Package clitest runs a command's main in a process of its own from the
// command's tests, as a user would run it, to check its output and exit
// status.
package clitest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
)

// Main is the command test binary's TestMain: in the processes that Exec
// starts (marked by the environment variable env) it runs main instead of
// the tests.
func Main(m *testing.M, env string, main func()) {
	if os.Getenv(env) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Exec runs the command line args through the test binary, which Main
// turns into the command, and returns what it printed to stdout and
// stderr and its exit status.
func Exec(t *testing.T, env string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%q: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}
