/* jsonl.c — JSON lines in and out, replies, request fields, the serve loop. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/utf8.h"

static int fail_code;

int fcm_jsonl_read(FILE *f, jv *out, char *err, size_t errlen)
{
	static char buf[FCM_LINE_MAX + 1];
	size_t n = 0;
	int c, nul = 0, got = 0;
	jv v;

again:
	while ((c = getc(f)) != EOF) {
		got = 1;
		if (c == '\n')
			break;
		if (c == 0)
			nul = 1;
		if (n < FCM_LINE_MAX)
			buf[n] = (char)c;
		n++;
	}
	if (c == EOF && ferror(f)) {
		snprintf(err, errlen, "unable to read request: %s", strerror(errno));
		return -1;
	}
	if (!got)
		return 0;
	if (n > FCM_LINE_MAX) {
		snprintf(err, errlen, "request line longer than %d bytes: send one JSON object per line",
		    FCM_LINE_MAX);
		return -1;
	}
	if (n == 0 && c != EOF)
		goto again;	/* blank lines are ignored */
	if (n == 0)
		return 0;
	buf[n] = '\0';
	if (nul || !fcm_utf8_valid(buf, n)) {
		snprintf(err, errlen, "request is not valid UTF-8 text: send one JSON object per line");
		return -1;
	}
	v = jv_parse_sized(buf, (int)n);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		snprintf(err, errlen, "request is not valid JSON (%s): send one JSON object per line",
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "empty");
		jv_free(msg);
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "request must be a JSON object, not %s",
		    jv_kind_name(jv_get_kind(v)));
		jv_free(v);
		return -1;
	}
	*out = v;
	return 1;
}

int fcm_jsonl_write(FILE *f, jv v)
{
	jv s = jv_dump_string(v, 0);
	int r = fprintf(f, "%s\n", jv_string_value(s));

	jv_free(s);
	if (r < 0 || fflush(f) != 0)
		return -1;
	return 0;
}

jv fcm_ok(void)
{
	return jv_object_set(jv_object(), jv_string("ok"), jv_true());
}

jv fcm_fail(int kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!fail_code)
		fail_code = fcm_kind_exit(kind);
	return fcm_error_reply(kind, msg);
}

int fcm_reply_ok(jv reply)
{
	jv ok;
	int r;

	if (jv_get_kind(reply) != JV_KIND_OBJECT)
		return 0;
	ok = jv_object_get(jv_copy(reply), jv_string("ok"));
	r = jv_get_kind(ok) == JV_KIND_TRUE;
	jv_free(ok);
	return r;
}

const char *fcm_reply_error(jv reply)
{
	const char *s = fcm_get_str(reply, "error");

	return s ? s : "";
}

const char *fcm_get_str(jv obj, const char *key)
{
	jv v;
	const char *s = NULL;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);	/* obj still holds a reference */
	jv_free(v);
	return s;
}

int fcm_get_int(jv obj, const char *key, long min, long max, long *out,
    char *err, size_t errlen)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	double d;

	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		snprintf(err, errlen, "%s must be a number, not %s", key,
		    jv_kind_name(jv_get_kind(v)));
		jv_free(v);
		return -1;
	}
	d = jv_number_value(v);
	jv_free(v);
	if (d != floor(d) || d < (double)min || d > (double)max) {
		snprintf(err, errlen, "%s must be a whole number from %ld to %ld", key, min, max);
		return -1;
	}
	*out = (long)d;
	return 1;
}

int fcm_fields_check(jv obj, const struct fcm_field *spec, char *err, size_t errlen)
{
	const struct fcm_field *fl;
	int rc = 0;

	jv_object_foreach(obj, k, v) {	/* borrows obj: the macro evaluates it many times */
		const char *key = jv_string_value(k);
		for (fl = spec; fl->key; fl++)
			if (!strcmp(fl->key, key))
				break;
		if (rc == 0 && !fl->key) {
			snprintf(err, errlen, "unknown field '%.64s'", key);
			rc = -1;
		} else if (rc == 0 && fl->kind != JV_KIND_INVALID &&
		    jv_get_kind(v) != fl->kind &&
		    !(fl->kind == JV_KIND_TRUE && jv_get_kind(v) == JV_KIND_FALSE)) {
			snprintf(err, errlen, "field '%s' must be %s, not %s", key,
			    fl->kind == JV_KIND_TRUE ? "a boolean" : jv_kind_name(fl->kind),
			    jv_kind_name(jv_get_kind(v)));
			rc = -1;
		}
		jv_free(k);
		jv_free(v);
	}
	if (rc)
		return rc;
	for (fl = spec; fl->key; fl++) {
		if (!fl->required)
			continue;
		jv v = jv_object_get(jv_copy(obj), jv_string(fl->key));
		int missing = !jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL;
		jv_free(v);
		if (missing) {
			snprintf(err, errlen, "missing field '%s'", fl->key);
			return -1;
		}
	}
	return 0;
}

jv fcm_request_from_argv(int argc, char **argv)
{
	jv req;
	int i;

	if (argc < 1 || !fcm_utf8_valid(argv[0], strlen(argv[0])))
		return jv_invalid_with_msg(jv_string("no operation given"));
	req = jv_object_set(jv_object(), jv_string("op"), jv_string(argv[0]));
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		jv val;
		size_t klen;
		int raw;

		if (!fcm_utf8_valid(argv[i], strlen(argv[i]))) {
			jv_free(req);
			return jv_invalid_with_msg(jv_string_fmt("argument %d is not valid UTF-8", i));
		}
		if (!eq || eq == argv[i]) {
			jv_free(req);
			return jv_invalid_with_msg(jv_string_fmt(
			    "'%.64s' is not key=value or key:=json", argv[i]));
		}
		raw = eq[-1] == ':';
		klen = (size_t)(eq - argv[i]) - (size_t)raw;
		if (klen == 0) {
			jv_free(req);
			return jv_invalid_with_msg(jv_string_fmt("'%.64s' has an empty key", argv[i]));
		}
		if (raw) {
			val = jv_parse(eq + 1);
			if (!jv_is_valid(val)) {
				jv_free(val);
				jv_free(req);
				return jv_invalid_with_msg(jv_string_fmt(
				    "the value of '%.*s' is not valid JSON", (int)klen, argv[i]));
			}
		} else
			val = jv_string(eq + 1);
		req = jv_object_set(req, jv_string_sized(argv[i], (int)klen), val);
	}
	return req;
}

static jv dispatch(jv req, const struct fcm_op *ops)
{
	const char *op = fcm_get_str(req, "op");
	const struct fcm_op *o;
	char names[512] = "";
	size_t n = 0;

	if (!op)
		return fcm_fail(FCM_E_USAGE, "request has no \"op\": say which operation, e.g. {\"op\":\"%s\"}",
		    ops[0].name);
	for (o = ops; o->name; o++)
		if (!strcmp(o->name, op))
			return o->fn(req);
	for (o = ops; o->name && n < sizeof names; o++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", o == ops ? "" : ", ", o->name);
	return fcm_fail(FCM_E_USAGE, "unknown op '%.64s' (known: %s)", op, names);
}

static int answer(jv req, const struct fcm_op *ops, int *first_code, const char *level)
{
	jv reply;
	int before = fail_code;

	fail_code = 0;
	reply = dispatch(req, ops);
	if (!fcm_reply_ok(reply)) {
		if (!getenv("FCM_CALLER"))
			fprintf(stderr, "%s: %s: %s\n", fcm_prog, level, fcm_reply_error(reply));
		if (!*first_code)
			*first_code = fail_code ? fail_code : FCM_EXIT_TEMP;
	}
	fail_code = before;
	if (fcm_jsonl_write(stdout, reply) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write reply");
	return 0;
}

int fcm_serve(int argc, char **argv, const struct fcm_op *ops, const char *usage)
{
	int code = 0;
	char err[512];
	jv req;
	int r;

	fcm_err_json(1);
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s\n", usage);
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-') {
		fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[1], usage);
	}
	if (argc > 1) {
		req = fcm_request_from_argv(argc - 1, argv + 1);
		if (!jv_is_valid(req)) {
			jv msg = jv_invalid_get_msg(req);
			snprintf(err, sizeof err, "%s", jv_string_value(msg));
			jv_free(msg);
			fcm_die(FCM_E_USAGE, "%s; usage: %s", err, usage);
		}
		answer(req, ops, &code, "fatal");
		jv_free(req);
		return code;
	}
	while ((r = fcm_jsonl_read(stdin, &req, err, sizeof err)) != 0) {
		if (r < 0) {
			if (!getenv("FCM_CALLER"))
				fprintf(stderr, "%s: error: %s\n", fcm_prog, err);
			if (!code)
				code = FCM_EXIT_USAGE;
			jv reply = fcm_error_reply(FCM_E_USAGE, err);
			if (fcm_jsonl_write(stdout, reply) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to write reply");
			continue;
		}
		answer(req, ops, &code, "error");
		jv_free(req);
	}
	return code;
}
