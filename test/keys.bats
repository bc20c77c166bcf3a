#!/usr/bin/env bats
# fcm keys: the ssh keys allowed to git push, the authorized_keys they make,
# and the host's own key into its guests.
load test_helper

setup() {
	K=$BATS_TEST_TMPDIR/keys
	mkdir -p "$K"
	ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f "$K/alice"
	ssh-keygen -q -t ecdsa -N '' -C bob -f "$K/bob"
	AK=$FCM_ROOT/ssh/authorized_keys
}

fp() { ssh-keygen -lf "$1" | awk '{print $2}'; }

@test "add a key from a .pub file: authorized_keys forces fcm-git-shell" {
	run fcm keys add --admin "$K/alice.pub"
	assert_success
	id=$(jq -r .key.id <<<"$output")
	[[ $id =~ ^[0-9a-f]{12}$ ]]
	[ "$(jq -r .key.fingerprint <<<"$output")" = "$(fp "$K/alice.pub")" ]
	[ "$(jq -r .key.owner <<<"$output")" = admin ]
	grep -qxF "restrict,command=\"$FCM_SRC/bin/fcm-git-shell --root $FCM_ROOT $id\" $(cat "$K/alice.pub")" "$AK"
	[ "$(stat -c %a "$AK")" = 600 ]
	# sshd itself accepts the file
	ssh-keygen -lf "$AK" >/dev/null
}

@test "add from standard input and from the argument, with an owner" {
	run fcm keys add --owner bob - <"$K/bob.pub"
	assert_success
	[ "$(jq -r .key.owner <<<"$output")" = bob ]
	run fcm keys add --admin "$(cat "$K/alice.pub")"
	assert_success
	run fcm keys ls
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r .owner <<<"${lines[0]}")" = bob ]
	[ "$(jq -r .comment <<<"${lines[1]}")" = alice@laptop ]
	run fcm keys ls --owner bob
	[ "${#lines[@]}" -eq 1 ]
	[ "$(grep -c '^restrict,command=' "$AK")" -eq 2 ]
}

@test "adding the same key again is a no-op; another owner is refused" {
	fcm keys add --admin "$K/alice.pub"
	before=$(cat "$AK")
	run fcm keys add --admin "$K/alice.pub"
	assert_success
	[ "$(jq -r .key.added <<<"$output")" = false ]
	run fcm keys add --owner bob "$K/alice.pub"
	assert_failure 100
	assert_output --partial 'already belongs to admin'
	[ "$before" = "$(cat "$AK")" ]
}

@test "bad keys are refused with a clear message and nothing is written" {
	fcm keys add --admin "$K/bob.pub"
	snap=$(tree_snapshot "$FCM_ROOT")
	blob=$(awk '{print $2}' "$K/alice.pub")
	for bad in "ssh-ed25519 AAAA" "ssh-ed25519 ${blob}x" "ssh-dss $blob" \
	    "ssh-rsa $blob" "command=\"sh\" ssh-ed25519 $blob" \
	    "ssh-ed25519 $blob evil\"quote" "ssh-ed25519 $blob back\\slash" \
	    "$K/alice" "$K/missing.pub" ""; do
		run fcm keys add --admin "$bad"
		assert_failure 100
		[ -n "$output" ]
	done
	run fcm keys add --admin - </dev/null
	assert_failure 100
	printf 'ssh-ed25519 %s ok\nnot a key\n' "$blob" >"$K/two.pub"
	run fcm keys add --admin "$K/two.pub"
	assert_failure 100
	assert_output --partial 'line 2'
	run fcm keys add --owner 'a b' "$K/alice.pub"
	assert_failure 100
	[ "$snap" = "$(tree_snapshot "$FCM_ROOT")" ]
}

@test "a private key is refused, naming the public one" {
	run fcm keys add --admin "$K/alice"
	assert_failure 100
	assert_output --partial 'private key'
	[ ! -e "$AK" ]
}

@test "rm by id or fingerprint; unknown keys refused" {
	id=$(fcm keys add --admin "$K/alice.pub" | jq -r .key.id)
	fcm keys add --admin "$K/bob.pub"
	run fcm keys rm "$id"
	assert_success
	run ! grep -q "$id" "$AK"
	run fcm keys rm "$(fp "$K/bob.pub")"
	assert_success
	[ "$(grep -c '^restrict' "$AK")" -eq 0 ]
	run fcm keys rm "$id"
	assert_failure 100
	assert_output --partial "no key '$id'"
}

@test "sshd prints the AuthorizedKeysFile line" {
	run fcm keys sshd
	assert_success
	assert_output "AuthorizedKeysFile .ssh/authorized_keys $AK"
}

@test "guest makes the host's key into its guests once and reports it" {
	run fcm keys guest
	assert_success
	echo "$output" | jq -e --arg r "$FCM_ROOT" '.ok and .private == $r + "/ssh/id_ed25519"
		and .public == $r + "/ssh/id_ed25519.pub" and (.key | startswith("ssh-ed25519 "))'
	k1=$(cat "$FCM_ROOT/ssh/id_ed25519.pub")
	[ "$(jq -r .key <<<"$output")" = "$k1" ]
	fcm keys guest >/dev/null
	[ "$(cat "$FCM_ROOT/ssh/id_ed25519.pub")" = "$k1" ]
	ssh-keygen -y -f "$FCM_ROOT/ssh/id_ed25519" | grep -q "${k1% *}"
	[ "$(stat -c %a "$FCM_ROOT/ssh/id_ed25519")" = 600 ]
	[ "$(stat -c %a "$FCM_ROOT/ssh")" = 700 ]
}

@test "guest: callers racing for the first key all get the same one, and nothing else is left" {
	for i in 1 2 3 4 5 6; do
		fcm keys guest > "$BATS_TEST_TMPDIR/k$i" &
	done
	wait
	[ "$(cat "$BATS_TEST_TMPDIR"/k* | jq -r .key | sort -u | wc -l)" -eq 1 ]
	[ "$(jq -r .key "$BATS_TEST_TMPDIR/k1")" = "$(cat "$FCM_ROOT/ssh/id_ed25519.pub")" ]
	run ls -A "$FCM_ROOT/ssh"
	assert_output "$(printf '.lock\nid_ed25519\nid_ed25519.pub')"
}

@test "guest: bad input and a key that cannot be made are one clear line, nothing made" {
	run --separate-stderr fcm keys guest extra --json
	assert_failure 100
	[ "$stderr" = "fcm-keys: fatal: unexpected argument 'extra'; usage: fcm keys guest [--json]" ]
	jq -e '.ok == false and .kind == "usage"' <<<"$output"
	run fcm keys guest --owner bob
	assert_failure 100
	assert_output --partial "unknown option '--owner'"
	[ ! -e "$FCM_ROOT/ssh" ]
	touch "$FCM_ROOT/ssh"
	run --separate-stderr fcm keys guest --json
	assert_failure 111
	[ "$stderr" = "fcm-keys: fatal: unable to lock $FCM_ROOT/ssh/.lock: Not a directory" ]
	jq -e '.ok == false and .kind == "internal"' <<<"$output"
	[ -f "$FCM_ROOT/ssh" ] && [ ! -s "$FCM_ROOT/ssh" ]
}

@test "an admin key is never a default: without --owner, --admin must be said" {
	snap=$(tree_snapshot "$FCM_ROOT")
	run --separate-stderr fcm keys add "$K/alice.pub"
	assert_failure 100
	[ "$stderr" = "fcm-keys: fatal: say whose key this is: --owner USER for a user's key (pushes to that user's VMs), or --admin for a key that may push to every VM" ]
	run fcm keys add --admin --owner bob "$K/alice.pub"
	assert_failure 100
	assert_output --partial "--admin or --owner, not both"
	[ "$snap" = "$(tree_snapshot "$FCM_ROOT")" ]
	run fcm keys add --admin "$K/alice.pub"
	assert_success
	[ "$(jq -r .key.owner <<<"$output")" = admin ]
}

@test "usage errors" {
	run fcm keys
	assert_failure 100
	run fcm keys frob
	assert_failure 100
	run fcm keys add
	assert_failure 100
	run fcm keys ls --nope
	assert_failure 100
}
