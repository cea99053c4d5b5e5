-- 029: consent at the edge (docs/edge.md).  The accounts whose visitors a
-- prefs_edge location has asked about: a change of one of their profiles
-- notifies prefs_edge (sql/functions/edge.sql), so that every worker drops
-- what it keeps of that profile.  Other accounts' writes notify nothing: a
-- notifying commit takes a database-wide lock (see prefs_event_add).

CREATE TABLE IF NOT EXISTS prefs_edge_account (
    account_id   bigint      PRIMARY KEY
                 REFERENCES prefs_account (account_id) ON DELETE CASCADE,
    since        timestamptz NOT NULL DEFAULT now()
);
