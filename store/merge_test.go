package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shardRun records a finished run with results in db.
func shardRun(t *testing.T, db *DB, experiment, hash string, teacher int64, rsum float64) int64 {
	t.Helper()
	r, err := db.StartRun(RunInfo{Experiment: experiment, ConfigHash: hash, Model: hash, Config: `{}`, TeacherRunID: teacher,
		Params: map[string]string{"h": hash}, Env: map[string]string{"host": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LogStep(1, map[string]float64{"loss": rsum}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordResults("test", map[string]float64{"rsum": rsum, "i2t_r1": rsum / 6}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordLatency(map[string]float64{"query_ms": rsum / 1000}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordRanks("test", []int{1, int(rsum)}, []int{2, 1, 3}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetCheckpoint(filepath.Join(filepath.Dir(db.Path()), "checkpoints", hash+".ckpt")); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(1); err != nil {
		t.Fatal(err)
	}
	return r.ID()
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tableCounts is the number of rows of every table, to tell whether a
// merge changed anything.
func tableCounts(t *testing.T, db *DB) map[string]int {
	out := map[string]int{}
	for _, table := range []string{"experiments", "experiment_definitions", "runs", "params", "steps", "results", "latency", "environment", "ranks"} {
		out[table] = count(t, db, `SELECT count(*) FROM `+table)
	}
	return out
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "shards"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Shard 0 trains a teacher; shard 1 trains the same teacher (same
	// results: determinism) and a student of it; shard 2 disagrees.
	s0 := openAt(t, filepath.Join(dir, "shards", "0.db"))
	s1 := openAt(t, filepath.Join(dir, "shards", "1.db"))
	s2 := openAt(t, filepath.Join(dir, "shards", "2.db"))
	for _, s := range []*DB{s0, s1, s2} {
		if _, err := s.EnsureExperiment("e", `{"v":1}`); err != nil {
			t.Fatal(err)
		}
	}
	shardRun(t, s0, "e", "teacher", 0, 100)
	failed, err := s0.StartRun(RunInfo{Experiment: "e", ConfigHash: "broken", Config: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	failed.Fail(stackError{"panic: x", "stack"})
	if _, err := s0.StartRun(RunInfo{Experiment: "e", ConfigHash: "unfinished", Config: `{}`}); err != nil {
		t.Fatal(err)
	}
	teacher := shardRun(t, s1, "e", "teacher", 0, 100)
	shardRun(t, s1, "e", "student", teacher, 80)
	shardRun(t, s2, "e", "teacher", 0, 101)
	if _, err := s2.EnsureExperiment("other", `{"v":1}`); err != nil {
		t.Fatal(err)
	}

	db := openAt(t, filepath.Join(dir, "results.db"))
	if _, err := db.EnsureExperiment("other", `{"v":2}`); err != nil {
		t.Fatal(err)
	}
	merge := func(s *DB) MergeReport {
		t.Helper()
		rep, err := db.Merge(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := merge(s0); rep.Added != 2 || rep.Running != 1 || rep.Already != 0 || len(rep.Conflicts) != 0 {
		t.Errorf("shard 0: %+v, want 2 added (finished and failed), 1 running", rep)
	}
	if rep := merge(s1); rep.Added != 1 || rep.Duplicates != 1 || len(rep.Conflicts) != 0 {
		t.Errorf("shard 1: %+v, want the teacher a duplicate and the student added", rep)
	}
	before := tableCounts(t, db)
	for _, s := range []*DB{s0, s1} {
		rep := merge(s)
		if rep.Added != 0 || len(rep.Conflicts) != 0 {
			t.Errorf("merging %s again: %+v, want nothing added", s.Path(), rep)
		}
	}
	if after := tableCounts(t, db); !equalCounts(before, after) {
		t.Errorf("merging twice changed the database: %v -> %v", before, after)
	}
	rep := merge(s2)
	if rep.Added != 0 || len(rep.Conflicts) != 2 ||
		!strings.Contains(rep.Conflicts[0], `experiment "other" is defined otherwise`) ||
		!strings.Contains(rep.Conflicts[1], "test/rsum: 100.0 -> 101.0") {
		t.Errorf("shard 2: %+v, want a definition conflict and a results conflict naming rsum", rep)
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM runs WHERE status = 'finished'`, 2},
		{`SELECT count(*) FROM runs WHERE status = 'failed' AND stack = 'stack'`, 1},
		// the student points at the merged teacher, whose checkpoint moved with it
		{`SELECT count(*) FROM runs s JOIN runs t ON t.id = s.teacher_run_id WHERE s.config_hash = 'student' AND t.config_hash = 'teacher'`, 1},
		{`SELECT count(*) FROM runs WHERE checkpoint = 'shards/checkpoints/student.ckpt'`, 1},
		{`SELECT count(*) FROM run_summary WHERE model = 'student' AND rsum = 80 AND query_ms = 0.08`, 1},
		{`SELECT count(*) FROM steps`, 2},
		{`SELECT count(*) FROM params`, 2},
		{`SELECT count(*) FROM ranks r JOIN runs s ON s.id = r.run_id WHERE s.config_hash = 'student' AND r.direction = 'i2t' AND r.ranks = x'0100000050000000'`, 1},
	} {
		if n := count(t, db, c.query); n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
