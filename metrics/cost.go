package metrics

import (
	"fmt"
	"time"
)

// Cost describes what a model costs at query time.
type Cost struct {
	EncodeTextMs  float64 // mean encode time per caption, ms
	EncodeImageMs float64 // mean encode time per image, ms
	QueryMs       float64 // mean time to score and rank the whole test gallery for one text query, encodings precomputed
	Interactions  int     // fragment-to-fragment similarities per (text, image) pair = text fragments x image fragments
	IndexFloats   int     // floats stored per image in the index (= image fragments x dim)
}

// Values returns the cost under stable names: encode_text_ms encode_image_ms query_ms interactions index_floats.
func (c Cost) Values() map[string]float64 {
	return map[string]float64{
		"encode_text_ms":  c.EncodeTextMs,
		"encode_image_ms": c.EncodeImageMs,
		"query_ms":        c.QueryMs,
		"interactions":    float64(c.Interactions),
		"index_floats":    float64(c.IndexFloats),
	}
}

// TimePerCall runs f n times (after one warm-up call) and returns the mean wall time per call in ms.
// The warm-up call, not timed, lets lazy allocation and cache filling happen
// outside the measurement. TimePerCall panics if n is less than 1.
func TimePerCall(n int, f func()) float64 {
	if n < 1 {
		panic(fmt.Sprintf("metrics: TimePerCall(%d, f): need n >= 1", n))
	}
	f()
	start := time.Now()
	for range n {
		f()
	}
	return float64(time.Since(start)) / float64(time.Millisecond) / float64(n)
}
