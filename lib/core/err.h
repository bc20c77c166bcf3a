/* err.h — one error style for every fcm program, after skalibs' strerr.
 *
 *   fcm-net: fatal: unable to create tap tap_8i5agfx2: Operation not permitted
 *   fcm-net: warning: ...
 *   fcm-net: usage: fcm-net [op [key=value ...]]
 *
 * Every error has a kind (enum fcm_kind) beside its message.  The kind gives
 * the exit code, as s6 has them: 0 ok, 100 usage or permanent refusal, 111
 * temporary or system failure, 101 internal bug; and the HTTP API maps it to
 * a status in one table (lib/http/http.c).  When a program answers in JSON
 * (fcm_err_json(1)), a fatal error also goes to stdout as
 * {"ok":false,"kind":"not_found","error":"<message>"} so a caller reading
 * JSON sees it too. */
#ifndef FCM_ERR_H
#define FCM_ERR_H

#include <stdarg.h>

#include <jv.h>

#define FCM_EXIT_OK    0
#define FCM_EXIT_USAGE 100
#define FCM_EXIT_BUG   101
#define FCM_EXIT_TEMP  111

/* What went wrong, for a program (exit code) and for the API (status). */
enum fcm_kind {
	FCM_E_USAGE = 1,	/* bad input or options: exit 100, HTTP 400 */
	FCM_E_NOT_FOUND,	/* no such VM (or other thing): 100, 404 */
	FCM_E_CONFLICT,		/* in use, or not in a state that allows it: 100, 409 */
	FCM_E_FORBIDDEN,	/* not yours, or not allowed: 100, 403 */
	FCM_E_UNAUTHORIZED,	/* no or a bad token: 100, 401 */
	FCM_E_UNAVAILABLE,	/* try again later (daemon not running, busy): 111, 503 */
	FCM_E_INTERNAL,		/* a system call or a helper failed: 111, 500 */
	FCM_E_BUG,		/* a bug in fcm: 101, 500 (kind "internal") */
};

/* "usage", "not_found", ... (FCM_E_BUG is "internal"). */
const char *fcm_kind_name(int kind);
/* The kind of a name, or FCM_E_INTERNAL for an unknown one. */
int fcm_kind_parse(const char *name);
/* The exit code of a kind. */
int fcm_kind_exit(int kind);
/* {"ok":false,"kind":"<kind>","error":"<msg>"}. */
jv fcm_error_reply(int kind, const char *msg);

extern const char *fcm_prog;

/* Set the program name (basename of argv0, or a fixed name) and install the
 * stdout write-error check at exit. */
void fcm_init(const char *argv0);
/* Program name with an instance, as s6-supervise <dir> does. */
void fcm_set_instance(const char *instance);
void fcm_err_json(int on);

/* "prog: info: ...", for what a long-running program logs as it goes. */
void fcm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fcm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fcm_warn_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the message, also as JSON with fcm_err_json(1), and exit with the
 * kind's code. */
_Noreturn void fcm_die(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As fcm_die, with ": strerror(errno)" appended. */
_Noreturn void fcm_die_sys(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fcm_die_usage(const char *usage);
/* Die with the message of an invalid jv (jv_invalid_with_msg), as libfcm's
 * lookups return them ("no VM named 'x' (see 'fcm ls')"). */
_Noreturn void fcm_die_invalid(int kind, jv invalid);
/* Die with the error of a failed reply: its kind and message. */
_Noreturn void fcm_die_reply(jv reply);
_Noreturn void fcm_die_nomem(void);

/* The same as the above, from a va_list (for wrappers). */
void fcm_vmsg(const char *level, const char *fmt, va_list ap);

/* Checked allocation: dies with 111 on failure. */
void *fcm_malloc(unsigned long n);
char *fcm_strdup(const char *s);
char *fcm_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
