/* oidc.h — OpenID Connect for fcm's logins (doc/auth.md): the host's
 * settings, the issuer's discovery document and keys, ID-token checks and
 * the token endpoint.  HTTP through libcurl, signatures through libcrypto
 * (lib/auth/jwk.h), JSON through jv.
 *
 * Settings: $FCM_ROOT/auth.json (mode 0600: it holds the client secret)
 *   {"issuer":"https://accounts.google.com","client_id":"...",
 *    "client_secret":"...","admins":["you@example.com"],"token_ttl":2592000}
 * each overridden by the environment: FCM_OIDC_ISSUER, FCM_OIDC_CLIENT_ID,
 * FCM_OIDC_CLIENT_SECRET, FCM_OIDC_ADMINS (comma-separated emails),
 * FCM_TOKEN_TTL (seconds).  The issuer defaults to Google.
 *
 * URLs are https, or http to a loopback address only (a provider on the
 * same machine, as in the tests). */
#ifndef FCM_OIDC_H
#define FCM_OIDC_H

#include <stddef.h>

#include <jv.h>

#define FCM_OIDC_ISSUER_DEFAULT "https://accounts.google.com"
#define FCM_OIDC_SKEW 60			/* seconds of clock difference allowed */
#define FCM_TOKEN_TTL_DEFAULT (30L * 86400)
#define FCM_OIDC_SCOPES "openid email profile"

struct fcm_auth_config {
	char *issuer;		/* without a trailing '/' */
	char *client_id;
	char *client_secret;	/* NULL when none */
	jv admins;		/* array of emails, lowercase; may be empty */
	long token_ttl;
};

/* Load the settings.  0, or -1 with a sentence in err (no client id, a bad
 * issuer URL, auth.json unreadable, not JSON, or readable by others). */
int fcm_auth_config_load(struct fcm_auth_config *c, char *err, size_t errlen);
void fcm_auth_config_free(struct fcm_auth_config *c);

/* Is url https, or http to a loopback host? */
int fcm_oidc_url_ok(const char *url);
/* Is url an http URL of a loopback host with a port (a redirect URI of the
 * loopback flow, RFC 8252 7.3)? */
int fcm_oidc_loopback_redirect_ok(const char *url);
/* Is url the web dashboard's redirect URI, https://HOST[:PORT]/login
 * (doc/web.md), with nothing else in it? */
int fcm_oidc_web_redirect_ok(const char *url);

/* Where fetching failed: -1 a refusal (the answer was bad), -2 the issuer
 * could not be reached or answered an HTTP error. */
/* GET url as JSON (an object).  Invalid with *why (-1/-2) and err.
 * Answers are kept in $FCM_ROOT/auth/cache/ (0700; files 0600) for as long
 * as their Cache-Control max-age says (at most a day); no-store, no-cache
 * or no Cache-Control: not kept.  So the discovery document and the JWKS
 * are not fetched per login. */
jv fcm_oidc_get_json(const char *url, int *why, char *err, size_t errlen);
/* The same; use_cache 0 fetches afresh (and refreshes the cache). */
jv fcm_oidc_get_json_cached(const char *url, int use_cache, int *why, char *err, size_t errlen);
/* POST an application/x-www-form-urlencoded body (pairs of key, value,
 * NULL-terminated) to url, authenticating as the client (HTTP Basic with
 * the client secret, or client_id alone when there is none).  The JSON
 * object answered, whatever the status (in *status); invalid with err when
 * there is none. */
jv fcm_oidc_post_form(const struct fcm_auth_config *c, const char *url, const char *const *pairs,
    long *status, char *err, size_t errlen);

/* The issuer's discovery document (issuer + "/.well-known/openid-configuration"),
 * checked: its "issuer" is ours, it names a jwks_uri and a token_endpoint.
 * Invalid with *why and err. */
jv fcm_oidc_discover(const struct fcm_auth_config *c, int *why, char *err, size_t errlen);

/* Check an ID token: its signature against the issuer's keys (jwks_uri of
 * disco), "iss" is the issuer, "aud" holds the client id (and "azp" is it
 * when there are several audiences), "exp" is in the future and "iat" not
 * in it (FCM_OIDC_SKEW allowed), "nonce" equals nonce when nonce is not
 * NULL, and "sub" is present.  0 with *claims (the payload), or -1 refused /
 * -2 keys unreachable, with a sentence in err saying which check failed. */
int fcm_oidc_verify(const struct fcm_auth_config *c, jv disco, const char *idtok,
    const char *nonce, jv *claims, char *err, size_t errlen);

#endif
