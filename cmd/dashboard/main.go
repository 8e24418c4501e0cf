// Command dashboard serves an interactive view of a results database on
// localhost: experiments and runs with a dot per seed, accuracy against
// cost with the Pareto front, training and validation curves, a per-query
// drill-down, and the live status of running sweeps (package dashboard).
//
//	go run ./cmd/dashboard [-db results.db] [-addr localhost:8080] [-no-data]
//
// The database is opened read-only and read in snapshots, so the dashboard
// can watch a sweep that is writing it. The drill-down loads a run's data
// set, once, to show its captions and (emoji, Tux Paint) thumbnails;
// -no-data shows query numbers only. Everything the pages need is built
// in: they fetch nothing from the internet.
//
// "dashboard -h" prints the usage on stdout and exits 0; a usage error is
// printed once and exits 2; any other error exits 1. Ctrl-C stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/inflateshrink/inflateshrink/dashboard"
	"github.com/inflateshrink/inflateshrink/datasets"
	_ "github.com/inflateshrink/inflateshrink/datasets/all" // the real data sets, for the drill-down's pictures
	"github.com/inflateshrink/inflateshrink/internal/cli"
	"github.com/inflateshrink/inflateshrink/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitStatus(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

const usage = `usage: dashboard [-db results.db] [-addr localhost:8080] [-no-data]

Serves an interactive view of a results database until stopped (Ctrl-C):
experiments and runs, accuracy against cost, training curves, a per-query
drill-down and the live status of running sweeps. The database is only
read, and may be written by sweeps meanwhile.

flags:
`

// exitStatus runs args until ctx ends and returns the exit status: 0 on success
// and for -h, 2 for a usage error, 1 for any other. Errors are printed
// once, to stderr. listening, when not nil, receives the server's URL once
// it accepts connections.
func exitStatus(ctx context.Context, args []string, stdout, stderr io.Writer, listening func(url string)) int {
	return cli.Exit("dashboard", run(ctx, args, stdout, listening), stderr)
}

func run(ctx context.Context, args []string, stdout io.Writer, listening func(string)) error {
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	dbPath := fs.String("db", "results.db", "results database `path`, opened read-only")
	addr := fs.String("addr", "localhost:8080", "`host:port` to serve on; port 0 picks a free one")
	noData := fs.Bool("no-data", false, "do not load data sets: the drill-down shows query numbers without captions or pictures")
	if err := cli.Parse("dashboard", fs, args, stdout, usage); err != nil {
		return err
	}
	if err := cli.NoArgs("dashboard", fs, ""); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return cli.Usage("dashboard", fmt.Errorf("-addr %q: %w", *addr, err))
	}

	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	opt := dashboard.Options{Name: *dbPath}
	if !*noData {
		opt.LoadDataset = datasets.Load
	}
	srv, err := dashboard.New(db, opt)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		host = "localhost" // listening on every interface, localhost among them
	}
	url := "http://" + net.JoinHostPort(host, port) + "/"
	fmt.Fprintf(stdout, "dashboard: %s (read-only) at %s\n", *dbPath, url)
	if listening != nil {
		listening(url)
	}

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(shutdown); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "dashboard: stopped")
		return nil
	}
}
