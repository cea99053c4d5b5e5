-- 007: a commit-ordered position for every event.
--
-- event_id comes from a sequence when the row is inserted, so two
-- transactions can commit their events out of event_id order: a reader
-- that remembered "the last event_id I saw" would skip an event committed
-- after it read.  Each event therefore also carries the id of the
-- transaction that wrote it (txid), and readers walk events in
-- (txid, event_id) order, only as far as the oldest transaction still
-- running (pg_snapshot_xmin of the current snapshot): every transaction
-- below that horizon has ended, so nothing can appear behind a cursor
-- later.  A long-running writing transaction holds the horizon back; it
-- delays events, it never loses them.
--
--   prefs_event_horizon()      the bound: readers take txid < it
--   NOTIFY prefs_event         sent by every transaction that adds events,
--                              so that the helper can deliver at once
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

ALTER TABLE prefs_event
    ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX IF NOT EXISTS prefs_event_order
    ON prefs_event (txid, event_id);
CREATE INDEX IF NOT EXISTS prefs_event_account_order
    ON prefs_event (account_id, txid, event_id);
