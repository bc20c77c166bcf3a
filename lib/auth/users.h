/* users.h — the people who log in to an fcm host, and their tokens.
 *
 * The user store is $FCM_ROOT/auth/users.json (directory 0700, file 0600,
 * written atomically under $FCM_ROOT/auth/.lock): an array of
 *   {"id":"alice-3f9a2c","iss":"https://accounts.google.com","sub":"1081...",
 *    "email":"alice@example.com","name":"Alice Smith","admin":false,
 *    "created_at":1764000000,"last_login":1764000000}
 * A user is known by issuer and subject; "id" is the owner name their VMs
 * carry: a DNS label made of the email's local part and a short hash of
 * issuer and subject, so it passes the VM-name rules and two people with
 * the same local part get different ids.
 *
 * User tokens are lib/auth/token.h's: 32 random bytes in hex, stored only as
 * $FCM_ROOT/tokens/<sha256-hex> (directory 0700, file 0600)
 *   {"user":"alice-3f9a2c","admin":false,"expires_at":...,"created_at":...}
 * Revoking a token removes its file.
 *
 * Who may log in: $FCM_ROOT/auth/access.json (0600, same lock)
 *   {"allow":["alice@example.com","@example.org"],"admins":["bob@example.com"],
 *    "deny":["mallory@example.org"]}
 * exact addresses and "@domain" entries, lowercase; an empty list lets
 * nobody in but the admins named there or in auth.json's "admins".  "deny"
 * holds addresses refused although their domain is allowed; it overrides
 * everything but auth.json's admins.  A user
 * record whose person is no longer admitted carries "allowed":false, and its
 * tokens are refused (lib/auth/token.c) as well as removed. */
#ifndef FCM_USERS_H
#define FCM_USERS_H

#include <stddef.h>

#include <jv.h>

#include "auth/oidc.h"
#include "auth/token.h"

/* The owner id for an email (may be NULL) and issuer/subject, into out. */
void fcm_user_id(const char *email, const char *iss, const char *sub, char out[FCM_USER_MAX + 1]);

/* Record a login by the verified claims: the e-mail must be present,
 * verified (email_verified true) and admitted (fcm_access_admits); find or
 * add the user, refresh email and name, set admin (a named admin; nobody
 * becomes admin by logging in first).  0 with *user (a copy of the
 * record); -2 refused (err says why and what to do); -1 a system error
 * with a sentence in err. */
int fcm_users_login(const struct fcm_auth_config *c, jv claims, jv *user, char *err, size_t errlen);
/* An allow-list entry from what a person typed: an address
 * ("Alice@Example.com" -> "alice@example.com") or a domain ("example.com" or
 * "@example.com" -> "@example.com"); malloc'd, or NULL with why. */
char *fcm_access_entry(const char *s, char *why, size_t whylen);
/* The access list, {"allow":[...],"admins":[...],"deny":[...]} (empty arrays
 * when none). */
jv fcm_access_load(void);
/* May the person with this (verified) email log in?  1 or 0; *admin set
 * when they are a named admin (in access, borrowed, or c->admins; c may be
 * NULL). */
int fcm_access_admits(const struct fcm_auth_config *c, jv access, const char *email, int *admin);
/* Is user id still let in?  A name the user store does not know (a local
 * user, "admin") is not judged: 1.  A known user whose e-mail the access
 * list (and the configuration's named admins) no longer admits: 0.  For
 * what acts for a user without a token, such as their push keys. */
int fcm_users_admitted(const char *id);
/* Take the user store's lock (auth/.lock, making the directories): the fd,
 * or -1 with err.  Release with fcm_unlock. */
int fcm_users_lock(char *err, size_t errlen);
/* Write users.json (all) and access.json (access), each unless invalid;
 * both consumed; under the lock.  0, or -1 with err. */
int fcm_users_save(jv all, jv access, char *err, size_t errlen);

/* The record of user id, or invalid. */
jv fcm_users_get(const char *id);
/* Every user (an array; empty when none). */
jv fcm_users_list(void);

/* A fresh token for user (a record, not consumed) valid for ttl seconds:
 * 0 with tok and *expires_at, or -1 with err. */
int fcm_users_token_new(jv user, long ttl, char tok[FCM_TOKEN_HEXLEN + 1], long *expires_at,
    char *err, size_t errlen);
/* Revoke tok[0..len): 1 removed, 0 there was no such user token, -1 error. */
int fcm_users_token_revoke(const char *tok, size_t len);
/* Revoke every token of user id; the number removed, or -1. */
int fcm_users_revoke_all(const char *id);

#endif
