-- Schema version 4: run_summary gains the validation side of a run, so that
-- configurations can be chosen on validation instead of test. Training
-- evaluates the validation split during training, keeps the checkpoint with
-- the best validation rSum, and records under results split 'val' the
-- metrics of that checkpoint (the same names as split 'test') with
-- 'epoch' (the epochs trained when the selected checkpoint was taken,
-- 1-based) and 'epochs' (the epochs actually trained: fewer than
-- train.epochs when early stopping ended training). Runs recorded before
-- version 4 have no such rows: their new columns are NULL. Only the view
-- changes; every table and row stays as it is.
--   val_rsum        results split 'val', name 'rsum';
--   selected_epoch  results split 'val', name 'epoch';
--   epochs_trained  results split 'val', name 'epochs'.
-- Every earlier column keeps its name and position; the new ones come last.
DROP VIEW run_summary;
CREATE VIEW run_summary AS
-- One row per run, metrics pivoted into columns; a metric is NULL when the run
-- has no such row (failed or unfinished runs, or runs recorded before the
-- metric was) or its value was not finite.
--   experiment .. error        the run itself (runs joined to experiments);
--   i2t_r1 .. t2i_medr, rsum   results of split 'test' under the same names;
--   chance_rsum, test_images, test_captions
--                              results of split 'test' named chance_rsum,
--                              n_images and n_captions;
--   interactions .. encode_image_ms
--                              latency rows under the same names;
--   train_seconds .. finished_at
--                              the run again;
--   val_rsum, selected_epoch, epochs_trained
--                              results of split 'val' named rsum, epoch and
--                              epochs.
SELECT e.name AS experiment, r.id AS run_id, r.model, r.codes, r.schedule, r.seed,
       r.dataset, r.protocol, r.status, r.error,
       t.i2t_r1, t.i2t_r5, t.i2t_r10, t.t2i_r1, t.t2i_r5, t.t2i_r10, t.rsum,
       t.i2t_medr, t.t2i_medr, t.chance_rsum, t.test_images, t.test_captions,
       l.interactions, l.query_ms, l.index_floats, l.encode_text_ms, l.encode_image_ms,
       r.train_seconds, r.teacher_run_id, r.config_hash, r.started_at, r.finished_at,
       v.val_rsum, v.selected_epoch, v.epochs_trained
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
) l ON l.run_id = r.id
LEFT JOIN (
  SELECT run_id,
         MAX(CASE WHEN name = 'rsum' THEN value END) AS val_rsum,
         MAX(CASE WHEN name = 'epoch' THEN value END) AS selected_epoch,
         MAX(CASE WHEN name = 'epochs' THEN value END) AS epochs_trained
  FROM results WHERE split = 'val' GROUP BY run_id
) v ON v.run_id = r.id;
