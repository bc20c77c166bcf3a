/* utf8.h — is a byte string valid UTF-8 (no NUL, no overlongs, no surrogates)? */
#ifndef FCM_UTF8_H
#define FCM_UTF8_H

#include <stddef.h>

int fcm_utf8_valid(const char *s, size_t n);

#endif
