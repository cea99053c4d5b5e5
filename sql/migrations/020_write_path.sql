-- 020: the write path's storage (issue 11, section 2).
--
-- The rendered copy of a profile (prefs_profile_doc, 015) becomes a logged
-- table: every write keeps it current now (the deferred trigger
-- prefs_profile_doc_keep of sql/functions/profile.sql) and reads no longer
-- render, so a crash must not empty it (an unlogged table is truncated by
-- crash recovery, and every profile would be read cold again).  The copies
-- missing when this runs are built by sql/after_migrate.sql
-- (prefs_profile_doc_build), after the functions: migrations do not call
-- them.
--
-- Events' Data and PreviousData (a whole profile, a few KB, for
-- profile.updated and profile.replaced) are compressed with lz4 rather
-- than pglz: several times cheaper to compress on the write path.  New
-- daily partitions take the parent's setting (prefs_event_partitions
-- creates them INCLUDING COMPRESSION); existing ones get it here, for the
-- values written from now on.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

ALTER TABLE prefs_profile_doc SET LOGGED;

DO $$
DECLARE
    r  record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel
               FROM pg_class c
              WHERE c.oid = 'prefs_event'::regclass
                 OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i
                               WHERE i.inhparent = 'prefs_event'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN data SET COMPRESSION lz4, '
                       'ALTER COLUMN previous_data SET COMPRESSION lz4', r.rel);
    END LOOP;
END
$$;
