//go:build openblas

package openblas

/*
#cgo LDFLAGS: -lopenblas
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
*/
import "C"

// CoreName is the core type whose kernels OpenBLAS selected.
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

// Config is OpenBLAS's build configuration (version, options).
func Config() string { return C.GoString(C.openblas_get_config()) }

// Threads is OpenBLAS's thread count.
func Threads() int { return int(C.openblas_get_num_threads()) }

// SetThreads sets OpenBLAS's thread count.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
