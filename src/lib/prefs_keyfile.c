
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The prefs_secret_key file: 32 bytes as hex, base64 or base64url, in a
 * file only its owner may read.
 */


/* open(), fstat() and O_CLOEXEC under -std=c99 */
#define _POSIX_C_SOURCE  200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "prefs_b64.h"
#include "prefs_keyfile.h"
#include "prefs_path.h"


#define PREFS_KEY_FILE_MAX     256


static int prefs_keyfile_error(char *err, size_t err_size, int rc,
    const char *fmt, ...);


int
prefs_keyfile_load(const char *path, unsigned char key[PREFS_AUTH_KEY_LEN],
    char *err, size_t err_size)
{
    int            fd, hi, lo, rc;
    long           n;
    size_t         len, i;
    ssize_t        got;
    struct stat    st;
    unsigned char  tmp[48];
    char           buf[PREFS_KEY_FILE_MAX + 1];

    if (err_size) {
        err[0] = '\0';
    }

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "cannot open key file \"%s\": %s",
                                   path, strerror(errno));
    }

    if (fstat(fd, &st) == -1) {
        rc = errno;
        close(fd);
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "cannot stat key file \"%s\": %s",
                                   path, strerror(rc));
    }

    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "key file \"%s\" is not a regular file",
                                   path);
    }

    len = 0;

    while (len < sizeof(buf)) {
        got = read(fd, buf + len, sizeof(buf) - len);

        if (got == -1) {
            if (errno == EINTR) {
                continue;
            }

            rc = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof(buf));
            return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                       "cannot read key file \"%s\": %s",
                                       path, strerror(rc));
        }

        if (got == 0) {
            break;
        }

        len += (size_t) got;
    }

    close(fd);

    if (len == sizeof(buf)) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "key file \"%s\" is longer than %d bytes",
                                   path, PREFS_KEY_FILE_MAX);
    }

    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'
                       || buf[len - 1] == '\r' || buf[len - 1] == '\n'))
    {
        len--;
    }

    n = -1;

    if (len == 64) {
        n = 32;

        for (i = 0; i < 32; i++) {
            hi = prefs_path_hex((unsigned char) buf[2 * i]);
            lo = prefs_path_hex((unsigned char) buf[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                n = -1;
                break;
            }

            tmp[i] = (unsigned char) (hi << 4 | lo);
        }

    } else if (len == 44) {
        n = prefs_b64_decode(buf, len, tmp, sizeof(tmp), PREFS_B64_STD);

    } else if (len == 43) {
        n = prefs_b64_decode(buf, len, tmp, sizeof(tmp), PREFS_B64_URL);

    } else {
        OPENSSL_cleanse(buf, sizeof(buf));
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "key file \"%s\" must hold 32 bytes as "
                                   "64 hex digits or in base64, not %zu "
                                   "characters",
                                   path, len);
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    if (n != 32) {
        OPENSSL_cleanse(tmp, sizeof(tmp));
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "key file \"%s\" is not valid %s", path,
                                   len == 64 ? "hex" : "base64 for 32 bytes");
    }

    memcpy(key, tmp, PREFS_AUTH_KEY_LEN);
    OPENSSL_cleanse(tmp, sizeof(tmp));

    /*
     * Refusing would take the server down over a deployment habit; the
     * caller logs this as a warning instead.
     */

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        return prefs_keyfile_error(err, err_size, PREFS_AUTH_KEY_LOOSE,
                                   "key file \"%s\" is accessible by group or "
                                   "others (mode %04o), it should be 0600",
                                   path, (unsigned) (st.st_mode & 07777));
    }

    return PREFS_AUTH_OK;
}


static int
prefs_keyfile_error(char *err, size_t err_size, int rc, const char *fmt, ...)
{
    va_list  args;

    if (err_size) {
        va_start(args, fmt);
        vsnprintf(err, err_size, fmt, args);
        va_end(args);
    }

    return rc;
}
