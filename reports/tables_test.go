package reports

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// withCascade is the paper's five models on three seeds and a re-ranking
// cascade, the only configuration with the cross encoder's five settings
// (as paper-synthetic has them).
func withCascade() []Row {
	var rows []Row
	id := int64(0)
	for _, m := range []struct {
		model    string
		rsum, ms float64
	}{{"base", 263, 1.26}, {"inflated", 164, 1.68}, {"fast", 141, 0.273}, {"inflated>base", 136, 1.52}, {"inflated>base>fast", 104, 0.314}, {"fast>>cross", 207, 5.78}} {
		for seed := int64(1); seed <= 3; seed++ {
			id++
			r := run(id, m.model, seed, m.rsum+7*float64(seed), 144, m.ms*(0.8+0.2*float64(seed)))
			r.Params = map[string]string{"seed": fmt.Sprint(seed), "train.loss": "hinge"}
			if m.model == "fast>>cross" {
				r.Schedule, r.TeacherRunID = "1>>cross", 1
				for k, v := range map[string]string{"cross.epochs": "20", "cross.layers": "2", "cross.learning_rate": "0.003", "cross.negatives": "3", "cross.top_k": "20"} {
					r.Params[k] = v
				}
			}
			rows = append(rows, validated(r, m.rsum, 5, 10))
		}
	}
	return rows
}

// manySettings is an exploratory sweep that varies seven settings, some
// with long values.
func manySettings() []Row {
	var rows []Row
	for i := range 6 {
		r := run(int64(i+1), []string{"base", "fast"}[i%2], 1, 100+float64(i), 64, 1)
		r.Experiment = "explore"
		r.Params = map[string]string{"seed": "1", "dataset": fmt.Sprintf("emoji-style-small@s24g%dc%d", i+2, 12-i),
			"max_regions": fmt.Sprint(4 * (i + 1)), "padding": []string{"keep", "mask"}[i/3], "shared_layers": fmt.Sprint(i%3 == 0),
			"train.batches": []string{"captions", "images"}[i/3], "train.decay_epoch": fmt.Sprint(12 + i/2), "train.weight_decay": fmt.Sprint(0.01 / float64(i+1))}
		rows = append(rows, r)
	}
	return rows
}

// TestSparseSettings: settings that most configurations lack (the cross
// encoder's) are no columns of n/a in the tables but one line per
// configuration under them, keyed to the configuration's number; a
// setting most have stays a column; and when many settings vary, every
// configuration's settings are such a line.
func TestSparseSettings(t *testing.T) {
	rows := withCascade()
	md := ConfigTable(rows)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| Model") && strings.Contains(line, "cross.") {
			t.Errorf("a cross.* column: %s", line)
		}
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "| n/a | n/a |") {
			t.Errorf("a row of n/a settings: %s", line)
		}
	}
	for _, want := range []string{"| fast>>cross [6] |", "- [6] fast>>cross: cross.epochs=20, cross.layers=2, cross.learning_rate=0.003, cross.negatives=3, cross.top_k=20\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("the tables lack %q:\n%s", want, md)
		}
	}
	tex := LatexTable(rows)
	for _, want := range []string{`fast$>$$>$cross$^{6}$ &`, `$^{6}$ fast$>$$>$cross: cross.epochs=20, cross.layers=2, cross.learning\_rate=0.003`} {
		if !strings.Contains(tex, want) {
			t.Errorf("the LaTeX lacks %q:\n%s", want, tex)
		}
	}
	if strings.Contains(tex, "& cross.") {
		t.Errorf("a cross.* column in the LaTeX:\n%s", tex)
	}

	// Half the configurations having a setting keeps it a column.
	half := withCascade()
	for i := range half {
		if half[i].Model == "base" || half[i].Model == "inflated" {
			half[i].Params["cross.top_k"] = "20"
		}
	}
	if md := ConfigTable(half); !strings.Contains(md, "| Model | codes | schedule | cross.top_k | seeds |") {
		t.Errorf("cross.top_k, which 3 of 6 configurations have, is not a column:\n%s", md)
	}

	many := ConfigTable(manySettings())
	for _, want := range []string{"| Model | seeds | val rSum |", "| base [1] | 1 |", "| fast [6] | 1 |",
		"- [2] fast: schedule=1, dataset=emoji-style-small@s24g3c11, max_regions=8, padding=keep, shared_layers=false, train.batches=captions, train.decay_epoch=12, train.weight_decay=0.005\n"} {
		if !strings.Contains(many, want) {
			t.Errorf("seven settings: the tables lack %q:\n%s", want, many)
		}
	}
}

// TestLatexTable: the .tex is two complete floats, each a table
// environment with a tabular (every row with its columns), a \resizebox to
// the column or text width, a caption and a label; the values of a
// column have the same decimals.
func TestLatexTable(t *testing.T) {
	rows := sweepRuns()
	for i := range rows {
		if rows[i].Params["train.loss"] == "" {
			rows[i].Params["train.loss"] = "hinge-l8" // as the database gives it, through its default
		}
	}
	rows[len(rows)-1].QueryMs = 0.0456 // a column of mixed magnitudes
	tex := LatexTable(rows)
	if strings.Count(tex, "{") != strings.Count(tex, "}") {
		t.Errorf("unbalanced braces:\n%s", tex)
	}
	floats := regexp.MustCompile(`(?s)\\begin\{(table\*?)\}\[t\]\n(.*?)\\end\{(table\*?)\}\n`).FindAllStringSubmatch(tex, -1)
	if len(floats) != 2 || floats[0][1] != "table" || floats[1][1] != "table*" {
		t.Fatalf("want a table and a table*, got %d floats:\n%s", len(floats), tex)
	}
	for i, f := range floats {
		env, body := f[1], f[2]
		if f[3] != env {
			t.Errorf("\\begin{%s} ends with \\end{%s}", env, f[3])
		}
		width := map[string]string{"table": `\columnwidth`, "table*": `\textwidth`}[env]
		for _, want := range []string{`\centering`, `\resizebox{\ifdim\width>` + width + width + `\else\width\fi}{!}{%`,
			`\begin{tabular}{`, `\toprule`, `\midrule`, `\bottomrule`, "\\end{tabular}}\n", `\caption{Experiment \texttt{codes} on synthetic (protocol 1k).`,
			[]string{`\label{tab:codes}`, `\label{tab:codes-full}`}[i]} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", env, want, body)
			}
		}
		spec := regexp.MustCompile(`\\begin\{tabular\}\{([lr]+)\}`).FindStringSubmatch(body)
		if spec == nil {
			t.Fatalf("%s: no column spec", env)
		}
		ncol := len(spec[1])
		tabular := body[strings.Index(body, `\toprule`):strings.Index(body, `\bottomrule`)]
		var cells [][]string
		for _, line := range strings.Split(tabular, "\n") {
			if !strings.HasSuffix(line, `\\`) {
				continue
			}
			row := strings.Split(strings.TrimSuffix(line, ` \\`), " & ")
			if len(row) != ncol && !strings.Contains(line, `\multicolumn`) {
				t.Errorf("%s: %d cells in a row of %d columns: %s", env, len(row), ncol, line)
			}
			if len(row) == ncol && !strings.HasPrefix(line, "Model") && !strings.HasPrefix(line, " &") {
				cells = append(cells, row)
			}
		}
		if len(cells) != 8 {
			t.Errorf("%s: %d configuration rows, want 8", env, len(cells))
		}
		// Every number of a column (mean and sd alike) has the column's
		// decimals.
		number := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
		for c := 1; c < ncol; c++ {
			decimals := -1
			for _, row := range cells {
				text := row[c]
				if strings.Contains(text, " / ") || text == "--" {
					continue // per-seed lists
				}
				text = regexp.MustCompile(`\$\^\{?\\[a-z]+\}?\$|\\textbf\{|\}`).ReplaceAllString(text, "")
				for _, n := range number.FindAllString(text, -1) {
					d := 0
					if i := strings.IndexByte(n, '.'); i >= 0 {
						d = len(n) - i - 1
					}
					if decimals < 0 {
						decimals = d
					} else if d != decimals {
						t.Errorf("%s column %d: %q has %d decimals, the column %d", env, c, row[c], d, decimals)
					}
				}
			}
		}
	}
	// The one-column table: recalls as means, rSum ± sd, query ms.
	compact := floats[0][2]
	if !strings.Contains(compact, "Model & codes & schedule & train.loss & Seeds & R@1 & R@5 & R@10 & R@1 & R@5 & R@10 & rSum & ms \\\\") {
		t.Errorf("one-column table header:\n%s", compact)
	}
	if !strings.Contains(compact, `\textbf{inflated} & 4 & n+k & hinge-l8 & 3 & 36.7 & 89.0 & 99.0 & 33.2 & 87.3 & 98.0 & \textbf{443.1 $\pm$ 11.5} & 1.326 $\pm$ 0.013 \\`) {
		t.Errorf("one-column table: the best configuration's row:\n%s", compact)
	}
	if !strings.Contains(compact, `290.1 $\pm$ 152.6$^{\dagger\ddagger}$`) {
		t.Errorf("one-column table: base with a seed that did not converge lacks its marks:\n%s", compact)
	}
}

// TestConfigTablePrecision: query ms has the same decimals in every row,
// mean and sd alike.
func TestConfigTablePrecision(t *testing.T) {
	rows := withCascade()
	md := ConfigTable(rows)
	var ms []string
	for _, line := range strings.Split(md, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) == 8 && cells[0] != "Model" && !strings.HasPrefix(cells[0], "---") {
			ms = append(ms, cells[6])
		}
	}
	if len(ms) != 6 {
		t.Fatalf("%d rows in the cost table:\n%s", len(ms), md)
	}
	for _, m := range ms {
		for _, n := range strings.Split(m, " ± ") {
			if _, err := strconv.ParseFloat(n, 64); err != nil || len(n)-strings.IndexByte(n, '.') != 3 {
				t.Errorf("query ms %q: want two decimals throughout (smallest mean 0.273)", m)
			}
		}
	}
}

func TestBreakable(t *testing.T) {
	for in, want := range map[string]string{
		"distill.student_temp":  "distill.<wbr>student_<wbr>temp",
		"0.003":                 "0.003",
		"inflated&gt;c16&gt;c4": "inflated&gt;<wbr>c16&gt;<wbr>c4",
		"29.5 ± 33.3":           "29.5 ±&nbsp;33.3",
		"<strong>a.b</strong> <a href=\"x.svg\">": "<strong>a.<wbr>b</strong> <a href=\"x.svg\">",
	} {
		if got := breakable(in); got != want {
			t.Errorf("breakable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTMLFitsIn1280 renders reports of wide experiments (sixteen
// configurations with long settings; a cascade with the cross encoder's
// settings) and measures, in headless Chromium at 1280 px, that no table
// and nothing else runs off the right edge. It is skipped where Chromium
// is not installed.
func TestHTMLFitsIn1280(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" || testing.Short() {
		t.Skip("no Chromium (or -short)")
	}
	measure := `<script>window.addEventListener('load',()=>{const out=[];` +
		`document.querySelectorAll('table').forEach(t=>out.push(Math.ceil(t.getBoundingClientRect().right)));` +
		`const p=document.createElement('pre');p.id='measure';` +
		`p.textContent='MEASURE '+window.innerWidth+' '+document.documentElement.scrollWidth+' '+out.join(' ')+' END';` +
		`document.body.appendChild(p);});</script>`
	// One page holds the three reports (one browser start).
	dir := t.TempDir()
	var page strings.Builder
	for i, rows := range [][]Row{pileUp(), withCascade(), sweepRuns(), manySettings()} {
		db := openFixture(t, rows, nil)
		paths, err := Render(db, rows[0].Experiment, filepath.Join(dir, fmt.Sprint(i)), Settings{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(paths[1])
		if err != nil {
			t.Fatal(err)
		}
		html := string(b)
		if i == 0 {
			page.WriteString(html[:strings.Index(html, "<body>")+len("<body>")])
		}
		page.WriteString(html[strings.Index(html, "<body>")+len("<body>") : strings.Index(html, "</body>")])
	}
	page.WriteString(measure + "</body>\n</html>\n")
	probe := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probe, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1280,900", "--virtual-time-budget=5000",
		"--dump-dom", "file://"+probe).Output()
	m := regexp.MustCompile(`MEASURE ([0-9 ]+) END`).FindSubmatch(out)
	if m == nil {
		t.Skipf("Chromium did not run the probe (%v)", err)
	}
	f := strings.Fields(string(m[1]))
	if f[0] != "1280" {
		t.Fatalf("viewport %s px, want 1280", f[0])
	}
	if len(f) < 2+4*4 {
		t.Fatalf("measured %d tables", len(f)-2)
	}
	if w, _ := strconv.Atoi(f[1]); w > 1280 {
		t.Errorf("the page is %d px wide at 1280", w)
	}
	for i, r := range f[2:] {
		if right, _ := strconv.Atoi(r); right > 1280 {
			t.Errorf("table %d ends at %d px, off the 1280 px page", i, right)
		}
	}
}
