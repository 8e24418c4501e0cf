-- Schema version 3: adds the per-query ranks of each evaluation, so that a
-- paired bootstrap over test queries can be computed without retraining.
-- Runs recorded before version 3 simply have no rows here.
--   ranks.split      as in results ("test", "test-5fold", "transfer:emoji", ...);
--   ranks.direction  'i2t' (one rank per image) or 't2i' (one per caption);
--   ranks.ranks      the 1-based rank of each query's first correct item,
--                    in query order, as little-endian uint32 (4 bytes each).
CREATE TABLE ranks(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  split TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('i2t','t2i')),
  ranks BLOB NOT NULL,
  PRIMARY KEY(run_id, split, direction));
