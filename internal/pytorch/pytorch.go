// Package pytorch finds the Python interpreter that the reference checks
// run: the tests that compare a Go computation with PyTorch's (tools/*.py)
// skip where none imports torch.
package pytorch

import (
	"os"
	"os/exec"
)

// Python returns a Python interpreter that imports torch: $PYTHON,
// python3, or Debian's /usr/bin/python3 (python3-torch), where python3
// is another one (pyenv). ok is false where there is none.
func Python() (path string, ok bool) {
	for _, py := range []string{os.Getenv("PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		if err := exec.Command(py, "-c", "import torch").Run(); err == nil {
			return py, true
		}
	}
	return "", false
}

// SkipMessage is what a test says when it skips for want of Python.
const SkipMessage = "no python3 with torch (apt-get install python3-torch, or set PYTHON)"
