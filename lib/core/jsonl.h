/* jsonl.h — the JSON-lines protocol every fcm helper speaks (doc/protocol.md).
 *
 * A request is one JSON object on one line, at most FCM_LINE_MAX bytes, with
 * an "op" naming the operation; the reply is one JSON object on one line with
 * "ok": true, or "ok": false and an "error" a person can act on.  All JSON
 * goes through libjq's jv API; nothing here parses JSON by hand. */
#ifndef FCM_JSONL_H
#define FCM_JSONL_H

#include <stddef.h>
#include <stdio.h>

#include <jv.h>

#define FCM_LINE_MAX (64 * 1024)

/* Read one line and parse it as a JSON object.  Returns 1 with *out set,
 * 0 at end of input, -1 on bad input (too long, not UTF-8, not JSON, not an
 * object) with a message in err. */
int fcm_jsonl_read(FILE *f, jv *out, char *err, size_t errlen);
/* Write v (consumed) as one compact line and flush.  -1 on write error. */
int fcm_jsonl_write(FILE *f, jv v);

/* Replies.  fcm_fail makes {"ok":false,"kind":...,"error":...} and records
 * its kind's exit code as the exit status fcm_serve will end with. */
jv fcm_ok(void);
jv fcm_fail(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Is this reply a success? (does not consume) */
int fcm_reply_ok(jv reply);
/* The error message of a failed reply, or "" (valid while reply lives). */
const char *fcm_reply_error(jv reply);

/* Request fields.  A spec lists every allowed key, its kind and whether it is
 * required; fcm_fields_check refuses unknown keys, wrong kinds and missing
 * keys with one line naming the key.  JV_KIND_INVALID in a spec means "any". */
struct fcm_field {
	const char *key;
	jv_kind kind;
	int required;
};
int fcm_fields_check(jv obj, const struct fcm_field *spec, char *err, size_t errlen);
/* The string at key, or NULL when absent or not a string; valid while obj
 * lives.  obj is not consumed. */
const char *fcm_get_str(jv obj, const char *key);
/* The integer at key, within [min,max].  Returns 1 found, 0 absent, -1 bad
 * (not an integer or out of range, message in err). */
int fcm_get_int(jv obj, const char *key, long min, long max, long *out,
    char *err, size_t errlen);

/* Build a request from command-line words, as HTTPie does:
 *   OP key=value key:=<json> ...
 * gives {"op":"OP","key":"value","key":<json>}.  Invalid → jv_invalid_with_msg. */
jv fcm_request_from_argv(int argc, char **argv);

/* Serve a helper's operations.  With words on the command line, one request
 * made from them; with none, one request per line from stdin until EOF.
 * Each reply goes to stdout as one line.  Returns the exit status: 0 when every
 * request succeeded, else the code of the first failure. */
struct fcm_op {
	const char *name;
	jv (*fn)(jv req);	/* req is borrowed; returns the reply */
};
int fcm_serve(int argc, char **argv, const struct fcm_op *ops, const char *usage);

#endif
