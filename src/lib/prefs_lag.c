
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include "prefs_lag.h"


void
prefs_lag_primary(prefs_lag_t *lag, uint64_t at, int64_t lsn)
{
    unsigned  keep;

    if (lsn < 0) {
        return;
    }

    keep = lag->n < PREFS_LAG_SAMPLES ? lag->n : PREFS_LAG_SAMPLES - 1;

    memmove(&lag->samples[1], &lag->samples[0],
            keep * sizeof(prefs_lag_sample_t));

    lag->samples[0].at = at;
    lag->samples[0].lsn = lsn;
    lag->n = keep + 1;
}


void
prefs_lag_standby(prefs_lag_t *lag, int64_t replayed)
{
    unsigned  i;

    for (i = 0; i < lag->n; i++) {
        if (lag->samples[i].lsn > replayed) {
            continue;
        }

        /* older than what is known already: that stays true */

        if (!lag->known
            || (int64_t) (lag->samples[i].at - lag->current_at) > 0)
        {
            lag->current_at = lag->samples[i].at;
            lag->known = 1;
        }

        return;
    }
}


int64_t
prefs_lag_ms(const prefs_lag_t *lag, uint64_t now)
{
    int64_t  d;

    if (!lag->known) {
        return -1;
    }

    d = (int64_t) (now - lag->current_at);

    return d > 0 ? d : 0;
}


void
prefs_lag_forget(prefs_lag_t *lag)
{
    lag->known = 0;
}
