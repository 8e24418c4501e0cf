package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// na stands for a number the database does not hold.
const na = "n/a"

// fixed formats x with prec decimals, or na when x is missing.
func fixed(x float64, prec int) string {
	if math.IsNaN(x) {
		return na
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// sig3 formats x with three significant digits in plain (non-exponent)
// notation, so that 0.0123 ms and 1230 ms read alike in a table.
func sig3(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fixed(x, 0)
	}
	if x == 0 {
		return "0"
	}
	// Round first: rounding can move x to the next power of ten (9.996 -> 10.0),
	// which changes how many decimals three significant digits need.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	prec := max(0, 2-int(math.Floor(math.Log10(math.Abs(r)))))
	return strconv.FormatFloat(r, 'f', prec, 64)
}

// count formats a quantity that is normally a whole number (interactions,
// floats) without a spurious decimal point.
func count(x float64) string {
	if math.IsNaN(x) {
		return na
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

// labeller names runs in tables, findings and figures: by model, plus the
// number of codes and the schedule where runs of one model differ in them, so
// that variants of a sweep stay distinguishable while the paper's five models
// keep their plain names.
type labeller struct {
	codesVary, scheduleVary map[string]bool
}

func newLabeller(rows []Row) labeller {
	codes := map[string]map[int]bool{}
	schedules := map[string]map[string]bool{}
	for _, r := range rows {
		if codes[r.Model] == nil {
			codes[r.Model] = map[int]bool{}
			schedules[r.Model] = map[string]bool{}
		}
		codes[r.Model][r.Codes] = true
		schedules[r.Model][r.Schedule] = true
	}
	l := labeller{codesVary: map[string]bool{}, scheduleVary: map[string]bool{}}
	for m := range codes {
		l.codesVary[m] = len(codes[m]) > 1
		l.scheduleVary[m] = len(schedules[m]) > 1
	}
	return l
}

func (l labeller) label(r Row) string {
	var parts []string
	if l.codesVary[r.Model] {
		parts = append(parts, fmt.Sprintf("k=%d", r.Codes))
	}
	if l.scheduleVary[r.Model] {
		parts = append(parts, r.Schedule)
	}
	if len(parts) == 0 {
		return r.Model
	}
	return r.Model + " (" + strings.Join(parts, ", ") + ")"
}

// group is the finished runs that share a label (one model variant, all seeds).
type group struct {
	label, model string
	runs         []Row
}

// groupRuns groups finished runs by label, in the order rows come in (Load's
// paper order).
func groupRuns(rows []Row, l labeller) []group {
	var gs []group
	for _, r := range finished(rows) {
		lab := l.label(r)
		i := slices.IndexFunc(gs, func(g group) bool { return g.label == lab })
		if i < 0 {
			gs = append(gs, group{label: lab, model: r.Model})
			i = len(gs) - 1
		}
		gs[i].runs = append(gs[i].runs, r)
	}
	return gs
}

// stat returns the mean and sample standard deviation of f over the runs
// where it is known, and how many runs that is. The deviation is NaN for
// fewer than two runs.
func (g group) stat(f func(Row) float64) (mean, sd float64, n int) {
	var xs []float64
	for _, r := range g.runs {
		if x := f(r); !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, math.NaN(), len(xs)
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1)), len(xs)
}

func finished(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Finished() {
			out = append(out, r)
		}
	}
	return out
}

func rsum(r Row) float64 { return r.RSum }
