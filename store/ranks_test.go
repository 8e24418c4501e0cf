package store

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// ranksRun opens a new database with one running run to record ranks of.
func ranksRun(t *testing.T) (*DB, *Run) {
	t.Helper()
	db := openTemp(t)
	run := mustStart(t, db, RunInfo{Experiment: "e", ConfigHash: "h", Model: "base", Schedule: "n", Config: "{}"})
	return db, run
}

func TestRanksRoundTrip(t *testing.T) {
	db, run := ranksRun(t)
	i2t := []int{1, 5000, 2, math.MaxUint32}
	t2i := make([]int, 5000)
	for i := range t2i {
		t2i[i] = 1 + i*7%1000
	}
	if err := run.RecordRanks("test", i2t, t2i); err != nil {
		t.Fatal(err)
	}
	// Recording again replaces, it does not add.
	if err := run.RecordRanks("test", i2t, t2i); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir  string
		want []int
	}{{I2T, i2t}, {T2I, t2i}} {
		got, ok, err := db.Ranks(run.ID(), "test", c.dir)
		if err != nil || !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Ranks(%s): ok %v, error %v, equal %v", c.dir, ok, err, reflect.DeepEqual(got, c.want))
		}
	}
	if n := count(t, db, `SELECT count(*) FROM ranks WHERE length(ranks) = 4 * 5000`); n != 1 {
		t.Errorf("%d t2i blobs of 4 bytes per query, want 1", n)
	}
	if _, ok, err := db.Ranks(run.ID(), "val", I2T); ok || err != nil {
		t.Errorf("Ranks of an unrecorded split: ok %v, error %v", ok, err)
	}
}

func TestRanksErrors(t *testing.T) {
	db, run := ranksRun(t)
	tests := []struct {
		name     string
		split    string
		i2t, t2i []int
		want     string
	}{
		{"empty split", "", []int{1}, []int{1}, "empty split"},
		{"rank zero", "test", []int{1, 0}, []int{1}, "rank 0 of query 1"},
		{"negative rank", "test", []int{1}, []int{-3}, "rank -3 of query 0"},
		{"no queries", "test", []int{1}, nil, "no t2i ranks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run.RecordRanks(tt.split, tt.i2t, tt.t2i)
			if err == nil || !strings.HasPrefix(err.Error(), "store: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RecordRanks error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	for _, blob := range [][]byte{{1, 0, 0}, {0, 0, 0, 0}} {
		if _, err := DecodeRanks(blob); err == nil || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("DecodeRanks(%v) error = %v", blob, err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM ranks`); n != 0 {
		t.Errorf("failed RecordRanks left %d rows", n)
	}
}
