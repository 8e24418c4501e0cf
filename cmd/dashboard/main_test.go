package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/inflateshrink/inflateshrink/store"
)

// syncBuffer is a bytes.Buffer that the server's goroutine and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string // a line it contains
		stderr string
	}{
		{[]string{"-h"}, 0, "usage: dashboard [-db results.db]", ""},
		{[]string{"-nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"extra"}, 2, "", `unexpected arguments ["extra"]`},
		{[]string{"-addr", "8080"}, 2, "", `-addr "8080"`},
		{[]string{"-db", filepath.Join(t.TempDir(), "none.db")}, 1, "", "none.db"},
	} {
		var stdout, stderr bytes.Buffer
		code := exitStatus(context.Background(), tt.args, &stdout, &stderr, nil)
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("dashboard %q: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
		// A usage error is printed once, with the way to the usage.
		if tt.code == 2 && (strings.Count(stderr.String(), tt.stderr) != 1 || !strings.Contains(stderr.String(), "dashboard -h")) {
			t.Errorf("dashboard %q: stderr %q", tt.args, stderr.String())
		}
	}
}

// TestServe: the command serves a database on a free port until its
// context ends, and then says so and exits 0.
func TestServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureExperiment("quickstart", `{}`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- exitStatus(ctx, []string{"-db", path, "-addr", "127.0.0.1:0", "-no-data"}, &stdout, &stderr, func(u string) { urls <- u })
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("exited %d before serving: %s", code, stderr.String())
	}
	res, err := http.Get(url + "api/experiments")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct {
		Experiments []struct{ Name string }
	}
	if err := json.Unmarshal(body, &got); err != nil || res.StatusCode != 200 || len(got.Experiments) != 1 || got.Experiments[0].Name != "quickstart" {
		t.Errorf("GET %sapi/experiments: %d %s (%v)", url, res.StatusCode, body, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after the context ended: %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, path+" (read-only) at "+url) || !strings.Contains(out, "dashboard: stopped") {
		t.Errorf("stdout %q", out)
	}
}
