/* curl.c — libcurl, loaded when a program first calls it (lazylib.h).
 *
 * Linking libcurl costs every fcm program about 6 ms at its start (libcurl
 * and the thirty libraries it pulls in: TLS, Kerberos, LDAP, SSH...), while
 * most commands never speak HTTP (doc/performance.md).  So no program links
 * it: the libcurl functions fcm calls are defined here.  The load also
 * initialises libcurl (curl_global_init, once per program), so callers
 * never do. */
#define CURL_DISABLE_TYPECHECK	/* the macros of curl/typecheck-gcc.h */
#include <curl/curl.h>
#include <stdarg.h>

#include "core/err.h"
#include "core/lazylib.h"

#define CURL_SONAME "libcurl.so.4"

#define CURL_FUNCS(X) \
	X(CURL *, curl_easy_init, (void), ()) \
	X(CURLcode, curl_easy_perform, (CURL *h), (h)) \
	X(void, curl_easy_cleanup, (CURL *h), (h)) \
	X(const char *, curl_easy_strerror, (CURLcode code), (code)) \
	X(char *, curl_easy_escape, (CURL *h, const char *s, int n), (h, s, n)) \
	X(CURLcode, curl_easy_recv, (CURL *h, void *buf, size_t len, size_t *n), (h, buf, len, n)) \
	X(CURLcode, curl_easy_send, (CURL *h, const void *buf, size_t len, size_t *n), (h, buf, len, n)) \
	X(void, curl_free, (void *p), (p)) \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s), (l, s)) \
	X(void, curl_slist_free_all, (struct curl_slist *l), (l)) \
	X(CURLU *, curl_url, (void), ()) \
	X(void, curl_url_cleanup, (CURLU *u), (u)) \
	X(CURLUcode, curl_url_get, (CURLU *u, CURLUPart what, char **part, unsigned int flags), (u, what, part, flags)) \
	X(CURLUcode, curl_url_set, (CURLU *u, CURLUPart what, const char *part, unsigned int flags), (u, what, part, flags))

/* The two variadic functions, which the list cannot forward. */
static struct {
	CURLcode (*setopt)(CURL *, CURLoption, ...);
	CURLcode (*getinfo)(CURL *, CURLINFO, ...);
} var;

static void loaded(void *lib)
{
	CURLcode (*global_init)(long);

	var.setopt = (CURLcode (*)(CURL *, CURLoption, ...))fcm_lazylib_sym(lib, CURL_SONAME, "curl_easy_setopt");
	var.getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))fcm_lazylib_sym(lib, CURL_SONAME, "curl_easy_getinfo");
	global_init = (CURLcode (*)(long))fcm_lazylib_sym(lib, CURL_SONAME, "curl_global_init");
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fcm_die(FCM_E_UNAVAILABLE, "%s: unable to initialise it", CURL_SONAME);
}

FCM_LAZYLIB(CURL_SONAME, CURL_FUNCS, loaded)

/* The value's type follows from the option's number, as in libcurl's own
 * curl_easy_setopt (CURLOPTTYPE_*): read it as that type, pass it on. */
CURLcode (curl_easy_setopt)(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	lazylib_ensure();
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = var.setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = var.setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = var.setopt(h, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = var.setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = var.setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every curl_easy_getinfo takes a pointer to the answer. */
CURLcode (curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	lazylib_ensure();
	va_start(ap, info);
	rc = var.getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
