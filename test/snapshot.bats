#!/usr/bin/env bats
# Snapshots: fcm suspend / resume with real guests (the test double saves
# and loads QEMU's state underneath), the cold-boot fallback, stop and
# destroy of a suspended VM -- inside a network namespace this file creates
# and deletes.  One guest shared by the file's tests, as lifecycle.bats.
load test_helper

setup_file() {
	require_image_file
	export NS=fcmt-snap-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	ln -sf "$FCM_SRC/test/firecracker/firecracker" "$BATS_FILE_TMPDIR/fc"
	export FCM_FIRECRACKER=$BATS_FILE_TMPDIR/fc
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=30
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	fcm_install_image
	daemon_start
	in_ns "$NS" fcm create --name snap-one --memory 512 --no-dotfile --json >"$BATS_FILE_TMPDIR/create.json"
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

vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }
vmm_pids() { pgrep -f "$FCM_ROOT/vms/$1/disk.img" || true; }

@test "suspend: paused, saved root-only into the VM's directory, no VMM left; ls says suspended" {
	id=$(vm_field snap-one id)
	ip=$(vm_field snap-one ip)
	[ "$(vm_field snap-one state)" = running ]
	# a process with a counter in its memory, a file in memory (tmpfs), a file on disk
	vm_ssh "$ip" 'echo in-memory-only > /run/mem-marker; echo on-disk > /root/disk-marker; sync
		setsid sh -c "i=0; while :; do i=\$((i+1)); echo \$i > /run/counter; sleep 1; done" </dev/null >/dev/null 2>&1 &
		echo $! > /run/counter.pid'
	sleep 3
	vm_ssh "$ip" 'cat /run/counter.pid /run/counter' > "$BATS_FILE_TMPDIR/before"
	run in_ns "$NS" script -qec "fcm suspend snap-one" /dev/null
	assert_success
	assert_output --regexp '^VM snap-one: suspended \(snapshot: [0-9]+ MiB\)'
	[ "$(vm_field snap-one state)" = suspended ]
	[ "$(vm_field snap-one snapshot_bytes)" -gt 1000000 ]
	[ -z "$(vmm_pids "$id")" ]
	d=$FCM_ROOT/vms/$id/snapshot
	[ "$(stat -c '%a %u' "$d")" = "700 0" ]
	[ "$(stat -c '%a %u' "$d/memory")" = "600 0" ]
	[ "$(stat -c '%a %u' "$d/vmstate")" = "600 0" ]
	[ -f "$d/info.json" ]
	run script -qec "fcm ls" /dev/null
	assert_output --regexp 'snap-one +suspended +172\.16\.0\.[0-9]+ .* 2G\+[0-9]+M'
	# suspending it again is a no-op; a stopped VM cannot be resumed
	run fcmns suspend snap-one --json
	assert_success
	[ "$(echo "$output" | jq -r .state)" = suspended ]
}

@test "resume: same process, counter and memory; clock corrected; ssh answers; snapshot used up" {
	id=$(vm_field snap-one id)
	ip=$(vm_field snap-one ip)
	[ "$(vm_field snap-one state)" = suspended ]
	sleep 5	# the guest's clock stands still meanwhile
	run in_ns "$NS" script -qec "fcm resume snap-one" /dev/null
	assert_success
	assert_output --regexp '^VM snap-one: running \(resumed from its snapshot in [0-9]+ ms\)'
	[ "$(vm_field snap-one state)" = running ]
	[ -n "$(vmm_pids "$id")" ]
	[ ! -e "$FCM_ROOT/vms/$id/snapshot" ]
	# the clock is set beside the resumed VM, over ssh: wait for it
	for i in $(seq 120); do grep -q 'guest clock set' "$FCM_ROOT/vms/$id/log/current" && break; sleep 0.5; done
	grep -q 'guest clock set' "$FCM_ROOT/vms/$id/log/current"
	pid=$(sed -n 1p "$BATS_FILE_TMPDIR/before")
	count=$(sed -n 2p "$BATS_FILE_TMPDIR/before")
	run vm_ssh "$ip" "kill -0 $pid && echo alive; cat /run/mem-marker; cat /run/counter; date +%s"
	assert_success
	assert_line --index 0 alive
	assert_line --index 1 in-memory-only
	# the counter went on from where it was: not restarted
	[ "${lines[2]}" -ge "$count" ]
	host=$(date +%s)
	guest=${lines[3]}
	diff=$((host - guest)); diff=${diff#-}
	[ "$diff" -le 3 ] || { echo "guest clock off by $diff s" >&2; false; }
	grep -q 'resumed from the snapshot in' "$FCM_ROOT/vms/$id/log/current"
	run fcmns resume snap-one
	assert_failure
	assert_output --partial "is running, not suspended"
}

@test "a snapshot that does not load: cold boot of the same disk, and it says so" {
	id=$(vm_field snap-one id)
	ip=$(vm_field snap-one ip)
	run fcmns suspend snap-one
	assert_success
	# as a Firecracker version change would: the state file is no longer readable
	printf 'not a snapshot\n' > "$FCM_ROOT/vms/$id/snapshot/vmstate"
	run fcmns start snap-one --json
	assert_success
	[ "$(echo "$output" | jq -r .state)" = running ]
	[ "$(vm_field snap-one resumed.from)" = "cold boot" ]
	grep -q 'the snapshot did not load (.*): removed; cold boot of the same disk' "$FCM_ROOT/vms/$id/log/current"
	[ ! -e "$FCM_ROOT/vms/$id/snapshot" ]
	run vm_ssh "$ip" 'cat /root/disk-marker; cat /run/mem-marker 2>/dev/null || echo gone'
	assert_line --index 0 on-disk
	assert_line --index 1 gone
}

@test "stop of a suspended VM drops its snapshot: the next start boots cold" {
	id=$(vm_field snap-one id)
	run fcmns suspend snap-one
	assert_success
	run fcmns stop snap-one
	assert_success
	[ "$(vm_field snap-one state)" = stopped ]
	[ ! -e "$FCM_ROOT/vms/$id/snapshot" ]
	run fcmns resume snap-one
	assert_failure
	assert_output --partial "is stopped, not suspended: 'fcm start' boots it"
	run fcmns start snap-one
	assert_success
}

@test "destroy of a suspended VM leaves nothing behind" {
	id=$(vm_field snap-one id)
	ip=$(vm_field snap-one ip)
	run fcmns suspend snap-one
	assert_success
	run fcmns destroy snap-one
	assert_success
	[ -z "$(vmm_pids "$id")" ]
	[ ! -e "$FCM_ROOT/vms/$id" ]
	[ ! -e "$FCM_ROOT/scan/vm-$id" ]
	[ ! -e "$FCM_ROOT/net/leases/$ip" ]
	run in_ns "$NS" ip link show "tap_$id"
	assert_failure
	[ -z "$(find "$FCM_ROOT" -path '*snapshot*')" ]
}

@test "5 VMs suspend and resume in parallel; destroyed, they leave nothing behind" {
	for i in 1 2 3 4 5; do
		( in_ns "$NS" fcm create --name "snap-p$i" --no-wait --no-dotfile --memory 256 --json > "$BATS_TEST_TMPDIR/c$i.json" 2>&1 ) &
	done
	wait
	for i in 1 2 3 4 5; do
		[ "$(jq -r .ok "$BATS_TEST_TMPDIR/c$i.json")" = true ] || { cat "$BATS_TEST_TMPDIR/c$i.json"; false; }
		s6-svwait -U -t 600000 "$FCM_ROOT/vms/$(jq -r .id "$BATS_TEST_TMPDIR/c$i.json")/service"
		vm_ssh "$(jq -r .ip "$BATS_TEST_TMPDIR/c$i.json")" "echo p$i > /run/who"
	done
	for i in 1 2 3 4 5; do
		( in_ns "$NS" fcm suspend "snap-p$i" --json > "$BATS_TEST_TMPDIR/s$i.json" 2>&1 ) &
	done
	wait
	for i in 1 2 3 4 5; do
		[ "$(jq -r .state "$BATS_TEST_TMPDIR/s$i.json")" = suspended ] || { cat "$BATS_TEST_TMPDIR/s$i.json"; false; }
		[ -z "$(vmm_pids "$(jq -r .id "$BATS_TEST_TMPDIR/c$i.json")")" ]
	done
	for i in 1 2 3 4 5; do
		( in_ns "$NS" fcm resume "snap-p$i" --json > "$BATS_TEST_TMPDIR/r$i.json" 2>&1 ) &
	done
	wait
	for i in 1 2 3 4 5; do
		[ "$(jq -r .resumed.from "$BATS_TEST_TMPDIR/r$i.json")" = snapshot ] || { cat "$BATS_TEST_TMPDIR/r$i.json"; false; }
		run vm_ssh "$(jq -r .ip "$BATS_TEST_TMPDIR/c$i.json")" cat /run/who
		assert_output "p$i"
	done
	for i in 1 2 3 4 5; do
		( in_ns "$NS" fcm suspend "snap-p$i" >/dev/null 2>&1; in_ns "$NS" fcm destroy "snap-p$i" > "$BATS_TEST_TMPDIR/d$i.out" 2>&1 ) &
	done
	wait
	for i in 1 2 3 4 5; do
		id=$(jq -r .id "$BATS_TEST_TMPDIR/c$i.json")
		[ ! -e "$FCM_ROOT/vms/$id" ] || { cat "$BATS_TEST_TMPDIR/d$i.out"; false; }
		[ -z "$(vmm_pids "$id")" ]
	done
	[ -z "$(ls "$FCM_ROOT/vms")" ]
	[ -z "$(ls "$FCM_ROOT/net/leases" 2>/dev/null)" ]
}
