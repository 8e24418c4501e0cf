package metrics

import (
	"testing"
	"time"
)

func TestCostValues(t *testing.T) {
	c := Cost{EncodeTextMs: 1.5, EncodeImageMs: 2.5, QueryMs: 3.5, Interactions: 4096, IndexFloats: 64 * 768}
	want := map[string]float64{
		"encode_text_ms": 1.5, "encode_image_ms": 2.5, "query_ms": 3.5,
		"interactions": 4096, "index_floats": 49152,
	}
	got := c.Values()
	if len(got) != len(want) {
		t.Errorf("got %d names, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %t), want %v", k, g, ok, v)
		}
	}
}

func TestTimePerCall(t *testing.T) {
	for _, test := range []struct {
		name  string
		n     int
		sleep time.Duration
	}{
		{name: "one call", n: 1, sleep: 2 * time.Millisecond},
		{name: "several calls", n: 4, sleep: time.Millisecond},
	} {
		t.Run(test.name, func(t *testing.T) {
			calls := 0
			ms := TimePerCall(test.n, func() {
				calls++
				time.Sleep(test.sleep)
			})
			if calls != test.n+1 {
				t.Errorf("f called %d times, want %d (n plus one warm-up)", calls, test.n+1)
			}
			// Sleep never returns early, so the mean is at least the sleep;
			// the upper bound only guards against a wrong unit (s or µs).
			if lo, hi := float64(test.sleep)/float64(time.Millisecond), 100.0; ms < lo || ms > hi {
				t.Errorf("TimePerCall = %v ms, want within [%v, %v]", ms, lo, hi)
			}
		})
	}
}

func TestTimePerCallPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("TimePerCall(0, f) did not panic")
		}
	}()
	TimePerCall(0, func() {})
}
