
/*
 * Copyright (C) ngx_prefs authors
 */


#include "ngx_prefs_stmt.h"


/*
 * A column's name by its number, one designated line each: two branches
 * that both add a column merge into two lines, never into one string
 * ("remaining" "auth_options"), and a number without its name is NULL here,
 * which the first answer of a statement reading it reports (ngx_prefs_db.c).
 */

const char *const  ngx_prefs_stmt_col_names[NGX_PREFS_COL_MAX] = {
    [NGX_PREFS_COL_NONE] = "",
    [NGX_PREFS_COL_OUTCOME] = "outcome",
    [NGX_PREFS_COL_MESSAGE] = "message",
    [NGX_PREFS_COL_BODY] = "body",
    [NGX_PREFS_COL_VERSION] = "version",
    [NGX_PREFS_COL_QUEUED] = "queued",
    [NGX_PREFS_COL_RUNNING] = "running",
    [NGX_PREFS_COL_LSN] = "lsn",
    [NGX_PREFS_COL_ACCOUNT_ID] = "account_id",
    [NGX_PREFS_COL_CLIENT_ID] = "client_id",
    [NGX_PREFS_COL_NAME] = "name",
    [NGX_PREFS_COL_JOB_ID] = "job_id",
    [NGX_PREFS_COL_JOB_TYPE] = "job_type",
    [NGX_PREFS_COL_PAYLOAD] = "payload",
    [NGX_PREFS_COL_LEASE_TOKEN] = "lease_token",
    [NGX_PREFS_COL_ATTEMPT] = "attempt",
    [NGX_PREFS_COL_FINISHED] = "finished",
    [NGX_PREFS_COL_WINDOW_S] = "window_s",
    [NGX_PREFS_COL_USER_ID] = "user_id",
    [NGX_PREFS_COL_ACTIVE] = "active",
    [NGX_PREFS_COL_PERMISSIONS] = "permissions",
    [NGX_PREFS_COL_SECRETS] = "secrets",
    [NGX_PREFS_COL_TOKEN_EXPIRES_MS] = "token_expires_ms",
    [NGX_PREFS_COL_EXPIRES_IN] = "expires_in",
    [NGX_PREFS_COL_SUBMITTED] = "submitted",
    [NGX_PREFS_COL_DOCUMENT] = "document",
    [NGX_PREFS_COL_GENERATION] = "generation",
    [NGX_PREFS_COL_ITEM_KEY] = "item_key",
    [NGX_PREFS_COL_PROFILE_ID] = "profile_id",
    [NGX_PREFS_COL_TOTAL] = "total",
    [NGX_PREFS_COL_SUBSCRIPTION_ID] = "subscription_id",
    [NGX_PREFS_COL_DELETED] = "deleted",
    [NGX_PREFS_COL_PREVIOUS_UNTIL] = "previous_until",
    [NGX_PREFS_COL_IDEMPOTENCY] = "idempotency",
    [NGX_PREFS_COL_DELIVERY_ID] = "delivery_id",
    [NGX_PREFS_COL_URL] = "url",
    [NGX_PREFS_COL_MSG_ID] = "msg_id",
    [NGX_PREFS_COL_MSG_TS] = "msg_ts",
    [NGX_PREFS_COL_SECRET] = "secret",
    [NGX_PREFS_COL_SECRET_PREVIOUS] = "secret_previous",
    [NGX_PREFS_COL_NEXT_DUE_MS] = "next_due_ms",
    [NGX_PREFS_COL_RESULT] = "result",
    [NGX_PREFS_COL_REMOVED] = "removed",
    [NGX_PREFS_COL_COUNT] = "count",
    [NGX_PREFS_COL_EVENTS] = "events",
    [NGX_PREFS_COL_N] = "n",
    [NGX_PREFS_COL_LAST_TXID] = "last_txid",
    [NGX_PREFS_COL_LAST_ID] = "last_id",
    [NGX_PREFS_COL_HAS_MORE] = "has_more",
    [NGX_PREFS_COL_CREATED] = "created",
    [NGX_PREFS_COL_DROPPED] = "dropped",
    [NGX_PREFS_COL_KIND] = "kind",
    [NGX_PREFS_COL_STATE] = "state",
    [NGX_PREFS_COL_AUTH_OPTIONS] = "auth_options",
    [NGX_PREFS_COL_PROCESSED] = "processed",
    [NGX_PREFS_COL_REMAINING] = "remaining",
    [NGX_PREFS_COL_LINK_KEYS] = "link_keys",
    [NGX_PREFS_COL_LINK_GENS] = "link_gens",
};


const ngx_prefs_stmt_t  ngx_prefs_stmt_catalogue[NGX_PREFS_STMT_MAX] = {

    [NGX_PREFS_STMT_STATUS] = { "prefs_status",
      "SELECT (SELECT coalesce(max(version), 0) FROM prefs_schema_version)"
      "::text AS version,"
      " (SELECT count(*) FROM prefs_job WHERE state = 'queued')::text"
      " AS queued,"
      " (SELECT count(*) FROM prefs_job WHERE state = 'running')::text"
      " AS running",
      0, 1,
      { NGX_PREFS_COL_VERSION, NGX_PREFS_COL_QUEUED, NGX_PREFS_COL_RUNNING } },

    /*
     * A standby's lag (prefs_db_replica, src/core/ngx_prefs_db.c): the
     * primary's WAL position, in bytes; the standby's replayed position,
     * NULL when it is not (or no longer) in recovery
     */
    [NGX_PREFS_STMT_WAL_POSITION] = { "prefs_wal_position",
      "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text AS lsn",
      0, 1,
      { NGX_PREFS_COL_LSN } },

    [NGX_PREFS_STMT_REPLAY_POSITION] = { "prefs_replay_position",
      "SELECT CASE WHEN pg_is_in_recovery()"
      " THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text END AS lsn",
      0, 1,
      { NGX_PREFS_COL_LSN } },

    [NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID] = { "prefs_account_by_client_id",
      "SELECT account_id::text, client_id, name FROM prefs_account"
      " WHERE client_id = $1 AND is_active",
      1, 1,
      { NGX_PREFS_COL_ACCOUNT_ID, NGX_PREFS_COL_CLIENT_ID,
        NGX_PREFS_COL_NAME } },

    [NGX_PREFS_STMT_JOB_CLAIM] = { "prefs_job_claim",
      "SELECT job_id::text, job_type, payload, lease_token::text,"
      " attempt::text FROM prefs_job_claim($1, $2::interval, $3::integer)",
      3, 0,
      { NGX_PREFS_COL_JOB_ID, NGX_PREFS_COL_JOB_TYPE, NGX_PREFS_COL_PAYLOAD,
        NGX_PREFS_COL_LEASE_TOKEN, NGX_PREFS_COL_ATTEMPT } },

    [NGX_PREFS_STMT_JOB_FINISH] = { "prefs_job_finish",
      "SELECT prefs_job_finish($1::bigint, $2::bigint, $3, $4::integer,"
      " $5, $6, $7::interval)::text AS finished",
      7, 0,
      { NGX_PREFS_COL_FINISHED } },

    [NGX_PREFS_STMT_JOB_RENEW] = { "prefs_job_renew",
      "UPDATE prefs_job SET lease_until = now() + $2::interval"
      " WHERE state = 'running' AND lease_owner = $1"
      " AND job_id = ANY ($3::bigint[])",
      3, 0, { NGX_PREFS_COL_NONE } },

    /*
     * Authentication: the account and what the credential names in it, in
     * one row; a missing user or token leaves user_id 0.  Columns: account,
     * window (s), user, active, permissions, sealed secrets, token expiry,
     * the account's PNAUTHINFO3 options ("bind", "once", comma-separated).
     */

    [NGX_PREFS_STMT_AUTH_HMAC] = { "prefs_auth_hmac",
      "SELECT a.account_id::text AS account_id,"
      " a.auth_window_seconds::text AS window_s,"
      " coalesce(u.user_id, 0)::text AS user_id,"
      " coalesce(u.is_active, false)::text AS active,"
      " coalesce(prefs_user_permissions(u.user_id), '') AS permissions,"
      " coalesce((SELECT string_agg(s.sealed, ',' ORDER BY s.secret_id DESC)"
      "   FROM prefs_user_secret s"
      "  WHERE s.user_id = u.user_id AND s.retired_at IS NULL), '')"
      " AS secrets,"
      " '0' AS token_expires_ms,"
      " concat_ws(',', CASE WHEN a.auth_bind_request THEN 'bind' END,"
      "   CASE WHEN a.auth_once THEN 'once' END) AS auth_options"
      " FROM prefs_account a"
      " LEFT JOIN prefs_user u"
      "   ON u.account_id = a.account_id AND u.user_name = $2"
      " WHERE a.client_id = $1 AND a.is_active",
      2, 1,
      { NGX_PREFS_COL_ACCOUNT_ID, NGX_PREFS_COL_WINDOW_S,
        NGX_PREFS_COL_USER_ID, NGX_PREFS_COL_ACTIVE, NGX_PREFS_COL_PERMISSIONS,
        NGX_PREFS_COL_SECRETS, NGX_PREFS_COL_TOKEN_EXPIRES_MS,
        NGX_PREFS_COL_AUTH_OPTIONS } },

    [NGX_PREFS_STMT_AUTH_BEARER] = { "prefs_auth_bearer",
      "SELECT a.account_id::text AS account_id, '0' AS window_s,"
      " coalesce(u.user_id, 0)::text AS user_id,"
      " coalesce(u.is_active AND t.expires_at > now(), false)::text"
      " AS active,"
      " coalesce(prefs_user_permissions(u.user_id), '') AS permissions,"
      " '' AS secrets,"
      " coalesce((extract(epoch FROM t.expires_at) * 1000)::bigint, 0)::text"
      " AS token_expires_ms,"
      " '' AS auth_options"
      " FROM prefs_account a"
      " LEFT JOIN prefs_oauth_token t"
      "   ON t.account_id = a.account_id AND t.token_hash = $2"
      " LEFT JOIN prefs_user u ON u.user_id = t.user_id"
      " WHERE a.client_id = $1 AND a.is_active",
      2, 1,
      { NGX_PREFS_COL_ACCOUNT_ID, NGX_PREFS_COL_WINDOW_S,
        NGX_PREFS_COL_USER_ID, NGX_PREFS_COL_ACTIVE, NGX_PREFS_COL_PERMISSIONS,
        NGX_PREFS_COL_SECRETS, NGX_PREFS_COL_TOKEN_EXPIRES_MS,
        NGX_PREFS_COL_AUTH_OPTIONS } },

    [NGX_PREFS_STMT_OAUTH_ISSUE] = { "prefs_oauth_issue",
      "SELECT outcome, expires_in::text"
      " FROM prefs_oauth_issue($1, $2, $3, $4, $5, $6::integer)",
      6, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_EXPIRES_IN } },

    [NGX_PREFS_STMT_USERS_LIST] = { "prefs_users_list",
      "WITH page AS (SELECT * FROM prefs_user WHERE account_id = $1"
      "   ORDER BY user_id LIMIT $2::integer OFFSET $3::integer),"
      " total AS (SELECT count(*) AS n FROM prefs_user WHERE account_id = $1)"
      " SELECT json_build_object("
      "  'Users', coalesce((SELECT json_agg(prefs_user_json(p)"
      "                     ORDER BY p.user_id) FROM page p), '[]'::json),"
      "  'Count', (SELECT count(*) FROM page),"
      "  'HasMore', $3::integer + (SELECT count(*) FROM page)"
      "             < (SELECT n FROM total),"
      "  'Limit', $2::integer,"
      "  'Offset', $3::integer + 1,"
      "  'TotalResults', (SELECT n FROM total))::text AS body",
      3, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_USER_GET] = { "prefs_user_get",
      "SELECT prefs_user_json(u)::text AS body FROM prefs_user u"
      " WHERE u.account_id = $1 AND u.user_id = $2",
      2, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_USER_CREATE] = { "prefs_user_create",
      "SELECT outcome, user_id::text, submitted"
      " FROM prefs_user_create($1, $2::jsonb)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_USER_ID,
        NGX_PREFS_COL_SUBMITTED } },

    [NGX_PREFS_STMT_USER_UPDATE] = { "prefs_user_update",
      "SELECT outcome, body FROM prefs_user_update($1, $2, $3::jsonb)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_USER_DEACTIVATE] = { "prefs_user_delete",
      "SELECT user_id::text AS user_id FROM prefs_user_delete($1, $2)",
      2, 0,
      { NGX_PREFS_COL_USER_ID } },

    [NGX_PREFS_STMT_GROUPS_LIST] = { "prefs_groups_list",
      "SELECT coalesce(json_agg(json_build_object("
      "  'UserGroupId', g.group_id, 'Name', g.name,"
      "  'Description', g.description,"
      "  'Permissions', to_json(g.permissions),"
      "  'IsBuiltIn', g.account_id IS NULL)"
      "  ORDER BY g.account_id NULLS FIRST, g.name), '[]'::json)::text AS body"
      " FROM prefs_user_group g"
      " WHERE g.account_id IS NULL OR g.account_id = $1",
      1, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_CONFIG_DOCUMENT] = { "prefs_config_document",
      "SELECT prefs_config_document($1) AS document",
      1, 1,
      { NGX_PREFS_COL_DOCUMENT } },

    [NGX_PREFS_STMT_CONFIG_GENERATION] = { "prefs_config_generation",
      "SELECT prefs_config_generation($1)::text AS generation",
      1, 1,
      { NGX_PREFS_COL_GENERATION } },

    /* $4: a JSON array of items; all are written, or none */
    [NGX_PREFS_STMT_CONFIG_WRITE] = { "prefs_config_write_many",
      "SELECT outcome, item_key, message"
      " FROM prefs_config_write_many($1, $2, $3, $4::jsonb, $5)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_ITEM_KEY,
        NGX_PREFS_COL_MESSAGE } },

    /*
     * The Data API: each call validates, writes and appends its events in
     * one transaction (sql/functions/profile.sql).  $1 is the account, $2
     * the user.
     */

    [NGX_PREFS_STMT_PROFILE_CREATE] = { "prefs_profile_create",
      "SELECT outcome, profile_id::text, message"
      " FROM prefs_profile_create($1, $2, $3::jsonb)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_PROFILE_ID,
        NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_GET] = { "prefs_profile_get",
      "SELECT body FROM prefs_profile_read($1, $2, $3::boolean)",
      3, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_PROFILE_BY_ALTERNATE_ID] = { "prefs_profile_by_alt",
      "SELECT prefs_profile_by_alternate_id($1, $2, $3, $4::boolean) AS body",
      4, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_PROFILE_UPDATE] = { "prefs_profile_update",
      "SELECT outcome, message"
      " FROM prefs_profile_update($1, $2, $3, $4::jsonb)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_PREFERENCES] = { "prefs_profile_preferences",
      "SELECT outcome, message"
      " FROM prefs_profile_preferences($1, $2, $3, $4::jsonb)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_DEACTIVATE] = { "prefs_profile_deactivate",
      "SELECT * FROM prefs_profile_deactivate($1, $2, $3, $4)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_ACTIVATE] = { "prefs_profile_activate",
      "SELECT * FROM prefs_profile_activate($1, $2, $3)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_ERASE] = { "prefs_profile_erase",
      "SELECT * FROM prefs_profile_erase($1, $2, $3)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_PROFILE_FIND] = { "prefs_profile_find",
      "SELECT outcome, body FROM prefs_profile_find($1, $2, $3::jsonb)",
      3, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /*
     * Webhooks API: subscriptions and settings (sql/functions/webhooks.sql).
     * $1 is the account; writes take the user as $2.
     */

    [NGX_PREFS_STMT_WEBHOOK_LIST] = { "prefs_webhook_list",
      "SELECT total::text, body"
      " FROM prefs_webhook_subscription_list($1, $2::bigint)",
      2, 1,
      { NGX_PREFS_COL_TOTAL, NGX_PREFS_COL_BODY } },

    /* $3: the subscription (NULL: create), $5: sealed secret, $6: code */
    [NGX_PREFS_STMT_WEBHOOK_WRITE] = { "prefs_webhook_write",
      "SELECT outcome, subscription_id::text, message, body"
      " FROM prefs_webhook_subscription_write($1, $2, $3::bigint,"
      " $4::jsonb, $5, $6)",
      6, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_SUBSCRIPTION_ID,
        NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_WEBHOOK_DELETE] = { "prefs_webhook_delete",
      "SELECT prefs_webhook_subscription_delete($1, $2::bigint)::text"
      " AS deleted",
      2, 0,
      { NGX_PREFS_COL_DELETED } },

    [NGX_PREFS_STMT_WEBHOOK_ROTATE] = { "prefs_webhook_rotate",
      "SELECT subscription_id::text, previous_until"
      " FROM prefs_webhook_secret_rotate($1, $2, $3::bigint, $4)",
      4, 0,
      { NGX_PREFS_COL_SUBSCRIPTION_ID, NGX_PREFS_COL_PREVIOUS_UNTIL } },

    [NGX_PREFS_STMT_WEBHOOK_SETTINGS_GET] = { "prefs_webhook_settings_get",
      "SELECT prefs_webhook_settings_json($1) AS body",
      1, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_WEBHOOK_SETTINGS_PUT] = { "prefs_webhook_settings_put",
      "SELECT prefs_webhook_settings_put($1, $2, $3::integer, $4::integer)"
      " AS body",
      4, 0,
      { NGX_PREFS_COL_BODY } },

    /*
     * Idempotency-Key (sql/functions/idempotency.sql): a create's keyed form
     * takes its parameters, then the key, the fingerprint and the user,
     * and answers its columns, then "idempotency" (src/http/ngx_prefs_idem.h).
     */

    [NGX_PREFS_STMT_PROFILE_CREATE_KEYED] = { "prefs_profile_create_keyed",
      "SELECT answer ->> 'outcome' AS outcome,"
      " answer ->> 'profile_id' AS profile_id,"
      " answer ->> 'message' AS message, idempotency"
      " FROM prefs_idempotent($1, $6, $4, $5, 'profile.create',"
      " jsonb_build_array($2::bigint, $3::jsonb))",
      6, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_PROFILE_ID, NGX_PREFS_COL_MESSAGE,
        NGX_PREFS_COL_IDEMPOTENCY } },

    [NGX_PREFS_STMT_USER_CREATE_KEYED] = { "prefs_user_create_keyed",
      "SELECT answer ->> 'outcome' AS outcome,"
      " answer ->> 'user_id' AS user_id,"
      " answer ->> 'submitted' AS submitted, idempotency"
      " FROM prefs_idempotent($1, $5, $3, $4, 'user.create',"
      " jsonb_build_array($2::jsonb))",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_USER_ID, NGX_PREFS_COL_SUBMITTED,
        NGX_PREFS_COL_IDEMPOTENCY } },

    /* the preferences and consent history of a profile by alternate id */

    [NGX_PREFS_STMT_PREFS_BY_ALTERNATE_ID] = { "prefs_prefs_by_alt",
      "SELECT outcome, profile_id::text, message"
      " FROM prefs_profile_preferences_by_alternate_id($1, $2, $3, $4,"
      " $5::jsonb)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_PROFILE_ID,
        NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_CONSENT_HISTORY] = { "prefs_consent_history",
      "SELECT outcome, body FROM prefs_profile_consent_history($1, $2::jsonb)",
      2, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /* v3 Preferences: $2 what to read by, $3 the query's values */
    [NGX_PREFS_STMT_V3_PREFS_READ] = { "prefs_v3_prefs_read",
      "SELECT outcome, body FROM prefs_v3_preferences_read($1, $2, $3::jsonb)",
      3, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /* $3 the mode (list, program, group), $4 the program (group) id */
    [NGX_PREFS_STMT_V3_PREFS_WRITE] = { "prefs_v3_prefs_write",
      "SELECT outcome, body"
      " FROM prefs_v3_preferences_write($1, $2, $3, $4, $5::jsonb)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /*
     * Data changes (sql/functions/profile.sql): the DELETE part routes and
     * JSON Patch.  $1 the account, $2 the user.
     */

    [NGX_PREFS_STMT_PROFILE_REMOVE_PARTS] = { "prefs_profile_remove_parts",
      "SELECT outcome, message"
      " FROM prefs_profile_remove_parts($1, $2, $3, $4, $5::jsonb)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    /* $5 the patch, $6 the Preserve* flags as a JSON object */
    [NGX_PREFS_STMT_PROFILE_PATCH] = { "prefs_profile_patch",
      "SELECT outcome, body"
      " FROM prefs_profile_patch($1, $2, $3, $4::jsonb, $5::jsonb)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_PROFILE_PATCH_ALTERNATE] = { "prefs_profile_patch_alt",
      "SELECT outcome, body"
      " FROM prefs_profile_patch_alternate($1, $2, $3, $4, $5::jsonb,"
      " $6::jsonb)",
      6, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /*
     * Webhook delivery: the helper's claim (fan-out, handshakes, leases)
     * and outcomes; the Deliveries and Replay routes ($1 the account).
     */

    [NGX_PREFS_STMT_WEBHOOK_CLAIM] = { "prefs_webhook_claim",
      "SELECT delivery_id::text, attempt::text, url, msg_id, msg_ts::text,"
      " body, secret, secret_previous, next_due_ms::text"
      " FROM prefs_webhook_claim($1, $2::interval, $3::integer, $4::integer,"
      " $5::interval)",
      5, 0,
      { NGX_PREFS_COL_DELIVERY_ID, NGX_PREFS_COL_ATTEMPT, NGX_PREFS_COL_URL,
        NGX_PREFS_COL_MSG_ID, NGX_PREFS_COL_MSG_TS, NGX_PREFS_COL_BODY,
        NGX_PREFS_COL_SECRET, NGX_PREFS_COL_SECRET_PREVIOUS,
        NGX_PREFS_COL_NEXT_DUE_MS } },

    [NGX_PREFS_STMT_WEBHOOK_RESULT] = { "prefs_webhook_result",
      "SELECT prefs_webhook_result($1, $2::jsonb, $3::integer[])::text"
      " AS result",
      3, 0,
      { NGX_PREFS_COL_RESULT } },

    [NGX_PREFS_STMT_WEBHOOK_CLEANUP] = { "prefs_webhook_cleanup",
      "SELECT prefs_webhook_cleanup($1::interval)::text AS removed",
      1, 0,
      { NGX_PREFS_COL_REMOVED } },

    [NGX_PREFS_STMT_WEBHOOK_DELIVERIES] = { "prefs_webhook_deliveries",
      "SELECT prefs_webhook_deliveries($1, $2::bigint, $3, $4::integer,"
      " $5::bigint) AS body",
      5, 1,
      { NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_WEBHOOK_REPLAY] = { "prefs_webhook_replay",
      "SELECT outcome, count::text, coalesce(message, '') AS message"
      " FROM prefs_webhook_replay($1, $2::bigint, $3::jsonb, $4::interval)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_COUNT, NGX_PREFS_COL_MESSAGE } },

    /*
     * The Events API (sql/functions/events.sql): $1 the account; a page of
     * events after a (txid, event_id) position, or one event by id.
     */

    /* per-profile links (src/http/ngx_prefs_link.c, sql/functions/links.sql) */
    [NGX_PREFS_STMT_LINK_ISSUE] = { "prefs_link_issue",
      "SELECT outcome, message, link_keys, link_gens"
      " FROM prefs_link_issue($1, $2::bigint, $3)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_LINK_KEYS,
        NGX_PREFS_COL_LINK_GENS } },

    [NGX_PREFS_STMT_LINK_STATE] = { "prefs_link_state",
      "SELECT account_id::text, link_keys, link_gens"
      " FROM prefs_link_state($1)",
      1, 1,
      { NGX_PREFS_COL_ACCOUNT_ID, NGX_PREFS_COL_LINK_KEYS,
        NGX_PREFS_COL_LINK_GENS } },

    [NGX_PREFS_STMT_LINK_REVOKE] = { "prefs_link_revoke",
      "SELECT outcome, message FROM prefs_link_revoke($1, $2::bigint)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_LINK_UNSUBSCRIBE] = { "prefs_link_unsubscribe",
      "SELECT outcome, message"
      " FROM prefs_link_unsubscribe($1, $2, $3::bigint, $4)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE } },

    [NGX_PREFS_STMT_LINK_ROTATE] = { "prefs_link_rotate",
      "SELECT outcome, message, body FROM prefs_link_rotate($1, $2)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_LINK_ORIGINS_GET] = { "prefs_link_origins_get",
      "SELECT outcome, message, body FROM prefs_link_origins_get($1)",
      1, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_LINK_ORIGINS_PUT] = { "prefs_link_origins_put",
      "SELECT outcome, message, body"
      " FROM prefs_link_origins_put($1, $2::jsonb)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    /* consent at the edge (src/http/ngx_prefs_edge.c, sql/functions/edge.sql) */
    [NGX_PREFS_STMT_EDGE_STATE] = { "prefs_edge_state",
      "SELECT account_id::text, link_keys, link_gens, state"
      " FROM prefs_edge_state($1, $2::bigint)",
      2, 0,
      { NGX_PREFS_COL_ACCOUNT_ID, NGX_PREFS_COL_LINK_KEYS,
        NGX_PREFS_COL_LINK_GENS, NGX_PREFS_COL_STATE } },

    [NGX_PREFS_STMT_EVENTS_LIST] = { "prefs_events_list",
      "SELECT outcome, message, events, n::text, last_txid, last_id,"
      " has_more::text"
      " FROM prefs_events_list($1, $2, $3::bigint, $4::jsonb, $5, $6,"
      " $7::bigint, $8::integer, $9::integer)",
      9, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_EVENTS,
        NGX_PREFS_COL_N, NGX_PREFS_COL_LAST_TXID, NGX_PREFS_COL_LAST_ID,
        NGX_PREFS_COL_HAS_MORE } },

    [NGX_PREFS_STMT_EVENT_GET] = { "prefs_event_get",
      "SELECT prefs_event_get($1, $2::bigint, $3, $4::integer) AS body",
      4, 1,
      { NGX_PREFS_COL_BODY } },

    /* the helper: daily partitions 7 days ahead, $1 days kept */
    [NGX_PREFS_STMT_EVENTS_MAINTAIN] = { "prefs_events_maintain",
      "SELECT created::text, dropped::text"
      " FROM prefs_events_maintain($1::integer)",
      1, 0,
      { NGX_PREFS_COL_CREATED, NGX_PREFS_COL_DROPPED } },

    /* prefs_api metrics: what the database knows, one value a row */
    [NGX_PREFS_STMT_METRICS] = { "prefs_metrics_scrape",
      "SELECT name, kind, state, count::text FROM prefs_metrics_scrape()",
      0, 1,
      { NGX_PREFS_COL_NAME, NGX_PREFS_COL_KIND, NGX_PREFS_COL_STATE,
        NGX_PREFS_COL_COUNT } },

    /* bulk import: the API's calls, then the helper's */

    [NGX_PREFS_STMT_IMPORT_INITIATE] = { "prefs_import_initiate",
      "SELECT outcome, message, body FROM prefs_import_initiate($1::bigint,"
      " $2::bigint, $3::jsonb, $4::integer)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_STAGE_BEGIN] = { "prefs_import_stage_begin",
      "SELECT outcome, message, body FROM prefs_import_stage_begin($1::bigint,"
      " $2)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_STAGE] = { "prefs_import_stage",
      "SELECT outcome, message, body FROM prefs_import_stage($1::bigint,"
      " $2::bigint, $3, $4::integer, $5::integer, $6::jsonb, $7::jsonb)",
      7, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_STAGE_CSV] = { "prefs_import_stage_csv",
      "SELECT outcome, message, body FROM prefs_import_stage_csv($1::bigint,"
      " $2::bigint, $3, $4::integer, $5::integer, $6::jsonb, $7::jsonb,"
      " $8::jsonb)",
      8, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_STATUS] = { "prefs_import_status",
      "SELECT outcome, message, body FROM prefs_import_status($1::bigint, $2)",
      2, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_EXECUTE] = { "prefs_import_execute",
      "SELECT outcome, message, body FROM prefs_import_execute($1::bigint,"
      " $2)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_EXCEPTIONS] = { "prefs_import_exceptions",
      "SELECT outcome, message, body FROM prefs_import_exceptions($1::bigint,"
      " $2, $3::integer, $4::integer)",
      4, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_IMPORT_RUN] = { "prefs_import_run",
      "SELECT outcome, processed::text, remaining::text"
      " FROM prefs_import_run($1::bigint, $2::bigint, $3::bigint,"
      " $4::integer)",
      4, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_PROCESSED,
        NGX_PREFS_COL_REMAINING } },

    [NGX_PREFS_STMT_IMPORT_PURGE] = { "prefs_import_purge",
      "SELECT outcome, deleted::text FROM prefs_import_purge($1::bigint,"
      " $2::integer)",
      2, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_DELETED } },
    /* $2 'Segment' | 'SegmentGroup', $3 the method, $4 the name or NULL */
    [NGX_PREFS_STMT_SEGMENT_CALL] = { "prefs_segment_call",
      "SELECT outcome, body FROM prefs_seg_call($1, $2, $3, $4, $5::jsonb)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_EXPORT_START] = { "prefs_export_start",
      "SELECT outcome, body FROM prefs_export_start($1, $2::bigint, $3, $4,"
      " $5::jsonb, $6, $7::jsonb)",
      7, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /* $3: true to Commit (end) the export */
    [NGX_PREFS_STMT_EXPORT_STATE] = { "prefs_export_state",
      "SELECT outcome, body FROM prefs_export_state($1, $2::bigint,"
      " $3::boolean)",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    [NGX_PREFS_STMT_EXPORT_PAGE] = { "prefs_export_page",
      "SELECT outcome, body FROM prefs_export_rows($1, $2::bigint,"
      " $3::integer, $4::bigint, $5::boolean, false)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY } },

    /* the NDJSON download, a range of rows at a time */
    [NGX_PREFS_STMT_EXPORT_LINES] = { "prefs_export_lines",
      "SELECT outcome, body, more::text AS has_more FROM prefs_export_rows($1,"
      " $2::bigint, $3::integer, $4::bigint, $5::boolean, true)",
      5, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_BODY, NGX_PREFS_COL_HAS_MORE } },

    /* the helper's job "prefs.export": not scoped, $1 is the token */
    [NGX_PREFS_STMT_EXPORT_RUN] = { "prefs_export_run",
      "SELECT outcome, message, url, body, secrets"
      " FROM prefs_export_run($1::bigint)",
      1, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_URL,
        NGX_PREFS_COL_BODY, NGX_PREFS_COL_SECRETS } },

    /* $2: what one attempt of the callback got; $3: the retry schedule */
    [NGX_PREFS_STMT_EXPORT_CALLBACK] = { "prefs_export_callback",
      "SELECT outcome, retry_ms::text AS next_due_ms"
      " FROM prefs_export_callback($1::bigint, $2::jsonb, $3::integer[])",
      3, 0,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_NEXT_DUE_MS } },

    /* the Sync feed: a page of changed profiles after a position */
    [NGX_PREFS_STMT_SYNC_CHANGES] = { "prefs_sync_changes",
      "SELECT outcome, message, changes AS events, n::text, last_txid,"
      " last_id, has_more::text"
      " FROM prefs_sync_changes($1, $2, $3::bigint, $4::integer)",
      4, 1,
      { NGX_PREFS_COL_OUTCOME, NGX_PREFS_COL_MESSAGE, NGX_PREFS_COL_EVENTS,
        NGX_PREFS_COL_N, NGX_PREFS_COL_LAST_TXID, NGX_PREFS_COL_LAST_ID,
        NGX_PREFS_COL_HAS_MORE } },
};
