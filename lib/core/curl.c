/* curl.c — libcurl, loaded when a program first calls it.
 *
 * Linking libcurl costs every fcm program about 6 ms at its start (libcurl
 * and the thirty libraries it pulls in: TLS, Kerberos, LDAP, SSH...), while
 * most commands never speak HTTP (doc/performance.md).  So no program links
 * it: this file defines the libcurl functions fcm calls, with libcurl's own
 * names and prototypes (<curl/curl.h>), and each forwards to the real one,
 * which the first call loads with dlopen.  Callers are plain libcurl code.
 * A libcurl function not listed here fails the link ("undefined reference
 * to curl_..."): add it to FCM_CURL_FUNCS.  The load also initialises
 * libcurl (curl_global_init, once per program), so callers never do.  If
 * libcurl cannot be loaded or initialised, the program dies with kind
 * "unavailable". */
#define CURL_DISABLE_TYPECHECK	/* the macros of curl/typecheck-gcc.h */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>

#include "core/err.h"

#define FCM_CURL_SONAME "libcurl.so.4"

/* X(return type, name, parameters, arguments) of every plain function. */
#define FCM_CURL_FUNCS(X) \
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

static struct {
#define FCM_CURL_PTR(ret, name, params, args) ret (*name) params;
	FCM_CURL_FUNCS(FCM_CURL_PTR)
	CURLcode (*curl_easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*curl_easy_getinfo)(CURL *, CURLINFO, ...);
} real;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p)
		fcm_die(FCM_E_UNAVAILABLE, "%s: no %s", FCM_CURL_SONAME, name);
	return p;
}

static void load(void)
{
	void *lib = dlopen(FCM_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		fcm_die(FCM_E_UNAVAILABLE, "cannot load libcurl: %s", dlerror());
#define FCM_CURL_SYM(ret, name, params, args) real.name = (ret (*) params)sym(lib, #name);
	FCM_CURL_FUNCS(FCM_CURL_SYM)
	real.curl_easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))sym(lib, "curl_easy_setopt");
	real.curl_easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))sym(lib, "curl_easy_getinfo");
	CURLcode (*global_init)(long) = (CURLcode (*)(long))sym(lib, "curl_global_init");
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fcm_die(FCM_E_UNAVAILABLE, "%s: unable to initialise it", FCM_CURL_SONAME);
}

#define FCM_CURL_DEF(ret, name, params, args) \
	ret name params \
	{ \
		pthread_once(&loaded, load); \
		return real.name args; \
	}
FCM_CURL_FUNCS(FCM_CURL_DEF)

/* The value's type follows from the option's number, as in libcurl's own
 * curl_easy_setopt (CURLOPTTYPE_*): read it as that type, pass it on. */
CURLcode (curl_easy_setopt)(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	pthread_once(&loaded, load);
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = real.curl_easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = real.curl_easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = real.curl_easy_setopt(h, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = real.curl_easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = real.curl_easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every curl_easy_getinfo takes a pointer to the answer. */
CURLcode (curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	pthread_once(&loaded, load);
	va_start(ap, info);
	rc = real.curl_easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
