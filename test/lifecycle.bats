#!/usr/bin/env bats
# VM lifecycle under s6: fcm daemon, create, ls, stop, start, destroy, logs —
# real guests booted by the test double of Firecracker, inside a network
# namespace this file creates and deletes.
load test_helper

setup_file() {
	require_image_file
	export NS=fcmt-life-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	# The tree's VMM, through a link a test can point elsewhere.
	ln -sf "$FCM_SRC/test/firecracker/firecracker" "$BATS_FILE_TMPDIR/fc"
	export FCM_FIRECRACKER=$BATS_FILE_TMPDIR/fc
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
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
	# Every test shares the file's root and daemon (booting guests is slow).
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	cd "$BATS_TEST_TMPDIR"
}

vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }
# The QEMU processes of a VM (the double runs its disk through QEMU).
vmm_pids() { pgrep -f "$FCM_ROOT/vms/$1/disk.img" || true; }

@test "fcm create boots a VM: ssh by the host key, ls shows it running" {
	run fcmns create --name life-one --json
	assert_success
	[ "$(echo "$output" | jq -r .ok)" = true ]
	[ "$(echo "$output" | jq -r .name)" = life-one ]
	ip=$(echo "$output" | jq -r .ip)
	[[ "$ip" == 172.16.0.* ]]
	[ -f .fcm ]
	[ "$(jq -r .name .fcm)" = life-one ]
	run vm_ssh "$ip" 'hostname; cat /proc/cmdline'
	assert_success
	assert_line --index 0 life-one
	run fcm-ls --json
	assert_success
	[ "$(echo "$output" | jq -r 'select(.name=="life-one") | .state')" = running ]
	[ "$(echo "$output" | jq -r 'select(.name=="life-one") | .ip')" = "$ip" ]
	# No jailer here (none set, none on PATH or beside the VMM): the VM
	# runs, unconfined, and everyone is told (doc/security.md).
	[ "$(echo "$output" | jq -r 'select(.name=="life-one") | .confined')" = false ]
	grep -q "warning: Firecracker's jailer is not installed" "$BATS_FILE_TMPDIR/daemon.log"
	run bash -c 'fcm-ls | jq -r .name'
	assert_output --partial life-one
}

@test "a running VM's driver sleeps and stays small: its fcm-fc wakes for nothing once the guest is ready" {
	id=$(vm_field life-one id)
	s6-svwait -U -t 300000 "$FCM_ROOT/vms/$id/service"
	pid=$(s6-svstat -p "$FCM_ROOT/vms/$id/service")
	tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "fcm-fc run $id"
	# It has not loaded libcurl (and its thirty libraries): a VM configured
	# by file never calls its VMM's API until it is stopped, and the
	# driver lives as long as the VM (it was 10.7 MB of RSS, 200 mappings).
	grep -q 'libjq' "/proc/$pid/maps"
	run ! grep -q 'libcurl' "/proc/$pid/maps"
	# Nor an inotify instance: a host allows 128 a user, and past that
	# many VMs their drivers read their records every 2 s instead.
	run ! bash -c "ls -l /proc/$pid/fd | grep -q inotify"
	switches() { awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$pid/status"; }
	a=$(switches)
	sleep 3
	b=$(switches)
	# (it used to wake every 250 ms and read the record every 2 s: 12 in 3 s)
	[ $((b - a)) -le 1 ] || { echo "fcm-fc woke $((b - a)) times in 3 s"; return 1; }
	# and it still hears the record: fcm idle turns its measuring on
	run fcmns idle life-one 1h
	assert_success
	sleep 3
	c=$(switches)
	[ $((c - b)) -ge 1 ]
	run fcmns idle life-one off
	assert_success
}

@test "fcm ls on a terminal is a table" {
	run script -qec "fcm ls" /dev/null
	assert_success
	assert_line --index 0 --regexp '^NAME +STATE +IP +URL +CPUS +MEM +DISK +GIT +AGE'
	assert_output --regexp 'life-one +running +172\.16\.0\.[0-9]+'
}

@test "fcm stop shuts the guest down gracefully; start brings it back with its IP and disk" {
	id=$(vm_field life-one id)
	ip=$(vm_field life-one ip)
	vm_ssh "$ip" 'echo kept-across-restart > /root/marker; sync'
	run fcmns stop life-one
	assert_success
	[ "$(vm_field life-one state)" = stopped ]
	[ -z "$(vmm_pids "$id")" ]
	run grep -c 'fcm-init: shutting down' "$FCM_ROOT/vms/$id/log/current"
	assert_success
	run fcmns start life-one
	assert_success
	[ "$(vm_field life-one state)" = running ]
	[ "$(vm_field life-one ip)" = "$ip" ]
	run vm_ssh "$ip" cat /root/marker
	assert_output kept-across-restart
}

@test "s6-svc -d / -u on the service stop and start the VM like fcm stop/start" {
	id=$(vm_field life-one id)
	s6-svc -d "$FCM_ROOT/vms/$id/service"
	s6-svwait -D -t 90000 "$FCM_ROOT/vms/$id/service"
	[ "$(vm_field life-one state)" = stopped ]
	s6-svc -u "$FCM_ROOT/vms/$id/service"
	s6-svwait -U -t 300000 "$FCM_ROOT/vms/$id/service"
	[ "$(vm_field life-one state)" = running ]
}

@test "kill -9 of the VMM: s6 restarts it and the VM comes back" {
	id=$(vm_field life-one id)
	ip=$(vm_field life-one ip)
	old=$(vmm_pids "$id")
	[ -n "$old" ]
	kill -9 $(pgrep -f "^$FCM_FIRECRACKER --api-sock $FCM_ROOT/vms/$id/")
	# Wait for a new VMM, then for readiness.
	for i in $(seq 1 100); do
		new=$(vmm_pids "$id")
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.2
	done
	[ -n "$new" ] && [ "$new" != "$old" ]
	s6-svwait -U -t 300000 "$FCM_ROOT/vms/$id/service"
	run vm_ssh "$ip" true
	assert_success
}

@test "fcm daemon run again reloads and leaves running VMs running" {
	id=$(vm_field life-one id)
	before=$(vmm_pids "$id")
	run fcmns daemon
	assert_success
	assert_output --partial "reloaded"
	[ "$(vmm_pids "$id")" = "$before" ]
	[ "$(vm_field life-one state)" = running ]
}

@test "killing the API service leaves running VMs running, and s6 restarts it" {
	id=$(vm_field life-one id)
	before=$(vmm_pids "$id")
	api=$FCM_ROOT/services/api
	[ -d "$api" ]
	old=$(s6-svstat -o pid "$api")
	[ "$old" -gt 0 ]
	s6-svc -k "$api"
	for i in $(seq 1 100); do
		new=$(s6-svstat -o pid "$api")
		[ "$new" -gt 0 ] && [ "$new" != "$old" ] && break
		sleep 0.1
	done
	[ "$new" != "$old" ] && [ "$new" -gt 0 ]
	[ "$(vmm_pids "$id")" = "$before" ]
	[ "$(vm_field life-one state)" = running ]
}

@test "fcm logs --console shows the console and the VMM; fcm logs the app and the VM's events" {
	run fcmns logs life-one --console -n 1000
	assert_success
	assert_output --partial "fcm-init: boot complete"
	assert_output --partial "guest is ready"
	run fcmns logs life-one -n 1000
	assert_success
	assert_output --regexp "Z fcm\[vm\]: fcm-fc [a-z0-9]+: info: guest is ready"
	assert_output --partial "app[web.1]: app-run: nothing deployed with a web: line, serving the placeholder"
	refute_output --partial "fcm-init: boot complete"
}

@test "failures leave no half-made VM: bad input, duplicate name, unknown VM" {
	before=$(ls "$FCM_ROOT/vms")
	run fcmns create --name life-one
	assert_failure 100
	assert_output "fcm-create: fatal: name 'life-one' is already used by a VM: choose another, or leave --name out"
	run fcmns create --memory 0
	assert_failure 100
	assert_output --partial "--memory must be a whole number from 128"
	run fcmns create --cpus 99
	assert_failure 100
	assert_output --partial "--cpus must be a whole number from 1 to"
	run fcmns create --name Bad_Name
	assert_failure 100
	run fcmns create --disk 2X
	assert_failure
	[ "${#lines[@]}" -eq 1 ]
	run fcmns stop no-such-vm
	assert_failure 100
	assert_output "fcm-stop: fatal: no VM named 'no-such-vm' (see 'fcm ls')"
	run fcmns destroy ../etc
	assert_failure 100
	[ "$(ls "$FCM_ROOT/vms")" = "$before" ]
}

@test "a firecracker that exits at once: one clear line, nothing left" {
	before_vms=$(ls "$FCM_ROOT/vms")
	before_leases=$(ls "$FCM_ROOT/net/leases" 2>/dev/null)
	before_taps=$(in_ns "$NS" ip -o link show | grep -o 'tap_[a-z0-9]*' | sort)
	# The tree runs $FCM_FIRECRACKER, a link: point it at a broken VMM.
	printf '#!/bin/sh\necho "firecracker: broken on purpose" >&2\nexit 1\n' > "$BATS_FILE_TMPDIR/fc.broken"
	chmod +x "$BATS_FILE_TMPDIR/fc.broken"
	ln -sf "$BATS_FILE_TMPDIR/fc.broken" "$BATS_FILE_TMPDIR/fc"
	run fcmns create --name life-broken
	ln -sf "$FCM_SRC/test/firecracker/firecracker" "$BATS_FILE_TMPDIR/fc"
	assert_failure
	[ "${#lines[@]}" -le 2 ]
	assert_output --partial "the VM did not start"
	[ "$(ls "$FCM_ROOT/vms")" = "$before_vms" ]
	[ "$(ls "$FCM_ROOT/net/leases" 2>/dev/null)" = "$before_leases" ]
	[ "$(in_ns "$NS" ip -o link show | grep -o 'tap_[a-z0-9]*' | sort)" = "$before_taps" ]
}

@test "a VMM that keeps dying: restarted with a back-off, then after 5 crashes in 60 s the VM is failed and stays down; fcm start tries again" {
	printf '#!/bin/sh\necho "firecracker: broken on purpose" >&2\nexit 1\n' > "$BATS_FILE_TMPDIR/fc.broken"
	chmod +x "$BATS_FILE_TMPDIR/fc.broken"
	ln -sf "$BATS_FILE_TMPDIR/fc.broken" "$BATS_FILE_TMPDIR/fc"
	run fcmns create --name life-crashy --no-wait --no-dotfile --json
	assert_success
	id=$(echo "$output" | jq -r .id)
	for i in $(seq 60); do [ "$(vm_field life-crashy state)" = failed ] && break; sleep 1; done
	state=$(vm_field life-crashy state)
	# The VMM mended at once, whatever follows: the next tests need it.
	ln -sf "$FCM_SRC/test/firecracker/firecracker" "$BATS_FILE_TMPDIR/fc"
	log=$FCM_ROOT/vms/$id/log/current
	[ "$state" = failed ] || { tail -20 "$log" >&2; false; }
	# its supervisor brought it down, and it stays down: no sixth start;
	# the log says why (finish's lines too)
	[ -e "$FCM_ROOT/vms/$id/service/down" ]
	run s6-svstat -o up,wantedup "$FCM_ROOT/vms/$id/service"
	assert_output "false false"
	grep -q 'giving up after 5 crashes in 60 s' "$log"
	sleep 3
	[ "$(grep -c 'VMM died' "$log")" -eq 5 ]
	# backing off 0, 1, 2 and 4 s between them (s6 adds a second each)
	span=$(awk 'NR == 1 { a = $1 } END { print $1 - a }' "$FCM_ROOT/vms/$id/crashes")
	[ "$span" -ge 7 ] || { cat "$FCM_ROOT/vms/$id/crashes" >&2; false; }
	# fcm start clears that and tries again
	run fcmns start life-crashy --no-wait --json
	assert_success
	run s6-svstat -o wantedup "$FCM_ROOT/vms/$id/service"
	assert_output true
	[ ! -e "$FCM_ROOT/vms/$id/service/down" ]
	[ "$(vm_field life-crashy state)" != failed ]
	run fcmns destroy life-crashy
	assert_success
}

@test "a missing kernel: one clear line, nothing left" {
	before_vms=$(ls "$FCM_ROOT/vms")
	img=$(readlink -f "$FCM_ROOT/images/default")
	mv "$img/vmlinux" "$img/vmlinux.away"
	run fcmns create --name life-nokernel
	mv "$img/vmlinux.away" "$img/vmlinux"
	assert_failure
	assert_output --partial "vmlinux"
	[ "$(ls "$FCM_ROOT/vms")" = "$before_vms" ]
}

@test "fcm destroy leaves nothing: process, tap, lease, service link, directory" {
	id=$(vm_field life-one id)
	ip=$(vm_field life-one ip)
	run fcmns destroy life-one
	assert_success
	[ -z "$(vmm_pids "$id")" ]
	[ ! -e "$FCM_ROOT/vms/$id" ]
	[ ! -e "$FCM_ROOT/scan/vm-$id" ]
	[ ! -e "$FCM_ROOT/net/leases/$ip" ]
	run in_ns "$NS" ip link show "tap_$id"
	assert_failure
	run fcm-ls --json
	refute_output --partial life-one
	run fcmns destroy life-one
	assert_failure 100
}

@test "fcm destroy kills the VMM at once, also one that ignores SIGTERM (stopped): nothing is left" {
	# A hung VMM: SIGSTOP holds every signal but SIGKILL pending, as a
	# Firecracker that is its PID namespace's init ignores SIGTERM.
	run fcmns create --name life-hung --no-wait --no-dotfile --memory 256 --json
	assert_success
	id=$(jq -r .id <<< "$output")
	ip=$(jq -r .ip <<< "$output")
	for i in $(seq 1 100); do
		pid=$(pgrep -f "^$FCM_FIRECRACKER --api-sock $FCM_ROOT/vms/$id/" || true)
		[ -n "$pid" ] && [ -S "$FCM_ROOT/vms/$id/firecracker.socket" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	kill -STOP "$pid"
	run fcmns destroy life-hung
	assert_success
	# No process of the VM is left (the VMM, QEMU, fcm-tty, fcm-fc).
	for i in $(seq 1 20); do
		[ -z "$(pgrep -f "$FCM_ROOT/vms/$id/" || true)" ] && break
		sleep 0.1
	done
	run pgrep -f "$FCM_ROOT/vms/$id/"
	assert_failure
	[ ! -e "$FCM_ROOT/vms/$id" ]
	[ ! -e "$FCM_ROOT/scan/vm-$id" ]
	[ ! -e "$FCM_ROOT/net/leases/$ip" ]
	run in_ns "$NS" ip link show "tap_$id"
	assert_failure
}

@test "10 fcm create in parallel: distinct names, IPs and taps, all running" {
	for i in $(seq 1 10); do
		( in_ns "$NS" fcm create --no-wait --no-dotfile --memory 256 --json > "$BATS_TEST_TMPDIR/c$i.json" 2>&1 ) &
	done
	wait
	for i in $(seq 1 10); do
		[ "$(jq -r .ok "$BATS_TEST_TMPDIR/c$i.json")" = true ] || { cat "$BATS_TEST_TMPDIR/c$i.json"; false; }
	done
	[ "$(cat "$BATS_TEST_TMPDIR"/c*.json | jq -r .name | sort -u | wc -l)" -eq 10 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/c*.json | jq -r .ip | sort -u | wc -l)" -eq 10 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/c*.json | jq -r .tap | sort -u | wc -l)" -eq 10 ]
	for id in $(cat "$BATS_TEST_TMPDIR"/c*.json | jq -r .id); do
		s6-svwait -U -t 600000 "$FCM_ROOT/vms/$id/service"
	done
	[ "$(fcm-ls --json | jq -r .state | grep -c running)" -eq 10 ]
	for name in $(cat "$BATS_TEST_TMPDIR"/c*.json | jq -r .name); do
		in_ns "$NS" fcm destroy "$name" >/dev/null &
	done
	wait
	[ -z "$(ls "$FCM_ROOT/vms")" ]
	[ -z "$(ls "$FCM_ROOT/net/leases")" ]
}

@test "a simulated host reboot: the running VM comes back on the network with its disk, the stopped one stays stopped" {
	run fcmns create --name boot-run --no-dotfile --json
	assert_success
	ip=$(vm_field boot-run ip)
	id=$(vm_field boot-run id)
	vm_ssh "$ip" 'echo kept-across-reboot > /root/marker; sync'
	fcmns create --name boot-stop --no-dotfile --no-wait > /dev/null
	fcmns stop boot-stop > /dev/null
	# The reboot: every process in the namespace killed at once, the
	# namespace (bridge, taps, nftables) gone, then made again, empty.
	netns_delete "$NS"
	netns_create "$NS"
	daemon_start
	s6-svwait -U -t 300000 "$FCM_ROOT/vms/$id/service"
	run ip -n "$NS" -o link show "tap_$id"
	assert_output --partial 'master fcm0'
	run vm_ssh "$ip" cat /root/marker
	assert_success
	assert_output kept-across-reboot
	[ "$(vm_field boot-run state)" = running ]
	[ "$(vm_field boot-stop state)" = stopped ]
	[ -z "$(vmm_pids "$(vm_field boot-stop id)")" ]
	fcmns destroy boot-run > /dev/null
	fcmns destroy boot-stop > /dev/null
}
