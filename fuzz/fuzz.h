
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * What every libFuzzer harness of fuzz/ shares: check(), an abort that
 * libFuzzer reports with the input, for the properties beyond the
 * sanitizers; and fuzz_copy(), the input in a buffer of its exact size, so
 * that AddressSanitizer sees any read past its end.
 */


#ifndef _FUZZ_H_INCLUDED_
#define _FUZZ_H_INCLUDED_


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define check(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)


/* the input, copied to a buffer of its size (1 byte for an empty one) */

static inline char *
fuzz_copy(const uint8_t *data, size_t size)
{
    char  *copy;

    copy = malloc(size ? size : 1);
    check(copy != NULL);
    memcpy(copy, data, size);

    return copy;
}


#endif /* _FUZZ_H_INCLUDED_ */
