/* size.h — sizes as people write them: "2G", "512M", "10G", "1T", "4096K"
 * or a byte count; 1024-based; an optional "i"/"iB"/"B" after the unit. */
#ifndef FCM_SIZE_H
#define FCM_SIZE_H

/* Bytes, or 0 when s is not a size (or is more than 2^62 bytes). */
unsigned long long fcm_size_parse(const char *s);

#endif
