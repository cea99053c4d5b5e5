-- Events: appending (the transactional outbox), daily partitions, the
-- envelope of contract section 7, and the Events API's queries (tables:
-- 005_data, 007_event_order, 008_webhook_base, 011_events).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- Creates the daily partitions from today (UTC) to p_days_ahead days
-- ahead, and drops those wholly older than p_keep_days days (and the
-- DEFAULT partition's rows that old).  Returns what it did:
-- ('created' | 'dropped', partition name).  Idempotent.
CREATE OR REPLACE FUNCTION prefs_event_partitions(p_days_ahead integer,
    p_keep_days integer)
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql AS $$
DECLARE
    today  date := (now() AT TIME ZONE 'UTC')::date;
    d      date;
    lo     timestamptz;
    hi     timestamptz;
    nm     text;
    r      record;
    timeout text;
BEGIN
    IF p_days_ahead IS NULL OR p_days_ahead < 0 OR p_keep_days IS NULL
       OR p_keep_days < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'prefs_event_partitions: days ahead must be >= 0 and '
                      'days kept >= 1';
    END IF;
    -- serialize concurrent callers
    PERFORM pg_advisory_xact_lock(hashtext('prefs_event_partitions'));

    -- Dropping a partition locks it, then prefs_event; a reader (the webhook
    -- claim, the Events API) locks prefs_event, then each partition: the two
    -- orders deadlock.  So prefs_event is locked first, and only when there
    -- is a partition to make or drop (once a day): writers queue behind the
    -- request, hence the short lock_timeout (the caller retries later).
    IF EXISTS (SELECT FROM generate_series(0, p_days_ahead) AS g(i)
                WHERE to_regclass('prefs_event_p'
                                  || to_char(today + g.i, 'YYYYMMDD')) IS NULL)
       OR EXISTS (SELECT FROM pg_inherits i
                    JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'prefs_event'::regclass
                     AND c.relname ~ '^prefs_event_p[0-9]{8}$'
                     AND to_date(substr(c.relname, 14), 'YYYYMMDD') + 1
                         <= today - p_keep_days)
    THEN
        timeout := current_setting('lock_timeout');
        PERFORM set_config('lock_timeout', '2s', true);
        LOCK TABLE prefs_event IN ACCESS EXCLUSIVE MODE;
        PERFORM set_config('lock_timeout', timeout, true);
    END IF;

    FOR i IN 0 .. p_days_ahead LOOP
        d := today + i;
        nm := 'prefs_event_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(nm) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        -- rows of that day already in DEFAULT go along
        EXECUTE format('CREATE TABLE %I (LIKE prefs_event INCLUDING DEFAULTS '
                       'INCLUDING CONSTRAINTS INCLUDING COMPRESSION)', nm);
        EXECUTE format('WITH m AS (DELETE FROM prefs_event_default '
                       'WHERE recorded_date >= $1 AND recorded_date < $2 '
                       'RETURNING *) INSERT INTO %I SELECT * FROM m', nm)
            USING lo, hi;
        EXECUTE format('ALTER TABLE prefs_event ATTACH PARTITION %I '
                       'FOR VALUES FROM (%L) TO (%L)', nm, lo, hi);
        action := 'created';
        partition_name := nm;
        RETURN NEXT;
    END LOOP;

    FOR r IN SELECT c.relname
               FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'prefs_event'::regclass
                AND c.relname ~ '^prefs_event_p[0-9]{8}$'
              ORDER BY c.relname
    LOOP
        d := to_date(substr(r.relname, 14), 'YYYYMMDD');
        IF d + 1 <= today - p_keep_days THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            action := 'dropped';
            partition_name := r.relname;
            RETURN NEXT;
        END IF;
    END LOOP;
    DELETE FROM prefs_event_default
     WHERE recorded_date < (today - p_keep_days)::timestamp AT TIME ZONE 'UTC';
END
$$;


CREATE OR REPLACE FUNCTION prefs_event_entity(p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE split_part(p_type, '.', 1)
        WHEN 'profile' THEN 'ProfileActions'
        WHEN 'preference' THEN 'Preferences'
        WHEN 'consent' THEN 'Consents'
        WHEN 'contacts' THEN 'Contacts'
        WHEN 'standardfield' THEN 'StandardFields'
        WHEN 'customfield' THEN 'CustomFields'
        WHEN 'group' THEN 'Groups'
        WHEN 'tag' THEN 'Tags'
        ELSE 'Other' END
$$;


-- The wake-up of the webhook pump after an account's events (see
-- prefs_event_add): a notification when the account has a subscription
-- that can take them now.
CREATE OR REPLACE FUNCTION prefs_event_wake(p_account_id bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM prefs_webhook_subscription s
                WHERE s.account_id = p_account_id AND s.state = 'Active'
                  AND s.validated_at IS NOT NULL) THEN
        PERFORM pg_notify('prefs_event', '');
    END IF;
END
$$;


CREATE OR REPLACE FUNCTION prefs_event_add(p_account_id bigint,
    p_user_id bigint, p_type text, p_profile_id bigint, p_data jsonb,
    p_previous jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    -- the write engine's SuppressEvents (prefs_engine_run sets it for its
    -- batch): no event, so no webhook
    IF current_setting('prefs.suppress_events', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- a transaction scoped to one account (prefs_event_scope) keeps to it:
    -- other accounts' readers do not wait for it
    IF coalesce(current_setting('prefs.event_scope', true), '')
       NOT IN ('', p_account_id::text) THEN
        RAISE EXCEPTION 'prefs_event_add: this transaction adds events of '
                        'account % only', current_setting('prefs.event_scope');
    END IF;
    INSERT INTO prefs_event (account_id, event_type, entity, subject,
                             profile_id, data, previous_data, recorded_by)
    VALUES (p_account_id, p_type, prefs_event_entity(p_type),
            'Profile/' || p_profile_id, p_profile_id, p_data, p_previous,
            p_user_id)
    RETURNING event_id INTO id;
    -- The notification wakes the helper's webhook pump at once; it is
    -- sent only when the account has a subscription that can take the
    -- event now.  A transaction that notifies takes a database-wide lock
    -- at commit (PostgreSQL serializes notifying commits), which capped
    -- concurrent writes; events no subscription waits for need no wake-up.
    -- A subscription validated or resumed meanwhile gets its events from
    -- the pump's next claim (its timer, or any later notification): the
    -- fan-out reads every event in commit order, notified or not.
    -- One notification per transaction whatever the number of events.
    PERFORM prefs_event_wake(p_account_id);
    RETURN id;
END
$$;


CREATE OR REPLACE FUNCTION prefs_event_horizon() RETURNS xid8
LANGUAGE sql STABLE AS $$
    SELECT pg_snapshot_xmin(pg_current_snapshot())
$$;


-- An account's event scope: the calling transaction declares that it adds
-- events of this account only (an import batch, a Stage chunk: long
-- transactions of one account).  A transaction-level shared advisory lock
-- (class prefs_event_scope_class(), key the account folded to 31 bits),
-- which readers see in pg_locks beside the transaction's id, and
-- prefs.event_scope, which prefs_event_add checks: an event of another
-- account in a scoped transaction is an error, so the declaration holds
-- for the whole transaction.  Declaring the same account again is free.
CREATE OR REPLACE FUNCTION prefs_event_scope_class() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT 1886545267       -- 'prfs'
$$;

CREATE OR REPLACE FUNCTION prefs_event_scope_key(p_account_id bigint)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_account_id & 2147483647)::integer
$$;

CREATE OR REPLACE FUNCTION prefs_event_scope(p_account_id bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur  text := current_setting('prefs.event_scope', true);
BEGIN
    IF cur = p_account_id::text THEN
        RETURN;
    END IF;
    IF coalesce(cur, '') <> '' THEN
        RAISE EXCEPTION 'prefs_event_scope: this transaction adds events of '
                        'account % only', cur;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(prefs_event_scope_class(),
                                         prefs_event_scope_key(p_account_id));
    PERFORM set_config('prefs.event_scope', p_account_id::text, true);
END
$$;


-- The horizon of one account's events (the Events API, the Sync feed):
-- prefs_event_horizon, except that a running transaction scoped to
-- another account (prefs_event_scope) does not hold it back, since it
-- cannot add an event of this one.  Below it, every transaction that
-- could have added one of the account's events has ended.  An unscoped
-- transaction (any API write, a psql session) still holds every account
-- back, as does a scoped one whose account's key is this account's
-- (two accounts 2^31 apart).  A scoped transaction seen in pg_locks after
-- the snapshot was taken only makes the horizon later when it was running
-- at the snapshot (then it was scoped all along); one that ended since is
-- not in pg_locks and holds the horizon back, the safe side.  On a hot
-- standby pg_locks shows none of the primary's transactions: the horizon
-- is prefs_event_horizon's there.
CREATE OR REPLACE FUNCTION prefs_event_horizon_for(p_account_id bigint)
RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s      pg_snapshot := pg_current_snapshot();
    h      xid8;
BEGIN
    IF pg_snapshot_xmin(s) = pg_snapshot_xmax(s) THEN
        RETURN pg_snapshot_xmin(s);         -- nothing running
    END IF;
    -- Reading pg_locks costs about 0.1 ms; only import batches and Stage
    -- chunks scope themselves, so without an import staging or processing
    -- there is nothing to skip (one that starts meanwhile is not skipped:
    -- the safe side)
    IF NOT EXISTS (SELECT 1 FROM prefs_import i
                    WHERE i.status IN ('Initiated', 'Staging', 'Queued',
                                       'Processing'))
    THEN
        RETURN pg_snapshot_xmin(s);
    END IF;
    -- pg_locks read once: the scope locks of other accounts and the ids
    -- of the transactions (by virtual transaction) that hold them
    WITH l AS MATERIALIZED (
        SELECT locktype, classid, objid, objsubid, virtualtransaction,
               transactionid, mode, granted
          FROM pg_locks
         WHERE locktype IN ('advisory', 'transactionid') AND granted),
    scoped AS (
        SELECT t.transactionid
          FROM l a
          JOIN l t ON t.virtualtransaction = a.virtualtransaction
                  AND t.locktype = 'transactionid'
                  AND t.mode = 'ExclusiveLock'
         WHERE a.locktype = 'advisory'
           AND a.classid = prefs_event_scope_class()::oid
           AND a.objsubid = 2
           AND a.objid <> prefs_event_scope_key(p_account_id)::oid)
    SELECT min(x) INTO h
      FROM pg_snapshot_xip(s) x
     WHERE NOT EXISTS (SELECT 1 FROM scoped c
                        WHERE c.transactionid = x::xid);
    RETURN coalesce(h, pg_snapshot_xmax(s));
END
$$;


-- The reference's misspelled type is an alias of the right one.
CREATE OR REPLACE FUNCTION prefs_event_type_canonical(p_type text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_type
        WHEN 'consent.elementassocation.deactivated'
            THEN 'consent.elementassociation.deactivated'
        ELSE p_type END
$$;


-- Does a subscription's "Subscriptions" array select an event of this
-- type and data?  An entry matches when its EventType is the event's and
-- its qualifier list (by entity) is absent, holds the entity's wildcard,
-- or holds the event's qualifier value (compared without case).
CREATE OR REPLACE FUNCTION prefs_event_matches(p_subs jsonb, p_type text,
    p_data jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (
        SELECT 1
          FROM jsonb_array_elements(CASE jsonb_typeof(p_subs)
                   WHEN 'array' THEN p_subs ELSE '[]' END) s,
               LATERAL (SELECT CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN 'Filters'
                   WHEN 'consent' THEN 'ConsentTypes'
                   WHEN 'contacts' THEN 'ContactTypes'
                   WHEN 'group' THEN 'Groups'
                   WHEN 'customfield' THEN 'CustomFields'
                   END AS key,
                   CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN 'AllFilters'
                   WHEN 'consent' THEN 'AllConsents'
                   WHEN 'contacts' THEN 'AllContactTypes'
                   WHEN 'group' THEN 'AllGroups'
                   WHEN 'customfield' THEN 'AllCustomFields'
                   END AS wildcard,
                   CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN p_data->>'FilterId'
                   -- TypeName: consent events recorded before 021
                   WHEN 'consent' THEN coalesce(p_data->>'ConsentType',
                                                p_data->>'TypeName')
                   -- an alternate id's Type; a contact point's type by
                   -- the name its model gives it
                   WHEN 'contacts' THEN coalesce(p_data->>'Type',
                       p_data->>'EmailAddressType', p_data->>'PhoneNumberType',
                       p_data->>'AddressType')
                   WHEN 'group' THEN coalesce(p_data->>'Type',
                                              p_data->>'Name')
                   WHEN 'customfield' THEN p_data->>'Name'
                   END AS value) q
         WHERE jsonb_typeof(s) = 'object'
           AND prefs_event_type_canonical(s->>'EventType')
               = prefs_event_type_canonical(p_type)
           AND (q.key IS NULL
                OR jsonb_typeof(s->q.key) IS DISTINCT FROM 'array'
                OR jsonb_array_length(s->q.key) = 0
                OR EXISTS (SELECT 1
                             FROM jsonb_array_elements_text(s->q.key) v
                            WHERE lower(v) = lower(q.wildcard)
                               OR lower(v) = lower(q.value)))
    )
$$;


-- (name, description) of a type in a locale: the locale, its language,
-- en-US, or the type itself.
CREATE OR REPLACE FUNCTION prefs_event_type_name(p_type text, p_locale text,
    OUT name text, OUT description text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(t.name, p_type), coalesce(t.description, '')
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (
          SELECT x.name, x.description
            FROM prefs_event_type_text x
           WHERE x.event_type = prefs_event_type_canonical(p_type)
             AND (lower(x.locale) = lower(replace(p_locale, '_', '-'))
                  OR lower(split_part(x.locale, '-', 1))
                     = lower(split_part(replace(p_locale, '_', '-'), '-', 1))
                  OR x.locale = 'en-US')
           ORDER BY lower(x.locale) = lower(replace(p_locale, '_', '-')) DESC,
                    lower(split_part(x.locale, '-', 1))
                    = lower(split_part(replace(p_locale, '_', '-'), '-', 1))
                    DESC
           LIMIT 1) t ON true
$$;


-- The envelope of contract section 7 split in two: the JSON built from values looked up beforehand, a plain expression
-- that the planner inlines, and the lookups.  A claim renders hundreds of
-- bodies in one statement with the names looked up once per type and
-- locale (a dozen times faster than the envelope function per row); the
-- Events API's prefs_event_envelope keeps its signature and output and
-- now builds through the same expression, so both render alike.
CREATE OR REPLACE FUNCTION prefs_event_envelope_build(e prefs_event,
    p_name text, p_description text, p_subscription_id bigint,
    p_alternate_id_type text, p_alternate_id text, p_recorded_by text,
    p_minimized boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'EventId', e.event_id::text,
               'EventType', e.event_type,
               'Entity', e.entity,
               'Subject', e.subject,
               'SubscriptionId', p_subscription_id,
               'Name', p_name,
               'Description', p_description,
               'EventDate', prefs_iso(e.event_date),
               'QueuedDate', prefs_iso(e.queued_date),
               'RecordedDate', prefs_iso(e.recorded_date),
               'RecordedBy', p_recorded_by))
           || jsonb_build_object('ProfileId',
                  CASE WHEN p_alternate_id_type IS NULL
                       THEN to_jsonb(e.profile_id)
                       ELSE to_jsonb(p_alternate_id) END)
           || CASE WHEN p_alternate_id_type IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('AlternateIdType',
                                           p_alternate_id_type) END
           || CASE WHEN p_minimized THEN '{}'::jsonb
                   ELSE jsonb_build_object('Data', e.data)
                        || CASE WHEN e.previous_data IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('PreviousData',
                                                        e.previous_data) END
              END
$$;


-- the profile's active alternate id of a type (the newest)
CREATE OR REPLACE FUNCTION prefs_event_alternate_id(p_account_id bigint,
    p_profile_id bigint, p_type text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT a.value
      FROM prefs_profile_alternate_id a
     WHERE a.account_id = p_account_id
       AND a.profile_id = p_profile_id
       AND a.type = p_type
       AND a.is_active
     ORDER BY a.alternate_id_id DESC
     LIMIT 1
$$;


CREATE OR REPLACE FUNCTION prefs_event_envelope(e prefs_event,
    p_locale text DEFAULT 'en-US', p_subscription_id bigint DEFAULT NULL,
    p_alternate_id_type text DEFAULT NULL, p_minimized boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT prefs_event_envelope_build(e, n.name, n.description,
               p_subscription_id, p_alternate_id_type,
               CASE WHEN p_alternate_id_type IS NOT NULL
                    THEN prefs_event_alternate_id(e.account_id, e.profile_id,
                                                  p_alternate_id_type) END,
               (SELECT u.user_name FROM prefs_user u
                 WHERE u.user_id = e.recorded_by),
               p_minimized)
      FROM prefs_event_type_name(e.event_type, p_locale) n
$$;


-- A point in time from a query parameter: ISO 8601, UTC without an
-- offset, a date alone is its midnight UTC.
CREATE OR REPLACE FUNCTION prefs_events_time(p_value jsonb, p_name text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s  text;
BEGIN
    IF jsonb_typeof(p_value) = 'string' THEN
        s := p_value #>> '{}';
        BEGIN
            IF s ~ '^\d{4}-\d{2}-\d{2}$' THEN
                RETURN s::date::timestamp AT TIME ZONE 'UTC';
            ELSIF s ~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$'
            THEN
                RETURN s::timestamp AT TIME ZONE 'UTC';
            ELSIF s ~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?'
                      '(Z|z|[+-]\d{2}(:?\d{2})?)$' THEN
                RETURN s::timestamptz;
            END IF;
        EXCEPTION WHEN data_exception THEN
            NULL;
        END;
    END IF;
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = p_name || ' must be an ISO 8601 date such as '
                  '2026-01-31T12:00:00Z';
END
$$;


-- The strings of a parameter given as "a,b" or as name[0]=a&name[1]=b
-- (or both), trimmed, without empty items.
CREATE OR REPLACE FUNCTION prefs_events_list_items(p_value jsonb,
    p_name text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out  text[] := '{}';
    v    jsonb;
    t    text;
BEGIN
    FOR v IN SELECT x FROM jsonb_array_elements(
                 CASE jsonb_typeof(p_value) WHEN 'array' THEN p_value
                      ELSE jsonb_build_array(p_value) END) x
    LOOP
        IF jsonb_typeof(v) <> 'string' THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = p_name || ' must be a list of values';
        END IF;
        FOREACH t IN ARRAY string_to_array(v #>> '{}', ',') LOOP
            t := btrim(t);
            IF t <> '' THEN
                out := out || t;
            END IF;
        END LOOP;
    END LOOP;
    IF cardinality(out) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = p_name || ' must not be empty';
    END IF;
    IF cardinality(out) > 100 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = p_name || ' has more than 100 values';
    END IF;
    RETURN out;
END
$$;


-- A page of events.  p_kind: 'account' (GET Events), 'subscription'
-- (p_key is the subscription: the events it selects, with its
-- SubscriptionId and AlternateIdType in the envelopes) or 'profile'
-- (p_key is the profile; subscribedOnly, true unless given, keeps the
-- events that some Active subscription of the account selects).
--
-- outcome 'ok' with the page's envelopes as a JSON array, their count,
-- the (txid, event_id) of the last one and whether more follow; or
-- 'not_found' with a message.  p_limit events at most; only those
-- recorded within p_window_days days (startAt earlier is moved up to
-- the window's start).
CREATE OR REPLACE FUNCTION prefs_events_list(p_account_id bigint,
    p_kind text, p_key bigint, p_args jsonb, p_locale text,
    p_after_txid text, p_after_id bigint, p_limit integer,
    p_window_days integer)
RETURNS TABLE (outcome text, message text, events text, n integer,
               last_txid text, last_id text, has_more boolean)
LANGUAGE plpgsql STABLE
-- planned with the values at hand: a generic plan cannot tell a cursor
-- near the end (a few rows: sort them) from one far behind or inside one
-- large transaction (many rows: read them in index order and stop)
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    k             text;
    v             jsonb;
    seen          text[] := '{}';
    t             text;
    v_types       text[];
    v_groups      bigint[];
    v_start       timestamptz;
    v_end         timestamptz;
    v_floor       timestamptz;
    v_subscribed  boolean := (p_kind = 'profile');
    v_after       xid8;
    v_horizon     xid8 := prefs_event_horizon_for(p_account_id);
    v_users       bigint[];
    s_id          bigint;
    s_subs        jsonb;
    s_alt         text;
BEGIN
    IF p_window_days IS NULL OR p_window_days < 1 OR p_limit IS NULL
       OR p_limit < 1 OR p_limit > 1000
       OR p_kind NOT IN ('account', 'subscription', 'profile')
    THEN
        RAISE EXCEPTION 'prefs_events_list: bad arguments';
    END IF;

    FOR k, v IN SELECT * FROM jsonb_each(coalesce(p_args, '{}')) LOOP
        IF lower(k) = ANY (seen) THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = k || ' is given twice';
        END IF;
        seen := seen || lower(k);

        CASE lower(k)
        WHEN 'eventtype' THEN
            v_types := '{}';
            FOREACH t IN ARRAY prefs_events_list_items(v, k) LOOP
                t := prefs_event_type_canonical(t);
                IF NOT EXISTS (SELECT 1 FROM prefs_event_type_text x
                                WHERE x.event_type = t)
                   OR t = 'webhook.validation'
                THEN
                    RAISE EXCEPTION USING ERRCODE = '22023',
                        MESSAGE = k || ': "' || left(t, 100)
                                  || '" is not an event type';
                END IF;
                v_types := v_types || t;
            END LOOP;
        WHEN 'startat' THEN
            v_start := prefs_events_time(v, k);
        WHEN 'endat' THEN
            v_end := prefs_events_time(v, k);
        WHEN 'sourcegroupids' THEN
            v_groups := '{}';
            FOREACH t IN ARRAY prefs_events_list_items(v, k) LOOP
                IF t !~ '^[0-9]{1,18}$' THEN
                    RAISE EXCEPTION USING ERRCODE = '22023',
                        MESSAGE = k || ': "' || left(t, 100)
                                  || '" is not a source group id';
                END IF;
                v_groups := v_groups || t::bigint;
            END LOOP;
        WHEN 'subscribedonly' THEN
            IF p_kind <> 'profile' THEN
                RAISE EXCEPTION USING ERRCODE = '22023',
                    MESSAGE = k || ' is only for Events/Profile/{profileId}';
            END IF;
            IF jsonb_typeof(v) <> 'string'
               OR lower(v #>> '{}') NOT IN ('true', 'false')
            THEN
                RAISE EXCEPTION USING ERRCODE = '22023',
                    MESSAGE = k || ' must be true or false';
            END IF;
            v_subscribed := lower(v #>> '{}') = 'true';
        ELSE
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = 'unknown query parameter "' || left(k, 64) || '"';
        END CASE;
    END LOOP;

    v_floor := now() - make_interval(days => p_window_days);
    v_start := coalesce(v_start, v_floor);

    IF v_end IS NOT NULL AND v_start >= v_end THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'startAt must precede endAt';
    END IF;

    -- the window bounds what is kept; earlier is not an error
    v_start := greatest(v_start, v_floor);

    -- sourceGroupIds: events carry no source group; their recording
    -- user's is taken
    IF v_groups IS NOT NULL THEN
        SELECT coalesce(array_agg(u.user_id), '{}') INTO v_users
          FROM prefs_user u
         WHERE u.account_id = p_account_id
           AND u.source_group_id = ANY (v_groups);
        IF cardinality(v_users) = 0 THEN
            v_start := 'infinity';
        END IF;
    END IF;

    -- no cursor: from the start; event ids are positive
    v_after := coalesce(p_after_txid, '0')::xid8;
    p_after_id := coalesce(p_after_id, 0);

    IF p_kind = 'subscription' THEN
        SELECT s.subscription_id, s.subscriptions, s.alternate_id_type
          INTO s_id, s_subs, s_alt
          FROM prefs_webhook_subscription s
         WHERE s.account_id = p_account_id AND s.subscription_id = p_key;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'not_found'::text,
                'No subscription has the id ' || p_key, NULL::text,
                0, NULL::text, NULL::text, false;
            RETURN;
        END IF;

    ELSIF p_kind = 'profile' THEN
        PERFORM 1 FROM prefs_profile p
          WHERE p.account_id = p_account_id AND p.profile_id = p_key;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'not_found'::text,
                'No profile has the id ' || p_key, NULL::text,
                0, NULL::text, NULL::text, false;
            RETURN;
        END IF;
    END IF;

    -- After the cursor: the rest of its transaction, then the later
    -- transactions below the horizon.  Two ranges rather than one row
    -- comparison: the planner estimates each well, where it took
    -- "(txid, event_id) > (t, n)" for "txid > t" and so expected nothing
    -- to follow inside one large transaction (sorting 200,000 rows to
    -- find a page of them).  The filters are the same in both.
    RETURN QUERY
    WITH page AS (
        SELECT c.e
          FROM ((SELECT e
                   FROM prefs_event e
                  WHERE e.account_id = p_account_id
                    AND e.txid = v_after
                    AND e.event_id > p_after_id
                    AND e.txid < v_horizon
               AND e.recorded_date >= v_start
                    AND (v_end IS NULL OR e.recorded_date < v_end)
                    AND (v_types IS NULL OR e.event_type = ANY (v_types))
                    AND (v_users IS NULL OR e.recorded_by = ANY (v_users))
                    AND (p_kind <> 'profile' OR e.profile_id = p_key)
                    AND (s_subs IS NULL
                         OR prefs_event_matches(s_subs, e.event_type, e.data))
                    AND (NOT v_subscribed
                         OR EXISTS (SELECT 1 FROM prefs_webhook_subscription s
                                     WHERE s.account_id = p_account_id
                                       AND s.state = 'Active'
                                       AND prefs_event_matches(s.subscriptions,
                                                               e.event_type,
                                                               e.data)))
                  ORDER BY e.event_id
                  LIMIT p_limit + 1)
                UNION ALL
                (SELECT e
                   FROM prefs_event e
                  WHERE e.account_id = p_account_id
                    AND e.txid > v_after
                    AND e.txid < v_horizon
               AND e.recorded_date >= v_start
                    AND (v_end IS NULL OR e.recorded_date < v_end)
                    AND (v_types IS NULL OR e.event_type = ANY (v_types))
                    AND (v_users IS NULL OR e.recorded_by = ANY (v_users))
                    AND (p_kind <> 'profile' OR e.profile_id = p_key)
                    AND (s_subs IS NULL
                         OR prefs_event_matches(s_subs, e.event_type, e.data))
                    AND (NOT v_subscribed
                         OR EXISTS (SELECT 1 FROM prefs_webhook_subscription s
                                     WHERE s.account_id = p_account_id
                                       AND s.state = 'Active'
                                       AND prefs_event_matches(s.subscriptions,
                                                               e.event_type,
                                                               e.data)))
                  ORDER BY e.txid, e.event_id
                  LIMIT p_limit + 1)) c
         ORDER BY (c.e).txid, (c.e).event_id
         LIMIT p_limit + 1),
    numbered AS (
        SELECT p.e, row_number() OVER (ORDER BY (p.e).txid, (p.e).event_id)
                    AS rn
          FROM page p),
    shown AS (
        SELECT * FROM numbered WHERE rn <= p_limit)
    SELECT 'ok'::text, NULL::text,
           coalesce((SELECT json_agg(prefs_event_envelope(x.e, p_locale,
                                         s_id, s_alt) ORDER BY x.rn)
                       FROM shown x), '[]')::text,
           (SELECT count(*) FROM shown)::integer,
           (SELECT (x.e).txid::text FROM shown x ORDER BY x.rn DESC LIMIT 1),
           (SELECT (x.e).event_id::text FROM shown x
             ORDER BY x.rn DESC LIMIT 1),
           EXISTS (SELECT 1 FROM numbered WHERE rn > p_limit);
END
$$;


-- One event by id: its envelope (without SubscriptionId), or NULL when
-- the account has no such event within the window.
CREATE OR REPLACE FUNCTION prefs_event_get(p_account_id bigint,
    p_event_id bigint, p_locale text, p_window_days integer)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT prefs_event_envelope(e, p_locale)::text
      FROM prefs_event e
     WHERE e.account_id = p_account_id
       AND e.event_id = p_event_id
       AND e.recorded_date >= now() - make_interval(days => p_window_days)
$$;


-- Partition upkeep as the helper runs it: what was created and dropped.
CREATE OR REPLACE FUNCTION prefs_events_maintain(p_keep_days integer,
    OUT created integer, OUT dropped integer)
LANGUAGE sql AS $$
    SELECT (count(*) FILTER (WHERE action = 'created'))::integer,
           (count(*) FILTER (WHERE action = 'dropped'))::integer
      FROM prefs_event_partitions(7, p_keep_days)
$$;
