#!/usr/bin/env bats
# State formats (doc/state.md): a root of today's layout before formats
# (test/fixtures/state-1) is migrated once at daemon start and by fcm doctor;
# state newer than this fcm is refused, changing nothing.  No guest.
load test_helper

setup() {
	NS=fcmt-state-$$
	netns_create "$NS"
	cp -a "$FCM_SRC/test/fixtures/state-1/." "$FCM_ROOT/"
	chmod 600 "$FCM_ROOT"/vms/*/config.json	# as fcm writes them (git keeps 644)
	FORMAT=$(fcm --version | sed 's/.*state format \([0-9]*\))$/\1/')
}

teardown() {
	daemon_stop
	netns_delete "$NS"
}

# Every file of the root with its content: a changed byte shows.
tree_sums() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum; find . -printf '%p %m %l\n' | sort); }

# assert_migrated: every record and manifest carries the format, and is
# otherwise what it was; the root says its format.
assert_migrated() {
	local f
	assert_equal "$(cat "$FCM_ROOT/format")" "$FORMAT"
	for f in vms/ab12cd34/config.json vms/ef56gh78/config.json images/v1/manifest.json; do
		assert_equal "$(jq -c .format "$FCM_ROOT/$f")" "$FORMAT"
		assert_equal "$(jq -cS 'del(.format)' "$FCM_ROOT/$f")" "$(jq -cS . "$FCM_SRC/test/fixtures/state-1/$f")"
	done
	assert_equal "$(stat -c %a "$FCM_ROOT/vms/ab12cd34/config.json")" 600
}

@test "the fixture is today's layout: no format anywhere" {
	[ ! -e "$FCM_ROOT/format" ]
	run grep -rl '"format"' "$FCM_ROOT"
	assert_failure
	[ "$FORMAT" -ge 2 ]
}

@test "fcm daemon migrates a root of the previous format at start, once" {
	daemon_start
	assert_migrated
	grep -q "migrated $FCM_ROOT from state format 1 to $FORMAT" "$BATS_FILE_TMPDIR/daemon.log"
	run fcm ls --json
	assert_success
	assert_line --partial '"name":"cosmic-nova"'
	# a reload finds nothing to migrate and changes no record
	local before
	before=$(sha256sum "$FCM_ROOT"/vms/*/config.json)
	run in_ns "$NS" fcm daemon --reload
	assert_success
	refute_output --partial migrated
	assert_equal "$(sha256sum "$FCM_ROOT"/vms/*/config.json)" "$before"
}

@test "fcm doctor migrates too, and says so; run again it has nothing to do" {
	run in_ns "$NS" fcm doctor --json
	assert_success
	assert_output --partial "\"migrated_from\":1"
	assert_migrated
	local before
	before=$(tree_sums "$FCM_ROOT")
	run in_ns "$NS" fcm doctor --json
	assert_success
	refute_output --partial migrated_from
	assert_equal "$(tree_sums "$FCM_ROOT")" "$before"
}

@test "a root of a newer format is refused at start with one line, nothing changed" {
	echo $((FORMAT + 1)) > "$FCM_ROOT/format"
	local before
	before=$(tree_sums "$FCM_ROOT")
	run in_ns "$NS" fcm daemon
	assert_failure 100
	assert_output "fcm-daemon: fatal: $FCM_ROOT/format is state format $((FORMAT + 1)), newer than this fcm's ($FORMAT): upgrade fcm (version $(fcm --version | cut -d' ' -f3))"
	assert_equal "$(tree_sums "$FCM_ROOT")" "$before"
	run in_ns "$NS" fcm doctor
	assert_failure 100
	assert_equal "$(tree_sums "$FCM_ROOT")" "$before"
}

@test "one record of a newer format is refused at start, and no other file is migrated" {
	jq -c ".format = $((FORMAT + 1))" "$FCM_ROOT/vms/ef56gh78/config.json" > "$BATS_TEST_TMPDIR/rec"
	cp "$BATS_TEST_TMPDIR/rec" "$FCM_ROOT/vms/ef56gh78/config.json"
	local before
	before=$(tree_sums "$FCM_ROOT")
	run in_ns "$NS" fcm daemon
	assert_failure 100
	assert_output "fcm-daemon: fatal: $FCM_ROOT/vms/ef56gh78/config.json is state format $((FORMAT + 1)), newer than this fcm's ($FORMAT): upgrade fcm (version $(fcm --version | cut -d' ' -f3))"
	assert_equal "$(tree_sums "$FCM_ROOT")" "$before"
	# the commands that read records do not use it
	run fcm ls lunar-reef
	assert_failure 100
}
