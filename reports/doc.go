// Package reports renders the results of an experiment from results.db alone,
// as a researcher would publish them for "Inflate and Shrink" (H. Liu, T. Yu,
// P. Li, EMNLP 2021):
//
//   - Markdown (GitHub renders it) and the same report as one self-contained
//     HTML page (figures inline as base64 PNG): setup (commit, data set,
//     protocol, Go, CPU, BLAS, seeds), one table row per configuration with
//     the validation rSum and selected epochs, each test metric as mean ±
//     sd over seeds and the test rSum of every seed, the best configuration
//     in bold and † on an rSum the seed-aware bootstrap (HierarchicalBootstrap)
//     cannot tell from the best's, the bootstrap intervals and per-seed
//     differences, the runs that did not converge, the chance level,
//     findings computed from the numbers (the paper's claims, and whatever
//     the sweep varies: codes, 1x1 schedules, cost), figures, missing and
//     failed runs, every run. The configurations go in two tables that fit a page (1280 px in a
//     browser): accuracy, then the selected epochs, each seed's rSum and
//     the cost; settings that most configurations lack (a cross encoder's),
//     or all of them when many vary, are listed under the tables, keyed by
//     the configuration's number as in the figures, not columns of n/a;
//   - LaTeX to paste (booktabs, graphicx): a table for one column (recalls,
//     rSum and latency) and a table* with every column, each with a caption
//     and a label, scaled down to its width when wider, the same decimals
//     down a column, and the same marks;
//   - figures (gonum/plot; PNG, SVG and PDF): rSum against interactions and
//     against query latency (Pareto front), each configuration's mean with
//     error bars of ± sd over seeds and its seeds as dots, numbered where
//     the numbers cover nothing; rSum against codes k (error bars);
//     training, distillation and cross-encoder loss curves apart (mean with
//     a band of ± sd; lines where the InfoNCE warm-up ends and the learning
//     rate decays); validation rSum against the epoch; recall@K from the
//     stored per-query ranks (error bars at K = 1, 5, 10, 20, 50). Every
//     key is drawn under its plot, never over the data; Settings can leave
//     out the titles.
//
// Every "best" (the bold configuration, the reference of the significance
// tests, the best k, 1x1 schedule or cost trade-off of the findings) is the
// configuration with the highest mean validation rSum over its seeds, never
// the best on test: test numbers are reported, not selected on. A database
// without validation results (recorded before runs evaluated the validation
// split) renders with no best at all, and says so. A run whose validation
// rSum is below 90% of its configuration's best seed's is flagged as not
// converged (‡), and stays in the means.
//
// A configuration is a run's params without the seed (Row.identity); the
// params that differ between configurations become table columns and label
// suffixes, so a sweep over any new config key reports without changes here.
//
// Reports never retrain and never re-score: they read the view run_summary
// and the tables params, ranks, steps, environment and results that package
// store maintains (params, ranks and steps are optional, and the
// validation results are read from the results table, not from the view's
// columns of schema version 4, so older databases still render). A report
// reads all of it in one read transaction (store.Snapshot), so a sweep may
// keep recording runs meanwhile: each run is wholly in the report or wholly
// out. Rendering is deterministic: the same database
// gives the same bytes (fixed bootstrap seed, sorted keys, no clock: a
// PDF's dates are fixed).
//
// Missing numbers (SQL NULL, e.g. the metrics of a failed run) are NaN in Row
// and are shown as "n/a"; they are never treated as zero.
package reports
