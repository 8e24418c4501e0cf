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
	"sync"
	"time"
)

// unknown is the value of a key that could not be determined.
const unknown = "unknown"

// gitTimeout bounds each git command, so that a hung git (a network file
// system, a lock) cannot hold up a run.
const gitTimeout = 10 * time.Second

// Capture returns the environment of the running process under these keys:
//
//	git_commit       the commit the program was built from (the build's
//	                 vcs.revision), else HEAD of the git repository
//	                 containing dir, else "unknown"
//	git_dirty        "true" when the build's tree, or else dir's `git status
//	                 --porcelain`, had changes; "false" when not; "unknown"
//	                 when neither can tell
//	commit_source    "build" when both came from the build information,
//	                 "checkout" when from git in dir, "unknown" otherwise
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
//	gpu              each GPU as nvidia-smi lists it ("name, driver, memory"),
//	                 "; "-joined; "none" without nvidia-smi or GPU
//	pid              os.Getpid()
//
// Start and end times and the seed belong to a run and are recorded with it
// (runs.started_at, runs.finished_at, the seed column and param).
//
// The build's own record comes first, so that a binary run outside its
// checkout still knows its commit: Go stamps it with -buildvcs=true (the
// default of `go build` in a checkout unless GOFLAGS says
// -buildvcs=false; `go run` needs the flag). Without it git runs in dir
// ("" for the current directory), which names the checkout's commit, the
// code run only when the program was built from that checkout.
func Capture(dir, blas string) map[string]string {
	info, _ := debug.ReadBuildInfo()
	commit, dirty, source := buildCommit(info)
	if source == unknown {
		if out, err := git(dir, "rev-parse", "HEAD"); err == nil {
			commit, source = strings.TrimSpace(out), "checkout"
		}
		if out, err := git(dir, "status", "--porcelain"); err == nil {
			dirty = strconv.FormatBool(strings.TrimSpace(out) != "")
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = unknown
	}
	return map[string]string{
		"git_commit":      commit,
		"git_dirty":       dirty,
		"commit_source":   source,
		"go_version":      runtime.Version(),
		"os_arch":         runtime.GOOS + "/" + runtime.GOARCH,
		"cpu_model":       cpuModel("/proc/cpuinfo"),
		"num_cpu":         strconv.Itoa(runtime.NumCPU()),
		"gomaxprocs":      strconv.Itoa(runtime.GOMAXPROCS(0)),
		"blas":            blas,
		"hostname":        host,
		"command":         command(os.Args),
		"module_versions": moduleVersions(info, info != nil),
		"gpu":             gpus(),
		"pid":             strconv.Itoa(os.Getpid()),
	}
}

// buildCommit reads the commit and dirty flag that Go stamped into the
// build (vcs.revision, vcs.modified); source is "build" when it did,
// unknown (with commit and dirty unknown) when not.
func buildCommit(info *debug.BuildInfo) (commit, dirty, source string) {
	commit, dirty, source = unknown, unknown, unknown
	if info == nil {
		return
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit, source = s.Value, "build"
		case "vcs.modified":
			dirty = s.Value
		}
	}
	if source == unknown {
		dirty = unknown
	}
	return
}

// gpus queries nvidia-smi once per process: the hardware does not change,
// and a sweep captures the environment for every run.
var gpus = sync.OnceValue(func() string {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader").Output()
	return gpuList(string(out), err)
})

// gpuList turns nvidia-smi's CSV lines into the gpu value.
func gpuList(out string, err error) string {
	var list []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			list = append(list, l)
		}
	}
	if err != nil || len(list) == 0 {
		return "none"
	}
	return strings.Join(list, "; ")
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

// command is the command line that reproduces this process.
func command(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return strings.TrimSpace(program(args[0]) + " " + shellJoin(args[1:]))
}

// Program returns the shell words that start this program again: "go run
// <main package>" for a program built by go run (its binary is in a
// temporary folder that will be gone), else its executable's path.
func Program() string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return program(exe)
}

func program(exe string) string {
	if !strings.Contains(exe, string(os.PathSeparator)+"go-build") {
		return ShellQuote(exe)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Path == "" {
		return ShellQuote(exe)
	}
	return "go run " + ShellQuote(bi.Path)
}

// shellJoin joins args so that a POSIX shell would split them back the same.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = ShellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// ShellQuote quotes s for a POSIX shell. It leaves words of safe characters alone and single-quotes the
// rest; a single quote inside ends the quoting, is written escaped by a
// backslash, and starts it again.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, safeChars) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const safeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-"
