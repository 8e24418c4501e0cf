package environ_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/inflateshrink/inflateshrink/framework/environ"
)

func ExampleCapture() {
	env := environ.Capture(".", "gonum")
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Println(strings.Join(keys, "\n"))
	fmt.Println("blas:", env["blas"])
	// Output:
	// blas
	// command
	// commit_source
	// cpu_model
	// git_commit
	// git_dirty
	// go_version
	// gomaxprocs
	// gpu
	// hostname
	// module_versions
	// num_cpu
	// os_arch
	// pid
	// blas: gonum
}
