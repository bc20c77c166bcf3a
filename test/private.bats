#!/usr/bin/env bats
# Tenant data is root's alone (doc/isolation.md): what fcm makes is 0700/0600,
# and the daemon, at start, takes group and other bits away from what an
# older fcm or a hand left open.  No guest: the daemon runs in a namespace
# made here (fcm-net setup needs one), with FCM_PROXY=off.
load test_helper

setup_file() {
	export NS=fcmt-priv-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root FCM_PROXY=off
	mkdir -p "$FCM_ROOT"
	# as an older fcm left them: readable by every local user
	mkdir -p "$FCM_ROOT/vms/abcd1234" "$FCM_ROOT/git/app.git/objects" "$FCM_ROOT/ssh"
	chmod 0755 "$FCM_ROOT/vms" "$FCM_ROOT/vms/abcd1234" "$FCM_ROOT/git" "$FCM_ROOT/git/app.git" "$FCM_ROOT/ssh"
	(umask 022
	 echo '{"id":"abcd1234","name":"old-app","owner":"alice","state":"stopped","created_at":1}' >"$FCM_ROOT/vms/abcd1234/config.json"
	 echo "=== a deploy log with alice's settings ===" >"$FCM_ROOT/vms/abcd1234/deploy.log"
	 echo "ref: refs/heads/main" >"$FCM_ROOT/git/app.git/HEAD"
	 echo "restrict ssh-ed25519 AAAA" >"$FCM_ROOT/ssh/authorized_keys")
	# a VM made before fcm recorded host keys: a disk, no known_hosts
	fake_image "$BATS_FILE_TMPDIR/img" v1
	fcm-image add dir="$BATS_FILE_TMPDIR/img" >/dev/null
	fcm-disk create id=ijkl9012 name=legacy-app | jq -r .host_key >"$BATS_FILE_TMPDIR/legacy.key"
	echo '{"id":"ijkl9012","name":"legacy-app","owner":"bob","state":"stopped","created_at":1}' \
		>"$FCM_ROOT/vms/ijkl9012/config.json"
	netns_create "$NS"
	daemon_start
	daemon_stop
}

teardown_file() {
	[ -n "${NS:-}" ] && netns_delete "$NS"
	true
}

setup() { export FCM_ROOT=$BATS_FILE_TMPDIR/root; }

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

@test "the daemon makes tenant data private at start, saying what it fixed" {
	[ "$(stat -c %a "$FCM_ROOT/vms")" = 700 ]
	[ "$(stat -c %a "$FCM_ROOT/vms/abcd1234")" = 700 ]
	[ "$(stat -c %a "$FCM_ROOT/vms/abcd1234/config.json")" = 600 ]
	[ "$(stat -c %a "$FCM_ROOT/vms/abcd1234/deploy.log")" = 600 ]
	[ "$(stat -c %a "$FCM_ROOT/git")" = 700 ]
	[ "$(stat -c %a "$FCM_ROOT/git/app.git")" = 700 ]
	[ "$(stat -c %a "$FCM_ROOT/ssh/authorized_keys")" = 600 ]
	[ "$(stat -c %a "$FCM_ROOT/.token")" = 600 ]
	run cat "$BATS_FILE_TMPDIR/daemon.log"
	assert_output --partial "$FCM_ROOT/vms/abcd1234/deploy.log was mode 0644, readable by others: made it 0600"
	assert_output --partial "$FCM_ROOT/git was mode 0755, readable by others: made it 0700"
}

@test "another local user can open no tenant file, token or key" {
	for f in .token vms/abcd1234/config.json vms/abcd1234/deploy.log git/app.git/HEAD ssh/authorized_keys; do
		run as_nobody cat "$FCM_ROOT/$f"
		assert_failure
		assert_output --partial "Permission denied"
	done
	run as_nobody ls "$FCM_ROOT/vms" "$FCM_ROOT/git"
	assert_failure
	# control: the path to $FCM_ROOT is open to it, and so is what is not tenant data
	as_nobody cat "$FCM_ROOT/net/config.json" >/dev/null
}

@test "what fcm makes now is private from the start: a VM's directory, record, repo" {
	fcm-repo create id=efgh5678 name=new-app owner=bob >/dev/null
	run find "$FCM_ROOT/git/new-app.git" -perm /077
	assert_output ""
	# a VM's directory and what is in it (s6's files deeper in its
	# service directory are behind these 0700 directories)
	run find "$FCM_ROOT/vms" -maxdepth 2 ! -type l -perm /077	# (a symlink's own mode means nothing: the name index's are behind vms/.names, 0700)
	assert_output ""
	[ "$(stat -c %a "$FCM_ROOT/vms/.names")" = 700 ]
}

@test "a VM made before host keys were recorded gets its key from its disk at daemon start" {
	[ -s "$BATS_FILE_TMPDIR/legacy.key" ]
	run cat "$FCM_ROOT/vms/ijkl9012/known_hosts"
	assert_output "fcm-ijkl9012 $(cat "$BATS_FILE_TMPDIR/legacy.key")"
	[ "$(stat -c %a "$FCM_ROOT/vms/ijkl9012/known_hosts")" = 600 ]
}
