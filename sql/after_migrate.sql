-- Run by `prefsctl migrate` after the functions, in their transaction, on
-- every migrate (Flyway's afterMigrate): upkeep that needs the functions
-- and must hold right after a migrate, before the helper process first
-- runs.  Idempotent.
--
-- Event partitions from today to 7 days ahead, so that a new database
-- files today's events in their day's partition.  Nothing is dropped here
-- (3650 days is prefs_event_history_days' largest value): the helper
-- drops what is older than the configured history.
SELECT count(*) FROM prefs_event_partitions(7, 3650);

-- (Rendered copies missing after a migration are built after this
-- transaction, in batches: sql/after_migrate_batches.sql.)

-- The row triggers that notify prefs_edge, naming the accounts served at
-- the edge (sql/functions/edge.sql); none while no account is.
SELECT prefs_edge_triggers();
