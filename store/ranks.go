package store

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Directions of retrieval under which ranks are stored.
const (
	I2T = "i2t" // one rank per image query: its best-ranked correct caption
	T2I = "t2i" // one rank per caption query: its image
)

// EncodeRanks packs 1-based ranks as little-endian uint32, the ranks
// column's format: 4 bytes per query, 20 KB for 5,000 captions, where a
// row per query would cost far more in SQLite. It fails on a rank below 1
// or above math.MaxUint32.
func EncodeRanks(ranks []int) ([]byte, error) {
	b := make([]byte, 4*len(ranks))
	for i, r := range ranks {
		if r < 1 || uint64(r) > math.MaxUint32 {
			return nil, fmt.Errorf("store: rank %d of query %d is outside [1, %d]", r, i, uint32(math.MaxUint32))
		}
		binary.LittleEndian.PutUint32(b[4*i:], uint32(r))
	}
	return b, nil
}

// DecodeRanks unpacks what EncodeRanks packed. A length that is not a
// multiple of 4, or a zero rank, means the blob is not a ranks column.
func DecodeRanks(b []byte) ([]int, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("store: ranks blob of %d bytes is not a whole number of uint32", len(b))
	}
	out := make([]int, len(b)/4)
	for i := range out {
		out[i] = int(binary.LittleEndian.Uint32(b[4*i:]))
		if out[i] == 0 {
			return nil, fmt.Errorf("store: ranks blob holds rank 0 at query %d (ranks start at 1)", i)
		}
	}
	return out, nil
}

// RecordRanks stores the per-query ranks of an evaluation under a split
// name (as RecordResults), one blob per direction, replacing earlier ones.
// Both lists must be non-empty.
func (r *Run) RecordRanks(split string, i2t, t2i []int) error {
	if split == "" {
		return fmt.Errorf("store: record ranks of run %d: empty split", r.id)
	}
	blobs := map[string][]byte{}
	for dir, ranks := range map[string][]int{I2T: i2t, T2I: t2i} {
		if len(ranks) == 0 {
			return fmt.Errorf("store: record ranks %q of run %d: no %s ranks", split, r.id, dir)
		}
		b, err := EncodeRanks(ranks)
		if err != nil {
			return fmt.Errorf("%w (recording split %q, %s, of run %d)", err, split, dir, r.id)
		}
		blobs[dir] = b
	}
	err := r.db.inTx(func(tx *sql.Tx) error {
		for _, dir := range []string{I2T, T2I} {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO ranks(run_id, split, direction, ranks) VALUES(?, ?, ?, ?)`,
				r.id, split, dir, blobs[dir]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record ranks %q of run %d: %w", split, r.id, err)
	}
	return nil
}

// Ranks returns the ranks a run recorded under split in direction (I2T or
// T2I); ok is false when it recorded none (a run from before schema
// version 3, a failed run, or another split).
func (db *DB) Ranks(runID int64, split, direction string) (ranks []int, ok bool, err error) {
	return Ranks(db.sql, runID, split, direction)
}

// Ranks is DB.Ranks on any Reader (a read-only database, a Snapshot).
func Ranks(q Reader, runID int64, split, direction string) (ranks []int, ok bool, err error) {
	var b []byte
	err = q.QueryRow(`SELECT ranks FROM ranks WHERE run_id = ? AND split = ? AND direction = ?`,
		runID, split, direction).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err == nil {
		ranks, err = DecodeRanks(b)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: ranks %q %s of run %d: %w", split, direction, runID, err)
	}
	return ranks, true, nil
}
