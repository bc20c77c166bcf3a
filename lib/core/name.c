/* name.c — name validation (DNS labels) and random ids. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/err.h"
#include "core/name.h"
#include "core/utf8.h"

int fcm_name_check(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n == 0) {
		snprintf(why, whylen, "name is empty: use 1-%d lowercase letters, digits or hyphens", FCM_NAME_MAX);
		return -1;
	}
	if (!fcm_utf8_valid(s, n)) {
		snprintf(why, whylen, "name is not valid UTF-8 text: use lowercase letters, digits or hyphens");
		return -1;
	}
	if (n > FCM_NAME_MAX) {
		snprintf(why, whylen, "name '%.20s...' is %zu characters long: at most %d fit in a DNS label",
		    s, n, FCM_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			snprintf(why, whylen, "name '%s' has an uppercase letter '%c': names are lowercase (try '%c')",
			    s, c, c - 'A' + 'a');
		else if (c >= 0x20 && c < 0x7f)
			snprintf(why, whylen, "name '%s' has '%c' at position %zu: use only lowercase letters, digits and hyphens",
			    s, c, i + 1);
		else
			snprintf(why, whylen, "name has a non-ASCII or control character at position %zu: use only lowercase letters, digits and hyphens",
			    i + 1);
		return -1;
	}
	if (s[0] == '-' || s[n - 1] == '-') {
		snprintf(why, whylen, "name '%s' %s with a hyphen: a DNS label must start and end with a letter or digit",
		    s, s[0] == '-' ? "starts" : "ends");
		return -1;
	}
	return 0;
}

int fcm_id_check(const char *s)
{
	size_t n = strlen(s);

	if (n != FCM_ID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return -1;
	return 0;
}

void fcm_id_new(char id[FCM_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[FCM_ID_LEN];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		fcm_die_sys(FCM_E_INTERNAL, "unable to get random bytes");
	/* The first character is a letter, so an id never looks like a number. */
	id[0] = alphabet[r[0] % 26];
	for (int i = 1; i < FCM_ID_LEN; i++)
		id[i] = alphabet[r[i] % 36];
	id[FCM_ID_LEN] = '\0';
}

int fcm_owner_check(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128) {
		snprintf(why, whylen, "owner must be 1-128 characters");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '@' || c == '+')) {
			snprintf(why, whylen, "owner '%.64s' has a character other than letters, digits and ._-@+", s);
			return -1;
		}
	}
	if (s[0] == '-' || s[0] == '.') {
		snprintf(why, whylen, "owner '%.64s' must not start with '%c'", s, s[0]);
		return -1;
	}
	return 0;
}
