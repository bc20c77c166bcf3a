/* size.c — sizes as people write them (lib/core/size.h). */
#include "core/size.h"

unsigned long long fcm_size_parse(const char *s)
{
	unsigned long long n = 0, mul = 1;
	const char *p = s;

	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (n > (1ULL << 50))
			return 0;
		n = n * 10 + (unsigned long long)(*p++ - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
	case '\0': break;
	default: return 0;
	}
	if (mul > 1) {
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
	}
	if (*p || n > (1ULL << 62) / mul)
		return 0;
	return n * mul;
}

