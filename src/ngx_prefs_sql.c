
/*
 * Copyright (C) ngx_prefs authors
 */


#include "ngx_prefs_sql.h"


const ngx_prefs_stmt_t  ngx_prefs_stmts[NGX_PREFS_STMT_MAX] = {

    [NGX_PREFS_STMT_STATUS] = { "prefs_status",
      "SELECT (SELECT coalesce(max(version), 0) FROM prefs_schema_version)"
      "::text,"
      " (SELECT count(*) FROM prefs_job WHERE state = 'queued')::text,"
      " (SELECT count(*) FROM prefs_job WHERE state = 'running')::text",
      0, 1 },

    [NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID] = { "prefs_account_by_client_id",
      "SELECT account_id::text, client_id, name FROM prefs_account"
      " WHERE client_id = $1 AND is_active",
      1, 1 },

    [NGX_PREFS_STMT_JOB_CLAIM] = { "prefs_job_claim",
      "SELECT job_id::text, job_type, payload, lease_token::text,"
      " attempt::text FROM prefs_job_claim($1, $2::interval, $3::integer)",
      3, 0 },

    [NGX_PREFS_STMT_JOB_FINISH] = { "prefs_job_finish",
      "SELECT prefs_job_finish($1::bigint, $2::bigint, $3, $4::integer,"
      " $5, $6, $7::interval)::text",
      7, 0 },

    [NGX_PREFS_STMT_JOB_RENEW] = { "prefs_job_renew",
      "UPDATE prefs_job SET lease_until = now() + $2::interval"
      " WHERE state = 'running' AND lease_owner = $1",
      2, 0 },
};
