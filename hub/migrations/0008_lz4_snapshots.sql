-- Snapshots (a few KB of JSON each) are compressed with lz4 instead of PostgreSQL's default
-- pglz: in the initial sync's commits pglz took about three quarters of the time of writing
-- 500 snapshots, lz4 a quarter (docs/benchmarks.md). Needs a PostgreSQL built with lz4
-- (14 or later; Debian's, the official images'); applies to values written from now on.
ALTER TABLE association ALTER COLUMN snapshot SET COMPRESSION lz4;
ALTER TABLE outbox ALTER COLUMN body SET COMPRESSION lz4;
ALTER TABLE dead_letter ALTER COLUMN body SET COMPRESSION lz4;
