
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_IMPORT_JOB_H_INCLUDED_
#define _NGX_PREFS_IMPORT_JOB_H_INCLUDED_


#include "ngx_prefs_helper.h"


/* the job type "prefs.import": an import's batches, or its purge */
void ngx_prefs_import_job_run(ngx_prefs_helper_job_t *job);


#endif /* _NGX_PREFS_IMPORT_JOB_H_INCLUDED_ */
