package environ

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var keys = []string{"blas", "command", "commit_source", "cpu_model", "git_commit", "git_dirty", "go_version", "gomaxprocs", "gpu",
	"hostname", "module_versions", "num_cpu", "os_arch", "pid"}

func TestCaptureKeys(t *testing.T) {
	env := Capture(t.TempDir(), "openblas")
	var got []string
	for k := range env {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, keys) {
		t.Errorf("keys\n got %q\nwant %q", got, keys)
	}
	want := map[string]string{
		"blas":       "openblas",
		"go_version": runtime.Version(),
		"os_arch":    runtime.GOOS + "/" + runtime.GOARCH,
		"num_cpu":    strconv.Itoa(runtime.NumCPU()),
		"gomaxprocs": strconv.Itoa(runtime.GOMAXPROCS(0)),
		"command":    command(os.Args),
		"pid":        strconv.Itoa(os.Getpid()),
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("%s = %q, want %q", k, env[k], w)
		}
	}
	for _, k := range keys {
		if k != "blas" && env[k] == "" {
			t.Errorf("%s is empty", k)
		}
	}
	info, ok := debug.ReadBuildInfo()
	if want := moduleVersions(info, ok); env["module_versions"] != want {
		t.Errorf("module_versions = %q, want %q", env["module_versions"], want)
	}
}

func TestModuleVersions(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "unknown"},
		{"no dependencies", &debug.BuildInfo{}, true, "none"},
		{"dependencies", &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "gonum.org/v1/gonum", Version: "v0.17.0"},
			{Path: "github.com/mattn/go-sqlite3", Version: "v1.14.53"},
		}}, true, "gonum.org/v1/gonum@v0.17.0,github.com/mattn/go-sqlite3@v1.14.53"},
		{"replaced", &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "a.org/x", Version: "v1.0.0", Replace: &debug.Module{Path: "b.org/x", Version: "v1.0.1"}},
			{Path: "a.org/y", Version: "v1.0.0", Replace: &debug.Module{Path: "../y"}},
		}}, true, "b.org/x@v1.0.1,../y@(devel)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moduleVersions(tt.info, tt.ok); got != tt.want {
				t.Errorf("moduleVersions = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCaptureGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	// Keep git from finding a repository above the temporary directory.
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com",
			"-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	env := Capture(dir, "")
	if env["git_commit"] != "unknown" || env["git_dirty"] != "unknown" {
		t.Errorf("outside a repository: git_commit %q, git_dirty %q, want unknown", env["git_commit"], env["git_dirty"])
	}

	run("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", "a.txt")
	run("commit", "-q", "-m", "first")
	head := run("rev-parse", "HEAD")
	if !regexp.MustCompile(`^[0-9a-f]{40,64}$`).MatchString(head) {
		t.Fatalf("unexpected HEAD %q", head)
	}

	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, modify string
		wantDirty         string
	}{
		{"clean", dir, "", "false"},
		{"clean, from a subdirectory", sub, "", "false"},
		{"untracked file", dir, "b.txt", "true"},
		{"modified file", sub, "a.txt", "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.modify != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.modify), []byte("changed\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := Capture(tt.dir, "")
			if env["git_commit"] != head || env["git_dirty"] != tt.wantDirty || env["commit_source"] != "checkout" {
				t.Errorf("git_commit %q, git_dirty %q, commit_source %q; want %q, %q, checkout (a test binary has no vcs stamp)",
					env["git_commit"], env["git_dirty"], env["commit_source"], head, tt.wantDirty)
			}
		})
	}

	t.Run("git missing", func(t *testing.T) {
		t.Setenv("PATH", "")
		env := Capture(dir, "")
		if env["git_commit"] != "unknown" || env["git_dirty"] != "unknown" {
			t.Errorf("without git: git_commit %q, git_dirty %q, want unknown", env["git_commit"], env["git_dirty"])
		}
	})
}

// TestBuildCommit: the commit Go stamps into a build (-buildvcs=true)
// names the code run wherever the binary runs; without a stamp the
// source is unknown, so that Capture asks git instead.
func TestBuildCommit(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name                  string
		info                  *debug.BuildInfo
		commit, dirty, source string
	}{
		{"clean build", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}, rev, "false", "build"},
		{"dirty build", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}}, rev, "true", "build"},
		{"no stamp", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "-buildvcs", Value: "false"}}}, "unknown", "unknown", "unknown"},
		{"no build information", nil, "unknown", "unknown", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			commit, dirty, source := buildCommit(tc.info)
			if commit != tc.commit || dirty != tc.dirty || source != tc.source {
				t.Errorf("buildCommit = %q, %q, %q; want %q, %q, %q", commit, dirty, source, tc.commit, tc.dirty, tc.source)
			}
		})
	}
}

func TestCPUModel(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nmodel name\t: other\n",
			"Intel(R) Xeon(R) CPU @ 2.20GHz"},
		{"no model name", "processor\t: 0\nBogoMIPS\t: 50.00\n", "unknown"},
		{"empty model name", "model name\t:\n", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := cpuModel(path); got != tt.want {
				t.Errorf("cpuModel = %q, want %q", got, tt.want)
			}
		})
	}
	if got := cpuModel(filepath.Join(dir, "missing")); got != "unknown" {
		t.Errorf("cpuModel of a missing file = %q, want unknown", got)
	}
}

func TestShellJoin(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"./isr", "run", "-db=out/results.db", "quickstart"}, "./isr run -db=out/results.db quickstart"},
		{"space", []string{"isr", "-name", "my run"}, "isr -name 'my run'"},
		{"empty", []string{"isr", ""}, "isr ''"},
		{"single quote", []string{"isr", "it's"}, `isr 'it'\''s'`},
		{"shell characters", []string{"isr", "a>b", "$HOME", "x*"}, "isr 'a>b' '$HOME' 'x*'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellJoin(tt.args); got != tt.want {
				t.Errorf("shellJoin(%q) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
	// A shell splits the result back into the same words.
	if sh, err := exec.LookPath("sh"); err == nil {
		args := []string{"a b", "it's", "", "$x", `back\slash`, "new\nline"}
		out, err := exec.Command(sh, "-c", `for a in `+shellJoin(args)+`; do printf '%s\0' "$a"; done`).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"); !slices.Equal(got, args) {
			t.Errorf("sh split %q back into %q", args, got)
		}
	}
}

func TestCommandOfGoRun(t *testing.T) {
	got := command([]string{"/tmp/go-build123/b001/exe/quickstart", "-seed", "2"})
	if !strings.HasPrefix(got, "go run ") || !strings.HasSuffix(got, " -seed 2") {
		t.Errorf("command = %q, want go run <package> -seed 2", got)
	}
	if got := command([]string{"./quickstart", "-db", "a b.db"}); got != "./quickstart -db 'a b.db'" {
		t.Errorf("command = %q", got)
	}
}

func TestGPUList(t *testing.T) {
	tests := []struct {
		name, out string
		err       error
		want      string
	}{
		{"no nvidia-smi", "", exec.ErrNotFound, "none"},
		{"no GPU", "\n", nil, "none"},
		{"failed after output", "H100, 550.54, 81559 MiB\n", errors.New("exit status 9"), "none"},
		{"one", "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB\n", nil, "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB"},
		{"two", "A, 1, 2 MiB\nB, 1, 3 MiB\n", nil, "A, 1, 2 MiB; B, 1, 3 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gpuList(tc.out, tc.err); got != tc.want {
				t.Errorf("gpuList = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProgram(t *testing.T) {
	if got := program("/tmp/go-build123/b001/exe/quickstart"); !strings.HasPrefix(got, "go run ") {
		t.Errorf("program of a go run binary = %q, want go run <package>", got)
	}
	if got := program("/opt/my bin/quickstart"); got != "'/opt/my bin/quickstart'" {
		t.Errorf("program = %q, want the path quoted", got)
	}
}
