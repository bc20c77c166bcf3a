#!/usr/bin/env bats
# Scale to zero (doc/snapshots.md): a VM created with --idle-suspend suspends
# itself when no packet reaches it for that long, and a plain HTTPS request
# through Caddy wakes it and gets the app's normal answer.  A real guest (the
# image's placeholder app on :8000), Caddy with its internal CA, inside a
# network namespace this file creates and deletes.
load test_helper

GW=172.16.0.1

setup_file() {
	require_image_file
	command -v caddy >/dev/null || skip "caddy is not installed (make deps)"
	export NS=fcmt-idle-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_TLS=internal FCM_PUBLIC_IP=$GW
	unset FCM_DOMAIN FCM_PROXY
	export FCM_STOP_TIMEOUT=30
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	fcm_install_image
	daemon_start
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$NS"
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	cd "$BATS_TEST_TMPDIR"
}

fcmns() { in_ns "$NS" fcm "$@"; }
vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }
vmm_pids() { pgrep -f "$FCM_ROOT/vms/$1/disk.img" || true; }
# page NAME [MAX]: one plain HTTPS request through Caddy (its internal CA)
page() {
	local host
	host=$(vm_field "$1" url | sed 's|^https://||')
	in_ns "$NS" curl -sS --max-time "${2:-10}" --resolve "$host:443:$GW" \
	    --cacert "$FCM_ROOT/caddy/caddy/pki/authorities/local/root.crt" -w '\n%{http_code}\n' "https://$host/"
}

@test "--idle-suspend and fcm idle refuse a bad duration, changing nothing" {
	for bad in 5x -1 15mm 31d ''; do
		run fcmns create --name idle-bad --idle-suspend "$bad" --no-dotfile
		[ "$status" -eq 100 ]
		assert_output --partial "--idle-suspend must be a duration like 15m"
	done
	run fcm-ls --json
	refute_output --partial idle-bad
}

@test "an idle VM suspends itself; a plain HTTPS request through Caddy wakes it and gets the app's answer" {
	# (stdout alone: a warning once came before the JSON; it is shown, not parsed)
	run --separate-stderr fcmns create --name idle-one --memory 256 --idle-suspend 20s --no-dotfile --json
	assert_success
	[ -z "$stderr" ] || echo "# create warned: $stderr" >&3
	id=$(echo "$output" | jq -r .id)
	[ "$(vm_field idle-one idle_suspend)" = 20 ]
	# the app answers through Caddy (its certificate is issued in the background)
	for i in $(seq 50); do
		page idle-one > "$BATS_TEST_TMPDIR/page" 2>/dev/null && [ "$(tail -1 "$BATS_TEST_TMPDIR/page")" = 200 ] && break
		sleep 0.5
	done
	[ "$(tail -1 "$BATS_TEST_TMPDIR/page")" = 200 ]
	grep -q Procfile "$BATS_TEST_TMPDIR/page"
	# no request for 20 s: suspended by itself, no VMM
	for i in $(seq 120); do
		[ "$(vm_field idle-one state)" = suspended ] && break
		sleep 1
	done
	[ "$(vm_field idle-one state)" = suspended ]
	# the VMM's QEMU dies with it (PDEATHSIG): give it a moment
	for i in $(seq 50); do [ -z "$(vmm_pids "$id")" ] && break; sleep 0.1; done
	[ -z "$(vmm_pids "$id")" ]
	grep -q 'idle for 20 s: suspended' "$FCM_ROOT/vms/$id/log/current"
	# one plain request: held while the VM resumes, then answered
	run page idle-one 90
	assert_success
	assert_line --index -1 200
	assert_output --partial Procfile
	grep -q 'woken by \(a packet to it\|an ARP request for it\): resuming' "$FCM_ROOT/vms/$id/log/current"
	grep -q 'resumed from the snapshot in' "$FCM_ROOT/vms/$id/log/current"
	[ "$(vm_field idle-one state)" = running ]
	[ -n "$(vmm_pids "$id")" ]
}

@test "fcm idle changes it later; fcm resume wakes a VM that suspended itself" {
	id=$(vm_field idle-one id)
	run fcmns idle idle-one 15m --json
	assert_success
	[ "$(echo "$output" | jq -r .idle_suspend)" = 900 ]
	[ "$(vm_field idle-one idle_suspend)" = 900 ]
	run in_ns "$NS" script -qec "fcm idle idle-one 5s" /dev/null
	assert_success
	assert_output --partial "VM idle-one: suspends itself after 5 s without a packet"
	for i in $(seq 120); do
		[ "$(vm_field idle-one state)" = suspended ] && break
		sleep 1
	done
	[ "$(vm_field idle-one state)" = suspended ]
	for i in $(seq 50); do [ -z "$(vmm_pids "$id")" ] && break; sleep 0.1; done
	[ -z "$(vmm_pids "$id")" ]
	run in_ns "$NS" script -qec "fcm idle idle-one off" /dev/null
	assert_output --partial "VM idle-one: never suspends itself"
	[ "$(vm_field idle-one idle_suspend)" = null ]
	run fcmns resume idle-one --json
	assert_success
	[ "$(echo "$output" | jq -r .state)" = running ]
	grep -q 'woken by fcm resume' "$FCM_ROOT/vms/$id/log/current"
	cp "$FCM_ROOT/vms/$id/log/current" "$BATS_FILE_TMPDIR/idle-one.log"
	run fcmns destroy idle-one
	assert_success
	[ ! -e "$FCM_ROOT/vms/$id" ]
	# the VMM's QEMU dies with it (PDEATHSIG): give it a moment
	for i in $(seq 50); do [ -z "$(vmm_pids "$id")" ] && break; sleep 0.1; done
	[ -z "$(vmm_pids "$id")" ] || { ps -o pid,ppid,args -p "$(vmm_pids "$id")" >&2; tail -20 "$BATS_FILE_TMPDIR/idle-one.log" >&2; false; }
}
