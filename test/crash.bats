#!/usr/bin/env bats
# Crash safety (lib/vm/lifecycle.h, lib/vm/repair.h): destroy killed at any
# point never leaves a route to an address that can be given again; fcm
# doctor and fcm daemon's start finish what a crash left; after a simulated
# reboot (everything in the namespace killed, the namespace made again) the
# daemon puts every VM's tap back on the bridge before the VMs start.
# The real commands under a real fcm daemon inside a network namespace
# (test/api_helper.bash: the Firecracker test double with a stand-in QEMU;
# no guest boots here).
load test_helper
load api_helper

setup_file() { api_setup_file crash; }
teardown_file() { api_teardown_file; }
setup() { api_setup --no-vms; }
teardown() { api_teardown; }

# Every route fcm-proxy would give Caddy dials an address leased to the
# route's own VM (net/leases/<ip> holds its id).
routes_safe() {
	local out rid dial ip id n=0 want
	out=$(ip netns exec "$NS" env -u FCM_PROXY "$FCM_SRC/bin/fcm-proxy" render) || { echo "render failed: $out" >&2; return 1; }
	while read -r rid dial; do
		id=${rid#fcm-vm-}
		ip=${dial%:*}
		[ -f "$FCM_ROOT/net/leases/$ip" ] || { echo "route $rid -> $dial: $ip is not leased" >&2; return 1; }
		[ "$(cat "$FCM_ROOT/net/leases/$ip")" = "$id" ] || { echo "route $rid -> $dial: $ip is leased to $(cat "$FCM_ROOT/net/leases/$ip")" >&2; return 1; }
		n=$((n + 1))
	done < <(jq -r '.. | objects | select(has("@id") and (."@id"|startswith("fcm-vm-"))) | [."@id", (.. | objects | select(has("dial")) | .dial)] | @tsv' <<< "$out")
	# and the routes found are those of the VMs that are whole (not a vacuous check)
	want=$(cat "$FCM_ROOT"/vms/*/config.json 2>/dev/null | jq -s 'map(select(.expose != null and .state != "creating" and .state != "destroying"))|length')
	[ "$n" = "$want" ] || { echo "$n routes, $want exposed VMs: $out" >&2; return 1; }
}

@test "destroy killed (kill -9) after N ms, for growing N, never leaves a route to a freed address; the daemon's restart leaves no half-made VM" {
	local n pid
	for n in 0 10 30 60 100 150 250 400 700 1000; do
		nsfcm create --name "k$n" --no-wait --no-dotfile > /dev/null
		ip netns exec "$NS" env -u FCM_HOST -u FCM_TOKEN "$FCM_SRC/bin/fcm" destroy "k$n" > /dev/null 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' "$n")" 2>/dev/null || sleep 1
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		routes_safe
		# a fresh VM may take any freed address: still no route to another's
		nsfcm create --name "n$n" --no-wait --no-dotfile > /dev/null
		routes_safe
		nsfcm destroy "n$n" > /dev/null
	done
	daemon_stop
	daemon_start
	run nsfcm ls --json
	assert_success
	refute_output --partial '"state":"creating"'
	refute_output --partial '"state":"destroying"'
	# A destroy killed before it began left its VM whole: its record, its
	# lease and its directory; of every other one nothing is left.
	left=$(jq -s 'length' <<< "$output")
	assert_equal "$(ls "$FCM_ROOT/net/leases" | wc -l)" "$left"
	assert_equal "$(ls "$FCM_ROOT/vms" | wc -l)" "$left"
	for ip in $(jq -r .ip <<< "$output"); do
		[ -f "$FCM_ROOT/net/leases/$ip" ]
	done
	routes_safe
	run nsfcm doctor --json
	assert_success
	assert_equal "$(jq -c .fixed <<< "$output")" '[]'
	# the daemon's log says what it repaired, and at least one destroy was cut short
	grep -q 'repaired VM .*: it was destroying; removed' "$BATS_FILE_TMPDIR/daemon.log"
}

@test "create killed (kill -9) after N ms, for growing N: fcm doctor leaves no half-made VM, and every VM left is whole" {
	local n pid
	taps() { ip -n "$NS" -o link show | grep -o ' tap_[a-z0-9]*' | tr -d ' ' | sort; }
	taps > "$BATS_TEST_TMPDIR/taps"	# the namespace's, from the tests before
	# (create links the VM's service early, down, and starts it last; its
	# files are made durable in batches: lib/core/atomic.h)
	for n in 0 2 4 6 8 10 13 16 20 25 30 40 60 100; do
		ip netns exec "$NS" env -u FCM_HOST -u FCM_TOKEN "$FCM_SRC/bin/fcm" create --name "c$n" --no-wait --no-dotfile > /dev/null 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' "$n")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	nsfcm create --name whole --no-wait --no-dotfile > /dev/null	# one not cut short
	run nsfcm doctor --json
	assert_success
	# at least one create was cut short half-way (not a vacuous check)
	[ "$(jq '.fixed | length' <<< "$output")" -ge 1 ]
	run nsfcm ls --json
	assert_success
	refute_output --partial '"state":"creating"'
	left=$(jq -s 'length' <<< "$output")
	# as many of each part as there are VMs: directories, leases, repos,
	# service links; a tap for each; every s6-supervise serves one of them
	assert_equal "$(ls "$FCM_ROOT/vms" | wc -l)" "$left"
	assert_equal "$(ls "$FCM_ROOT/net/leases" | wc -l)" "$left"
	assert_equal "$(ls -d "$FCM_ROOT"/git/*.git 2>/dev/null | wc -l)" "$left"
	assert_equal "$(ls -d "$FCM_ROOT"/scan/vm-* 2>/dev/null | wc -l)" "$left"
	assert_equal "$(taps | comm -13 "$BATS_TEST_TMPDIR/taps" - | tr '\n' ' ')" \
	    "$(jq -r '"tap_" + .id' <<< "$output" | sort | tr '\n' ' ')"
	for id in $(jq -r .id <<< "$output"); do
		[ -L "$FCM_ROOT/scan/vm-$id" ] && [ -f "$FCM_ROOT/vms/$id/disk.img" ] && [ -d "$FCM_ROOT/git/$(nsfcm ls --json "$id" | jq -r .name).git" ]
		# no down file: started, or (a create killed between its last two
		# steps) started at its supervisor's next start
		[ ! -e "$FCM_ROOT/vms/$id/service/down" ]
	done
	# (this root's: their working directory is the service's, under it;
	# sups /log: the loggers' supervisors)
	sups() {
		local p
		for p in $(ip netns pids "$NS"); do
			case "$(readlink "/proc/$p/cwd")" in "$FCM_ROOT"/*) ;; *) continue ;; esac
			tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null; echo
		done | grep -cE "^s6-supervise vm-[a-z0-9]+$1 \$" || true
	}
	for i in $(seq 50); do [ "$(sups)" -le "$left" ] && [ "$(sups /log)" -le "$left" ] && break; sleep 0.1; done
	assert_equal "$(sups)" "$left"
	assert_equal "$(sups /log)" "$left"	# and their loggers
}

@test "fcm doctor removes a directory without a record, a create whose process is gone, a destroy cut short; says what it did" {
	nsfcm create --name d-creating --no-wait --no-dotfile > /dev/null
	nsfcm create --name d-destroying --no-wait --no-dotfile > /dev/null
	nsfcm create --name d-fine --no-wait --no-dotfile > /dev/null
	c=$(nsfcm ls --json d-creating | jq -r .id)
	d=$(nsfcm ls --json d-destroying | jq -r .id)
	for id in $c $d; do
		state=$([ "$id" = "$c" ] && echo creating || echo destroying)
		jq -c ".state=\"$state\"" "$FCM_ROOT/vms/$id/config.json" > "$BATS_TEST_TMPDIR/r" && cp "$BATS_TEST_TMPDIR/r" "$FCM_ROOT/vms/$id/config.json"
	done
	mkdir "$FCM_ROOT/vms/zz00zz00"
	: > "$FCM_ROOT/vms/zz00zz00/disk.img"
	run ip netns exec "$NS" env -u FCM_HOST -u FCM_TOKEN script -qec "$FCM_SRC/bin/fcm doctor" /dev/null
	assert_success
	assert_output --partial 'Checked 4 VM directories.'
	assert_output --partial "Repaired $c (d-creating): it was creating; removed."
	assert_output --partial "Repaired $d (d-destroying): it was destroying; removed."
	assert_output --partial 'Repaired zz00zz00: it was no record; removed.'
	run nsfcm ls --json
	assert_equal "$(jq -sr 'map(.name)|join(",")' <<< "$output")" d-fine
	assert_equal "$(ls "$FCM_ROOT/vms")" "$(nsfcm ls --json d-fine | jq -r .id)"
	assert_equal "$(ls "$FCM_ROOT/net/leases" | wc -l)" 1
	run ip -n "$NS" link show "tap_$c"
	assert_failure
	run nsfcm doctor --json
	assert_output '{"ok":true,"checked":1,"swept":0,"fixed":[]}'
}

@test "a create still running is left alone by fcm doctor" {
	nsfcm create --name busy --no-wait --no-dotfile > /dev/null
	id=$(nsfcm ls --json busy | jq -r .id)
	jq -c '.state="creating"' "$FCM_ROOT/vms/$id/config.json" > "$BATS_TEST_TMPDIR/r" && cp "$BATS_TEST_TMPDIR/r" "$FCM_ROOT/vms/$id/config.json"
	# the lock fcm create holds while it runs (skalibs' fd_lock: fcntl)
	python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(30)' \
		"$FCM_ROOT/vms/$id/.busy" > "$BATS_TEST_TMPDIR/lock.out" 3>&- &
	local lp=$!
	for i in $(seq 50); do grep -q locked "$BATS_TEST_TMPDIR/lock.out" && break; sleep 0.1; done
	run nsfcm doctor --json
	kill "$lp"
	assert_success
	assert_output '{"ok":true,"checked":1,"swept":0,"fixed":[]}'
	[ -f "$FCM_ROOT/vms/$id/config.json" ]
}

@test "simulated reboot: every VM's tap is back on the bridge before the VMs start; running ones run, stopped ones stay stopped" {
	nsfcm create --name r-run --no-wait --no-dotfile > /dev/null
	nsfcm create --name r-stop --no-wait --no-dotfile > /dev/null
	nsfcm stop r-stop > /dev/null
	run_id=$(nsfcm ls --json r-run | jq -r .id)
	stop_id=$(nsfcm ls --json r-stop | jq -r .id)
	# the reboot: every process in the namespace killed, the namespace gone
	api_stop
	netns_delete "$NS"
	netns_create "$NS"
	for i in $(seq 50 99); do ip -n "$NS" addr add "172.16.0.$i/32" dev lo; done
	ip netns exec "$NS" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()' >/dev/null 2>&1 3>&- &
	run ip -n "$NS" link show fcm0
	assert_failure
	daemon_start
	# both taps on the bridge, the running VM's VMM up again, the stopped one not
	for id in $run_id $stop_id; do
		run ip -n "$NS" -o link show "tap_$id"
		assert_success
		assert_output --partial 'master fcm0'
	done
	for i in $(seq 100); do [ "$(nsfcm ls --json r-run | jq -r .state)" = running ] && break; sleep 0.2; done
	assert_equal "$(nsfcm ls --json r-run | jq -r .state)" running
	assert_equal "$(nsfcm ls --json r-stop | jq -r .state)" stopped
	run grep -c "tap_$run_id" "$FCM_ROOT/vms/$run_id/firecracker.json"
	assert_output 1
}
