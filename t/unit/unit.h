
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_UNIT_H_INCLUDED_
#define _PREFS_UNIT_H_INCLUDED_


/* A TAP producer small enough to need no library. */


#include <stdio.h>
#include <string.h>


static int  unit_run, unit_failed;


#define ok(cond, ...)                                                         \
    do {                                                                      \
        int  ok_ = (cond) ? 1 : 0;                                            \
        unit_run++;                                                           \
        if (ok_) {                                                            \
            printf("ok %d - ", unit_run);                                     \
        } else {                                                              \
            unit_failed++;                                                    \
            printf("not ok %d - ", unit_run);                                 \
        }                                                                     \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        if (!ok_) {                                                           \
            printf("#   failed at %s line %d\n", __FILE__, __LINE__);         \
        }                                                                     \
    } while (0)


#define is_int(got, want, ...)                                                \
    do {                                                                      \
        long  g_ = (long) (got), w_ = (long) (want);                          \
        ok(g_ == w_, __VA_ARGS__);                                            \
        if (g_ != w_) {                                                       \
            printf("#   got %ld, want %ld\n", g_, w_);                        \
        }                                                                     \
    } while (0)


#define is_str(got, want, ...)                                                \
    do {                                                                      \
        const char  *g_ = (got), *w_ = (want);                                \
        int          eq_ = (g_ && w_ && strcmp(g_, w_) == 0);                 \
        ok(eq_, __VA_ARGS__);                                                 \
        if (!eq_) {                                                           \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",        \
                   w_ ? w_ : "(null)");                                       \
        }                                                                     \
    } while (0)


static int
unit_done(void)
{
    printf("1..%d\n", unit_run);
    return unit_failed ? 1 : 0;
}


#endif /* _PREFS_UNIT_H_INCLUDED_ */
