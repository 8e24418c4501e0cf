package metrics_test

import (
	"fmt"
	"log"

	"github.com/inflateshrink/inflateshrink/metrics"
)

func ExampleEvaluate() {
	// Two images with two captions each: captions 0 and 1 describe image 0,
	// captions 2 and 3 describe image 1.
	s := metrics.Scores{
		Images:   2,
		Captions: 4,
		Data: []float32{
			0.2, 0.9, 0.95, 0.1, // image 0: caption 2 (wrong) beats its best caption 1
			0.3, 0.4, 0.8, 0.6, // image 1: its captions come first
		},
	}
	r, err := metrics.Evaluate(s, []int{0, 0, 1, 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("i2t R@1/5/10 %.0f/%.0f/%.0f, median rank %.1f\n", r.I2T[0], r.I2T[1], r.I2T[2], r.I2TMedianRank)
	fmt.Printf("t2i R@1/5/10 %.0f/%.0f/%.0f, median rank %.1f\n", r.T2I[0], r.T2I[1], r.T2I[2], r.T2IMedianRank)
	fmt.Printf("rSum %.0f\n", r.RSum)

	// Output:
	// i2t R@1/5/10 50/100/100, median rank 1.5
	// t2i R@1/5/10 50/100/100, median rank 1.5
	// rSum 500
}

func ExampleChanceRSum() {
	// The floor a model must clear on the COCO test sets.
	fmt.Printf("COCO 1K: %.3f\n", metrics.ChanceRSum(1000, 5))
	fmt.Printf("COCO 5K: %.3f\n", metrics.ChanceRSum(5000, 5))

	// Output:
	// COCO 1K: 3.196
	// COCO 5K: 0.640
}

func ExampleFolds() {
	// COCO 1K protocol in miniature: 4 images, one caption each, 2 folds.
	s := metrics.Scores{
		Images:   4,
		Captions: 4,
		Data: []float32{
			1, 0, 0, 0,
			0, 1, 0, 0,
			0, 0, 0, 1, // images 2 and 3 prefer each other's caption: in a fold
			0, 0, 1, 0.5, // of two, R@1 = 0 and R@5 = R@10 = 100 both ways
		},
	}
	scores, maps, err := metrics.Folds(s, []int{0, 1, 2, 3}, 2)
	if err != nil {
		log.Fatal(err)
	}
	var rs []metrics.Retrieval
	for f := range scores {
		r, err := metrics.Evaluate(scores[f], maps[f])
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("fold %d: rSum %.0f\n", f, r.RSum)
		rs = append(rs, r)
	}
	fmt.Printf("mean: rSum %.0f\n", metrics.Mean(rs).RSum)

	// Output:
	// fold 0: rSum 600
	// fold 1: rSum 400
	// mean: rSum 500
}
