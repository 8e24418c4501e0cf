package dashboard

import (
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

//go:embed static templates
var assets embed.FS

// minSchema is the oldest schema the dashboard reads: version 3 added the
// per-query ranks that the drill-down needs. (Version 4 only added columns
// to run_summary that the dashboard reads from the results table instead,
// so that a committed version 3 database, opened read-only and so never
// migrated, shows everything.)
const minSchema = 3

// Options configure a Server. The zero value serves the database with no
// data set loaded.
type Options struct {
	// Name is how the pages call the database (its path, say).
	Name string
	// LoadDataset loads a data set by name, so that the drill-down can show
	// the captions and thumbnails of the queries (datasets.Load). Nil shows
	// query numbers only.
	LoadDataset func(name string) (*datasets.Dataset, error)
	// Now is the clock of the live status (elapsed time, ETA, heartbeats);
	// nil is time.Now.
	Now func() time.Time
	// Logf reports errors that a request met; nil is log.Printf.
	Logf func(format string, args ...any)
}

// Server serves the dashboard of one results database; it is an
// http.Handler.
type Server struct {
	db    *sql.DB
	opt   Options
	mux   *http.ServeMux
	pages map[string]*template.Template

	mu   sync.Mutex
	sets map[string]*loadedSet // data sets by name, loaded on first use
}

// loadedSet is a data set loaded once: loading the synthetic set takes
// about half a second, too long for every drill-down request.
type loadedSet struct {
	once sync.Once
	d    *datasets.Dataset
	err  error
}

// pageNames are the pages, each templates/<name>.html inside
// templates/layout.html, and the paths they are served at.
var pageNames = map[string]string{"runs": "/{$}", "cost": "/cost", "curves": "/curves", "drill": "/drill"}

// New returns a Server reading db, which the caller opened (read-only:
// store.OpenReadOnly) and closes after the server stops. It refuses a
// database whose schema it cannot read.
func New(db *sql.DB, opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logf == nil {
		opt.Logf = log.Printf
	}
	if err := checkSchema(db); err != nil {
		return nil, err
	}
	s := &Server{db: db, opt: opt, mux: http.NewServeMux(), pages: map[string]*template.Template{}, sets: map[string]*loadedSet{}}
	for name, path := range pageNames {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: page %s: %w", name, err)
		}
		s.pages[name] = t
		s.mux.HandleFunc("GET "+path, s.page(name))
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.api("experiments", s.experiments)
	s.api("runs", s.runs)
	s.api("cost", s.cost)
	s.api("diff", s.diff)
	s.api("curves", s.curves)
	s.api("drill", s.drill)
	s.api("status", s.status)
	s.mux.HandleFunc("GET /api/thumb", s.thumb)
	return s, nil
}

// checkSchema refuses a database the dashboard cannot read, saying what to
// do about it.
func checkSchema(db *sql.DB) error {
	v, err := store.StoredSchemaVersion(db)
	if err != nil {
		return fmt.Errorf("dashboard: %w (is this a results database?)", err)
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return fmt.Errorf("dashboard: schema version %q is not a number", v)
	case n < minSchema:
		return fmt.Errorf("dashboard: the database has schema version %d, older than the %d the dashboard reads; "+
			"any command that writes it migrates it in place (go run ./framework/cmd/results -db PATH experiments)", n, minSchema)
	case n > store.SchemaVersion:
		return fmt.Errorf("dashboard: the database has schema version %d, newer than this program's %d: update the program", n, store.SchemaVersion)
	}
	return nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// page serves the HTML page name. The pages hold no data: their script
// asks /api/ for it, so a reload shows the database as it is now.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err := s.pages[name].ExecuteTemplate(w, "layout", struct{ Page, Database string }{name, s.opt.Name})
		if err != nil {
			s.opt.Logf("dashboard: page %s: %v", name, err)
		}
	}
}

// requestError is an error the request made (a bad or unknown parameter):
// a 4xx answer, where anything else is the server's fault.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &requestError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// api serves /api/<name>: f reads the database in one snapshot and
// returns what is written as JSON; an error is written as {"error": ...}.
func (s *Server) api(name string, f func(r *http.Request, db store.Reader) (any, error)) {
	s.mux.HandleFunc("GET /api/"+name, func(w http.ResponseWriter, r *http.Request) {
		var v any
		err := store.Snapshot(s.db, func(db store.Reader) error {
			var err error
			v, err = f(r, db)
			return err
		})
		w.Header().Set("Content-Type", "application/json")
		// The answer is the database as it is now: never reuse an old one.
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			code := http.StatusInternalServerError
			var re *requestError
			if errors.As(err, &re) {
				code = re.code
			} else {
				s.opt.Logf("dashboard: %s: %v", r.URL, err)
			}
			w.WriteHeader(code)
			v = map[string]string{"error": err.Error()}
		}
		if err := json.NewEncoder(w).Encode(v); err != nil {
			s.opt.Logf("dashboard: %s: writing the answer: %v", r.URL, err)
		}
	})
}

// intParam is the query parameter name as an int64, def when absent.
func intParam(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("parameter %s=%q is not a whole number", name, v)
	}
	return n, nil
}

// num is a number the database may not hold (SQL NULL, or a value that
// was not finite): JSON null then, never 0, so that a chart leaves it out
// instead of drawing it at zero.
type num float64

func (x num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (x num) ok() bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// dataset returns the data set name, loading it on first use; an error
// says why it cannot be shown (none configured, not set up, ...).
func (s *Server) dataset(name string) (*datasets.Dataset, error) {
	if s.opt.LoadDataset == nil {
		return nil, errors.New("the dashboard was started without data sets")
	}
	s.mu.Lock()
	l := s.sets[name]
	if l == nil {
		l = &loadedSet{}
		s.sets[name] = l
	}
	s.mu.Unlock()
	l.once.Do(func() { l.d, l.err = s.opt.LoadDataset(name) })
	return l.d, l.err
}
