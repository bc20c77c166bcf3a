/* err.c — messages on stderr, exit codes, checked allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "core/err.h"

static const struct {
	const char *name;
	int exit;
} kinds[] = {
	[FCM_E_USAGE] = { "usage", FCM_EXIT_USAGE },
	[FCM_E_NOT_FOUND] = { "not_found", FCM_EXIT_USAGE },
	[FCM_E_CONFLICT] = { "conflict", FCM_EXIT_USAGE },
	[FCM_E_FORBIDDEN] = { "forbidden", FCM_EXIT_USAGE },
	[FCM_E_UNAUTHORIZED] = { "unauthorized", FCM_EXIT_USAGE },
	[FCM_E_UNAVAILABLE] = { "unavailable", FCM_EXIT_TEMP },
	[FCM_E_INTERNAL] = { "internal", FCM_EXIT_TEMP },
	[FCM_E_BUG] = { "internal", FCM_EXIT_BUG },
};

static int kind_ok(int kind)
{
	return kind >= FCM_E_USAGE && kind <= FCM_E_BUG;
}

const char *fcm_kind_name(int kind)
{
	return kinds[kind_ok(kind) ? kind : FCM_E_INTERNAL].name;
}

int fcm_kind_parse(const char *name)
{
	for (int k = FCM_E_USAGE; name && k < FCM_E_BUG; k++)
		if (!strcmp(kinds[k].name, name))
			return k;
	return FCM_E_INTERNAL;
}

int fcm_kind_exit(int kind)
{
	return kinds[kind_ok(kind) ? kind : FCM_E_INTERNAL].exit;
}

jv fcm_error_reply(int kind, const char *msg)
{
	jv r = jv_object_set(jv_object(), jv_string("ok"), jv_false());

	r = jv_object_set(r, jv_string("kind"), jv_string(fcm_kind_name(kind)));
	return jv_object_set(r, jv_string("error"), jv_string(msg));
}

const char *fcm_prog = "fcm";
static char *prog_buf;
static int json_errors;

static void check_stdout(void)
{
	/* A truncated JSON stream must never look like success (as git does). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			_exit(FCM_EXIT_TEMP);
		fprintf(stderr, "%s: fatal: unable to write to stdout: %s\n",
		    fcm_prog, strerror(errno ? errno : EIO));
		_exit(FCM_EXIT_TEMP);
	}
}

void fcm_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	fcm_prog = slash ? slash + 1 : (argv0 && *argv0 ? argv0 : "fcm");
	atexit(check_stdout);
}

void fcm_set_instance(const char *instance)
{
	free(prog_buf);
	prog_buf = fcm_asprintf("%s %s", fcm_prog, instance);
	fcm_prog = prog_buf;
}

void fcm_err_json(int on)
{
	json_errors = on;
}

void fcm_vmsg(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s: ", fcm_prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fcm_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fcm_vmsg("info", fmt, ap);
	va_end(ap);
}

void fcm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fcm_vmsg("warning", fmt, ap);
	va_end(ap);
}

void fcm_warn_sys(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "%s: warning: ", fcm_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
}

static _Noreturn void die_msg(int kind, const char *msg)
{
	fprintf(stderr, "%s: fatal: %s\n", fcm_prog, msg);
	if (json_errors) {
		jv s = jv_dump_string(fcm_error_reply(kind, msg), 0);
		printf("%s\n", jv_string_value(s));
		jv_free(s);
	}
	exit(fcm_kind_exit(kind));
}

void fcm_die(int kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die_msg(kind, msg);
}

void fcm_die_sys(int kind, const char *fmt, ...)
{
	int e = errno;
	char msg[1024];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof msg - n, ": %s", strerror(e));
	die_msg(kind, msg);
}

void fcm_die_invalid(int kind, jv invalid)
{
	jv msg = jv_invalid_get_msg(invalid);

	fcm_die(kind, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
}

void fcm_die_reply(jv reply)
{
	jv k = jv_get_kind(reply) == JV_KIND_OBJECT ? jv_object_get(jv_copy(reply), jv_string("kind")) : jv_invalid();
	jv e = jv_get_kind(reply) == JV_KIND_OBJECT ? jv_object_get(jv_copy(reply), jv_string("error")) : jv_invalid();
	int kind = fcm_kind_parse(jv_get_kind(k) == JV_KIND_STRING ? jv_string_value(k) : NULL);

	fcm_die(kind, "%s", jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : "no reply");
}

void fcm_die_usage(const char *usage)
{
	fprintf(stderr, "%s: usage: %s\n", fcm_prog, usage);
	exit(FCM_EXIT_USAGE);
}

void fcm_die_nomem(void)
{
	fprintf(stderr, "%s: fatal: out of memory\n", fcm_prog);
	_exit(FCM_EXIT_TEMP);
}

void *fcm_malloc(unsigned long n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fcm_die_nomem();
	return p;
}

char *fcm_strdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		fcm_die_nomem();
	return p;
}

char *fcm_asprintf(const char *fmt, ...)
{
	char *p;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		fcm_die_nomem();
	return p;
}
