package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// DefinitionChangedError is EnsureExperiment's answer when the name is
// recorded with another definition: results under one name must come from
// one definition, or a report would mix sweeps without saying so.
type DefinitionChangedError struct {
	Experiment string
	Old, New   string   // the stored and the offered definition
	Changes    []string // "path: old -> new", sorted by path; see DiffJSON
}

func (e *DefinitionChangedError) Error() string {
	return fmt.Sprintf("store: experiment %q is recorded with another definition; changed:\n  %s",
		e.Experiment, strings.Join(e.Changes, "\n  "))
}

// EnsureExperiment records an experiment under its unique name with its
// definition (JSON text) and returns its id. If the name is already
// recorded with an equal definition (as JSON values: key order and spacing
// do not count) its id is returned; with another, a
// *DefinitionChangedError listing the changes, and nothing is written.
func (db *DB) EnsureExperiment(name, definition string) (int64, error) {
	return db.defineExperiment(name, definition, false)
}

// Redefine is EnsureExperiment that replaces a changed definition instead
// of refusing it. The experiment keeps its id and runs; every definition it
// has had stays in experiment_definitions.
func (db *DB) Redefine(name, definition string) (int64, error) {
	return db.defineExperiment(name, definition, true)
}

func (db *DB) defineExperiment(name, definition string, replace bool) (int64, error) {
	if name == "" {
		return 0, errors.New("store: define experiment: empty name")
	}
	var id int64
	var changed *DefinitionChangedError
	err := db.inTx(func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRow(`SELECT id, definition FROM experiments WHERE name = ?`, name).Scan(&id, &old)
		t := now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.Exec(`INSERT INTO experiments(name, definition, created_at) VALUES(?, ?, ?)`, name, definition, t)
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			changes := DiffJSON(old, definition)
			if len(changes) == 0 {
				return nil
			}
			if !replace {
				changed = &DefinitionChangedError{Experiment: name, Old: old, New: definition, Changes: changes}
				return changed
			}
			if _, err := tx.Exec(`UPDATE experiments SET definition = ? WHERE id = ?`, definition, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`INSERT INTO experiment_definitions(experiment_id, definition, defined_at) VALUES(?, ?, ?)`, id, definition, t)
		return err
	})
	if changed != nil {
		return 0, changed
	}
	if err != nil {
		return 0, fmt.Errorf("store: define experiment %q: %w", name, err)
	}
	return id, nil
}

// DiffJSON compares two JSON texts value by value and lists what differs as
// "path: old -> new", sorted, with dotted paths (array elements by index)
// and "(absent)" for a missing value. Texts that are not JSON compare as
// single strings under the path ".". Equal values give no line.
func DiffJSON(a, b string) []string {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		if a == b {
			return nil
		}
		return []string{fmt.Sprintf(".: %s -> %s", a, b)}
	}
	fa, fb := map[string]string{}, map[string]string{}
	flattenJSON("", va, fa)
	flattenJSON("", vb, fb)
	var out []string
	for k, x := range fa {
		if y, ok := fb[k]; !ok {
			out = append(out, fmt.Sprintf("%s: %s -> (absent)", k, x))
		} else if x != y {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, x, y))
		}
	}
	for k, y := range fb {
		if _, ok := fa[k]; !ok {
			out = append(out, fmt.Sprintf("%s: (absent) -> %s", k, y))
		}
	}
	sort.Strings(out)
	return out
}

// flattenJSON writes every leaf of v under its dotted path; an empty
// object or array is a leaf, so that its appearance is a change too.
func flattenJSON(path string, v any, out map[string]string) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 {
			for k, e := range x {
				flattenJSON(join(k), e, out)
			}
			return
		}
	case []any:
		if len(x) > 0 {
			for i, e := range x {
				flattenJSON(join(fmt.Sprint(i)), e, out)
			}
			return
		}
	}
	if path == "" {
		path = "."
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // chains are written with '>'
	enc.Encode(v)
	out[path] = strings.TrimSuffix(b.String(), "\n")
}
