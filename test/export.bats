#!/usr/bin/env bats
# fcm export / fcm import (doc/export.md): a VM's archive from one state
# root into another, under a daemon in a test namespace.  No guest: the VM
# is a stopped one with a fake disk, its git repo a real one.  (Export of a
# running VM pauses it through fcm-fc; that needs a guest and is not tested
# here.)
load test_helper

setup() {
	NS=fcmt-exp-$$
	netns_create "$NS"
	export FCM_PROXY=off
	IMG=$BATS_TEST_TMPDIR/img
	fake_image "$IMG" v1
	# root A: one VM as create leaves it, stopped, with a pushed commit
	A=$FCM_ROOT
	fcm-image add dir="$IMG" >/dev/null
	local v=$A/vms/ab12cd34
	mkdir -p "$v/service/supervise" "$v/releases" "$A/git"
	jq -c '.image = "v1"' "$FCM_SRC/test/fixtures/state-1/vms/ab12cd34/config.json" > "$v/config.json"
	# its disk as fcm-disk makes it: ext4, the overlay's upper layer seeded
	local seed=$BATS_TEST_TMPDIR/seed
	mkdir -p "$seed/upper/root/.ssh" "$seed/upper/app/current"
	echo 'ssh-ed25519 AAAAhostA fcm@host-a' > "$seed/upper/root/.ssh/authorized_keys"
	echo 'the app, deployed' > "$seed/upper/app/current/index.html"
	truncate -s 256M "$v/disk.img"
	mkfs.ext4 -q -F -L fcm-disk -d "$seed" "$v/disk.img"
	echo 'SECRET_KEY=s3cr3t' > "$v/.env"
	echo '{"release":1}' > "$v/releases/1.json"
	echo '172.16.0.50 ssh-ed25519 AAAAtest' > "$v/known_hosts"
	touch "$v/.busy"
	git init -q --bare "$A/git/cosmic-nova.git"
	git init -q "$BATS_TEST_TMPDIR/app"
	echo 'print("hello")' > "$BATS_TEST_TMPDIR/app/app.py"
	git -C "$BATS_TEST_TMPDIR/app" add . && git -C "$BATS_TEST_TMPDIR/app" -c user.name=t -c user.email=t@t commit -qm 'the app'
	git -C "$BATS_TEST_TMPDIR/app" push -q "$A/git/cosmic-nova.git" HEAD:refs/heads/main
	COMMIT=$(git -C "$BATS_TEST_TMPDIR/app" rev-parse HEAD)
	# root B: another host, its daemon in the namespace
	B=$BATS_TEST_TMPDIR/root-b
	mkdir -p "$B"
	FCM_ROOT=$B fcm-image add dir="$IMG" >/dev/null
}

teardown() {
	FCM_ROOT=$B daemon_stop
	netns_delete "$NS"
}

tree_sums() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum; find . -printf '%p %m %l\n' | sort); }

@test "fcm export: a versioned archive of the VM's durable files and repo, no secrets, the original untouched" {
	local before
	before=$(tree_sums "$A")
	fcm export cosmic-nova > "$BATS_TEST_TMPDIR/a.tar"
	run tar -tf "$BATS_TEST_TMPDIR/a.tar"
	assert_line --index 0 fcm-export.json
	assert_line vm/disk.img
	assert_line vm/config.json
	assert_line vm/releases/1.json
	assert_line vm/known_hosts
	assert_line git/HEAD
	refute_line vm/.env
	refute_line --partial service
	refute_line vm/.busy
	run tar -xOf "$BATS_TEST_TMPDIR/a.tar" fcm-export.json
	assert_output --regexp '"archive":"fcm-export","version":1,"state_format":[0-9]+,'
	assert_output --partial '"secrets":false,"state":"stopped","vm":{"id":"ab12cd34","name":"cosmic-nova"'
	# the disk stays sparse in the archive
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/a.tar")" -lt $((64 * 1024 * 1024)) ]	# of 256 MiB
	assert_equal "$(tree_sums "$A")" "$before"
	run bash -c 'fcm export cosmic-nova --include-secrets | tar -t'
	assert_line vm/.env
	run fcm export no-such-vm
	assert_failure 100
	assert_output --partial "no VM named 'no-such-vm'"
}

@test "fcm import on another root: new id and address, same files and git history; a name in use is refused, --name renames" {
	fcm export cosmic-nova > "$BATS_TEST_TMPDIR/a.tar"
	local before
	before=$(tree_sums "$A")
	export FCM_ROOT=$B
	FCM_SUBNET=172.16.9.0/24 daemon_start
	run --separate-stderr in_ns "$NS" fcm import --json < "$BATS_TEST_TMPDIR/a.tar"
	assert_success
	local rec=$output id
	id=$(jq -r .id <<< "$rec")
	assert_equal "$(jq -r .name <<< "$rec")" cosmic-nova
	assert_equal "$(jq -r .state <<< "$rec")" stopped
	[ "$id" != ab12cd34 ]
	assert_equal "$(jq -r .ip <<< "$rec")" 172.16.9.50
	assert_equal "$(jq -r .tap <<< "$rec")" "tap_$id"
	assert_equal "$(jq -r .image <<< "$rec")" v1
	# its disk, with this host's key into its guests added to the guest's
	assert_equal "$(debugfs -R 'cat /upper/app/current/index.html' "$B/vms/$id/disk.img" 2>/dev/null)" 'the app, deployed'
	run debugfs -R 'cat /upper/root/.ssh/authorized_keys' "$B/vms/$id/disk.img"
	assert_line 'ssh-ed25519 AAAAhostA fcm@host-a'
	assert_line "$(fcm keys guest --json | jq -r .key)"
	assert_equal "$(cat "$B/vms/$id/releases/1.json")" '{"release":1}'
	[ ! -e "$B/vms/$id/.env" ]	# not exported without --include-secrets
	assert_equal "$(git --git-dir="$B/git/cosmic-nova.git" rev-parse main)" "$COMMIT"
	assert_equal "$(git --git-dir="$B/git/cosmic-nova.git" log --format=%s main)" 'the app'
	run fcm ls --json
	assert_line --partial "\"name\":\"cosmic-nova\""
	# again: the name is taken here
	run in_ns "$NS" fcm import < "$BATS_TEST_TMPDIR/a.tar"
	assert_failure 100
	assert_output "fcm-import: fatal: name 'cosmic-nova' is already used by a VM here: import it under another with --name NEW"
	run --separate-stderr in_ns "$NS" fcm import --name lunar-copy --json < "$BATS_TEST_TMPDIR/a.tar"
	assert_success
	assert_equal "$(jq -r .ip <<< "$output")" 172.16.9.51
	assert_equal "$(git --git-dir="$B/git/lunar-copy.git" rev-parse main)" "$COMMIT"
	# nothing half-made, nothing left unpacked; the original root untouched
	assert_equal "$(ls "$B/vms" | wc -l)" 2
	assert_equal "$(ls -A "$B/tmp")" ""
	assert_equal "$(tree_sums "$A")" "$before"
}

@test "fcm import refuses what is not an archive of fcm export, or a newer one, leaving nothing" {
	export FCM_ROOT=$B
	daemon_start
	run in_ns "$NS" bash -c 'echo garbage | fcm import'
	assert_failure 100
	assert_output --partial "fcm-import: fatal: unable to unpack the archive on stdin"
	mkdir -p "$BATS_TEST_TMPDIR/x" && echo '{}' > "$BATS_TEST_TMPDIR/x/other.json"
	run in_ns "$NS" bash -c "tar -C '$BATS_TEST_TMPDIR/x' -c other.json | fcm import"
	assert_failure 100
	assert_output "fcm-import: fatal: stdin is not an archive of fcm export (no fcm-export.json)"
	echo '{"archive":"fcm-export","version":99,"state_format":2,"vm":{"name":"x","image":"v1"}}' > "$BATS_TEST_TMPDIR/x/fcm-export.json"
	run in_ns "$NS" bash -c "tar -C '$BATS_TEST_TMPDIR/x' -c fcm-export.json | fcm import"
	assert_failure 100
	assert_output --partial "the archive is version 99, newer than this fcm's (1)"
	ln -s /etc/passwd "$BATS_TEST_TMPDIR/x/vm"
	echo '{"archive":"fcm-export","version":1,"state_format":2,"vm":{"name":"x","image":"v1"}}' > "$BATS_TEST_TMPDIR/x/fcm-export.json"
	run in_ns "$NS" bash -c "tar -C '$BATS_TEST_TMPDIR/x' -c fcm-export.json vm | fcm import"
	assert_failure 100
	assert_output --partial "holds a link or a special file"
	assert_equal "$(ls -A "$B/vms" | grep -v '^\.lock$' | grep -v '^\.names$' | wc -l)" 0
	assert_equal "$(ls -A "$B/vms/.names" 2>/dev/null | grep -v '^\.complete$' | wc -l)" 0	# no name claimed
	assert_equal "$(ls -A "$B/tmp")" ""
}

@test "fcm import refuses a VM whose custom domain a VM here has, and makes nothing" {
	jq -c '.domains = ["www.example.test"]' "$A/vms/ab12cd34/config.json" > "$BATS_TEST_TMPDIR/rec"
	cp "$BATS_TEST_TMPDIR/rec" "$A/vms/ab12cd34/config.json"
	fcm export cosmic-nova > "$BATS_TEST_TMPDIR/d.tar"
	export FCM_ROOT=$B
	FCM_SUBNET=172.16.9.0/24 daemon_start
	run --separate-stderr in_ns "$NS" fcm import --name first --json < "$BATS_TEST_TMPDIR/d.tar"
	assert_success
	assert_equal "$(jq -c .domains <<< "$output")" '["www.example.test"]'
	run in_ns "$NS" fcm import --name second < "$BATS_TEST_TMPDIR/d.tar"
	assert_failure 100
	assert_output "fcm-import: fatal: the archive's VM has the domain 'www.example.test', which a VM here has ('fcm domains rm' it there first)"
	assert_equal "$(ls "$B/vms" | wc -l)" 1
	assert_equal "$(ls -A "$B/tmp")" ""
}
