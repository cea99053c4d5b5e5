-- 015: GET Profile/{id} from a rendered copy of the profile.
--
-- Rendering a profile (its contact points, preferences, consents, custom
-- fields, groups and tags) takes a dozen index scans and JSON building;
-- profiles are read far more often than they change.  prefs_profile_doc
-- keeps the rendered document (without consent history) with the xmin of
-- the prefs_profile row it was rendered from.
--
-- Why that is enough: every write that changes any part of a profile also
-- updates its prefs_profile row (the Edited fields), in the same
-- transaction, so the row's xmin names the last change.  A copy whose
-- src_xmin is not the row's current xmin is stale and is never served.  A
-- reader that rendered from an older snapshot stores the old xmin, so it
-- cannot plant a stale copy either; and it stores nothing at all unless
-- the row still has that xmin, checked under FOR SHARE, so a copy never
-- outlives an erasure (an update of the row deletes its copy, below).
--
-- The table is UNLOGGED: a cache, emptied by a crash, rebuilt on reads.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

CREATE UNLOGGED TABLE IF NOT EXISTS prefs_profile_doc (
    profile_id  bigint PRIMARY KEY,
    src_xmin    xid    NOT NULL,
    doc         text   NOT NULL
);

-- documents of a few KB: kept in the row, compressed with lz4 (cheap to
-- open) rather than moved out to TOAST
ALTER TABLE prefs_profile_doc ALTER COLUMN doc SET STORAGE MAIN;
ALTER TABLE prefs_profile_doc ALTER COLUMN doc SET COMPRESSION lz4;
