// Package store keeps experiment results in an SQLite database.
//
// One database file holds every experiment, run, per-step training value,
// evaluation metric, cost measure and captured environment, so that reports
// and sweeps can be written as SQL and a rerun can skip work already done.
// Training code never writes SQL: it receives a *Run from StartRun and calls
// its methods (LogStep, RecordResults, RecordLatency, SetCheckpoint, Finish,
// Fail, Interrupt) through small interfaces. Readers never write SQL
// either (a test greps the tree for it): a run's record and metrics come
// from Runs (by RunFilter), RunByID, FinishedRun and Results; what a report
// reads of an experiment from Summaries, ExperimentParams,
// ExperimentResults, ExperimentRanks, ExperimentSteps and the like
// (experiment_read.go), each on a Reader so that one Snapshot holds them;
// the dashboard's live view from activity_read.go; the results command's
// listings and exports from results_read.go.
//
// # Tables (schema version 5)
//
//   - meta(key, value): schema_version, checked by Open. Open migrates an
//     older database in place, in one transaction, keeping every row (the
//     migration from version v-1 to v is schema_v<v>.sql: 2 rebuilds runs,
//     3 adds ranks, 4 recreates the run_summary view; 5 completes the
//     params of earlier runs, see params.go), and refuses a newer one,
//     naming both versions.
//   - experiments(id, name, definition, created_at): one row per named
//     experiment, its current definition as JSON text.
//   - experiment_definitions(experiment_id, definition, defined_at): every
//     definition an experiment has had (see Redefine).
//   - runs(id, uid, experiment_id, config_hash, model, codes, schedule, seed,
//     dataset, protocol, status, error, stack, teacher_run_id, checkpoint,
//     started_at, finished_at, train_seconds, config, owner, heartbeat_at):
//     status is 'running', 'finished', 'failed' (error says why, stack is
//     the goroutine stack of a panic) or 'interrupted' (stopped from
//     outside: Ctrl-C, or its process died, found by MarkStale);
//     teacher_run_id is NULL for a first stage; uid identifies the run
//     across databases (Merge); owner ("host pid start") and heartbeat_at
//     tell a live run from a dead one.
//   - params(run_id, key, value): the run's config, flattened to dotted
//     keys, every key at the value the run used, defaults included
//     (framework.Config.Params; completeParams for runs recorded before
//     version 5).
//   - steps(run_id, step, name, value): per-step training values (loss,
//     lr, grad_norm, epoch: the step's 0-based epoch), and at the step that
//     ends each validated epoch val_rsum, val_i2t_r1 .. val_t2i_r10.
//   - results(run_id, split, name, value): evaluation metrics per split.
//     Split "test" is evaluated once, on the selected checkpoint; split
//     "val" holds the same metrics of that checkpoint on the validation
//     split, plus "epoch" (the selected checkpoint: epochs trained when it
//     was taken, 1-based) and "epochs" (epochs actually trained).
//   - ranks(run_id, split, direction, ranks): the rank of each query's
//     first correct item, little-endian uint32 (see EncodeRanks).
//   - latency(run_id, name, value): cost and latency measures.
//   - environment(run_id, key, value): see package environ.
//
// Non-finite values (NaN, ±Inf) are stored as NULL, so that a diverged loss
// still leaves its step's row. Times are UTC RFC 3339 with nine fractional
// digits always written, so that they sort as text.
//
// # The run_summary view
//
// run_summary has one row per run, with columns in this order:
//
//	experiment, run_id, model, codes, schedule, seed, dataset, protocol,
//	status, error                     from runs and experiments
//	i2t_r1, i2t_r5, i2t_r10,
//	t2i_r1, t2i_r5, t2i_r10, rsum,
//	i2t_medr, t2i_medr, chance_rsum   results of split "test", same names
//	test_images, test_captions        results of split "test" named
//	                                  n_images and n_captions
//	interactions, query_ms,
//	index_floats, encode_text_ms,
//	encode_image_ms                   latency, same names
//	train_seconds, teacher_run_id,
//	config_hash, started_at,
//	finished_at                       from runs
//	val_rsum, selected_epoch,
//	epochs_trained                    results of split "val" named rsum,
//	                                  epoch and epochs (version 4)
//
// A metric is NULL when its row is absent (failed runs; runs recorded
// before validation was evaluated have no val_* values) or not finite.
//
// # Identity, staleness, merging
//
// EnsureExperiment refuses a name recorded with another definition,
// returning a *DefinitionChangedError with a field-level diff; Redefine
// replaces it. MarkStale marks interrupted every 'running' run whose process
// is gone (same host: the pid no longer runs, or runs another program
// since it was recycled; other host: no heartbeat for StaleAfter). Merge
// folds a shard database in: runs already present (same uid) are skipped,
// a finished run of a trial already finished with identical results is a
// duplicate, anything that disagrees is reported as a conflict and left
// out, so merging is idempotent. Merging a database into itself is refused.
//
// # Opening, damage, reading
//
// Open and OpenReadOnly both run PRAGMA quick_check, and refuse a damaged
// file naming it and saying how to recover (a few ms for a few MB). Open
// says so when the directory is not writable: SQLite needs to create the
// database there, and in WAL mode its -wal and -shm files. OpenReadOnly never
// writes, and reads a database in a read-only directory (immutable, when no
// writer can be at work there). Snapshot runs several reads in one read
// transaction, so that they see one state of a database that others keep
// writing: reports and the results command read through it.
//
// # Concurrency
//
// A *DB may be used by many goroutines, and several processes (or several
// *DB) may write the same file at once: the journal is WAL, every
// transaction takes the write lock when it begins, and a writer that finds
// the database busy waits (10 s per attempt) and retries for up to 5
// minutes, since SQLite's lock is not handed out fairly; the schema is created (or migrated) once,
// under the write lock, by whichever Open comes first. A *Run is safe for
// concurrent use, but it is meant to be owned by one training loop.
package store
