-- The Sync feed (ours, docs/bulk.md "Sync"): the profiles an account's
-- events name, after a position of its commit-ordered event stream, each
-- once per page in its current state (tables: 005_data, 007_event_order,
-- 015_profile_doc).
--
-- The one current definition of each function here: edit it in place and
-- run `prefsctl migrate` (sql/README.md).


-- A page of changes after (p_after_txid, p_after_id) (none: from the
-- oldest event kept).  The events after the position, below the account's
-- horizon (prefs_event_horizon_for: every transaction that could still
-- add one of its events below it has ended), in (txid, event_id) order,
-- at most 5,000 of them, cut before the first event of the
-- (p_limit + 1)th profile: the page is the distinct profiles of that run
-- of events, ordered by their last event in it, and the next position is
-- its last event.  A profile changed again after that position comes
-- again on a later page; no position is served twice.
--
-- Each profile is its stored copy (prefs_profile_doc) when current, else
-- rendered here without storing it (the function reads only, so it can
-- run on a standby); an erased profile, or one no longer there, is a
-- tombstone.  outcome 'ok', or 'gone' when the position's event is no
-- longer kept (its day's partition was dropped: changes may be missing
-- after it, start again from an export).
CREATE OR REPLACE FUNCTION prefs_sync_changes(p_account_id bigint,
    p_after_txid text, p_after_id bigint, p_limit integer)
RETURNS TABLE (outcome text, message text, changes text, n integer,
               last_txid text, last_id text, has_more boolean)
LANGUAGE plpgsql STABLE
-- a cursor near the end (a few rows) and one far behind (read in index
-- order and stop) want different plans, as in prefs_events_list
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_after    xid8 := coalesce(p_after_txid, '0')::xid8;
    v_after_id bigint := coalesce(p_after_id, 0);
    v_horizon  xid8 := prefs_event_horizon_for(p_account_id);
    v_scan     CONSTANT integer := 5000;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'prefs_sync_changes: bad arguments';
    END IF;

    IF p_after_txid IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM prefs_event e
                        WHERE e.account_id = p_account_id
                          AND e.txid = v_after AND e.event_id = v_after_id)
    THEN
        RETURN QUERY SELECT 'gone'::text,
            'The cursor''s position is older than the events kept: changes '
            'after it may be missing. Start again without after (and from '
            'a full export)'::text,
            NULL::text, 0, NULL::text, NULL::text, false;
        RETURN;
    END IF;

    RETURN QUERY
    WITH scan AS (
        SELECT c.txid, c.event_id, c.profile_id, c.recorded_date
          FROM ((SELECT e.txid, e.event_id, e.profile_id, e.recorded_date
                   FROM prefs_event e
                  WHERE e.account_id = p_account_id
                    AND e.txid = v_after
                    AND e.event_id > v_after_id
                    AND e.txid < v_horizon
                  ORDER BY e.event_id
                  LIMIT v_scan + 1)
                UNION ALL
                (SELECT e.txid, e.event_id, e.profile_id, e.recorded_date
                   FROM prefs_event e
                  WHERE e.account_id = p_account_id
                    AND e.txid > v_after
                    AND e.txid < v_horizon
                  ORDER BY e.txid, e.event_id
                  LIMIT v_scan + 1)) c
         ORDER BY c.txid, c.event_id
         LIMIT v_scan + 1),
    ordered AS (
        SELECT s.*, row_number() OVER (ORDER BY s.txid, s.event_id) AS rn
          FROM scan s),
    marked AS (
        SELECT o.*,
               (o.profile_id IS NOT NULL
                AND row_number() OVER (PARTITION BY o.profile_id
                                       ORDER BY o.rn) = 1)::integer AS first
          FROM ordered o
         WHERE o.rn <= v_scan),
    counted AS (
        SELECT m.*, sum(m.first) OVER (ORDER BY m.rn) AS profiles
          FROM marked m),
    taken AS (
        SELECT * FROM counted WHERE profiles <= p_limit),
    changed AS (
        SELECT t.profile_id, max(t.rn) AS last_rn,
               max(t.recorded_date) AS changed_date
          FROM taken t
         WHERE t.profile_id IS NOT NULL
         GROUP BY t.profile_id),
    items AS (
        SELECT ch.last_rn,
               CASE WHEN p.profile_id IS NULL OR p.erased_at IS NOT NULL
                    THEN json_build_object(
                             'ProfileId', ch.profile_id,
                             'ChangedDate', prefs_iso(ch.changed_date),
                             'Erased', true,
                             'Profile', NULL)
                    ELSE json_build_object(
                             'ProfileId', ch.profile_id,
                             'ChangedDate', prefs_iso(ch.changed_date),
                             'Erased', false,
                             'Profile',
                             CASE WHEN d.src_xmin = p.xmin
                                  THEN d.doc::json
                                  ELSE prefs_data_profile_json(p, false)
                                  END)
                    END AS item
          FROM changed ch
          LEFT JOIN prefs_profile p
            ON p.account_id = p_account_id AND p.profile_id = ch.profile_id
          LEFT JOIN prefs_profile_doc d ON d.profile_id = p.profile_id)
    SELECT 'ok'::text, NULL::text,
           coalesce((SELECT json_agg(i.item ORDER BY i.last_rn)
                       FROM items i), '[]')::text,
           (SELECT count(*) FROM changed)::integer,
           (SELECT t.txid::text FROM taken t ORDER BY t.rn DESC LIMIT 1),
           (SELECT t.event_id::text FROM taken t ORDER BY t.rn DESC LIMIT 1),
           EXISTS (SELECT 1 FROM ordered o
                    WHERE o.rn > (SELECT coalesce(max(t.rn), 0)
                                    FROM taken t));
END
$$;
