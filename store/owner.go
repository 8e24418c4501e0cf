package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HeartbeatEvery is how often a running run records that its process is
// alive; StaleAfter is how long without a heartbeat makes a run of
// another host stale. A run of this host is judged by its process instead.
const (
	HeartbeatEvery = 30 * time.Second
	StaleAfter     = 5 * time.Minute
)

// owner identifies a process across hosts and pid reuse: "host pid start",
// start being the process's start time in clock ticks since boot (field 22
// of /proc/pid/stat), "0" where there is no /proc.
type owner struct {
	host  string
	pid   int
	start string
}

func (o owner) String() string { return fmt.Sprintf("%s %d %s", o.host, o.pid, o.start) }

func parseOwner(s string) (owner, bool) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return owner{}, false
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		return owner{}, false
	}
	return owner{f[0], pid, f[2]}, true
}

var self = func() owner {
	host, err := os.Hostname()
	if err != nil || host == "" || strings.ContainsAny(host, " \t\n") {
		host = "unknown"
	}
	pid := os.Getpid()
	return owner{host, pid, processStart(pid)}
}()

// processStart returns the start time of process pid as /proc gives it, "0"
// when it cannot be read.
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "0"
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis. starttime is field 22.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "0"
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "0"
	}
	return f[19]
}

// alive reports whether o still runs, for an owner on this host: the pid
// exists (kill(pid, 0) does not report ESRCH) and, where /proc tells, it
// started when o did, so a recycled pid does not count.
func (o owner) alive() bool {
	if err := syscall.Kill(o.pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	return o.start == "0" || processStart(o.pid) == o.start
}

// newUID returns a random run identity, 128 bits in hex.
func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MarkStale marks 'interrupted' every run still 'running' whose process is
// gone: on this host, a process that no longer exists (or a recycled pid);
// on another, one without a heartbeat for StaleAfter; a run without owner
// (recorded by schema version 1) always. It returns the ids marked. A
// sweep calls it before choosing what to run, so that a killed trial is
// run again and its old row says what happened to it.
func (db *DB) MarkStale() ([]int64, error) {
	rows, err := db.sql.Query(`SELECT id, COALESCE(owner, ''), COALESCE(heartbeat_at, started_at) FROM runs WHERE status = 'running'`)
	if err != nil {
		return nil, fmt.Errorf("store: mark stale runs: %w", err)
	}
	type candidate struct {
		id        int64
		owner     string
		heartbeat string
	}
	var cands []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.owner, &c.heartbeat); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: mark stale runs: %w", err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: mark stale runs: %w", err)
	}
	var marked []int64
	for _, c := range cands {
		why, stale := staleness(c.owner, c.heartbeat)
		if !stale {
			continue
		}
		var n int64
		err := db.inTx(func(tx *sql.Tx) error {
			res, err := tx.Exec(`UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status = 'running'`,
				"interrupted: "+why, now(), c.id)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil {
			return marked, fmt.Errorf("store: mark run %d interrupted: %w", c.id, err)
		}
		if n == 1 { // not marked meanwhile by another process
			marked = append(marked, c.id)
		}
	}
	return marked, nil
}

// staleness says whether a running run of this owner and last heartbeat
// has lost its process, and why: on this host, a process that no longer
// exists (or a recycled pid); on another, one without a heartbeat for
// StaleAfter; a run without owner (schema version 1) always.
func staleness(ownerField, heartbeat string) (why string, stale bool) {
	o, ok := parseOwner(ownerField)
	switch {
	case !ok:
		return "its process is unknown (recorded before schema version 2)", true
	case o.host == self.host && !o.alive():
		return fmt.Sprintf("its process %d on %s no longer runs", o.pid, o.host), true
	case o.host != self.host:
		beat, err := time.Parse(timeFormat, heartbeat)
		if err == nil && time.Since(beat) < StaleAfter {
			return "", false
		}
		return fmt.Sprintf("its process %d on %s sent no heartbeat since %s", o.pid, o.host, heartbeat), true
	}
	return "", false
}
