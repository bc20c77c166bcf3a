/* keygen.c — fcm_keygen and fcm_guestkey (guestkey.h), apart from the
 * rest of guestkey.c so that only the programs that make keys load
 * libsodium (fcm-fc, one per VM, does not).
 *
 * fcm_keygen: an ed25519 key pair in the files
 * `ssh-keygen -q -t ed25519 -N "" -C comment -f path` writes, made here with
 * libsodium instead of starting ssh-keygen (5 ms of every create, issue 22).
 * Not with libcrypto: OpenSSL 3 sets up its providers at the first key it
 * makes, 1.5-2 ms of a create; libsodium's whole keygen takes 0.06 ms.
 *
 * The private key is OpenSSH's format (PROTOCOL.key in OpenSSH's sources):
 * "-----BEGIN OPENSSH PRIVATE KEY-----", then base64 in lines of 70 of
 *
 *	"openssh-key-v1\0" string "none" (cipher) string "none" (kdf)
 *	string "" (kdf options) uint32 1 (keys) string public-key-blob
 *	string { uint32 check, uint32 check, string "ssh-ed25519",
 *	         string pub[32], string seed[32] || pub[32], string comment,
 *	         1, 2, 3... up to a multiple of 8 }
 *
 * the public key blob being string "ssh-ed25519" string pub[32] (RFC 8709),
 * and a string a uint32 big-endian length then its bytes.  The public half
 * is "ssh-ed25519 " base64(blob) " " comment.  Files as ssh-keygen leaves
 * them: private 0600, public 0644, not fsynced. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/paths.h"
#include "vm/guestkey.h"

#define KEYTYPE "ssh-ed25519"
#define PUBKEY_MAX 8192

struct buf {
	unsigned char b[1024];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof b->b)
		fcm_die(FCM_E_BUG, "ssh key larger than its buffer");
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char be[4] = { v >> 24, v >> 16, v >> 8, v };
	put(b, be, 4);
}

static void put_str(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, p, n);
}

/* base64 of b (malloc'd), broken into lines of width when width > 0. */
static char *base64(const struct buf *b, int width)
{
	size_t n = 4 * ((b->n + 2) / 3);
	char *flat = malloc(n + 1), *out, *o;

	if (!flat)
		fcm_die_nomem();
	sodium_bin2base64(flat, n + 1, b->b, b->n, sodium_base64_VARIANT_ORIGINAL);
	if (width <= 0)
		return flat;
	out = o = malloc(n + n / (size_t)width + 2);
	if (!out)
		fcm_die_nomem();
	for (size_t i = 0; i < n; i += (size_t)width) {
		size_t k = n - i < (size_t)width ? n - i : (size_t)width;
		memcpy(o, flat + i, k);
		o += k;
		*o++ = '\n';
	}
	*o = '\0';
	explicit_bzero(flat, n);	/* a private key's text, when it is one */
	free(flat);
	return out;
}

int fcm_keygen_text(const char *comment, char **privp, char **pubp, char *why, size_t whylen)
{
	/* sk is libsodium's secret key: the seed, then the public key, as
	 * OpenSSH keeps an ed25519 private key. */
	unsigned char seed[32], pub[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], check[4];
	struct buf blob = { .n = 0 }, priv = { .n = 0 }, file = { .n = 0 };
	char *b64 = NULL;
	int r = -1;

	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed
	    || getrandom(check, sizeof check, 0) != (ssize_t)sizeof check) {
		snprintf(why, whylen, "no random bytes: %s", strerror(errno));
		return -1;
	}
	if (sodium_init() < 0 || crypto_sign_seed_keypair(pub, sk, seed) != 0) {
		snprintf(why, whylen, "libsodium could not make an ed25519 key");
		goto out;
	}
	put_str(&blob, KEYTYPE, strlen(KEYTYPE));
	put_str(&blob, pub, sizeof pub);

	put(&priv, check, 4);
	put(&priv, check, 4);
	put_str(&priv, KEYTYPE, strlen(KEYTYPE));
	put_str(&priv, pub, sizeof pub);
	put_str(&priv, sk, sizeof sk);
	put_str(&priv, comment, strlen(comment));
	for (unsigned char pad = 1; priv.n % 8; pad++)
		put(&priv, &pad, 1);

	put(&file, "openssh-key-v1", sizeof "openssh-key-v1");	/* with its NUL */
	put_str(&file, "none", 4);
	put_str(&file, "none", 4);
	put_str(&file, "", 0);
	put_u32(&file, 1);
	put_str(&file, blob.b, blob.n);
	put_str(&file, priv.b, priv.n);

	b64 = base64(&file, 70);
	*privp = fcm_asprintf("-----BEGIN OPENSSH PRIVATE KEY-----\n%s-----END OPENSSH PRIVATE KEY-----\n", b64);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	b64 = base64(&blob, 0);
	*pubp = fcm_asprintf(KEYTYPE " %s %s\n", b64, comment);
	free(b64);
	r = 0;
out:
	explicit_bzero(seed, sizeof seed);
	explicit_bzero(sk, sizeof sk);
	explicit_bzero(&priv, sizeof priv);
	explicit_bzero(&file, sizeof file);
	return r;
}

int fcm_keygen(const char *path, const char *comment, char *why, size_t whylen)
{
	char *priv, *pub, *pubpath = fcm_asprintf("%s.pub", path);
	int r = -1;

	if (fcm_keygen_text(comment, &priv, &pub, why, whylen) < 0) {
		free(pubpath);
		return -1;
	}
	if (fcm_write_replace(path, priv, strlen(priv), 0600) < 0)
		snprintf(why, whylen, "unable to write %s: %s", path, strerror(errno));
	else if (fcm_write_replace(pubpath, pub, strlen(pub), 0644) < 0)
		snprintf(why, whylen, "unable to write %s: %s", pubpath, strerror(errno));
	else
		r = 0;
	explicit_bzero(priv, strlen(priv));
	free(priv);
	free(pub);
	free(pubpath);
	return r;
}

static int present(const char *p, const char *q)
{
	return access(p, R_OK) == 0 && access(q, R_OK) == 0;
}

/* Make the pair at p and q, under the lock. */
static int make(const char *p, const char *q, char *why, size_t whylen)
{
	char *tp = fcm_path("ssh/.id_ed25519.tmp.%ld", (long)getpid());
	char *tq = fcm_asprintf("%s.pub", tp), reason[600];
	int r = -1;

	unlink(tp);
	unlink(tq);
	if (fcm_keygen(tp, "fcm@host", reason, sizeof reason) < 0)
		snprintf(why, whylen, "unable to generate the fcm ssh key: %s", reason);
	else if (chmod(tp, 0600) < 0 || rename(tq, q) < 0 || rename(tp, p) < 0)
		snprintf(why, whylen, "unable to install the fcm ssh key %s: %s", p, strerror(errno));
	else
		r = 0;
	if (r < 0) {
		unlink(tp);
		unlink(tq);
	}
	free(tp);
	free(tq);
	return r;
}

char *fcm_guestkey(char *why, size_t whylen)
{
	char *dir = fcm_path("ssh"), *lock = fcm_path("ssh/.lock");
	char *p = fcm_guestkey_path(), *q = fcm_asprintf("%s.pub", p), *text = NULL;
	int fd = -1;

	if (fcm_mkdirs(dir, 0700) < 0 || chmod(dir, 0700) < 0)
		snprintf(why, whylen, "unable to create %s: %s", dir, strerror(errno));
	else if (!present(p, q) && (fd = fcm_lock(lock, 1)) < 0)
		snprintf(why, whylen, "unable to lock %s: %s", lock, strerror(errno));
	else if (present(p, q) || make(p, q, why, whylen) == 0) {
		text = fcm_read_file(q, PUBKEY_MAX, NULL);
		if (text)
			text[strcspn(text, "\n")] = '\0';
		else
			snprintf(why, whylen, "unable to read %s: %s", q, strerror(errno));
	}
	if (fd >= 0)
		fcm_unlock(fd);
	free(dir);
	free(lock);
	free(p);
	free(q);
	return text;
}
