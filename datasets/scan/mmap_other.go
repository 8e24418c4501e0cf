//go:build !unix

package scan

import (
	"errors"
	"os"
)

// errNoMmap says this platform has no mmap: the caller reads instead.
var errNoMmap = errors.New("no mmap on this platform")

func mapFloats(*os.File, int64, int) ([]float32, error) { return nil, errNoMmap }
