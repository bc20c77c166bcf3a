/* lazylib.h — a shared library loaded at its first call, not linked.
 *
 * Loading a library costs every program that links it, at each start, the
 * same whether it calls the library or not: libcrypto alone is about 1 ms
 * on a busy host, libcurl with the thirty libraries it pulls in about 6 ms
 * (doc/performance.md).  Most fcm commands never call them.  So a file of
 * lib/core defines the functions fcm calls, with the library's own names
 * and prototypes (from its headers), each forwarding to the real one; the
 * first call to any of them loads the library (dlopen) and finds them all
 * (dlsym), once per program, thread-safely.  Callers are plain code of the
 * library; a function they call that is not listed fails the link
 * ("undefined reference"): add it to the list.  A library that cannot be
 * loaded, or lacks a listed function, ends the program with one line of
 * kind "unavailable".
 *
 * The file that defines a library's functions (lib/core/curl.c, crypto.c):
 *
 *	#define FUNCS(X) \
 *		X(int, foo_add, (int a, int b), (a, b)) \
 *		X(void, foo_free, (void *p), (p))
 *	FCM_LAZYLIB("libfoo.so.1", FUNCS, after_load)
 *
 * X(return type, name, (parameters), (arguments)) for each function.
 * after_load is a function void after_load(void *handle) run once, after
 * the load, for what the list cannot say (variadic functions, a library's
 * global initialisation), or NULL.  It defines lazylib_ensure(), which loads
 * the library if not yet, for the file's own hand-written forwarders. */
#ifndef FCM_LAZYLIB_H
#define FCM_LAZYLIB_H

#include <pthread.h>

/* dlopen(soname), or the end of the program (kind "unavailable"). */
void *fcm_lazylib_open(const char *soname);
/* The address of name in handle (of library soname), or the end of the
 * program (kind "unavailable"). */
void *fcm_lazylib_sym(void *handle, const char *soname, const char *name);

#define FCM_LAZYLIB_PTR(ret, name, params, args) ret (*name) params;
#define FCM_LAZYLIB_SYM(ret, name, params, args) \
	lazylib_real.name = (ret (*) params)fcm_lazylib_sym(lazylib_handle, lazylib_soname, #name);
#define FCM_LAZYLIB_DEF(ret, name, params, args) \
	ret name params \
	{ \
		lazylib_ensure(); \
		return lazylib_real.name args; \
	}

#define FCM_LAZYLIB(soname, FUNCS, after_load) \
	static const char lazylib_soname[] = soname; \
	static void *lazylib_handle; \
	static struct { FUNCS(FCM_LAZYLIB_PTR) } lazylib_real; \
	static pthread_once_t lazylib_once = PTHREAD_ONCE_INIT; \
	static void lazylib_load(void) \
	{ \
		void (*after)(void *) = after_load; \
		lazylib_handle = fcm_lazylib_open(lazylib_soname); \
		FUNCS(FCM_LAZYLIB_SYM) \
		if (after) \
			after(lazylib_handle); \
	} \
	static inline void lazylib_ensure(void) \
	{ \
		pthread_once(&lazylib_once, lazylib_load); \
	} \
	FUNCS(FCM_LAZYLIB_DEF)

#endif
