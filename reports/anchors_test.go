package reports

import (
	"strings"
	"testing"
)

func TestAnchors(t *testing.T) {
	cases := []struct {
		name   string
		models []string
		want   bool
	}{
		{"the paper's five", []string{"base", "inflated", "fast", "inflated>base", "inflated>base>fast"}, true},
		{"a codes sweep", []string{"inflated", "inflated"}, false},
		{"no dual encoder", []string{"base", "inflated"}, false},
	}
	for _, c := range cases {
		var rows []Row
		for _, m := range c.models {
			rows = append(rows, Row{Model: m})
		}
		if got := isPaperComparison(rows); got != c.want {
			t.Errorf("%s: isPaperComparison = %v, want %v", c.name, got, c.want)
		}
	}
	s := anchorsSection()
	// VSE++ on Flickr30K: 52.9+80.5+87.2+39.6+70.1+79.5, summed by hand.
	for _, want := range []string{"| VSE++ (dual encoder) | Flickr30K 1K | 52.9 | 80.5 | 87.2 | 39.6 | 70.1 | 79.5 | 409.8 |", "not comparable one to one"} {
		if !strings.Contains(s, want) {
			t.Errorf("anchors section lacks %q:\n%s", want, s)
		}
	}
}
