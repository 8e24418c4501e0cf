-- Schema version 1 of the results database. Applied by Open in one transaction
-- to a database without a meta table; the caller records schema_version.
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE experiments(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  config_hash TEXT NOT NULL, model TEXT NOT NULL, codes INTEGER NOT NULL, schedule TEXT NOT NULL,
  seed INTEGER NOT NULL, dataset TEXT NOT NULL, protocol TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running','finished','failed')),
  error TEXT, teacher_run_id INTEGER REFERENCES runs(id), checkpoint TEXT,
  started_at TEXT NOT NULL, finished_at TEXT, train_seconds REAL, config TEXT NOT NULL);
CREATE INDEX runs_by_hash ON runs(config_hash, status);
CREATE TABLE params(run_id INTEGER NOT NULL REFERENCES runs(id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run_id, key));
CREATE TABLE steps(run_id INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY(run_id, step, name));
CREATE TABLE results(run_id INTEGER NOT NULL REFERENCES runs(id), split TEXT NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY(run_id, split, name));
CREATE TABLE latency(run_id INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL, PRIMARY KEY(run_id, name));
CREATE TABLE environment(run_id INTEGER NOT NULL REFERENCES runs(id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run_id, key));
CREATE VIEW run_summary AS
-- One row per run, metrics pivoted into columns; a metric is NULL when the run
-- has no such row (failed or unfinished runs) or its value was not finite.
--   experiment .. error        the run itself (runs joined to experiments);
--   i2t_r1 .. t2i_medr, rsum   results of split 'test' under the same names;
--   chance_rsum, test_images, test_captions
--                              results of split 'test' named chance_rsum,
--                              n_images and n_captions;
--   interactions .. encode_image_ms
--                              latency rows under the same names;
--   train_seconds .. finished_at
--                              the run again.
SELECT e.name AS experiment, r.id AS run_id, r.model, r.codes, r.schedule, r.seed,
       r.dataset, r.protocol, r.status, r.error,
       t.i2t_r1, t.i2t_r5, t.i2t_r10, t.t2i_r1, t.t2i_r5, t.t2i_r10, t.rsum,
       t.i2t_medr, t.t2i_medr, t.chance_rsum, t.test_images, t.test_captions,
       l.interactions, l.query_ms, l.index_floats, l.encode_text_ms, l.encode_image_ms,
       r.train_seconds, r.teacher_run_id, r.config_hash, r.started_at, r.finished_at
FROM runs r
JOIN experiments e ON e.id = r.experiment_id
LEFT JOIN (
  SELECT run_id,
         MAX(CASE WHEN name = 'i2t_r1' THEN value END) AS i2t_r1,
         MAX(CASE WHEN name = 'i2t_r5' THEN value END) AS i2t_r5,
         MAX(CASE WHEN name = 'i2t_r10' THEN value END) AS i2t_r10,
         MAX(CASE WHEN name = 't2i_r1' THEN value END) AS t2i_r1,
         MAX(CASE WHEN name = 't2i_r5' THEN value END) AS t2i_r5,
         MAX(CASE WHEN name = 't2i_r10' THEN value END) AS t2i_r10,
         MAX(CASE WHEN name = 'rsum' THEN value END) AS rsum,
         MAX(CASE WHEN name = 'i2t_medr' THEN value END) AS i2t_medr,
         MAX(CASE WHEN name = 't2i_medr' THEN value END) AS t2i_medr,
         MAX(CASE WHEN name = 'chance_rsum' THEN value END) AS chance_rsum,
         MAX(CASE WHEN name = 'n_images' THEN value END) AS test_images,
         MAX(CASE WHEN name = 'n_captions' THEN value END) AS test_captions
  FROM results WHERE split = 'test' GROUP BY run_id
) t ON t.run_id = r.id
LEFT JOIN (
  SELECT run_id,
         MAX(CASE WHEN name = 'interactions' THEN value END) AS interactions,
         MAX(CASE WHEN name = 'query_ms' THEN value END) AS query_ms,
         MAX(CASE WHEN name = 'index_floats' THEN value END) AS index_floats,
         MAX(CASE WHEN name = 'encode_text_ms' THEN value END) AS encode_text_ms,
         MAX(CASE WHEN name = 'encode_image_ms' THEN value END) AS encode_image_ms
  FROM latency GROUP BY run_id
) l ON l.run_id = r.id;
