/* err.h — one error style for every fcm program, after skalibs' strerr.
 *
 *   fcm-net: fatal: unable to create tap tap_8i5agfx2: Operation not permitted
 *   fcm-net: warning: ...
 *   fcm-net: usage: fcm-net [op [key=value ...]]
 *
 * Exit codes as s6: 0 ok, 100 usage or permanent refusal, 111 temporary or
 * system failure, 101 internal bug.  When a program answers in JSON
 * (fcm_err_json(1)), a fatal error also goes to stdout as
 * {"ok":false,"error":"<message>"} so a caller reading JSON sees it too. */
#ifndef FCM_ERR_H
#define FCM_ERR_H

#include <stdarg.h>

#include <jv.h>

#define FCM_EXIT_OK    0
#define FCM_EXIT_USAGE 100
#define FCM_EXIT_BUG   101
#define FCM_EXIT_TEMP  111

extern const char *fcm_prog;

/* Set the program name (basename of argv0, or a fixed name) and install the
 * stdout write-error check at exit. */
void fcm_init(const char *argv0);
/* Program name with an instance, as s6-supervise <dir> does. */
void fcm_set_instance(const char *instance);
void fcm_err_json(int on);

void fcm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fcm_warn_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fcm_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As fcm_die, with ": strerror(errno)" appended. */
_Noreturn void fcm_die_sys(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fcm_die_usage(const char *usage);
/* Die with the message of an invalid jv (jv_invalid_with_msg), as libfcm's
 * lookups return them ("no VM named 'x' (see 'fcm ls')"). */
_Noreturn void fcm_die_invalid(int code, jv invalid);
_Noreturn void fcm_die_nomem(void);

/* The same as the above, from a va_list (for wrappers). */
void fcm_vmsg(const char *level, const char *fmt, va_list ap);

/* Checked allocation: dies with 111 on failure. */
void *fcm_malloc(unsigned long n);
char *fcm_strdup(const char *s);
char *fcm_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
