/* fcm-auth — logins on an fcm host: OpenID Connect against the configured
 * issuer, the user store and user tokens (doc/auth.md).  Plumbing: JSON
 * lines (doc/protocol.md); fcm-api runs it for the /v1/auth endpoints,
 * feeding the request on stdin, so that codes and ID tokens never show in
 * a process list.
 *
 *   {"op":"config"}    issuer, client id, endpoints, flows (never the secret)
 *   {"op":"device"}    start a device login: user_code, verification_uri, ...
 *   {"op":"login","code":C,"code_verifier":V,"redirect_uri":U,"nonce":N}
 *   {"op":"login","device_code":D}
 *   {"op":"login","id_token":T,"nonce":N}
 *                      verify, record the user, answer a fresh fcm token:
 *                      {"ok":true,"token":...,"expires_at":...,"user":{...}}
 *   {"op":"users"}     every user (host side)
 *   {"op":"revoke","user":ID}   revoke every token of a user
 *
 * A failed reply may carry "status", the HTTP status fcm-api answers with
 * (401 a refused ID token, 403 a person not allowed to log in, 428 a device login not approved yet, 502 the
 * issuer unreachable), and "pending" for the device flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "auth/oidc.h"
#include "auth/users.h"

static const char usage[] = "fcm-auth [config | device | login ... | users | revoke user=ID]";

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static jv fail_status(int status, int code, const char *msg)
{
	jv r = fcm_fail(code, "%s", msg);

	return jv_object_set(r, jv_string("status"), jv_number(status));
}

static int load(struct fcm_auth_config *c, jv *reply)
{
	char err[512];

	if (fcm_auth_config_load(c, err, sizeof err) < 0) {
		*reply = fail_status(503, FCM_E_USAGE, err);
		return -1;
	}
	return 0;
}

static int discover(const struct fcm_auth_config *c, jv *disco, jv *reply)
{
	char err[512];
	int why;

	*disco = fcm_oidc_discover(c, &why, err, sizeof err);
	if (!jv_is_valid(*disco)) {
		*reply = fail_status(502, why == -2 ? FCM_E_INTERNAL : FCM_E_USAGE, err);
		return -1;
	}
	return 0;
}

static jv op_config(jv req)
{
	static const struct fcm_field spec[] = { { "op", JV_KIND_STRING, 1 }, { NULL, 0, 0 } };
	struct fcm_auth_config c;
	char err[512];
	const char *s;
	jv reply, disco, flows = jv_array();

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fail_status(400, FCM_E_USAGE, err);
	if (load(&c, &reply) < 0)
		return reply;
	if (discover(&c, &disco, &reply) < 0) {
		fcm_auth_config_free(&c);
		return reply;
	}
	reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("issuer"), jv_string(c.issuer));
	reply = jv_object_set(reply, jv_string("client_id"), jv_string(c.client_id));
	reply = jv_object_set(reply, jv_string("scope"), jv_string(FCM_OIDC_SCOPES));
	if ((s = fcm_get_str(disco, "authorization_endpoint")) && fcm_oidc_url_ok(s)) {
		reply = jv_object_set(reply, jv_string("authorization_endpoint"), jv_string(s));
		flows = jv_array_append(flows, jv_string("loopback"));
	}
	if ((s = fcm_get_str(disco, "device_authorization_endpoint")) && fcm_oidc_url_ok(s))
		flows = jv_array_append(flows, jv_string("device"));
	reply = jv_object_set(reply, jv_string("flows"), flows);
	jv_free(disco);
	fcm_auth_config_free(&c);
	return reply;
}

static jv op_device(jv req)
{
	static const struct fcm_field spec[] = { { "op", JV_KIND_STRING, 1 }, { NULL, 0, 0 } };
	const char *pairs[] = { "scope", FCM_OIDC_SCOPES, NULL, NULL };
	struct fcm_auth_config c;
	char err[512];
	const char *url, *s;
	long status;
	jv reply, disco, a;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fail_status(400, FCM_E_USAGE, err);
	if (load(&c, &reply) < 0)
		return reply;
	if (discover(&c, &disco, &reply) < 0)
		goto out;
	url = fcm_get_str(disco, "device_authorization_endpoint");
	if (!url || !fcm_oidc_url_ok(url)) {
		reply = fail_status(400, FCM_E_USAGE,
		    "the issuer has no device flow (no device_authorization_endpoint): use the loopback flow (fcm login without --device)");
		goto out_d;
	}
	a = fcm_oidc_post_form(&c, url, pairs, &status, err, sizeof err);
	if (!jv_is_valid(a)) {
		reply = fail_status(502, FCM_E_INTERNAL, err);
		goto out_d;
	}
	if (status != 200 || !fcm_get_str(a, "device_code") || !fcm_get_str(a, "user_code")) {
		const char *e = fcm_get_str(a, "error"), *d = fcm_get_str(a, "error_description");
		snprintf(err, sizeof err, "the issuer refused to start a device login: %.100s%s%.200s",
		    e ? e : "no device_code in its answer", d ? ": " : "", d ? d : "");
		reply = fail_status(502, FCM_E_USAGE, err);
		jv_free(a);
		goto out_d;
	}
	reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("device_code"), jv_string(fcm_get_str(a, "device_code")));
	reply = jv_object_set(reply, jv_string("user_code"), jv_string(fcm_get_str(a, "user_code")));
	/* Google says verification_url, RFC 8628 verification_uri. */
	s = fcm_get_str(a, "verification_uri");
	if (!s)
		s = fcm_get_str(a, "verification_url");
	reply = jv_object_set(reply, jv_string("verification_uri"), s ? jv_string(s) : jv_null());
	if ((s = fcm_get_str(a, "verification_uri_complete")))
		reply = jv_object_set(reply, jv_string("verification_uri_complete"), jv_string(s));
	long v;
	reply = jv_object_set(reply, jv_string("interval"),
	    jv_number(fcm_get_int(a, "interval", 1, 60, &v, err, sizeof err) == 1 ? v : 5));
	reply = jv_object_set(reply, jv_string("expires_in"),
	    jv_number(fcm_get_int(a, "expires_in", 1, 86400, &v, err, sizeof err) == 1 ? v : 600));
	jv_free(a);
out_d:
	jv_free(disco);
out:
	fcm_auth_config_free(&c);
	return reply;
}

/* Exchange at the token endpoint: the ID token (malloc'd), or NULL with *reply. */
static char *exchange(const struct fcm_auth_config *c, jv disco, const char *const *pairs, int device, jv *reply)
{
	const char *url = fcm_get_str(disco, "token_endpoint");
	char err[512];
	long status;
	jv a = fcm_oidc_post_form(c, url, pairs, &status, err, sizeof err);
	const char *e, *d, *id;
	char *r;

	if (!jv_is_valid(a)) {
		*reply = fail_status(502, FCM_E_INTERNAL, err);
		return NULL;
	}
	e = fcm_get_str(a, "error");
	d = fcm_get_str(a, "error_description");
	if (status != 200 || e) {
		if (device && e && (!strcmp(e, "authorization_pending") || !strcmp(e, "slow_down"))) {
			*reply = fail_status(428, FCM_E_USAGE, "the login is not approved yet: waiting for the user");
			*reply = jv_object_set(*reply, jv_string("pending"), jv_string(e));
		} else if (device && e && !strcmp(e, "expired_token")) {
			*reply = fail_status(401, FCM_E_USAGE, "the device code expired before the login was approved: run 'fcm login --device' again");
		} else if (device && e && !strcmp(e, "access_denied")) {
			*reply = fail_status(401, FCM_E_USAGE, "the login was denied at the issuer");
		} else {
			snprintf(err, sizeof err, "the issuer refused the %s: %.60s%s%.200s",
			    device ? "device code" : "authorization code", e ? e : "an HTTP error",
			    d ? ": " : "", d ? d : "");
			*reply = fail_status(status >= 500 ? 502 : 401, FCM_E_USAGE, err);
		}
		jv_free(a);
		return NULL;
	}
	id = fcm_get_str(a, "id_token");
	if (!id) {
		*reply = fail_status(502, FCM_E_USAGE,
		    "the issuer answered no ID token: is the 'openid' scope allowed for this client?");
		jv_free(a);
		return NULL;
	}
	r = fcm_strdup(id);
	jv_free(a);
	return r;
}

static int str_ok(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!s || n < min || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 127)
			return 0;
	return 1;
}

static jv op_login(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id_token", JV_KIND_STRING, 0 },
		{ "nonce", JV_KIND_STRING, 0 },
		{ "code", JV_KIND_STRING, 0 },
		{ "code_verifier", JV_KIND_STRING, 0 },
		{ "redirect_uri", JV_KIND_STRING, 0 },
		{ "device_code", JV_KIND_STRING, 0 },
		{ NULL, 0, 0 },
	};
	const char *idt = fcm_get_str(req, "id_token"), *nonce = fcm_get_str(req, "nonce");
	const char *code = fcm_get_str(req, "code"), *ver = fcm_get_str(req, "code_verifier");
	const char *redir = fcm_get_str(req, "redirect_uri"), *dev = fcm_get_str(req, "device_code");
	struct fcm_auth_config c;
	char err[512], tok[FCM_TOKEN_HEXLEN + 1];
	char *idtok = NULL;
	long expires;
	int k;
	jv reply, disco = jv_invalid(), claims = jv_invalid(), user = jv_invalid();

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fail_status(400, FCM_E_USAGE, err);
	if (!!idt + !!code + !!dev != 1)
		return fail_status(400, FCM_E_USAGE,
		    "give one of id_token, code (with code_verifier and redirect_uri) or device_code");
	if (nonce && !str_ok(nonce, 1, 256))
		return fail_status(400, FCM_E_USAGE, "nonce must be 1-256 printable characters");
	if (code) {
		if (!str_ok(code, 1, 4096))
			return fail_status(400, FCM_E_USAGE, "code must be 1-4096 printable characters");
		/* RFC 7636: 43-128 characters; PKCE is required here. */
		if (!str_ok(ver, 43, 128))
			return fail_status(400, FCM_E_USAGE, "code_verifier (PKCE, 43-128 characters) is required with a code");
		if (!redir || strlen(redir) > 512 ||
		    (!fcm_oidc_loopback_redirect_ok(redir) && !fcm_oidc_web_redirect_ok(redir)))
			return fail_status(400, FCM_E_USAGE,
			    "redirect_uri must be an http URL on a loopback address with a port (the loopback flow), "
			    "or https://HOST/login (the web dashboard's)");
		if (!nonce)
			return fail_status(400, FCM_E_USAGE, "nonce is required with a code");
	}
	/* An ID token handed in directly is bound to this login by its nonce
	 * alone (a token copied from elsewhere has another one). */
	if (idt && !nonce)
		return fail_status(400, FCM_E_USAGE, "nonce is required with an id_token (the nonce of the login that asked for it)");
	if (dev && !str_ok(dev, 1, 4096))
		return fail_status(400, FCM_E_USAGE, "device_code must be 1-4096 printable characters");
	if (load(&c, &reply) < 0)
		return reply;
	if (discover(&c, &disco, &reply) < 0)
		goto out;
	if (code) {
		const char *pairs[] = { "grant_type", "authorization_code", "code", code,
		    "redirect_uri", redir, "code_verifier", ver, NULL, NULL };
		if (!(idtok = exchange(&c, disco, pairs, 0, &reply)))
			goto out;
	} else if (dev) {
		const char *pairs[] = { "grant_type", DEVICE_GRANT, "device_code", dev, NULL, NULL };
		if (!(idtok = exchange(&c, disco, pairs, 1, &reply)))
			goto out;
	} else {
		idtok = fcm_strdup(idt);
	}
	k = fcm_oidc_verify(&c, disco, idtok, dev ? NULL : nonce, &claims, err, sizeof err);
	if (k < 0) {
		reply = fail_status(k == -2 ? 502 : 401, k == -2 ? FCM_E_INTERNAL : FCM_E_USAGE, err);
		goto out;
	}
	k = fcm_users_login(&c, claims, &user, err, sizeof err);
	if (k == -2) {
		reply = fail_status(403, FCM_E_FORBIDDEN, err);
		goto out;
	}
	if (k < 0 || fcm_users_token_new(user, c.token_ttl, tok, &expires, err, sizeof err) < 0) {
		reply = fail_status(500, FCM_E_INTERNAL, err);
		goto out;
	}
	jv u = jv_object();
	u = jv_object_set(u, jv_string("id"), jv_string(fcm_get_str(user, "id")));
	u = jv_object_set(u, jv_string("email"), jv_object_get(jv_copy(user), jv_string("email")));
	u = jv_object_set(u, jv_string("name"), jv_object_get(jv_copy(user), jv_string("name")));
	u = jv_object_set(u, jv_string("admin"), jv_object_get(jv_copy(user), jv_string("admin")));
	reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("token"), jv_string(tok));
	reply = jv_object_set(reply, jv_string("expires_at"), jv_number((double)expires));
	reply = jv_object_set(reply, jv_string("user"), u);
	explicit_bzero(tok, sizeof tok);
out:
	if (idtok) {
		explicit_bzero(idtok, strlen(idtok));
		free(idtok);
	}
	jv_free(user);
	jv_free(claims);
	jv_free(disco);
	fcm_auth_config_free(&c);
	return reply;
}

static jv op_users(jv req)
{
	static const struct fcm_field spec[] = { { "op", JV_KIND_STRING, 1 }, { NULL, 0, 0 } };
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	return jv_object_set(fcm_ok(), jv_string("users"), fcm_users_list());
}

static jv op_revoke(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 }, { "user", JV_KIND_STRING, 1 }, { NULL, 0, 0 },
	};
	char err[512];
	const char *id = fcm_get_str(req, "user");
	int n;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	if ((n = fcm_users_revoke_all(id)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to read %s/tokens", fcm_root());
	return jv_object_set(fcm_ok(), jv_string("revoked"), jv_number(n));
}

int main(int argc, char **argv)
{
	static const struct fcm_op ops[] = {
		{ "config", op_config },
		{ "device", op_device },
		{ "login", op_login },
		{ "users", op_users },
		{ "revoke", op_revoke },
		{ NULL, NULL },
	};

	fcm_init(argv[0]);
	return fcm_serve(argc, argv, ops, usage);
}
