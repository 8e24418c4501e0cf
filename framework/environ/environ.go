package environ

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// unknown is the value of a key that could not be determined.
const unknown = "unknown"

// gitTimeout bounds each git command, so that a hung git (a network file
// system, a lock) cannot hold up a run.
const gitTimeout = 10 * time.Second

// Capture returns the environment of the running process under these keys:
//
//	git_commit       HEAD of the git repository containing dir, or "unknown"
//	git_dirty        "true" when `git status --porcelain` lists anything,
//	                 "false" when not, "unknown" when git cannot tell
//	go_version       runtime.Version()
//	os_arch          GOOS/GOARCH
//	cpu_model        "model name" of /proc/cpuinfo, or "unknown"
//	num_cpu          runtime.NumCPU()
//	gomaxprocs       runtime.GOMAXPROCS(0)
//	blas             the blas argument, as given
//	hostname         os.Hostname(), or "unknown"
//	command          os.Args joined by spaces, shell-quoted where needed; a
//	                 program built by `go run` (in a go-build temporary
//	                 folder) is written as "go run <main package>"
//	module_versions  the modules built into the program (the main module's
//	                 dependencies) as path@version, comma-joined; "none"
//	                 when there are none, "unknown" without build information
//
// Git runs in dir ("" for the current directory) when Capture is called, so
// the commit is that of the code being run from a checkout, not of the build.
func Capture(dir, blas string) map[string]string {
	commit := unknown
	if out, err := git(dir, "rev-parse", "HEAD"); err == nil {
		commit = strings.TrimSpace(out)
	}
	dirty := unknown
	if out, err := git(dir, "status", "--porcelain"); err == nil {
		dirty = strconv.FormatBool(strings.TrimSpace(out) != "")
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = unknown
	}
	return map[string]string{
		"git_commit":      commit,
		"git_dirty":       dirty,
		"go_version":      runtime.Version(),
		"os_arch":         runtime.GOOS + "/" + runtime.GOARCH,
		"cpu_model":       cpuModel("/proc/cpuinfo"),
		"num_cpu":         strconv.Itoa(runtime.NumCPU()),
		"gomaxprocs":      strconv.Itoa(runtime.GOMAXPROCS(0)),
		"blas":            blas,
		"hostname":        host,
		"command":         command(os.Args),
		"module_versions": moduleVersions(debug.ReadBuildInfo()),
	}
}

func git(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// cpuModel returns the first "model name" of a /proc/cpuinfo-format file.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return unknown
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			if v := strings.TrimSpace(value); v != "" {
				return v
			}
		}
	}
	return unknown
}

// moduleVersions lists the modules built into the program, as recorded in
// its build information (ok false: none recorded).
func moduleVersions(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return unknown
	}
	if len(info.Deps) == 0 {
		return "none"
	}
	mods := make([]string, len(info.Deps))
	for i, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace // the code actually built
		}
		v := m.Version
		if v == "" { // replaced by a local directory
			v = "(devel)"
		}
		mods[i] = m.Path + "@" + v
	}
	return strings.Join(mods, ",")
}

// shellJoin joins args so that a POSIX shell would split them back the same.
// command is the command line that reproduces this process.
func command(args []string) string {
	line := shellJoin(args)
	if len(args) == 0 || !strings.Contains(args[0], string(os.PathSeparator)+"go-build") {
		return line
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Path == "" {
		return line
	}
	return "go run " + shellJoin(append([]string{bi.Path}, args[1:]...))
}

func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// shellQuote leaves words of safe characters alone and single-quotes the
// rest; a single quote inside ends the quoting, is written escaped by a
// backslash, and starts it again.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, safeChars) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const safeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-"
