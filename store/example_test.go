package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/inflateshrink/inflateshrink/store"
)

// A run's life: start it, log its training steps, record its test results
// and cost, finish it; then read it back through the run_summary view.
func Example() {
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "results.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if _, err := db.EnsureExperiment("quickstart", `{"models":["base"]}`); err != nil {
		log.Fatal(err)
	}
	run, err := db.StartRun(store.RunInfo{
		Experiment: "quickstart", ConfigHash: "3f2a", Model: "base", Schedule: "n",
		Seed: 1, Dataset: "synthetic", Protocol: "default", Config: `{"epochs":2}`,
		Params: map[string]string{"epochs": "2"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for step := range 3 {
		if err := run.LogStep(step, map[string]float64{"loss": 1 / float64(step+1)}); err != nil {
			log.Fatal(err)
		}
	}
	if err := run.RecordResults("test", map[string]float64{"i2t_r1": 41.5, "t2i_r1": 30.25, "rsum": 350}); err != nil {
		log.Fatal(err)
	}
	if err := run.RecordLatency(map[string]float64{"interactions": 1024}); err != nil {
		log.Fatal(err)
	}
	if err := run.Finish(8.5); err != nil {
		log.Fatal(err)
	}

	var (
		model, status                    string
		i2t, t2i, rsum, inter, trainSecs float64
	)
	err = db.SQL().QueryRow(`SELECT model, status, i2t_r1, t2i_r1, rsum, interactions, train_seconds
		FROM run_summary WHERE run_id = ?`, run.ID()).Scan(&model, &status, &i2t, &t2i, &rsum, &inter, &trainSecs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s: i2t R@1 %.2f, t2i R@1 %.2f, rSum %.0f, %.0f interactions, %.1f s\n",
		model, status, i2t, t2i, rsum, inter, trainSecs)

	rec, ok, err := db.FinishedRun("quickstart", "3f2a")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reusable:", ok, rec.ID == run.ID())
	// Output:
	// base finished: i2t R@1 41.50, t2i R@1 30.25, rSum 350, 1024 interactions, 8.5 s
	// reusable: true true
}
