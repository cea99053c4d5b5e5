-- 011: the Events API's reads (GET Events, Events/Subscription/{id},
-- Events/Profile/{id}, Events/{eventId}) and the event type texts in
-- de-DE, fr-FR and es-ES.
--
-- A listing walks the account's events in (txid, event_id) order below
-- prefs_event_horizon() (sql/007): every transaction below the horizon
-- has ended, so a cursor (txid, event_id) taken from one page never has
-- an event appear behind it later.  The C side encodes that pair in an
-- opaque, signed cursor; here it arrives as two parameters.  Everything
-- else the client sent (eventType, startAt, endAt, sourceGroupIds,
-- subscribedOnly) arrives as the query string's JSON (src/lib/prefs_query)
-- and is checked here: bad values raise SQLSTATE 22023 with a message
-- naming the parameter, which the API answers as 400.
--
-- The locales with event texts are listed in src/ngx_prefs_events.c too
-- (ngx_prefs_events_locales): a locale added here is negotiated once it
-- is added there.


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
    v_horizon     xid8 := prefs_event_horizon();
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


-- --------------------------------------------------------------------------
-- Event type texts in German, French and Spanish (en-US is in sql/008).
-- prefs_event_type_name falls back from a locale to its language, then to
-- en-US, so "de-AT" reads the de-DE text.

INSERT INTO prefs_event_type_text (event_type, locale, name, description)
VALUES
 ('profile.created', 'de-DE', 'Profil erstellt', 'Ein Profil wurde erstellt.'),
 ('profile.updated', 'de-DE', 'Profil aktualisiert', 'Ein Profil wurde aktualisiert.'),
 ('profile.replaced', 'de-DE', 'Profil ersetzt', 'Ein Profil wurde als Ganzes ersetzt.'),
 ('profile.deactivated', 'de-DE', 'Profil deaktiviert', 'Ein Profil wurde deaktiviert.'),
 ('profile.reactivated', 'de-DE', 'Profil reaktiviert', 'Ein deaktiviertes Profil wurde wieder aktiviert.'),
 ('profile.deleted', 'de-DE', 'Profil gelöscht', 'Die personenbezogenen Daten eines Profils wurden gelöscht.'),
 ('preference.added', 'de-DE', 'Präferenz hinzugefügt', 'Einem Profil wurde eine Präferenz hinzugefügt.'),
 ('preference.updated', 'de-DE', 'Präferenz aktualisiert', 'Eine Präferenz eines Profils wurde aktualisiert.'),
 ('preference.archived', 'de-DE', 'Präferenz archiviert', 'Eine Präferenz eines Profils wurde archiviert.'),
 ('consent.added', 'de-DE', 'Einwilligung hinzugefügt', 'Für ein Profil wurde eine Einwilligung erfasst.'),
 ('consent.updated', 'de-DE', 'Einwilligung aktualisiert', 'Eine Einwilligung eines Profils hat sich geändert.'),
 ('consent.deactivated', 'de-DE', 'Einwilligung deaktiviert', 'Eine Einwilligung eines Profils wurde deaktiviert.'),
 ('consent.elementassociation.created', 'de-DE', 'Einwilligung mit Kontaktpunkt verknüpft', 'Eine Einwilligung wurde mit einem Kontaktpunkt verknüpft.'),
 ('consent.elementassociation.updated', 'de-DE', 'Verknüpfung mit Kontaktpunkt aktualisiert', 'Die Verknüpfung einer Einwilligung mit einem Kontaktpunkt hat sich geändert.'),
 ('consent.elementassociation.deactivated', 'de-DE', 'Verknüpfung mit Kontaktpunkt beendet', 'Die Verknüpfung einer Einwilligung mit einem Kontaktpunkt wurde beendet.'),
 ('consent.filterassociation.created', 'de-DE', 'Einwilligung mit Filter verknüpft', 'Eine Einwilligung wurde mit einem Präferenzfilter verknüpft.'),
 ('consent.filterassociation.updated', 'de-DE', 'Verknüpfung mit Filter aktualisiert', 'Die Verknüpfung einer Einwilligung mit einem Präferenzfilter hat sich geändert.'),
 ('consent.filterassociation.deactivated', 'de-DE', 'Verknüpfung mit Filter beendet', 'Die Verknüpfung einer Einwilligung mit einem Präferenzfilter wurde beendet.'),
 ('contacts.email.added', 'de-DE', 'E-Mail-Adresse hinzugefügt', 'Einem Profil wurde eine E-Mail-Adresse hinzugefügt.'),
 ('contacts.email.updated', 'de-DE', 'E-Mail-Adresse aktualisiert', 'Eine E-Mail-Adresse eines Profils wurde aktualisiert.'),
 ('contacts.email.deactivated', 'de-DE', 'E-Mail-Adresse deaktiviert', 'Eine E-Mail-Adresse eines Profils wurde entfernt.'),
 ('contacts.phone.added', 'de-DE', 'Telefonnummer hinzugefügt', 'Einem Profil wurde eine Telefonnummer hinzugefügt.'),
 ('contacts.phone.updated', 'de-DE', 'Telefonnummer aktualisiert', 'Eine Telefonnummer eines Profils wurde aktualisiert.'),
 ('contacts.phone.deactivated', 'de-DE', 'Telefonnummer deaktiviert', 'Eine Telefonnummer eines Profils wurde entfernt.'),
 ('contacts.address.added', 'de-DE', 'Postanschrift hinzugefügt', 'Einem Profil wurde eine Postanschrift hinzugefügt.'),
 ('contacts.address.updated', 'de-DE', 'Postanschrift aktualisiert', 'Eine Postanschrift eines Profils wurde aktualisiert.'),
 ('contacts.address.deactivated', 'de-DE', 'Postanschrift deaktiviert', 'Eine Postanschrift eines Profils wurde entfernt.'),
 ('contacts.alternateid.added', 'de-DE', 'Alternative ID hinzugefügt', 'Einem Profil wurde eine alternative ID hinzugefügt.'),
 ('contacts.alternateid.updated', 'de-DE', 'Alternative ID aktualisiert', 'Eine alternative ID eines Profils wurde aktualisiert.'),
 ('contacts.alternateid.deactivated', 'de-DE', 'Alternative ID deaktiviert', 'Eine alternative ID eines Profils wurde entfernt.'),
 ('contacts.customertype.updated', 'de-DE', 'Kundentyp aktualisiert', 'Der Kundentyp eines Profils hat sich geändert.'),
 ('standardfield.prefix.added', 'de-DE', 'Anrede hinzugefügt', 'Einem Profil wurde eine Anrede hinzugefügt.'),
 ('standardfield.prefix.updated', 'de-DE', 'Anrede aktualisiert', 'Die Anrede eines Profils wurde aktualisiert.'),
 ('standardfield.prefix.deleted', 'de-DE', 'Anrede gelöscht', 'Die Anrede eines Profils wurde gelöscht.'),
 ('standardfield.firstname.added', 'de-DE', 'Vorname hinzugefügt', 'Einem Profil wurde ein Vorname hinzugefügt.'),
 ('standardfield.firstname.updated', 'de-DE', 'Vorname aktualisiert', 'Der Vorname eines Profils wurde aktualisiert.'),
 ('standardfield.firstname.deleted', 'de-DE', 'Vorname gelöscht', 'Der Vorname eines Profils wurde gelöscht.'),
 ('standardfield.middlename.added', 'de-DE', 'Zweiter Vorname hinzugefügt', 'Einem Profil wurde ein zweiter Vorname hinzugefügt.'),
 ('standardfield.middlename.updated', 'de-DE', 'Zweiter Vorname aktualisiert', 'Der zweite Vorname eines Profils wurde aktualisiert.'),
 ('standardfield.middlename.deleted', 'de-DE', 'Zweiter Vorname gelöscht', 'Der zweite Vorname eines Profils wurde gelöscht.'),
 ('standardfield.lastname.added', 'de-DE', 'Nachname hinzugefügt', 'Einem Profil wurde ein Nachname hinzugefügt.'),
 ('standardfield.lastname.updated', 'de-DE', 'Nachname aktualisiert', 'Der Nachname eines Profils wurde aktualisiert.'),
 ('standardfield.lastname.deleted', 'de-DE', 'Nachname gelöscht', 'Der Nachname eines Profils wurde gelöscht.'),
 ('standardfield.suffix.added', 'de-DE', 'Namenszusatz hinzugefügt', 'Einem Profil wurde ein Namenszusatz hinzugefügt.'),
 ('standardfield.suffix.updated', 'de-DE', 'Namenszusatz aktualisiert', 'Der Namenszusatz eines Profils wurde aktualisiert.'),
 ('standardfield.suffix.deleted', 'de-DE', 'Namenszusatz gelöscht', 'Der Namenszusatz eines Profils wurde gelöscht.'),
 ('standardfield.defaultlocale.updated', 'de-DE', 'Standardsprache aktualisiert', 'Die Standardsprache eines Profils hat sich geändert.'),
 ('standardfield.registrationstatus.updated', 'de-DE', 'Registrierungsstatus aktualisiert', 'Der Registrierungsstatus eines Profils hat sich geändert.'),
 ('customfield.added', 'de-DE', 'Benutzerdefiniertes Feld hinzugefügt', 'Einem Profil wurde ein Wert eines benutzerdefinierten Felds hinzugefügt.'),
 ('customfield.updated', 'de-DE', 'Benutzerdefiniertes Feld aktualisiert', 'Ein Wert eines benutzerdefinierten Felds eines Profils wurde aktualisiert.'),
 ('customfield.deleted', 'de-DE', 'Benutzerdefiniertes Feld gelöscht', 'Ein Wert eines benutzerdefinierten Felds eines Profils wurde gelöscht.'),
 ('group.added', 'de-DE', 'Gruppe hinzugefügt', 'Ein Profil wurde einer Gruppe hinzugefügt.'),
 ('group.removed', 'de-DE', 'Gruppe entfernt', 'Ein Profil wurde aus einer Gruppe entfernt.'),
 ('tag.added', 'de-DE', 'Tag hinzugefügt', 'Einem Profil wurde ein Tag hinzugefügt.'),
 ('tag.removed', 'de-DE', 'Tag entfernt', 'Ein Tag wurde von einem Profil entfernt.'),
 ('webhook.validation', 'de-DE', 'Webhook-Validierung', 'Bestätigt, dass der Endpunkt die Ereignisse dieses Abonnements annimmt.'),

 ('profile.created', 'fr-FR', 'Profil créé', 'Un profil a été créé.'),
 ('profile.updated', 'fr-FR', 'Profil mis à jour', 'Un profil a été mis à jour.'),
 ('profile.replaced', 'fr-FR', 'Profil remplacé', 'Un profil a été remplacé dans son ensemble.'),
 ('profile.deactivated', 'fr-FR', 'Profil désactivé', 'Un profil a été désactivé.'),
 ('profile.reactivated', 'fr-FR', 'Profil réactivé', 'Un profil désactivé a été réactivé.'),
 ('profile.deleted', 'fr-FR', 'Profil supprimé', 'Les données personnelles d''un profil ont été effacées.'),
 ('preference.added', 'fr-FR', 'Préférence ajoutée', 'Une préférence a été ajoutée à un profil.'),
 ('preference.updated', 'fr-FR', 'Préférence mise à jour', 'Une préférence d''un profil a été mise à jour.'),
 ('preference.archived', 'fr-FR', 'Préférence archivée', 'Une préférence d''un profil a été archivée.'),
 ('consent.added', 'fr-FR', 'Consentement ajouté', 'Un consentement a été enregistré pour un profil.'),
 ('consent.updated', 'fr-FR', 'Consentement mis à jour', 'Un consentement d''un profil a changé.'),
 ('consent.deactivated', 'fr-FR', 'Consentement désactivé', 'Un consentement d''un profil a été désactivé.'),
 ('consent.elementassociation.created', 'fr-FR', 'Consentement associé à un point de contact', 'Un consentement a été associé à un point de contact.'),
 ('consent.elementassociation.updated', 'fr-FR', 'Association à un point de contact mise à jour', 'L''association d''un consentement à un point de contact a changé.'),
 ('consent.elementassociation.deactivated', 'fr-FR', 'Association à un point de contact terminée', 'L''association d''un consentement à un point de contact a pris fin.'),
 ('consent.filterassociation.created', 'fr-FR', 'Consentement associé à un filtre', 'Un consentement a été associé à un filtre de préférences.'),
 ('consent.filterassociation.updated', 'fr-FR', 'Association à un filtre mise à jour', 'L''association d''un consentement à un filtre de préférences a changé.'),
 ('consent.filterassociation.deactivated', 'fr-FR', 'Association à un filtre terminée', 'L''association d''un consentement à un filtre de préférences a pris fin.'),
 ('contacts.email.added', 'fr-FR', 'E-mail ajouté', 'Une adresse e-mail a été ajoutée à un profil.'),
 ('contacts.email.updated', 'fr-FR', 'E-mail mis à jour', 'Une adresse e-mail d''un profil a été mise à jour.'),
 ('contacts.email.deactivated', 'fr-FR', 'E-mail désactivé', 'Une adresse e-mail d''un profil a été retirée.'),
 ('contacts.phone.added', 'fr-FR', 'Téléphone ajouté', 'Un numéro de téléphone a été ajouté à un profil.'),
 ('contacts.phone.updated', 'fr-FR', 'Téléphone mis à jour', 'Un numéro de téléphone d''un profil a été mis à jour.'),
 ('contacts.phone.deactivated', 'fr-FR', 'Téléphone désactivé', 'Un numéro de téléphone d''un profil a été retiré.'),
 ('contacts.address.added', 'fr-FR', 'Adresse ajoutée', 'Une adresse postale a été ajoutée à un profil.'),
 ('contacts.address.updated', 'fr-FR', 'Adresse mise à jour', 'Une adresse postale d''un profil a été mise à jour.'),
 ('contacts.address.deactivated', 'fr-FR', 'Adresse désactivée', 'Une adresse postale d''un profil a été retirée.'),
 ('contacts.alternateid.added', 'fr-FR', 'Identifiant alternatif ajouté', 'Un identifiant alternatif a été ajouté à un profil.'),
 ('contacts.alternateid.updated', 'fr-FR', 'Identifiant alternatif mis à jour', 'Un identifiant alternatif d''un profil a été mis à jour.'),
 ('contacts.alternateid.deactivated', 'fr-FR', 'Identifiant alternatif désactivé', 'Un identifiant alternatif d''un profil a été retiré.'),
 ('contacts.customertype.updated', 'fr-FR', 'Type de client mis à jour', 'Le type de client d''un profil a changé.'),
 ('standardfield.prefix.added', 'fr-FR', 'Civilité ajoutée', 'Une civilité a été ajoutée à un profil.'),
 ('standardfield.prefix.updated', 'fr-FR', 'Civilité mise à jour', 'La civilité d''un profil a été mise à jour.'),
 ('standardfield.prefix.deleted', 'fr-FR', 'Civilité supprimée', 'La civilité d''un profil a été supprimée.'),
 ('standardfield.firstname.added', 'fr-FR', 'Prénom ajouté', 'Un prénom a été ajouté à un profil.'),
 ('standardfield.firstname.updated', 'fr-FR', 'Prénom mis à jour', 'Le prénom d''un profil a été mis à jour.'),
 ('standardfield.firstname.deleted', 'fr-FR', 'Prénom supprimé', 'Le prénom d''un profil a été supprimé.'),
 ('standardfield.middlename.added', 'fr-FR', 'Deuxième prénom ajouté', 'Un deuxième prénom a été ajouté à un profil.'),
 ('standardfield.middlename.updated', 'fr-FR', 'Deuxième prénom mis à jour', 'Le deuxième prénom d''un profil a été mis à jour.'),
 ('standardfield.middlename.deleted', 'fr-FR', 'Deuxième prénom supprimé', 'Le deuxième prénom d''un profil a été supprimé.'),
 ('standardfield.lastname.added', 'fr-FR', 'Nom ajouté', 'Un nom de famille a été ajouté à un profil.'),
 ('standardfield.lastname.updated', 'fr-FR', 'Nom mis à jour', 'Le nom de famille d''un profil a été mis à jour.'),
 ('standardfield.lastname.deleted', 'fr-FR', 'Nom supprimé', 'Le nom de famille d''un profil a été supprimé.'),
 ('standardfield.suffix.added', 'fr-FR', 'Suffixe ajouté', 'Un suffixe de nom a été ajouté à un profil.'),
 ('standardfield.suffix.updated', 'fr-FR', 'Suffixe mis à jour', 'Le suffixe de nom d''un profil a été mis à jour.'),
 ('standardfield.suffix.deleted', 'fr-FR', 'Suffixe supprimé', 'Le suffixe de nom d''un profil a été supprimé.'),
 ('standardfield.defaultlocale.updated', 'fr-FR', 'Langue par défaut mise à jour', 'La langue par défaut d''un profil a changé.'),
 ('standardfield.registrationstatus.updated', 'fr-FR', 'Statut d''inscription mis à jour', 'Le statut d''inscription d''un profil a changé.'),
 ('customfield.added', 'fr-FR', 'Champ personnalisé ajouté', 'Une valeur de champ personnalisé a été ajoutée à un profil.'),
 ('customfield.updated', 'fr-FR', 'Champ personnalisé mis à jour', 'Une valeur de champ personnalisé d''un profil a été mise à jour.'),
 ('customfield.deleted', 'fr-FR', 'Champ personnalisé supprimé', 'Une valeur de champ personnalisé d''un profil a été supprimée.'),
 ('group.added', 'fr-FR', 'Groupe ajouté', 'Un profil a été ajouté à un groupe.'),
 ('group.removed', 'fr-FR', 'Groupe retiré', 'Un profil a été retiré d''un groupe.'),
 ('tag.added', 'fr-FR', 'Étiquette ajoutée', 'Une étiquette a été ajoutée à un profil.'),
 ('tag.removed', 'fr-FR', 'Étiquette retirée', 'Une étiquette a été retirée d''un profil.'),
 ('webhook.validation', 'fr-FR', 'Validation du webhook', 'Confirme que le point de terminaison accepte les événements de cet abonnement.'),

 ('profile.created', 'es-ES', 'Perfil creado', 'Se creó un perfil.'),
 ('profile.updated', 'es-ES', 'Perfil actualizado', 'Se actualizó un perfil.'),
 ('profile.replaced', 'es-ES', 'Perfil reemplazado', 'Se reemplazó un perfil por completo.'),
 ('profile.deactivated', 'es-ES', 'Perfil desactivado', 'Se desactivó un perfil.'),
 ('profile.reactivated', 'es-ES', 'Perfil reactivado', 'Se volvió a activar un perfil desactivado.'),
 ('profile.deleted', 'es-ES', 'Perfil eliminado', 'Se borraron los datos personales de un perfil.'),
 ('preference.added', 'es-ES', 'Preferencia añadida', 'Se añadió una preferencia a un perfil.'),
 ('preference.updated', 'es-ES', 'Preferencia actualizada', 'Se actualizó una preferencia de un perfil.'),
 ('preference.archived', 'es-ES', 'Preferencia archivada', 'Se archivó una preferencia de un perfil.'),
 ('consent.added', 'es-ES', 'Consentimiento añadido', 'Se registró un consentimiento para un perfil.'),
 ('consent.updated', 'es-ES', 'Consentimiento actualizado', 'Cambió un consentimiento de un perfil.'),
 ('consent.deactivated', 'es-ES', 'Consentimiento desactivado', 'Se desactivó un consentimiento de un perfil.'),
 ('consent.elementassociation.created', 'es-ES', 'Consentimiento asociado a un punto de contacto', 'Se asoció un consentimiento a un punto de contacto.'),
 ('consent.elementassociation.updated', 'es-ES', 'Asociación con punto de contacto actualizada', 'Cambió la asociación de un consentimiento con un punto de contacto.'),
 ('consent.elementassociation.deactivated', 'es-ES', 'Asociación con punto de contacto finalizada', 'Terminó la asociación de un consentimiento con un punto de contacto.'),
 ('consent.filterassociation.created', 'es-ES', 'Consentimiento asociado a un filtro', 'Se asoció un consentimiento a un filtro de preferencias.'),
 ('consent.filterassociation.updated', 'es-ES', 'Asociación con filtro actualizada', 'Cambió la asociación de un consentimiento con un filtro de preferencias.'),
 ('consent.filterassociation.deactivated', 'es-ES', 'Asociación con filtro finalizada', 'Terminó la asociación de un consentimiento con un filtro de preferencias.'),
 ('contacts.email.added', 'es-ES', 'Correo electrónico añadido', 'Se añadió una dirección de correo electrónico a un perfil.'),
 ('contacts.email.updated', 'es-ES', 'Correo electrónico actualizado', 'Se actualizó una dirección de correo electrónico de un perfil.'),
 ('contacts.email.deactivated', 'es-ES', 'Correo electrónico desactivado', 'Se quitó una dirección de correo electrónico de un perfil.'),
 ('contacts.phone.added', 'es-ES', 'Teléfono añadido', 'Se añadió un número de teléfono a un perfil.'),
 ('contacts.phone.updated', 'es-ES', 'Teléfono actualizado', 'Se actualizó un número de teléfono de un perfil.'),
 ('contacts.phone.deactivated', 'es-ES', 'Teléfono desactivado', 'Se quitó un número de teléfono de un perfil.'),
 ('contacts.address.added', 'es-ES', 'Dirección añadida', 'Se añadió una dirección postal a un perfil.'),
 ('contacts.address.updated', 'es-ES', 'Dirección actualizada', 'Se actualizó una dirección postal de un perfil.'),
 ('contacts.address.deactivated', 'es-ES', 'Dirección desactivada', 'Se quitó una dirección postal de un perfil.'),
 ('contacts.alternateid.added', 'es-ES', 'Identificador alternativo añadido', 'Se añadió un identificador alternativo a un perfil.'),
 ('contacts.alternateid.updated', 'es-ES', 'Identificador alternativo actualizado', 'Se actualizó un identificador alternativo de un perfil.'),
 ('contacts.alternateid.deactivated', 'es-ES', 'Identificador alternativo desactivado', 'Se quitó un identificador alternativo de un perfil.'),
 ('contacts.customertype.updated', 'es-ES', 'Tipo de cliente actualizado', 'Cambió el tipo de cliente de un perfil.'),
 ('standardfield.prefix.added', 'es-ES', 'Tratamiento añadido', 'Se añadió un tratamiento a un perfil.'),
 ('standardfield.prefix.updated', 'es-ES', 'Tratamiento actualizado', 'Se actualizó el tratamiento de un perfil.'),
 ('standardfield.prefix.deleted', 'es-ES', 'Tratamiento eliminado', 'Se eliminó el tratamiento de un perfil.'),
 ('standardfield.firstname.added', 'es-ES', 'Nombre añadido', 'Se añadió un nombre a un perfil.'),
 ('standardfield.firstname.updated', 'es-ES', 'Nombre actualizado', 'Se actualizó el nombre de un perfil.'),
 ('standardfield.firstname.deleted', 'es-ES', 'Nombre eliminado', 'Se eliminó el nombre de un perfil.'),
 ('standardfield.middlename.added', 'es-ES', 'Segundo nombre añadido', 'Se añadió un segundo nombre a un perfil.'),
 ('standardfield.middlename.updated', 'es-ES', 'Segundo nombre actualizado', 'Se actualizó el segundo nombre de un perfil.'),
 ('standardfield.middlename.deleted', 'es-ES', 'Segundo nombre eliminado', 'Se eliminó el segundo nombre de un perfil.'),
 ('standardfield.lastname.added', 'es-ES', 'Apellido añadido', 'Se añadió un apellido a un perfil.'),
 ('standardfield.lastname.updated', 'es-ES', 'Apellido actualizado', 'Se actualizó el apellido de un perfil.'),
 ('standardfield.lastname.deleted', 'es-ES', 'Apellido eliminado', 'Se eliminó el apellido de un perfil.'),
 ('standardfield.suffix.added', 'es-ES', 'Sufijo añadido', 'Se añadió un sufijo de nombre a un perfil.'),
 ('standardfield.suffix.updated', 'es-ES', 'Sufijo actualizado', 'Se actualizó el sufijo de nombre de un perfil.'),
 ('standardfield.suffix.deleted', 'es-ES', 'Sufijo eliminado', 'Se eliminó el sufijo de nombre de un perfil.'),
 ('standardfield.defaultlocale.updated', 'es-ES', 'Idioma predeterminado actualizado', 'Cambió el idioma predeterminado de un perfil.'),
 ('standardfield.registrationstatus.updated', 'es-ES', 'Estado de registro actualizado', 'Cambió el estado de registro de un perfil.'),
 ('customfield.added', 'es-ES', 'Campo personalizado añadido', 'Se añadió un valor de campo personalizado a un perfil.'),
 ('customfield.updated', 'es-ES', 'Campo personalizado actualizado', 'Se actualizó un valor de campo personalizado de un perfil.'),
 ('customfield.deleted', 'es-ES', 'Campo personalizado eliminado', 'Se eliminó un valor de campo personalizado de un perfil.'),
 ('group.added', 'es-ES', 'Grupo añadido', 'Se añadió un perfil a un grupo.'),
 ('group.removed', 'es-ES', 'Grupo quitado', 'Se quitó un perfil de un grupo.'),
 ('tag.added', 'es-ES', 'Etiqueta añadida', 'Se añadió una etiqueta a un perfil.'),
 ('tag.removed', 'es-ES', 'Etiqueta quitada', 'Se quitó una etiqueta de un perfil.'),
 ('webhook.validation', 'es-ES', 'Validación del webhook', 'Confirma que el punto de conexión acepta los eventos de esta suscripción.')
ON CONFLICT (event_type, locale) DO UPDATE
    SET name = EXCLUDED.name, description = EXCLUDED.description;
