//go:build !linux && !darwin

package scan

import (
	"errors"
	"os"
)

// mapFloats maps nothing where there is no mmap: the caller reads.
func mapFloats(*os.File, int64, int) ([]float32, error) {
	return nil, errors.ErrUnsupported
}
