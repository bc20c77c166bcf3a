/* lazylib.c — loading a library at its first call (lazylib.h). */
#include <dlfcn.h>

#include "core/err.h"
#include "core/lazylib.h"

void *fcm_lazylib_open(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		fcm_die(FCM_E_UNAVAILABLE, "cannot load %s: %s", soname, dlerror());
	return h;
}

void *fcm_lazylib_sym(void *handle, const char *soname, const char *name)
{
	void *p = dlsym(handle, name);

	if (!p)
		fcm_die(FCM_E_UNAVAILABLE, "%s: no %s", soname, name);
	return p;
}
