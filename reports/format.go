package reports

import (
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

// identity is what makes a run's configuration, the same for every seed:
// its params without the seed, the model (a chain), and the codes and
// schedule that run_summary reports. The codes are run_summary's (the
// codes the chain really uses: 0 for a chain without an inflated stage),
// not the param, which such a chain ignores. A run without params (a
// database without the params table) is identified by model, codes and
// schedule alone.
func (r Row) identity() map[string]string {
	id := make(map[string]string, len(r.Params)+3)
	for k, v := range r.Params {
		if k != "seed" {
			id[k] = v
		}
	}
	id["model"] = r.Model
	id["codes"] = strconv.Itoa(r.Codes)
	id["schedule"] = r.Schedule
	return id
}

// KeyOrder puts the keys a reader looks for first (codes, schedule), then
// the rest alphabetically.
func KeyOrder(a, b string) int {
	rank := func(k string) int {
		switch k {
		case "model":
			return 0
		case "codes":
			return 1
		case "schedule":
			return 2
		}
		return 3
	}
	if c := rank(a) - rank(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// varyingKeys lists, in KeyOrder, the identity keys whose values differ
// between rows; a key some rows lack differs from any value.
func varyingKeys(rows []Row) []string {
	ids := make([]map[string]string, len(rows))
	for i, r := range rows {
		ids[i] = r.identity()
	}
	return VaryingKeys(ids)
}

// VaryingKeys lists, in KeyOrder, the keys whose values differ between
// the identities ids (a configuration's params, model, codes and
// schedule); a key some lack differs from any value. The dashboard labels
// configurations with them as the reports do.
func VaryingKeys(ids []map[string]string) []string {
	values := map[string]map[string]bool{}
	for _, id := range ids {
		for k := range id {
			values[k] = map[string]bool{}
		}
	}
	for _, id := range ids {
		for k := range values {
			v, ok := id[k]
			if !ok {
				v = "\x00absent"
			}
			values[k][v] = true
		}
	}
	var keys []string
	for k, vs := range values {
		if len(vs) > 1 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, KeyOrder)
	return keys
}

// ParamText shows one identity value: codes as "k=4", a schedule as itself,
// anything else as key=value.
func ParamText(key, value string) string {
	switch key {
	case "codes":
		return "k=" + value
	case "schedule":
		return value
	}
	return key + "=" + value
}

// labeller names runs in tables, findings and figures: by model, plus the
// identity values in which runs of that model differ, so that the variants
// of a sweep (codes, schedules, losses, whatever the sweep varies) stay
// distinguishable while the paper's five models keep their plain names.
type labeller struct {
	vary map[string][]string // model -> the identity keys that vary among its runs
}

func newLabeller(rows []Row) labeller {
	byModel := map[string][]Row{}
	for _, r := range rows {
		byModel[r.Model] = append(byModel[r.Model], r)
	}
	l := labeller{vary: map[string][]string{}}
	for m, rs := range byModel {
		l.vary[m] = varyingKeys(rs)
	}
	return l
}

func (l labeller) label(r Row) string {
	id := r.identity()
	var parts []string
	for _, k := range l.vary[r.Model] {
		v, ok := id[k]
		if !ok {
			v = na
		}
		parts = append(parts, ParamText(k, v))
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
