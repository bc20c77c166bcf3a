/* request.c — argv → request, JSON request checks, request ↔ HTTP
 * (request.h, cmd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/request.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/utf8.h"
#include "vm/dotfcm.h"

#define VALUE_MAX 4096

static const char *key_of(const struct fcm_opt *o)
{
	return o->key ? o->key : o->name;
}

/* "vms*": the rest of the words, VM names, as an array at "vms" (none is
 * fine); "words+": the rest of the words, any text, at "words" (one at
 * least: KEY=VALUE pairs, a command line). */
static int is_rest(const char *arg)
{
	char c = arg[strlen(arg) - 1];

	return c == '*' || c == '+';
}

static int is_text_rest(const char *arg)
{
	return arg[strlen(arg) - 1] == '+';
}

/* "version?": an optional last word, after the VM.  Alone, a word is the
 * VM unless it names a release (v3, fcm rollback v3): then it is this
 * one, and the VM comes from .fcm. */
static int is_optional(const char *arg)
{
	return arg[strlen(arg) - 1] == '?';
}

static int looks_like_release(const char *w)
{
	return w[0] == 'v' && w[1] && strspn(w + 1, "0123456789") == strlen(w + 1);
}

/* Is key the positional argument arg ("port"; "vms" for "vms*")? */
static int is_arg(const char *arg, const char *key)
{
	size_t n = strlen(arg) - (size_t)(is_rest(arg) || is_optional(arg));

	return strlen(key) == n && !strncmp(arg, key, n);
}

static _Noreturn void bad(const struct fcm_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void bad(const struct fcm_cmd *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fcm_die(FCM_E_USAGE, "%s; usage: %s", msg, cmd->usage);
}

/* A whole number in [min, max] from s, or dies naming label. */
static long number(const char *label, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		fcm_die(FCM_E_USAGE, "%s must be a whole number from %ld to %ld, not '%.32s'", label, min, max, s);
	return v;
}

/* The typed value of an option's word. */
static jv typed(const struct fcm_opt *o, const char *label, const char *s)
{
	if (!fcm_utf8_valid(s, strlen(s)) || strlen(s) > VALUE_MAX)
		fcm_die(FCM_E_USAGE, "%s must be UTF-8 text of at most %d bytes", label, VALUE_MAX);
	if (o && o->type == FCM_OPT_NUMBER)
		return jv_number((double)number(label, s, o->min, o->max));
	return jv_string(s);
}

/* The option a positional key is parsed by (FCM_OPT_NUMBER, ...), if any. */
static const struct fcm_opt *opt_of_key(const struct fcm_cmd *cmd, const char *key, int type)
{
	for (const struct fcm_opt *o = cmd->opts; o && o->name; o++)
		if (!strcmp(key_of(o), key) && (!type || o->type == type) && !(o->where & FCM_OPT_CLIENT))
			return o;
	return NULL;
}

static jv set_opt(const struct fcm_cmd *cmd, jv req, const struct fcm_opt *o, const char *label,
    const char *val)
{
	const char *key = key_of(o);

	switch (o->type) {
	case FCM_OPT_FLAG:
		return jv_object_set(req, jv_string(key), o->value ? jv_parse(o->value) : jv_true());
	case FCM_OPT_LIST: {
		jv list = jv_object_get(jv_copy(req), jv_string(key));
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		return jv_object_set(req, jv_string(key), jv_array_append(list, typed(NULL, label, val)));
	}
	default:
		(void)cmd;
		return jv_object_set(req, jv_string(key), typed(o, label, val));
	}
}

jv fcm_request_parse(const struct fcm_cmd *cmd, int argc, char **argv, int *json)
{
	/* Static, so that what is made so far stays reachable when a check
	 * dies part-way (LeakSanitizer counts it lost otherwise). */
	static jv req, words;
	req = jv_object();
	words = jv_array();
	int only_words = 0, nargs = 0, rest = 0, text_rest = 0, nwords, dashdash = -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct fcm_opt *o = NULL;
		char label[80];

		/* a word: not an option, "-", or a negative number (a bad port) */
		if (only_words || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
			words = jv_array_append(words, jv_string(a));
			continue;
		}
		if (!strcmp(a, "--")) {
			only_words = 1;
			dashdash = jv_array_length(jv_copy(words));
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: %s\n", cmd->usage);
			exit(0);
		}
		if (!strcmp(a, "--json")) {
			*json = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			for (o = cmd->opts; o && o->name; o++)
				if (strlen(o->name) == n && !strncmp(o->name, a + 2, n) && !(o->where & FCM_OPT_WORD))
					break;
			if (eq)
				val = eq + 1;
		} else {
			for (o = cmd->opts; o && o->name; o++)
				if (o->letter && o->letter == a[1])
					break;
			if (a[2])
				val = a + 2;
		}
		if (!o || !o->name)
			bad(cmd, "unknown option '%.64s'", a);
		snprintf(label, sizeof label, "--%s", o->name);
		if (o->type == FCM_OPT_FLAG) {
			if (val)
				bad(cmd, "option '%s' takes no value", label);
		} else if (!val) {
			if (i + 1 >= argc)
				bad(cmd, "option '%s' needs a value", label);
			val = argv[++i];
		}
		req = set_opt(cmd, req, o, label, val);
	}

	const char *optional = NULL;
	for (const char *const *k = cmd->args; k && *k; k++)
		if (is_rest(*k))
			rest = 1, text_rest = is_text_rest(*k);
		else if (is_optional(*k))
			optional = *k;
		else
			nargs++;
	nwords = jv_array_length(jv_copy(words));
	if (optional) {	/* took away here; the VM and the required words are as usual */
		jv last = nwords ? jv_array_get(jv_copy(words), nwords - 1) : jv_invalid();
		int take = nwords == nargs + 2 || (nwords == nargs + 1 && looks_like_release(jv_string_value(last)));
		if (nwords > nargs + 2)
			bad(cmd, "too many arguments");
		if (take) {
			req = jv_object_set(req, jv_string_sized(optional, (int)strlen(optional) - 1), jv_copy(last));
			words = jv_array_slice(words, 0, nwords - 1);
			nwords--;
		}
		jv_free(last);
	}
	if (nwords < nargs)
		bad(cmd, "say which %s", cmd->args[nwords]);
	if (cmd->flags & FCM_CMD_VM) {
		char why[256];
		jv vm;
		/* Before text words, the first word is the VM when it is
		 * followed by more and is a VM name (KEY=VALUE, an upper-case
		 * KEY are not); with `--`, only a word before it may be. */
		int vm_word = nwords == nargs + 1;
		if (text_rest) {
			jv w0 = jv_array_get(jv_copy(words), 0);
			vm_word = dashdash >= 0 ? dashdash > nargs :
			    nwords > nargs + 1 && fcm_name_check(jv_string_value(w0), why, sizeof why) == 0;
			if (dashdash > nargs + 1)
				bad(cmd, "one VM at a time");
			jv_free(w0);
		} else if (nwords > nargs + 1) {
			bad(cmd, nargs ? "too many arguments" : "one VM at a time");
		}
		if (vm_word) {
			vm = jv_array_get(jv_copy(words), 0);
			words = jv_array_slice(words, 1, nwords);
			nwords--;
		} else {
			vm = fcm_dotfcm_vm();
			if (!jv_is_valid(vm))
				fcm_die_invalid(FCM_E_USAGE, vm);
		}
		if (fcm_name_check(jv_string_value(vm), why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "%s", why);
		req = jv_object_set(req, jv_string("vm"), vm);
	}
	if (nwords > nargs && !rest) {
		jv w = jv_array_get(jv_copy(words), nargs);
		char msg[128];
		snprintf(msg, sizeof msg, "unexpected argument '%.64s'", jv_string_value(w));
		jv_free(w);
		bad(cmd, "%s", msg);
	}
	for (int i = 0; cmd->args && cmd->args[i]; i++) {
		const char *key = cmd->args[i];
		if (is_optional(key))
			break;	/* taken above */
		if (is_rest(key)) {
			jv more = jv_array_slice(jv_copy(words), i, nwords);
			if (is_text_rest(key)) {
				if (!jv_array_length(jv_copy(more)))
					bad(cmd, "say which %.*s", (int)strlen(key) - 1, key);
				req = jv_object_set(req, jv_string_sized(key, (int)strlen(key) - 1), more);
				break;
			}
			jv_array_foreach(more, j, w) {
				char why[256];
				if (fcm_name_check(jv_string_value(w), why, sizeof why) < 0)
					fcm_die(FCM_E_USAGE, "%s", why);
				jv_free(w);
				(void)j;
			}
			if (jv_array_length(jv_copy(more)))
				req = jv_object_set(req, jv_string_sized(key, (int)strlen(key) - 1), more);
			else
				jv_free(more);
			break;
		}
		jv w = jv_array_get(jv_copy(words), i);
		req = jv_object_set(req, jv_string(key), typed(opt_of_key(cmd, key, FCM_OPT_NUMBER), key,
		    jv_string_value(w)));
		jv_free(w);
	}
	jv_free(words);
	return req;
}

/* Does v fit option o? */
static int fits(const struct fcm_opt *o, jv v)
{
	switch (o->type) {
	case FCM_OPT_FLAG: {
		jv want = o->value ? jv_parse(o->value) : jv_true();
		jv_kind k = jv_get_kind(want); int ok = jv_get_kind(v) == k ||
		    ((k == JV_KIND_TRUE || k == JV_KIND_FALSE) &&
		     (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE));
		jv_free(want);
		return ok;
	}
	case FCM_OPT_NUMBER: {
		double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1e300;
		return d == (double)(long)d && d >= (double)o->min && d <= (double)o->max;
	}
	case FCM_OPT_LIST:
		if (jv_get_kind(v) != JV_KIND_ARRAY)
			return 0;
		jv_array_foreach(v, i, s) {
			int k = jv_get_kind(s);
			jv_free(s);
			if (k != JV_KIND_STRING)
				return 0;
		}
		return 1;
	default:
		return jv_get_kind(v) == JV_KIND_STRING &&
		    jv_string_length_bytes(jv_copy(v)) <= VALUE_MAX;
	}
}

jv fcm_request_check(const struct fcm_cmd *cmd, jv req)
{
	static const struct fcm_opt list_opt = { .name = "*", .type = FCM_OPT_LIST };
	jv bad_key = jv_invalid();

	if (jv_get_kind(req) != JV_KIND_OBJECT) {
		jv_free(req);
		return jv_invalid_with_msg(jv_string("the request must be a JSON object"));
	}
	jv_object_foreach(req, k, v) {
		const char *key = jv_string_value(k);
		const struct fcm_opt *o, *seen = NULL;
		int ok = 0, arg = 0;
		for (o = cmd->opts; o && o->name && !ok; o++) {
			if (strcmp(key_of(o), key) || (o->where & FCM_OPT_CLIENT))
				continue;
			seen = o;
			ok = fits(o, v);
		}
		for (const char *const *a = cmd->args; a && *a && !ok && !seen; a++)
			if (is_arg(*a, key))
				arg = 1, ok = is_rest(*a) ? fits(&list_opt, v) : jv_get_kind(v) == JV_KIND_STRING;
		if (!strcmp(key, "vm") && (cmd->flags & FCM_CMD_VM))
			arg = 1, ok = jv_get_kind(v) == JV_KIND_STRING;
		if (!ok && jv_is_valid(bad_key) == 0) {
			jv_free(bad_key);
			if (seen && seen->type == FCM_OPT_NUMBER)
				bad_key = jv_string_fmt("'%s' must be a whole number from %ld to %ld", key, seen->min, seen->max);
			else if (seen || arg)
				bad_key = jv_string_fmt("'%s' has the wrong type (see 'fcm %s --help')", key, cmd->name);
			else
				bad_key = jv_string_fmt("unknown field '%.64s' (see 'fcm %s --help')", key, cmd->name);
		}
		jv_free(k);
		jv_free(v);
	}
	if (jv_is_valid(bad_key)) {
		jv_free(req);
		return jv_invalid_with_msg(bad_key);
	}
	jv_free(bad_key);
	return req;
}

/* Append s to buf, %-escaped but for unreserved characters. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static int client_only(const struct fcm_cmd *cmd, const char *key)
{
	for (const struct fcm_opt *o = cmd->opts; o && o->name; o++)
		if (!strcmp(key_of(o), key))
			return (o->where & FCM_OPT_CLIENT) != 0;
	return 0;
}

const char *fcm_request_http(const struct fcm_cmd *cmd, jv req, char **path, char **body)
{
	const struct fcm_cmd_route *r = &cmd->routes[0];
	const char *vm = fcm_get_str(req, "vm"), *p;
	int post = !strcmp(r->method, "POST"), sep = '?';
	jv fields = jv_object();
	size_t len = 0;
	FILE *f = open_memstream(path, &len);

	if (!f)
		fcm_die_nomem();
	jv inpath = jv_array();	/* the keys the path carries */

	for (p = r->path; *p; p++) {
		if (!strncmp(p, "{vm}", 4) && vm) {
			put_escaped(f, vm);
			p += 3;
		} else if (*p == '{' && strchr(p, '}')) {
			/* {key}: the request's string of that key */
			size_t n = strcspn(p + 1, "}");
			jv key = jv_string_sized(p + 1, (int)n);
			const char *v = fcm_get_str(req, jv_string_value(key));
			put_escaped(f, v ? v : "");
			inpath = jv_array_append(inpath, key);
			p += n + 1;
		} else {
			fputc(*p, f);
		}
	}
	jv_object_foreach(req, k, v) {
		const char *key = jv_string_value(k);
		int in = 0;
		jv_array_foreach(inpath, i, pk) {
			in |= !strcmp(jv_string_value(pk), key);
			jv_free(pk);
		}
		if (!strcmp(key, "vm") || client_only(cmd, key) || in) {
			jv_free(k);
			jv_free(v);
		} else if (post) {
			fields = jv_object_set(fields, k, v);
		} else {
			fputc(sep, f);
			sep = '&';
			put_escaped(f, key);
			fputc('=', f);
			if (jv_get_kind(v) == JV_KIND_STRING) {
				put_escaped(f, jv_string_value(v));
			} else if (jv_get_kind(v) == JV_KIND_ARRAY) {
				jv_array_foreach(v, i, s) {
					if (i)
						fputc(',', f);
					put_escaped(f, jv_string_value(s));
					jv_free(s);
				}
			} else {
				jv s = jv_dump_string(jv_copy(v), 0);
				fputs(jv_string_value(s), f);
				jv_free(s);
			}
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(inpath);
	if (fclose(f) != 0)
		fcm_die_nomem();
	*body = NULL;
	if (post) {
		jv s = jv_dump_string(fields, 0);
		*body = fcm_strdup(jv_string_value(s));
		jv_free(s);
	} else {
		jv_free(fields);
	}
	return r->method;
}

/* A query value (text) typed for key as the command's options say. */
static jv query_value(const struct fcm_cmd *cmd, const char *key, const char *s)
{
	const struct fcm_opt *o = opt_of_key(cmd, key, 0);
	char *end;

	if (o && o->type == FCM_OPT_FLAG) {
		if (!strcmp(s, "true") || !strcmp(s, "1") || !*s)
			return jv_true();
		if (!strcmp(s, "false") || !strcmp(s, "0"))
			return jv_false();
	}
	if (o && o->type == FCM_OPT_NUMBER) {
		long v;
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s && !*end && !errno)
			return jv_number((double)v);
	}
	int rest = 0;
	for (const char *const *a = cmd->args; a && *a; a++)
		rest |= is_rest(*a) && is_arg(*a, key);
	if ((o && o->type == FCM_OPT_LIST) || rest) {
		jv list = jv_array();
		const char *p = s;
		while (*p) {
			size_t n = strcspn(p, ",");
			list = jv_array_append(list, jv_string_sized(p, (int)n));
			p += n + (p[n] == ',');
		}
		return list;
	}
	return jv_string(s);
}

/* Does the route's pattern match path?  Sets *vm (into vmbuf), and in
 * *params (an object) the words of its other {key}s. */
static int match(const char *pat, const char *path, char *vmbuf, size_t vmlen, int *has_vm, jv *params)
{
	*has_vm = 0;
	*params = jv_object();
	while (*pat && *path) {
		if (!strncmp(pat, "{vm}", 4)) {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= vmlen)
				return n == 0 ? 0 : -1;
			memcpy(vmbuf, path, n);
			vmbuf[n] = '\0';
			*has_vm = 1;
			pat += 4;
			path += n;
		} else if (*pat == '{' && strchr(pat, '}')) {
			size_t k = strcspn(pat + 1, "}"), n = strcspn(path, "/");
			if (n == 0)
				return 0;
			*params = jv_object_set(*params, jv_string_sized(pat + 1, (int)k), jv_string_sized(path, (int)n));
			pat += k + 2;
			path += n;
		} else if (*pat++ != *path++) {
			return 0;
		}
	}
	return !*pat && !*path;
}

const struct fcm_cmd *fcm_cmd_route(const char *method, const char *path, jv query,
    jv body, jv *req, const struct fcm_cmd_route **route, char *allow, size_t allowlen)
{
	const char *m = !strcmp(method, "HEAD") ? "GET" : method;
	char vm[FCM_NAME_MAX + 2], why[256];
	size_t alen = 0;

	if (allowlen)
		allow[0] = '\0';
	const struct fcm_cmd *all[256];
	size_t n = 0;

	/* every command, and every subcommand */
	for (const struct fcm_cmd *const *c = fcm_cmds; *c && n < 256; c++)
		if ((*c)->subs)
			for (const struct fcm_cmd *const *s = (*c)->subs; *s && n < 256; s++)
				all[n++] = *s;
		else
			all[n++] = *c;
	for (size_t i = 0; i < n; i++) {
		const struct fcm_cmd *const *c = &all[i];
		for (const struct fcm_cmd_route *r = (*c)->routes; r && r->method; r++) {
			jv params;
			int has_vm, k = match(r->path, path, vm, sizeof vm, &has_vm, &params);
			if (k <= 0 || strcmp(r->method, m))
				jv_free(params);
			if (k < 0) {
				jv_free(query);
				jv_free(body);
				*req = fcm_error_reply(FCM_E_USAGE, "a VM name is at most 63 characters");
				if (allowlen)
					allow[0] = '\0';
				return NULL;
			}
			if (!k)
				continue;
			if (strcmp(r->method, m)) {
				if (!strstr(allow, r->method) && alen < allowlen)
					alen += (size_t)snprintf(allow + alen, allowlen - alen, "%s%s%s", alen ? ", " : "",
					    r->method, !strcmp(r->method, "GET") ? ", HEAD" : "");
				continue;
			}
			if (has_vm && fcm_name_check(vm, why, sizeof why) < 0) {
				jv_free(params);
				jv_free(query);
				jv_free(body);
				*req = fcm_error_reply(FCM_E_USAGE, why);
				if (allowlen)
					allow[0] = '\0';
				return NULL;
			}
			jv r0 = jv_get_kind(body) == JV_KIND_OBJECT ? body : (jv_free(body), jv_object());
			jv_object_foreach(query, k2, v) {
				if (jv_get_kind(v) == JV_KIND_STRING)
					r0 = jv_object_set(r0, jv_copy(k2), query_value(*c, jv_string_value(k2),
					    jv_string_value(v)));
				jv_free(k2);
				jv_free(v);
			}
			jv_free(query);
			r0 = jv_object_merge(r0, params);
			if (has_vm && r->one)
				r0 = jv_object_set(r0, jv_string("vms"), jv_array_append(jv_array(), jv_string(vm)));
			else if (has_vm)
				r0 = jv_object_set(r0, jv_string("vm"), jv_string(vm));
			r0 = fcm_request_check(*c, r0);
			if (!jv_is_valid(r0)) {
				jv msg = jv_invalid_get_msg(r0);
				*req = fcm_error_reply(FCM_E_USAGE, jv_string_value(msg));
				jv_free(msg);
				return NULL;
			}
			*req = r0;
			*route = r;
			return *c;
		}
	}
	jv_free(query);
	jv_free(body);
	*req = fcm_error_reply(FCM_E_NOT_FOUND, alen ? "method not allowed" :
	    "no such endpoint (see 'GET /v1/health' and doc/api.md)");
	return NULL;
}
