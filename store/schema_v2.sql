-- Schema version 2: migrates a version 1 database in place, keeping its data.
-- Applied by Open in one transaction on a connection with foreign_keys and
-- legacy_alter_table switched so that runs can be rebuilt (SQLite cannot
-- change a CHECK constraint or add a UNIQUE column otherwise) while the
-- tables and the run_summary view that refer to runs stay as they are.
--   runs.status      adds 'interrupted': a run whose process stopped (Ctrl-C,
--                    kill, crash) before it finished or failed;
--   runs.uid         a random identity that survives merging shards;
--   runs.stack       the goroutine stack of a run failed by a panic;
--   runs.owner       "host pid start" of the process running it, and
--   runs.heartbeat_at the last time that process said it was alive: how a
--                    later process tells a stale 'running' row from a live one;
--   experiment_definitions  every definition an experiment has had.
CREATE TABLE runs_v2(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  config_hash TEXT NOT NULL, model TEXT NOT NULL, codes INTEGER NOT NULL, schedule TEXT NOT NULL,
  seed INTEGER NOT NULL, dataset TEXT NOT NULL, protocol TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running','finished','failed','interrupted')),
  error TEXT, stack TEXT, teacher_run_id INTEGER REFERENCES runs(id), checkpoint TEXT,
  started_at TEXT NOT NULL, finished_at TEXT, train_seconds REAL, config TEXT NOT NULL,
  owner TEXT, heartbeat_at TEXT);
INSERT INTO runs_v2(id, uid, experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol,
  status, error, teacher_run_id, checkpoint, started_at, finished_at, train_seconds, config)
SELECT id, lower(hex(randomblob(16))), experiment_id, config_hash, model, codes, schedule, seed, dataset, protocol,
  status, error, teacher_run_id, checkpoint, started_at, finished_at, train_seconds, config FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
CREATE INDEX runs_by_hash ON runs(config_hash, status);
CREATE INDEX runs_by_status ON runs(status);
CREATE TABLE experiment_definitions(
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  definition TEXT NOT NULL, defined_at TEXT NOT NULL);
INSERT INTO experiment_definitions(experiment_id, definition, defined_at)
SELECT id, definition, created_at FROM experiments;
