package reports_test

import (
	"fmt"
	"math"

	"github.com/inflateshrink/inflateshrink/reports"
)

func ExampleMarkdownTable() {
	nan := math.NaN()
	rows := []reports.Row{
		{Model: "base", Seed: 1, Status: reports.StatusFinished,
			ValRSum: 420.46, SelectedEpoch: 18, EpochsTrained: 20,
			I2T: [3]float64{52.31, 80.5, 88.04}, T2I: [3]float64{40.0, 70.25, 79.9}, RSum: 411.0,
			Interactions: 1024, QueryMs: 3.4567, IndexFloats: 8192, TrainSeconds: 120.04},
		// A run recorded before validation was evaluated.
		{Model: "fast", Seed: 1, Status: reports.StatusFinished,
			ValRSum: nan, SelectedEpoch: nan, EpochsTrained: nan,
			I2T: [3]float64{40, 70, 80}, T2I: [3]float64{30, 60, 70}, RSum: 350,
			Interactions: 1, QueryMs: 0.01234, IndexFloats: 256, TrainSeconds: nan},
		{Model: "inflated", Seed: 1, Status: reports.StatusFailed, Error: "diverged"},
	}
	fmt.Print(reports.MarkdownTable(rows))
	// Output:
	// | Model | Seed | val rSum | epoch | i2t R@1 | R@5 | R@10 | t2i R@1 | R@5 | R@10 | rSum | interactions | query ms | index floats/image | train s |
	// |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	// | base | 1 | 420.5 | 18 of 20 | 52.3 | 80.5 | 88.0 | 40.0 | 70.2 | 79.9 | 411.0 | 1024 | 3.46 | 8192 | 120.0 |
	// | fast | 1 | n/a | n/a | 40.0 | 70.0 | 80.0 | 30.0 | 60.0 | 70.0 | 350.0 | 1 | 0.0123 | 256 | n/a |
}
