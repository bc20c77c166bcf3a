/* oidc.c — OpenID Connect: settings, discovery, keys, ID tokens (lib/auth/oidc.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "auth/jwk.h"
#include "auth/jwt.h"
#include "auth/oidc.h"
#include "auth/token.h"
#include "core/paths.h"

#define HTTP_MAX (1024 * 1024)

/* --- settings ------------------------------------------------------------- */

static char *setting(jv file, const char *key, const char *env)
{
	const char *s = getenv(env);

	if (s && *s)
		return fcm_strdup(s);
	s = jv_is_valid(file) ? fcm_get_str(file, key) : NULL;
	return s && *s ? fcm_strdup(s) : NULL;
}

static jv lower_list(jv in)
{
	jv out = jv_array();

	jv_array_foreach(in, i, v) {
		if (jv_get_kind(v) == JV_KIND_STRING) {
			char *s = fcm_strdup(jv_string_value(v));
			for (char *p = s; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			out = jv_array_append(out, jv_string(s));
			free(s);
		}
		jv_free(v);
		(void)i;
	}
	jv_free(in);
	return out;
}

int fcm_auth_config_load(struct fcm_auth_config *c, char *err, size_t errlen)
{
	char *path = fcm_path("auth.json");
	jv file = jv_invalid();
	struct stat st;
	const char *s;
	int r = -1;

	memset(c, 0, sizeof *c);
	c->admins = jv_array();
	c->token_ttl = FCM_TOKEN_TTL_DEFAULT;
	if (stat(path, &st) == 0) {
		if (st.st_mode & 077) {
			snprintf(err, errlen, "%s is readable by others and holds the client secret: chmod 600 it", path);
			goto out;
		}
		file = fcm_read_json(path);
		if (!jv_is_valid(file) || jv_get_kind(file) != JV_KIND_OBJECT) {
			snprintf(err, errlen, "%s is not a JSON object (see doc/auth.md)", path);
			goto out;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "unable to look at %s: %s", path, strerror(errno));
		goto out;
	}
	c->issuer = setting(file, "issuer", "FCM_OIDC_ISSUER");
	if (!c->issuer)
		c->issuer = fcm_strdup(FCM_OIDC_ISSUER_DEFAULT);
	size_t n = strlen(c->issuer);
	while (n > 8 && c->issuer[n - 1] == '/')
		c->issuer[--n] = '\0';
	c->client_id = setting(file, "client_id", "FCM_OIDC_CLIENT_ID");
	c->client_secret = setting(file, "client_secret", "FCM_OIDC_CLIENT_SECRET");
	if ((s = getenv("FCM_OIDC_ADMINS")) && *s) {
		char *copy = fcm_strdup(s), *save = NULL;
		jv list = jv_array();
		for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			list = jv_array_append(list, jv_string(t));
		free(copy);
		jv_free(c->admins);
		c->admins = lower_list(list);
	} else if (jv_is_valid(file)) {
		jv a = jv_object_get(jv_copy(file), jv_string("admins"));
		if (jv_get_kind(a) == JV_KIND_ARRAY) {
			jv_free(c->admins);
			c->admins = lower_list(a);
		} else
			jv_free(a);
	}
	if ((s = getenv("FCM_TOKEN_TTL")) && *s) {
		char *end;
		c->token_ttl = strtol(s, &end, 10);
		if (*end || c->token_ttl < 60 || c->token_ttl > 366L * 86400) {
			snprintf(err, errlen, "FCM_TOKEN_TTL must be seconds from 60 to 31622400");
			goto out;
		}
	} else if (jv_is_valid(file)) {
		long ttl;
		char e2[128];
		int k = fcm_get_int(file, "token_ttl", 60, 366L * 86400, &ttl, e2, sizeof e2);
		if (k < 0) {
			snprintf(err, errlen, "%s: token_ttl must be seconds from 60 to 31622400", path);
			goto out;
		}
		if (k > 0)
			c->token_ttl = ttl;
	}
	if (!fcm_oidc_url_ok(c->issuer)) {
		snprintf(err, errlen, "the issuer '%.200s' must be an https URL (or http on a loopback address)", c->issuer);
		goto out;
	}
	if (!c->client_id) {
		snprintf(err, errlen, "logins are not set up on this host: put the OAuth client id (and secret) in %s (see doc/auth.md)", path);
		goto out;
	}
	r = 0;
out:
	jv_free(file);
	free(path);
	return r;
}

void fcm_auth_config_free(struct fcm_auth_config *c)
{
	free(c->issuer);
	free(c->client_id);
	if (c->client_secret) {
		explicit_bzero(c->client_secret, strlen(c->client_secret));
		free(c->client_secret);
	}
	jv_free(c->admins);
	memset(c, 0, sizeof *c);
	c->admins = jv_invalid();
}

/* --- URLs ------------------------------------------------------------------ */

static int host_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[64];
	size_t n = strlen(host);

	if (!strcasecmp(host, "localhost"))
		return 1;
	if (n >= 2 && n < sizeof h + 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/* scheme, host and port of url; 0 or -1. */
static int url_parts(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	int r = -1;

	*scheme = *host = *port = NULL;
	if (!u || strlen(url) > 2048)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, port, 0);
	r = 0;
out:
	curl_url_cleanup(u);
	return r;
}

int fcm_oidc_url_ok(const char *url)
{
	char *scheme, *host, *port;
	int ok = 0;

	if (url_parts(url, &scheme, &host, &port) == 0)
		ok = !strcasecmp(scheme, "https") || (!strcasecmp(scheme, "http") && host_loopback(host));
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return ok;
}

int fcm_oidc_loopback_redirect_ok(const char *url)
{
	char *scheme, *host, *port;
	int ok = 0;

	if (url_parts(url, &scheme, &host, &port) == 0)
		ok = !strcasecmp(scheme, "http") && host_loopback(host) && port;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return ok;
}

int fcm_oidc_web_redirect_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *query = NULL, *frag = NULL, *user = NULL;
	int ok = 0;

	if (u && strlen(url) <= 512 && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_QUERY, &query, 0);
		curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
		curl_url_get(u, CURLUPART_USER, &user, 0);
		ok = !strcasecmp(scheme, "https") && !strcmp(path, "/login") && !query && !frag && !user;
	}
	curl_free(scheme);
	curl_free(path);
	curl_free(query);
	curl_free(frag);
	curl_free(user);
	curl_url_cleanup(u);
	return ok;
}

/* --- HTTP ------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len;
	int over;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t k = size * n;

	if (b->len + k > HTTP_MAX) {
		b->over = 1;
		return 0;
	}
	char *np = realloc(b->p, b->len + k + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

static void curl_common(CURL *h, const char *url, struct buf *b)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fcm/" FCM_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
}

static jv parse_body(struct buf *b, const char *url, char *err, size_t errlen)
{
	jv v = b->p ? jv_parse_sized(b->p, (int)b->len) : jv_invalid();

	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		snprintf(err, errlen, "%.200s did not answer with a JSON object", url);
		return jv_invalid();
	}
	return v;
}

/* --- the cache of GETs (discovery document, JWKS) ------------------------------ */

#define CACHE_MAX_AGE (24L * 3600)	/* longer max-ages are cut to a day */

/* Cache-Control of an answer: its max-age in seconds, or 0 when it may not
 * be kept (no-store, no-cache, private is fine: we are its one client). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	long *max_age = arg;
	size_t len = size * n;

	if (len > 14 && !strncasecmp(p, "cache-control:", 14)) {
		char v[256];
		size_t k = len - 14 < sizeof v - 1 ? len - 14 : sizeof v - 1;
		memcpy(v, p + 14, k);
		v[k] = '\0';
		for (char *q = v; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		char *m = strstr(v, "max-age=");
		if (strstr(v, "no-store") || strstr(v, "no-cache"))
			*max_age = 0;
		else if (m) {
			long a = strtol(m + 8, NULL, 10);
			*max_age = a < 0 ? 0 : a > CACHE_MAX_AGE ? CACHE_MAX_AGE : a;
		}
	}
	return len;
}

static char *cache_path(const char *url)
{
	char hash[65];

	fcm_token_hash(url, strlen(url), hash);
	return fcm_path("auth/cache/%s.json", hash);
}

/* The cached answer of url, while fresh; else invalid. */
static jv cache_get(const char *url)
{
	char *path = cache_path(url);
	jv c = fcm_read_json(path), body = jv_invalid();
	long exp;
	char err[64];

	free(path);
	if (jv_is_valid(c) && jv_get_kind(c) == JV_KIND_OBJECT && fcm_get_str(c, "url") &&
	    !strcmp(fcm_get_str(c, "url"), url) &&
	    fcm_get_int(c, "expires_at", 0, 1L << 40, &exp, err, sizeof err) == 1 && exp > (long)time(NULL)) {
		body = jv_object_get(jv_copy(c), jv_string("body"));
		if (jv_get_kind(body) != JV_KIND_OBJECT) {
			jv_free(body);
			body = jv_invalid();
		}
	}
	jv_free(c);
	return body;
}

static void cache_put(const char *url, jv body, long max_age)
{
	char *dir = fcm_path("auth/cache"), *path;
	jv c;

	if (max_age <= 0 || (fcm_mkdirs(dir, 0700) < 0 && errno != EEXIST)) {
		free(dir);
		jv_free(body);
		return;
	}
	free(dir);
	path = cache_path(url);
	c = jv_object_set(jv_object(), jv_string("url"), jv_string(url));
	c = jv_object_set(c, jv_string("expires_at"), jv_number((double)(time(NULL) + max_age)));
	c = jv_object_set(c, jv_string("body"), body);
	if (fcm_write_json_atomic(path, c, 0600) < 0)
		fcm_warn_sys("unable to write %s", path);
	free(path);
}

jv fcm_oidc_get_json(const char *url, int *why, char *err, size_t errlen)
{
	return fcm_oidc_get_json_cached(url, 1, why, err, errlen);
}

jv fcm_oidc_get_json_cached(const char *url, int use_cache, int *why, char *err, size_t errlen)
{
	CURL *h;
	struct buf b = { 0 };
	long status = 0, max_age = 0;
	CURLcode cc;
	jv v = jv_invalid();

	*why = -1;
	if (!fcm_oidc_url_ok(url)) {
		snprintf(err, errlen, "'%.200s' is not an https URL (or http on a loopback address)", url);
		return v;
	}
	if (use_cache && jv_is_valid(v = cache_get(url)))
		return v;
	if (!(h = curl_easy_init()))
		fcm_die_nomem();
	curl_common(h, url, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &max_age);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK) {
		*why = -2;
		snprintf(err, errlen, "unable to fetch %.200s: %s", url,
		    b.over ? "the answer is too large" : curl_easy_strerror(cc));
	} else if (status != 200) {
		*why = -2;
		snprintf(err, errlen, "%.200s answered HTTP %ld", url, status);
	} else {
		v = parse_body(&b, url, err, errlen);
		if (jv_is_valid(v))
			cache_put(url, jv_copy(v), max_age);
	}
	free(b.p);
	return v;
}

static char *form_escape(CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0);
	char *r;

	if (!e)
		fcm_die_nomem();
	r = fcm_strdup(e);
	curl_free(e);
	return r;
}

jv fcm_oidc_post_form(const struct fcm_auth_config *c, const char *url, const char *const *pairs,
    long *status, char *err, size_t errlen)
{
	CURL *h;
	struct buf b = { 0 };
	struct curl_slist *hdrs = NULL;
	char *body = fcm_strdup(""), *auth = NULL;
	CURLcode cc;
	jv v = jv_invalid();

	*status = 0;
	if (!fcm_oidc_url_ok(url)) {
		snprintf(err, errlen, "'%.200s' is not an https URL (or http on a loopback address)", url);
		free(body);
		return v;
	}
	if (!(h = curl_easy_init()))
		fcm_die_nomem();
	for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
		char *k = form_escape(h, pairs[i]), *val = form_escape(h, pairs[i + 1]);
		char *nb = fcm_asprintf("%s%s%s=%s", body, *body ? "&" : "", k, val);
		explicit_bzero(body, strlen(body));
		free(body);
		explicit_bzero(val, strlen(val));
		free(k);
		free(val);
		body = nb;
	}
	if (c->client_secret) {
		/* client_secret_basic: both parts form-encoded first (RFC 6749 2.3.1). */
		char *id = form_escape(h, c->client_id), *sec = form_escape(h, c->client_secret);
		char *pair = fcm_asprintf("%s:%s", id, sec);
		size_t pl = strlen(pair);
		unsigned char *b64 = fcm_malloc(pl / 3 * 4 + 8);
		EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)pl);
		auth = fcm_asprintf("Authorization: Basic %s", b64);
		explicit_bzero(pair, pl);
		explicit_bzero(sec, strlen(sec));
		explicit_bzero(b64, strlen((char *)b64));
		free(id);
		free(sec);
		free(pair);
		free(b64);
		hdrs = curl_slist_append(hdrs, auth);
	} else {
		char *id = form_escape(h, c->client_id);
		char *nb = fcm_asprintf("%s%sclient_id=%s", body, *body ? "&" : "", id);
		free(id);
		explicit_bzero(body, strlen(body));
		free(body);
		body = nb;
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_common(h, url, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	explicit_bzero(body, strlen(body));
	free(body);
	if (cc != CURLE_OK)
		snprintf(err, errlen, "unable to reach %.200s: %s", url,
		    b.over ? "the answer is too large" : curl_easy_strerror(cc));
	else
		v = parse_body(&b, url, err, errlen);
	if (b.p) {
		explicit_bzero(b.p, b.len);
		free(b.p);
	}
	return v;
}

/* --- discovery and ID tokens ------------------------------------------------------ */

jv fcm_oidc_discover(const struct fcm_auth_config *c, int *why, char *err, size_t errlen)
{
	char *url = fcm_asprintf("%s/.well-known/openid-configuration", c->issuer);
	jv d = fcm_oidc_get_json(url, why, err, errlen);
	const char *iss, *jwks, *tok;

	free(url);
	if (!jv_is_valid(d))
		return d;
	*why = -1;
	iss = fcm_get_str(d, "issuer");
	jwks = fcm_get_str(d, "jwks_uri");
	tok = fcm_get_str(d, "token_endpoint");
	if (!iss || strcmp(iss, c->issuer)) {
		snprintf(err, errlen, "the discovery document of %.200s names another issuer (%.200s): check the issuer URL",
		    c->issuer, iss ? iss : "none");
	} else if (!jwks || !fcm_oidc_url_ok(jwks)) {
		snprintf(err, errlen, "the discovery document of %.200s has no usable jwks_uri", c->issuer);
	} else if (!tok || !fcm_oidc_url_ok(tok)) {
		snprintf(err, errlen, "the discovery document of %.200s has no usable token_endpoint", c->issuer);
	} else {
		return d;
	}
	jv_free(d);
	return jv_invalid();
}

/* A NumericDate claim: 1 with *out, 0 absent, -1 not a number. */
static int num_claim(jv claims, const char *key, double *out)
{
	jv v = jv_object_get(jv_copy(claims), jv_string(key));
	int r = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		*out = jv_number_value(v);
		r = 1;
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		r = -1;
	}
	jv_free(v);
	return r;
}

static void fmt_time(double t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(out, n, "%.0f", t);
}

/* Does the aud claim hold our client id?  (and azp when several) */
static int audience_ok(jv claims, const char *client_id, char *seen, size_t seenlen)
{
	jv aud = jv_object_get(jv_copy(claims), jv_string("aud"));
	int ok = 0, n = 0;

	snprintf(seen, seenlen, "none");
	if (jv_get_kind(aud) == JV_KIND_STRING) {
		snprintf(seen, seenlen, "%.100s", jv_string_value(aud));
		ok = !strcmp(jv_string_value(aud), client_id);
	} else if (jv_get_kind(aud) == JV_KIND_ARRAY) {
		seen[0] = '\0';
		jv_array_foreach(aud, i, a) {
			if (jv_get_kind(a) == JV_KIND_STRING) {
				size_t l = strlen(seen);
				snprintf(seen + l, seenlen - l, "%s%.60s", l ? ", " : "", jv_string_value(a));
				if (!strcmp(jv_string_value(a), client_id))
					ok = 1;
				n++;
			}
			jv_free(a);
			(void)i;
		}
		if (ok && n > 1) {
			const char *azp = fcm_get_str(claims, "azp");
			ok = azp && !strcmp(azp, client_id);
		}
	}
	jv_free(aud);
	return ok;
}

int fcm_oidc_verify(const struct fcm_auth_config *c, jv disco, const char *idtok,
    const char *nonce, jv *claims, char *err, size_t errlen)
{
	struct fcm_jwt j;
	char why[300], seen[200], when[64];
	const char *iss, *sub, *tn;
	double exp, iat, nbf, now = (double)time(NULL);
	int k, fetch;
	jv jwks;

	*claims = jv_invalid();
	if (fcm_jwt_parse(idtok, strlen(idtok), &j, why, sizeof why) < 0) {
		snprintf(err, errlen, "the ID token is refused: %s", why);
		return -1;
	}
	iss = fcm_get_str(j.claims, "iss");
	if (!iss || strcmp(iss, c->issuer)) {
		snprintf(err, errlen, "the ID token is refused: it was issued by '%.200s', not by this host's issuer '%.200s'",
		    iss ? iss : "nobody", c->issuer);
		goto refuse;
	}
	jwks = fcm_oidc_get_json(fcm_get_str(disco, "jwks_uri"), &fetch, why, sizeof why);
	if (!jv_is_valid(jwks)) {
		snprintf(err, errlen, "unable to get the issuer's keys: %s", why);
		fcm_jwt_free(&j);
		return fetch;
	}
	k = fcm_jwk_verify(&j, idtok, jwks, why, sizeof why);
	jv_free(jwks);
	if (k != 1) {
		/* The keys may have rotated since they were cached: once more,
		 * fresh from the issuer. */
		jwks = fcm_oidc_get_json_cached(fcm_get_str(disco, "jwks_uri"), 0, &fetch, why, sizeof why);
		if (!jv_is_valid(jwks)) {
			snprintf(err, errlen, "unable to get the issuer's keys: %s", why);
			fcm_jwt_free(&j);
			return fetch;
		}
		k = fcm_jwk_verify(&j, idtok, jwks, why, sizeof why);
		jv_free(jwks);
	}
	if (k != 1) {
		snprintf(err, errlen, "the ID token is refused: %s", why);
		goto refuse;
	}
	if (!audience_ok(j.claims, c->client_id, seen, sizeof seen)) {
		snprintf(err, errlen, "the ID token is refused: it is meant for '%s', not for this host's client id '%.100s'",
		    seen, c->client_id);
		goto refuse;
	}
	if (num_claim(j.claims, "exp", &exp) != 1) {
		snprintf(err, errlen, "the ID token is refused: it has no expiry (exp)");
		goto refuse;
	}
	if (exp + FCM_OIDC_SKEW <= now) {
		fmt_time(exp, when, sizeof when);
		snprintf(err, errlen, "the ID token is refused: it expired at %s: log in again", when);
		goto refuse;
	}
	if (num_claim(j.claims, "iat", &iat) < 0 || (num_claim(j.claims, "iat", &iat) == 1 && iat > now + FCM_OIDC_SKEW)) {
		snprintf(err, errlen, "the ID token is refused: it is issued in the future (check the clocks)");
		goto refuse;
	}
	if (num_claim(j.claims, "nbf", &nbf) == 1 && nbf > now + FCM_OIDC_SKEW) {
		snprintf(err, errlen, "the ID token is refused: it is not valid yet (check the clocks)");
		goto refuse;
	}
	tn = fcm_get_str(j.claims, "nonce");
	if (nonce && (!tn || strcmp(tn, nonce))) {
		snprintf(err, errlen, "the ID token is refused: its nonce is not the one this login sent (a replayed token?)");
		goto refuse;
	}
	sub = fcm_get_str(j.claims, "sub");
	if (!sub || !*sub || strlen(sub) > 255) {
		snprintf(err, errlen, "the ID token is refused: it names no subject (sub)");
		goto refuse;
	}
	*claims = jv_copy(j.claims);
	fcm_jwt_free(&j);
	return 0;
refuse:
	fcm_jwt_free(&j);
	return -1;
}
