package reports

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/inflateshrink/inflateshrink/store"
)

// TransferSection renders, as a Markdown section, the transfer evaluations
// of an experiment's finished runs: the results recorded under splits
// "transfer:<data set>" (every model evaluated on another data set's test
// split with its training vocabulary), one table per data set, rows in
// run order. It returns "" when the experiment has none. Unlike the rest
// of the report it reads the results table directly, since run_summary
// holds only the test split.
func TransferSection(db *sql.DB, experiment string) (string, error) {
	return transferSection(db, experiment)
}

func transferSection(q store.Reader, experiment string) (string, error) {
	results, err := store.ResultsOfSplits(q, experiment, "transfer:")
	if err != nil {
		return "", fmt.Errorf("reports: transfer results: %w", err)
	}
	type run struct {
		id     int64
		model  string
		seed   int64
		values map[string]float64
	}
	var splits []string
	runs := map[string][]*run{}
	for _, r := range results {
		if runs[r.Split] == nil {
			splits = append(splits, r.Split)
		}
		runs[r.Split] = append(runs[r.Split], &run{id: r.RunID, model: r.Model, seed: r.Seed, values: r.Values})
	}
	if len(splits) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("## Transfer\n\nEvery model evaluated, without further training, on another data set's test split (its captions encoded with the training vocabulary; unknown words become <unk>). Recalls in percent.\n")
	names := []string{"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum", "chance_rsum"}
	for _, split := range splits {
		list := runs[split]
		fmt.Fprintf(&b, "\n### %s\n\n", strings.TrimPrefix(split, "transfer:"))
		if v := list[0].values; v["n_images"] > 0 {
			fmt.Fprintf(&b, "%s images, %s captions.\n\n", count(v["n_images"]), count(v["n_captions"]))
		}
		b.WriteString("| Model | Seed | i2t R@1 | R@5 | R@10 | t2i R@1 | R@5 | R@10 | rSum | chance rSum |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range list {
			fmt.Fprintf(&b, "| %s | %d |", cell(r.model), r.seed)
			for _, n := range names {
				v, ok := r.values[n]
				s := "n/a"
				if ok {
					s = fixed(v, 1)
					if n == "chance_rsum" {
						s = sig3(v)
					}
				}
				fmt.Fprintf(&b, " %s |", s)
			}
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}
