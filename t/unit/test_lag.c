
/*
 * Copyright (C) ngx_prefs authors
 */


#include "unit.h"
#include "prefs_lag.h"


int
main(void)
{
    int          i;
    prefs_lag_t  lag;

    memset(&lag, 0, sizeof(lag));

    is_int(prefs_lag_ms(&lag, 1000), -1, "nothing known before a probe");

    prefs_lag_standby(&lag, 500);
    is_int(prefs_lag_ms(&lag, 1000), -1,
           "a standby position without a primary sample tells nothing");

    prefs_lag_primary(&lag, 1000, 500);
    prefs_lag_standby(&lag, 500);
    is_int(prefs_lag_ms(&lag, 1010), 10, "caught up: as of the sample");

    /* an idle primary: its position stays, the standby stays current */

    for (i = 1; i <= 120; i++) {
        prefs_lag_primary(&lag, 1000 + i * 500, 500);
        prefs_lag_standby(&lag, 500);
    }

    is_int(prefs_lag_ms(&lag, 61000 + 20), 20,
           "idle for a minute: still current");

    /* replay stops, the primary moves on */

    prefs_lag_primary(&lag, 61500, 900);
    prefs_lag_standby(&lag, 500);
    is_int(prefs_lag_ms(&lag, 61600), 600,
           "a write it has not replayed: current as of the last sample "
           "it covers");

    for (i = 1; i <= 40; i++) {
        prefs_lag_primary(&lag, 61500 + i * 500, 900 + i);
        prefs_lag_standby(&lag, 500);
    }

    is_int(prefs_lag_ms(&lag, 81500), 20500,
           "paused past every sample kept: the lag keeps growing");

    /* a stale answer does not move it back */

    prefs_lag_standby(&lag, 400);
    is_int(prefs_lag_ms(&lag, 81500), 20500, "an older position changes "
           "nothing");

    /* replay resumes, part way and then fully */

    prefs_lag_standby(&lag, 920);
    is_int(prefs_lag_ms(&lag, 81500), 10000,
           "part way: as of the newest sample at or below it");

    prefs_lag_standby(&lag, 940);
    is_int(prefs_lag_ms(&lag, 81500), 0, "caught up again");

    prefs_lag_forget(&lag);
    is_int(prefs_lag_ms(&lag, 81500), -1, "forgotten when it went away");

    prefs_lag_primary(&lag, 90000, -1);
    is_int(lag.samples[0].at, 81500, "a failed reading is no sample");

    /* clocks wrap */

    memset(&lag, 0, sizeof(lag));
    prefs_lag_primary(&lag, UINT64_MAX - 5, 10);
    prefs_lag_standby(&lag, 10);
    is_int(prefs_lag_ms(&lag, 4), 10, "across the clock's wrap");

    return unit_done();
}
