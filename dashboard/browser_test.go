package dashboard

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

// The browser tests load the pages in headless Chromium (Debian's
// chromium; CI installs it) against an httptest server of the fixture
// database, and check what a person would see: no console error, the
// charts drawn with the fixture's points, the tooltips and the config diff
// that clicks bring up, the drill-down's queries and thumbnails. They skip
// where no browser is installed.
var (
	screenshot = flag.Bool("screenshot", false, "write a screenshot of the runs page to testdata/screenshot.png (the README's)")
	browserDB  = flag.String("browser.db", "", "also load every page of every experiment of this results `database` (a copy: "+
		"SQLite adds -shm and -wal files beside it) and log how long each took")
)

// pageTimeout bounds the load of one page, generously: a loaded 2-core
// machine starts Chromium in seconds and draws a page in a second.
const pageTimeout = 90 * time.Second

// chromium returns the path of a Chromium or Chrome binary, or "" if none
// is installed.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium for the test, or skips it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no chromium binary found (CI installs Debian's chromium: apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Chromium refuses to run as root with its sandbox, and CI is
		// root; the pages loaded are the test's own.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// tab is one page loaded in its own browser tab, with what it wrote to
// the console.
type tab struct {
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	loadMs  float64 // from navigation to body[data-ready]: loaded, fetched and drawn
}

// open loads url in a new tab of the browser and waits until the page has
// drawn everything (body[data-ready]).
func open(t *testing.T, browser context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, pageTimeout)
	t.Cleanup(cancelTimeout)
	tb := &tab{ctx: ctx}
	// Subscribe before navigating, so that no message is lost.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body[data-ready]")))
	if err != nil {
		tb.checkConsole(t)
		t.Fatalf("loading %s: %v (error banner: %q)", url, err, tb.text(t, "#error"))
	}
	tb.loadMs = eval[float64](t, tb, `performance.getEntriesByName('dashboard-ready')[0].startTime`)
	if banner := eval[bool](t, tb, `!document.getElementById('error').hidden`); banner {
		t.Errorf("%s shows an error: %s", url, tb.text(t, "#error"))
	}
	return tb
}

// checkConsole fails the test for anything but plain logging on the
// console: errors, warnings, exceptions, failed requests.
func (tb *tab) checkConsole(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		switch m.Type {
		case chromedp.ConsoleLog, chromedp.ConsoleInfo, chromedp.ConsoleDebug:
		default:
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
		}
	}
}

// eval evaluates expression in the tab.
func eval[T any](t *testing.T, tb *tab, expression string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	return v
}

// poll waits until expression is truthy in the tab.
func poll(t *testing.T, tb *tab, what, expression string) {
	t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expression,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expression, err)
	}
}

func (tb *tab) text(t *testing.T, selector string) string {
	t.Helper()
	return eval[string](t, tb, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, selector))
}

// rowsOf is the data-attr attribute of each body row of a table.
func rowsOf(t *testing.T, tb *tab, table, attr string) []string {
	t.Helper()
	return eval[[]string](t, tb, fmt.Sprintf(`[...document.querySelectorAll('%s tbody tr')].map(r => r.getAttribute(%q) ?? '')`, table, attr))
}

// chart is what a drawn Chart.js chart holds: per dataset, its points and
// the elements drawn for them.
type chart struct {
	ID       string
	Width    float64
	Lines    int // boundary marks (curves)
	Datasets []struct {
		Label  string
		Points int
		Drawn  int
	}
}

func charts(t *testing.T, tb *tab) map[string]chart {
	t.Helper()
	list := eval[[]chart](t, tb, `Object.values(Chart.instances).map(c => ({
		id: c.canvas.id,
		width: c.width,
		lines: ((c.options.plugins.boundaries || {}).lines || []).length,
		datasets: c.data.datasets.map((d, i) => ({
			label: d.label, points: d.data.length,
			drawn: c.getDatasetMeta(i).data.filter(e => !e.skip && Number.isFinite(e.x) && Number.isFinite(e.y)).length,
		})),
	}))`)
	out := map[string]chart{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// wantPoints checks that chart id shows want[label] points for each
// dataset label in want, every one drawn.
func wantPoints(t *testing.T, all map[string]chart, id string, want map[string]int) {
	t.Helper()
	c, ok := all[id]
	if !ok {
		t.Errorf("no chart %s (have %v)", id, slices.Collect(func(yield func(string) bool) {
			for k := range all {
				if !yield(k) {
					return
				}
			}
		}))
		return
	}
	if c.Width <= 0 {
		t.Errorf("chart %s has width %v", id, c.Width)
	}
	got := map[string]int{}
	for _, d := range c.Datasets {
		if d.Drawn != d.Points {
			t.Errorf("chart %s, %q: %d of %d points drawn", id, d.Label, d.Drawn, d.Points)
		}
		if _, ok := want[d.Label]; ok {
			got[d.Label] = d.Points
		}
	}
	for label, n := range want {
		if got[label] != n {
			t.Errorf("chart %s, %q: %d points, want %d", id, label, got[label], n)
		}
	}
}

// pointAt scrolls chart id into view and returns where on the screen the
// point of run is drawn.
func pointAt(t *testing.T, tb *tab, id string, run int64) (x, y float64) {
	t.Helper()
	p := eval[[]float64](t, tb, fmt.Sprintf(`(() => {
		const c = Chart.getChart(%q);
		c.canvas.scrollIntoView({ block: 'center' });
		const box = c.canvas.getBoundingClientRect();
		for (const [i, d] of c.data.datasets.entries()) {
			if (d.label === 'Pareto front') continue;
			const j = d.data.findIndex(p => (p.run ?? p.run_id) === %d);
			if (j >= 0) {
				const e = c.getDatasetMeta(i).data[j];
				return [box.left + e.x, box.top + e.y];
			}
		}
		return [];
	})()`, id, run))
	if len(p) != 2 {
		t.Fatalf("chart %s has no point of run %d", id, run)
	}
	return p[0], p[1]
}

// clickRuns clicks the points of runs a and b on chart id and checks the
// config diff that comes up.
func clickRuns(t *testing.T, tb *tab, id string, a, b int64, wantParams []string) {
	t.Helper()
	for _, run := range []int64{a, b} {
		x, y := pointAt(t, tb, id, run)
		if err := chromedp.Do(tb.ctx, chromedp.MouseClickXY(x, y)); err != nil {
			t.Fatal(err)
		}
		if run == a {
			poll(t, tb, "run A chosen", fmt.Sprintf(`document.getElementById('diff').textContent.includes('run %d: now click')`, a))
		}
	}
	poll(t, tb, "the config diff", `document.querySelectorAll('#diff-params tbody tr').length > 0`)
	params := eval[[]string](t, tb, `[...document.querySelectorAll('#diff-params tbody tr')].map(r => r.cells[0].textContent)`)
	if !slices.Equal(params, wantParams) {
		t.Errorf("diff of runs %d and %d on %s: params %q, want %q", a, b, id, params, wantParams)
	}
	if d := tb.text(t, "#diff"); !strings.Contains(d, fmt.Sprintf("run %d:", a)) || !strings.Contains(d, fmt.Sprintf("run %d:", b)) {
		t.Errorf("diff does not name runs %d and %d: %s", a, b, d)
	}
}

func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	s, _ := newServer(t, Options{Name: "results.db"}) // as the README's command names it
	ts := serve(t, s)

	t.Run("runs", func(t *testing.T) {
		tb := open(t, browser, ts.URL+"/")
		t.Logf("runs page: loaded, fetched and drawn in %.0f ms", tb.loadMs)
		// It opens on the experiment the sweep works on.
		if got := eval[string](t, tb, `document.getElementById('experiment').value`); got != "sweep" {
			t.Errorf("experiment %q, want sweep", got)
		}
		// A dot per finished seed, a mean per configuration with one.
		wantPoints(t, charts(t, tb), "seeds-chart", map[string]int{"seeds": 5, "mean over seeds": 2})
		if got := rowsOf(t, tb, "#configs", "data-config"); !slices.Equal(got, []string{"0", "1", "2"}) {
			t.Errorf("configuration rows %q", got)
		}
		if got := rowsOf(t, tb, "#runs", "data-run"); !slices.Equal(got, []string{"2", "3", "4", "5", "6", "7", "8"}) {
			t.Errorf("run rows %q", got)
		}
		// The live status: the running run half done, the failure.
		running := tb.text(t, "#running tbody")
		if !strings.Contains(running, "inflated") || !strings.Contains(running, "2 of 3") || !strings.Contains(running, "50%") {
			t.Errorf("running runs: %q", running)
		}
		if f := tb.text(t, "#failures tbody"); !strings.Contains(f, "non-finite loss") {
			t.Errorf("failures: %q", f)
		}
		if live := tb.text(t, "#live"); !strings.Contains(live, "1 running") || !strings.Contains(live, "1 failed") {
			t.Errorf("header: %q", live)
		}
		// The not-converged seed is drawn hollow, in red.
		if got := eval[[]string](t, tb, `Chart.getChart('seeds-chart').data.datasets[0].pointBorderColor`); len(got) != 5 || got[2] != "#b3261e" {
			t.Errorf("seed border colours %q, want run 4's (the third) red", got)
		}
		clickRuns(t, tb, "seeds-chart", 2, 6, []string{"model", "seed"})
		if *screenshot {
			if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "screenshot.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote testdata/screenshot.png (%d bytes)", len(png))
		}
		tb.checkConsole(t)
	})

	t.Run("cost", func(t *testing.T) {
		tb := open(t, browser, ts.URL+"/cost?experiment=sweep")
		t.Logf("cost page: loaded, fetched and drawn in %.0f ms", tb.loadMs)
		all := charts(t, tb)
		wantPoints(t, all, "cost-interactions", map[string]int{"base": 3, "fast": 2, "Pareto front": 2})
		wantPoints(t, all, "cost-query_ms", map[string]int{"base": 3, "fast": 2, "Pareto front": 4})
		wantPoints(t, all, "cost-index_floats", map[string]int{"base": 3, "fast": 2, "Pareto front": 2})
		// Hovering a point names its run.
		x, y := pointAt(t, tb, "cost-interactions", 4)
		if err := chromedp.Do(tb.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)); err != nil {
			t.Fatal(err)
		}
		poll(t, tb, "the tooltip", `Chart.getChart('cost-interactions').tooltip.opacity > 0`)
		if title := eval[[]string](t, tb, `Chart.getChart('cost-interactions').tooltip.title`); !slices.Equal(title, []string{"run 4: base"}) {
			t.Errorf("tooltip title %q, want run 4: base", title)
		}
		clickRuns(t, tb, "cost-query_ms", 3, 5, []string{"model", "seed"})
		tb.checkConsole(t)
	})

	t.Run("curves", func(t *testing.T) {
		tb := open(t, browser, ts.URL+"/curves?experiment=sweep")
		t.Logf("curves page: loaded, fetched and drawn in %.0f ms", tb.loadMs)
		all := charts(t, tb)
		// Base and fast: 12 steps, 3 validations; the running inflated run 6
		// steps and one validation. Every chart marks the warm-up and the decay.
		for id, n := range map[string][2]int{"curves-0": {12, 3}, "curves-1": {6, 1}, "curves-2": {12, 3}} {
			wantPoints(t, all, id, map[string]int{"training loss": n[0], "loss highest seed": n[0], "validation rSum": n[1]})
			if all[id].Lines != 2 {
				t.Errorf("chart %s marks %d boundaries, want 2", id, all[id].Lines)
			}
		}
		// The running run's axis spans its planned 3 epochs.
		if end := eval[float64](t, tb, `Chart.getChart('curves-1').scales.x.max`); end != fixtureEpochs {
			t.Errorf("the running run's axis ends at %v, want %d", end, fixtureEpochs)
		}
		if err := chromedp.Do(tb.ctx, chromedp.SendKeys(chromedp.CSS("#curves-filter"), "fast")); err != nil {
			t.Fatal(err)
		}
		if shown := eval[[]string](t, tb, `[...document.querySelectorAll('#curves .card')].filter(c => !c.hidden).map(c => c.querySelector('h3').textContent)`); !slices.Equal(shown, []string{"fast"}) {
			t.Errorf("filtered on fast: shown %q", shown)
		}
		tb.checkConsole(t)
	})

	t.Run("drill", func(t *testing.T) {
		tb := open(t, browser, ts.URL+"/drill?experiment=sweep")
		t.Logf("drill-down page: loaded, fetched and drawn in %.0f ms", tb.loadMs)
		// By default the best run (3) against the best of another
		// configuration (6), on caption queries at R@1.
		if a, b := eval[string](t, tb, `document.getElementById('drill-a').value`), eval[string](t, tb, `document.getElementById('drill-b').value`); a != "3" || b != "6" {
			t.Errorf("runs %s and %s, want 3 and 6", a, b)
		}
		wantPoints(t, charts(t, tb), "drill-chart", map[string]int{"run 3 wins": 4, "run 6 wins": 3, "neither": 5})
		if got := rowsOf(t, tb, "#a-wins", "data-query"); !slices.Equal(got, []string{"7", "3", "10", "0"}) {
			t.Errorf("A wins captions %q, want 7 3 10 0", got)
		}
		if got := rowsOf(t, tb, "#b-wins", "data-query"); !slices.Equal(got, []string{"4", "6", "2"}) {
			t.Errorf("B wins captions %q, want 4 6 2", got)
		}
		if row := tb.text(t, "#a-wins tbody tr"); !strings.Contains(row, "yellow all over") || !strings.Contains(row, "image 3") {
			t.Errorf("first caption A wins: %q", row)
		}
		// Every thumbnail loaded: the 4x4 pictures of the fixture.
		poll(t, tb, "the thumbnails", `[...document.querySelectorAll('img.thumb')].every(i => i.complete)`)
		if sizes := eval[[]float64](t, tb, `[...document.querySelectorAll('img.thumb')].map(i => i.naturalWidth)`); len(sizes) != 7 || slices.Max(sizes) != 4 || slices.Min(sizes) != 4 {
			t.Errorf("thumbnail widths %v, want 7 of 4 px", sizes)
		}
		// Image queries instead.
		eval[bool](t, tb, `(() => { const s = document.getElementById('drill-dir'); s.value = 'i2t'; s.dispatchEvent(new Event('change')); return true })()`)
		poll(t, tb, "image queries", `[...document.querySelectorAll('#a-wins tbody tr')].map(r => r.dataset.query).join() === '2,3'`)
		if got := rowsOf(t, tb, "#b-wins", "data-query"); !slices.Equal(got, []string{"4", "1"}) {
			t.Errorf("B wins images %q, want 4 1", got)
		}
		if row := tb.text(t, "#a-wins tbody tr"); !strings.Contains(row, "a blue square · blue all over") {
			t.Errorf("first image A wins: %q", row)
		}
		if u := eval[string](t, tb, `location.search`); !strings.Contains(u, "dir=i2t") {
			t.Errorf("the address %q does not keep the choice", u)
		}
		tb.checkConsole(t)
	})

	if *browserDB != "" {
		t.Run("database", func(t *testing.T) { browseDatabase(t, browser, *browserDB) })
	}
}

// browseDatabase loads every page of every experiment of the database at
// path and logs how long each took to load, fetch and draw.
func browseDatabase(t *testing.T, browser context.Context, path string) {
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, Options{Name: path, LoadDataset: datasets.Load})
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, s)
	var names []string
	err = store.Snapshot(db, func(q store.Reader) error {
		names, err = experimentNames(q)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		for _, page := range []string{"/", "/cost", "/curves", "/drill"} {
			tb := open(t, browser, ts.URL+page+"?experiment="+name)
			n := 0
			for _, c := range charts(t, tb) {
				for _, d := range c.Datasets {
					n += d.Points
				}
			}
			dom := eval[float64](t, tb, `performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd`)
			t.Logf("%s %s: HTML and scripts loaded in %.0f ms; data fetched and drawn at %.0f ms (%d points)", name, page, dom, tb.loadMs, n)
			tb.checkConsole(t)
		}
	}
}
