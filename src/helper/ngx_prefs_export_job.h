
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_EXPORT_JOB_H_INCLUDED_
#define _NGX_PREFS_EXPORT_JOB_H_INCLUDED_


#include "ngx_prefs_helper.h"


/* the job type "prefs.export": payload {"access_token": "<n>"} */
void ngx_prefs_export_job_run(ngx_prefs_helper_job_t *job);


#endif /* _NGX_PREFS_EXPORT_JOB_H_INCLUDED_ */
