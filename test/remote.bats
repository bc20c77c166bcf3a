#!/usr/bin/env bats
# Remote mode against a running daemon: the scenarios of local use (create,
# ls, stop, start, console in a terminal, logs, destroy) through the HTTP API
# (fcm daemon's api service, lib/cmd and fcm-console), with real guests booted by the test
# double of Firecracker, inside a network namespace this file creates and
# deletes.  The API listens on 127.0.0.1:7777 of that namespace only.
load test_helper

setup_file() {
	[ -x "$FCM_SRC/bin/fcm-create" ] || skip "fcm-create is not built yet"
	require_image_file
	export NS=fcmt-remote-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=30
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	fcm_install_image
	daemon_start
	# The api service is up once it answers.
	local i
	for i in $(seq 1 100); do
		in_ns "$NS" curl -sf http://127.0.0.1:7777/v1/health >/dev/null && break
		sleep 0.1
	done
	in_ns "$NS" curl -sf http://127.0.0.1:7777/v1/health >/dev/null
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$NS"
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	TM=fcmrm-$$-$BATS_TEST_NUMBER
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	tmux -L "$TM" kill-server 2>/dev/null || true
}

# fcm as a remote user would run it: FCM_HOST set, the token from
# ~/.fcm-token (a copy of the host's admin token, as an admin would hand out).
rfcm() {
	mkdir -p "$BATS_FILE_TMPDIR/home"
	install -m 600 "$FCM_ROOT/.token" "$BATS_FILE_TMPDIR/home/.fcm-token"
	in_ns "$NS" env HOME="$BATS_FILE_TMPDIR/home" FCM_HOST=127.0.0.1:7777 fcm "$@"
}
vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }
vmm_pids() { pgrep -f "$FCM_ROOT/vms/$1/disk.img" || true; }

@test "remote create boots a VM: JSON reply, .fcm with the host, ssh works, the API ran fcm-create" {
	run rfcm create --name rem-one --json
	assert_success
	[ "$(jq -r .ok <<< "$output")" = true ]
	[ "$(jq -r .name <<< "$output")" = rem-one ]
	[ "$(jq -r .owner <<< "$output")" = admin ]
	ip=$(jq -r .ip <<< "$output")
	[ "$(jq -r .name .fcm)" = rem-one ]
	[ "$(jq -r .host .fcm)" = 127.0.0.1:7777 ]
	run vm_ssh "$ip" hostname
	assert_success
	assert_output rem-one
	[ "$(vm_field rem-one state)" = running ]
}

@test "remote ls: the same JSON lines and the same table as local ls" {
	run rfcm ls --json
	assert_success
	assert_equal "$output" "$(fcm-ls --json)"
	run in_ns "$NS" env HOME="$BATS_FILE_TMPDIR/home" FCM_HOST=127.0.0.1:7777 script -qec "fcm ls" /dev/null
	assert_line -n 0 --regexp '^NAME +STATE +IP +URL +CPUS +MEM +DISK +GIT +AGE'
	assert_output --regexp 'rem-one +running +172\.16\.0\.[0-9]+'
	assert_equal "$output" "$(script -qec "fcm-ls" /dev/null)"
}

@test "remote stop and start, the VM from .fcm: the guest goes down and comes back with its disk" {
	echo '{"name":"rem-one"}' > .fcm
	id=$(vm_field rem-one id)
	ip=$(vm_field rem-one ip)
	vm_ssh "$ip" 'echo kept > /root/marker; sync'
	run rfcm stop --json
	assert_success
	assert_output --partial '"state":"stopped"'
	[ "$(vm_field rem-one state)" = stopped ]
	[ -z "$(vmm_pids "$id")" ]
	run rfcm start --json
	assert_success
	assert_output --partial '"state":"running"'
	run vm_ssh "$ip" cat /root/marker
	assert_output kept
}

@test "remote console in a terminal (tmux): a shell in the VM, resize, detach, reattach" {
	tm() { tmux -L "$TM" "$@"; }
	cmd="ip netns exec $NS env HOME=$BATS_FILE_TMPDIR/home FCM_HOST=127.0.0.1:7777 $FCM_SRC/bin/fcm console rem-one"
	install -m 600 "$FCM_ROOT/.token" "$BATS_FILE_TMPDIR/home/.fcm-token"
	tm -f /dev/null new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tm set -g status off
	tm send-keys -t t "$cmd" Enter
	tm send-keys -t t 'echo on-$(hostname)-$((6*7))' Enter
	for i in $(seq 300); do tm capture-pane -p -t t | grep -q '^on-rem-one-42' && break; sleep 0.5; done
	run tm capture-pane -p -t t
	assert_line 'on-rem-one-42'
	tm resize-window -t t -x 120 -y 40
	sleep 1
	tm send-keys -t t 'stty size' Enter
	for i in $(seq 60); do tm capture-pane -p -t t | grep -q '^40 120' && break; sleep 0.5; done
	run tm capture-pane -p -t t
	assert_line '40 120'
	tm send-keys -t t 'SECRET=still-here' Enter C-]
	for i in $(seq 60); do tm capture-pane -p -t t -S -100 | grep -q 'detached — reattach with: fcm console rem-one' && break; sleep 0.5; done
	run tm capture-pane -p -t t -S -100
	assert_output --partial '[detached — reattach with: fcm console rem-one]'
	# Reattach: the same shell, its variables and screen.
	tm send-keys -t t "clear; $cmd" Enter
	sleep 2
	tm send-keys -t t 'echo got-$SECRET' Enter
	for i in $(seq 60); do tm capture-pane -p -t t | grep -q '^got-still-here' && break; sleep 0.5; done
	run tm capture-pane -p -t t
	assert_line 'got-still-here'
	tm send-keys -t t C-]
}

@test "restarting the API service leaves the VM running; remote commands work again" {
	id=$(vm_field rem-one id)
	before=$(vmm_pids "$id")
	old=$(s6-svstat -p "$FCM_ROOT/services/api")
	s6-svc -r "$FCM_ROOT/services/api"
	# the new API, not the old one still answering while it finishes
	for i in $(seq 100); do
		now=$(s6-svstat -p "$FCM_ROOT/services/api")
		[ "$now" != "$old" ] && [ "$now" -gt 0 ] &&
			in_ns "$NS" curl -sf http://127.0.0.1:7777/v1/health >/dev/null && break
		sleep 0.1
	done
	[ "$(vmm_pids "$id")" = "$before" ]
	run rfcm ls --json rem-one
	assert_success
	[ "$(jq -r .state <<< "$output")" = running ]
}

@test "remote logs shows the console and the VMM" {
	run rfcm logs rem-one -n 1000 --console
	assert_success
	assert_output --partial "fcm-init: boot complete"
	run rfcm logs rem-one -n 1000
	assert_success
	assert_output --partial "fcm[vm]: "
	assert_output --partial "app[web.1]: "
}

@test "remote failures: the local messages and exit codes, nothing left behind" {
	before=$(ls "$FCM_ROOT/vms")
	run rfcm create --name rem-one
	assert_failure 100
	assert_output --partial "fcm-create: fatal: name 'rem-one' is already used by a VM"
	run rfcm create --cpus 99
	assert_failure 100
	assert_output --partial "--cpus must be a whole number from 1 to"
	run rfcm stop no-such-vm
	assert_failure 100
	assert_output "fcm-stop: fatal: no VM named 'no-such-vm' (see 'fcm ls')"
	in_ns "$NS" env HOME=/nonexistent FCM_HOST=127.0.0.1:7777 FCM_TOKEN=$(printf '0%.0s' $(seq 64)) fcm ls && fail "a wrong token worked"
	[ "$(ls "$FCM_ROOT/vms")" = "$before" ]
}

@test "remote destroy removes the VM; destroying it again is 'no VM named'" {
	id=$(vm_field rem-one id)
	run rfcm destroy --json rem-one
	assert_success
	assert_output --partial '"state":"destroyed"'
	[ ! -d "$FCM_ROOT/vms/$id" ]
	[ -z "$(vmm_pids "$id")" ]
	run rfcm ls --json
	refute_output --partial rem-one
	run rfcm destroy rem-one
	assert_failure 100
	assert_output "fcm-destroy: fatal: no VM named 'rem-one' (see 'fcm ls')"
}
