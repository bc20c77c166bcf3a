/* authapi.c — the connection-free parts of fcm-api's /v1/auth endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/authapi.h"
#include "core/err.h"
#include "http/http.h"
#include "core/jsonl.h"
#include "auth/users.h"
#include "vm/quota.h"

char *fcm_authapi_request(int kind, const char *body, size_t len, size_t *outlen,
    char *err, size_t errlen)
{
	const char *op = kind == FCM_R_AUTH_CONFIG ? "config" : kind == FCM_R_AUTH_DEVICE ? "device" : "login";
	jv req, s;
	char *line;

	if (kind != FCM_R_AUTH_LOGIN || len == 0) {
		req = jv_object();
	} else {
		req = jv_parse_sized(body, (int)len);
		if (!jv_is_valid(req) || jv_get_kind(req) != JV_KIND_OBJECT) {
			jv_free(req);
			snprintf(err, errlen, "the body must be a JSON object (see doc/auth.md)");
			return NULL;
		}
		if (jv_object_has(jv_copy(req), jv_string("op"))) {
			jv_free(req);
			snprintf(err, errlen, "unknown field 'op'");
			return NULL;
		}
	}
	req = jv_object_set(req, jv_string("op"), jv_string(op));
	s = jv_dump_string(req, 0);
	line = fcm_asprintf("%s\n", jv_string_value(s));
	jv_free(s);
	*outlen = strlen(line);
	return line;
}

unsigned fcm_authapi_status(jv *reply, int exit)
{
	jv st = jv_object_get(jv_copy(*reply), jv_string("status"));
	unsigned s = exit == 0 ? 200 : 500;

	if (jv_get_kind(st) == JV_KIND_NUMBER && jv_number_value(st) >= 200 && jv_number_value(st) <= 599)
		s = (unsigned)jv_number_value(st);
	jv_free(st);
	*reply = jv_object_delete(*reply, jv_string("status"));
	return s;
}

jv fcm_authapi_me(const struct fcm_principal *p)
{
	jv me = jv_object_set(jv_object_set(jv_object(), jv_string("name"), jv_string(p->name)),
	    jv_string("admin"), jv_bool(p->admin));
	jv u = fcm_users_get(p->name);

	if (jv_is_valid(u)) {
		jv e = jv_object_get(jv_copy(u), jv_string("email"));
		jv n = jv_object_get(jv_copy(u), jv_string("name"));
		jv i = jv_object_get(jv_copy(u), jv_string("iss"));
		me = jv_object_set(me, jv_string("email"), jv_get_kind(e) == JV_KIND_STRING ? e : (jv_free(e), jv_null()));
		me = jv_object_set(me, jv_string("full_name"), jv_get_kind(n) == JV_KIND_STRING ? n : (jv_free(n), jv_null()));
		me = jv_object_set(me, jv_string("issuer"), jv_get_kind(i) == JV_KIND_STRING ? i : (jv_free(i), jv_null()));
	}
	jv_free(u);
	/* What the user's VMs take, against their quota (lib/vm/quota.h). */
	struct fcm_usage use, q;
	fcm_usage_of(p->name, &use);
	fcm_quota_of(p->name, &q);
	me = jv_object_set(me, jv_string("usage"), fcm_usage_json(&use, 0));
	me = jv_object_set(me, jv_string("quota"), fcm_usage_json(&q, 1));
	return me;
}
