
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_LAG_H_INCLUDED_
#define _PREFS_LAG_H_INCLUDED_


/*
 * How far a streaming standby is behind its primary, in time, from WAL
 * positions (prefs_db_replica, src/core/ngx_prefs_db.c).
 *
 * The caller records the primary's WAL position together with the time it
 * asked for it (prefs_lag_primary()), then asks the standby for the
 * position it has replayed (prefs_lag_standby()).  Every commit made on
 * the primary before a sample's time has a position at most the sample's,
 * so a standby that has replayed that position holds all of it: the
 * standby is current as of the newest such sample, and its lag is the time
 * since.  An idle primary's position does not move, so an idle standby
 * stays current however long nothing happens; a standby that stopped
 * replaying falls behind from the first write it misses.  Replay only
 * moves forward: a standby once known current as of a time stays so.
 * Times are milliseconds of any clock that does not go back.  No nginx
 * types.
 */


#include <stdint.h>


#define PREFS_LAG_SAMPLES  32


typedef struct {
    uint64_t            at;
    int64_t             lsn;
} prefs_lag_sample_t;


typedef struct {
    prefs_lag_sample_t  samples[PREFS_LAG_SAMPLES];     /* newest first */
    unsigned            n;
    uint64_t            current_at;     /* the standby holds all before */
    int                 known;
} prefs_lag_t;


void prefs_lag_primary(prefs_lag_t *lag, uint64_t at, int64_t lsn);
void prefs_lag_standby(prefs_lag_t *lag, int64_t replayed);
/* the standby's lag at now, in ms; -1 while it is not known */
int64_t prefs_lag_ms(const prefs_lag_t *lag, uint64_t now);
/* the standby went away: nothing is known of it until it answers again */
void prefs_lag_forget(prefs_lag_t *lag);


#endif /* _PREFS_LAG_H_INCLUDED_ */
