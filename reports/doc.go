// Package reports renders the results of an experiment from results.db alone:
// a Markdown report with the five-model table of "Inflate and Shrink"
// (H. Liu, T. Yu, P. Li, EMNLP 2021), a figure of rSum against the number of
// interactions per text-image pair, a booktabs LaTeX table (mean and sd over
// seeds, best in bold) to paste into a paper, and the transfer results.
//
// Reports never retrain and never recompute metrics: everything they show is
// read from the view run_summary and the tables environment and results that
// package framework/store maintains. The package uses only database/sql; the caller
// opens the database with a driver (mattn/go-sqlite3 registers "sqlite3").
//
// Missing numbers (SQL NULL, e.g. the metrics of a failed run) are NaN in Row
// and are shown as "n/a"; they are never treated as zero.
package reports
