package gpu

import (
	"math/rand/v2"
	"testing"
)

// TestOpChecksRun runs every op check on the Host backend twice: the
// checks must be deterministic for a seed, or comparing two backends
// would mean nothing, and each must produce output.
func TestOpChecksRun(t *testing.T) {
	results, err := CompareOps(Host{}, Host{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(OpChecks()) {
		t.Fatalf("%d results for %d checks", len(results), len(OpChecks()))
	}
	for _, r := range results {
		if !r.OK || r.RelErr != 0 {
			t.Errorf("%s: Host against itself differs by %g", r.Name, r.RelErr)
		}
	}
	for _, c := range OpChecks() {
		out, err := c.Run(Host{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil || len(out) == 0 {
			t.Errorf("%s: %d outputs, error %v", c.Name, len(out), err)
		}
	}
}
