#!/usr/bin/env bats
# fcm console: driven in real terminals under tmux, against a fake VM record.
# The VM's serial console is stood in for by `fcm-tty serve console.sock --
# bash`, and the guest's sshd by a fake `ssh` on PATH that records its
# arguments and runs a shell.  The same paths against a real guest are at the
# end (skipped until VMs boot here).
load test_helper

ID=ab12cd34
NAME=cosmic-nova

setup() {
	TM="fcmt-con-$$-$BATS_TEST_NUMBER"
	export TERM=xterm-256color
	VMDIR=$FCM_ROOT/vms/$ID
	mkdir -p "$VMDIR" "$FCM_ROOT/ssh"
	printf '{"id":"%s","name":"%s","ip":"172.16.0.50","state":"running","created_at":1}\n' "$ID" "$NAME" > "$VMDIR/config.json"
	touch "$FCM_ROOT/ssh/id_ed25519"
	FAKEBIN=$BATS_TEST_TMPDIR/fakebin
	mkdir -p "$FAKEBIN"
	cat > "$FAKEBIN/ssh" <<SH
#!/bin/bash
printf '%s\n' "\$@" > "$BATS_TEST_TMPDIR/ssh-args.\$\$"
export PS1='guest\$ '
exec bash --norc --noprofile -i
SH
	chmod +x "$FAKEBIN/ssh"
	# The VM's host key as recorded at create, and the guest's answer to
	# ssh-keyscan (a test sets GUEST_KEY to another key).
	echo "fcm-$ID ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRecorded root@$NAME" > "$VMDIR/known_hosts"
	cat > "$FAKEBIN/ssh-keyscan" <<'SH'
#!/bin/bash
echo "# ${@: -1}:22 SSH-2.0-OpenSSH_9.2"
echo "${@: -1} ssh-ed25519 ${GUEST_KEY:-AAAAC3NzaC1lZDI1NTE5AAAAIRecorded}"
SH
	chmod +x "$FAKEBIN/ssh-keyscan"
	export PATH="$FAKEBIN:$PATH"
	SERIAL_PID=
}

teardown() {
	tmux -L "$TM" kill-server 2>/dev/null || true
	fcm-console --cleanup "$ID" 2>/dev/null || true
	fcm-tty kill "$VMDIR/console.sock" --timeout 2 2>/dev/null || true
	[ -z "$SERIAL_PID" ] || kill -9 "$SERIAL_PID" 2>/dev/null || true
}

tm() { tmux -L "$TM" "$@"; }
type_line() { tm send-keys -t "$1" -l "$2"; tm send-keys -t "$1" Enter; }
screen() { tm capture-pane -p -t "$1"; }
wait_screen() {
	local t=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		screen "$t" | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	echo "timed out waiting for /$re/ on $t; the screen is:" >&2
	screen "$t" >&2
	return 1
}
terminal() {
	tm new-session -d -s "$1" -x 80 -y 24 -c "${2:-$BATS_TEST_TMPDIR}" "env PS1='outer\$ ' bash --norc --noprofile -i"
	wait_screen "$1" 'outer\$'
}

# The VM is "running": its serial console is served, as fcm-fc does.
vm_running() {
	fcm-tty serve "$VMDIR/console.sock" -- env PS1='serial# ' bash --norc --noprofile -i >/dev/null 2>&1 3>&- &
	SERIAL_PID=$!
	for _ in $(seq 100); do
		fcm-tty status "$VMDIR/console.sock" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

@test "--serial attaches to the VM's serial console; detach tells how to come back" {
	vm_running
	terminal c1
	type_line c1 "fcm console $NAME --serial"
	wait_screen c1 '^serial#'
	type_line c1 'echo on-serial; S=1'
	wait_screen c1 '^on-serial$'
	tm send-keys -t c1 C-]
	wait_screen c1 "\[detached — reattach with: fcm console $NAME --serial\]"
	# the terminal is cooked again: "icanon", not "-icanon"
	type_line c1 "clear; stty -a | tr ' ' '\n' | grep -xE -- '-?icanon'"
	wait_screen c1 '^icanon$'
	type_line c1 "fcm console $ID --serial"
	wait_screen c1 '^on-serial$'
	type_line c1 'echo "S=$S"'
	wait_screen c1 '^S=1$'
}

@test "the default console is a shell over ssh held by a session; reattach keeps its state" {
	vm_running
	terminal c1
	type_line c1 "fcm console $NAME"
	wait_screen c1 '^guest\$'
	# ssh got exactly the agreed arguments
	run cat "$BATS_TEST_TMPDIR"/ssh-args.*
	assert_output "-i
$FCM_ROOT/ssh/id_ed25519
-o
ServerAliveInterval=2
-o
LogLevel=ERROR
-tt
-o
StrictHostKeyChecking=yes
-o
UserKnownHostsFile=$VMDIR/known_hosts
-o
GlobalKnownHostsFile=/dev/null
-o
HostKeyAlias=fcm-$ID
-o
CheckHostIP=no
root@172.16.0.50"
	[ -S "$VMDIR/sessions/main.sock" ]
	[ "$(stat -c %a "$VMDIR/sessions")" = 700 ]
	type_line c1 'echo marker-1; X=42; stty size'
	wait_screen c1 '^24 80$'
	tm send-keys -t c1 C-]
	wait_screen c1 "\[detached — reattach with: fcm console $NAME\]"
	type_line c1 "clear; fcm console $NAME"
	wait_screen c1 '^marker-1$'
	type_line c1 'echo "X=$X"'
	wait_screen c1 '^X=42$'
	tm resize-window -t c1 -x 100 -y 30
	sleep 0.3
	type_line c1 'clear; stty size'
	wait_screen c1 '^30 100$'
	# one ssh, one session
	[ "$(ls "$BATS_TEST_TMPDIR"/ssh-args.* | wc -l)" -eq 1 ]
}

@test "SIGTERM to fcm console: the terminal is restored, one line says so, exit 143; the session goes on" {
	vm_running
	terminal c1
	type_line c1 "$(sigterm_cmd "fcm console $NAME")"
	wait_screen c1 '^guest\$'
	assert_sigterm_detaches c1 "fcm-tty attach" "fcm console $NAME"	# it runs fcm-tty attach
	run fcm-tty status "$VMDIR/sessions/main.sock"
	assert_success
}

@test "named sessions, --list as a table and as JSON lines" {
	vm_running
	run fcm console "$NAME" --list
	assert_success
	refute_output
	run fcm-console "$NAME" --ensure --json
	assert_success
	assert_output "{\"ok\":true,\"vm\":\"$NAME\",\"session\":\"main\",\"socket\":\"$VMDIR/sessions/main.sock\"}"
	run fcm-console "$NAME" --ensure --session dev-2
	assert_success
	run fcm console "$NAME" --list
	assert_success
	assert_line --index 0 --regexp "^\{\"vm\":\"$NAME\",\"session\":\"dev-2\",\"state\":\"live\",\"pid\":[0-9]+,\"started_at\":[0-9]+,\"socket\":\"$VMDIR/sessions/dev-2.sock\"\}$"
	assert_line --index 1 --regexp "^\{\"vm\":\"$NAME\",\"session\":\"main\",\"state\":\"live\""
	# on a terminal, a table
	terminal c1
	type_line c1 "fcm console $NAME --list"
	wait_screen c1 '^SESSION +STATE +PID +STARTED'
	wait_screen c1 '^dev-2 +live +[0-9]+ +[0-9-]+ [0-9:]+$'
	# --kill ends one
	run fcm console "$NAME" --kill --session dev-2
	assert_success
	[ ! -e "$VMDIR/sessions/dev-2.sock" ]
	run fcm console "$NAME" --list --json
	assert_output --partial '"session":"main"'
	refute_output --partial dev-2
}

@test "the VM comes from .fcm in the current directory" {
	vm_running
	mkdir -p "$BATS_TEST_TMPDIR/app/sub"
	echo "{\"name\":\"$NAME\"}" > "$BATS_TEST_TMPDIR/app/.fcm"
	cd "$BATS_TEST_TMPDIR/app/sub"
	run fcm-console --ensure --json
	assert_success
	assert_output --partial "\"vm\":\"$NAME\""
	cd "$BATS_TEST_TMPDIR"
	run fcm-console --ensure
	assert_failure 100
	assert_output --partial "no VM given and no .fcm file here"
}

@test "bad session names: a clear error, nothing made" {
	vm_running
	run fcm console "$NAME" --session a/b
	assert_failure 100
	assert_output "fcm-console: fatal: session name 'a/b' may not contain '/': use 1 to 32 of a-z, 0-9 and '-'"
	run fcm console "$NAME" --session "$(printf 'x%.0s' $(seq 33))"
	assert_failure 100
	assert_output --partial "is too long"
	run fcm console "$NAME" --session 'Bad_Name'
	assert_failure 100
	assert_output --partial "session name 'Bad_Name' is not valid"
	run fcm console "$NAME" --session ''
	assert_failure 100
	run fcm console "$NAME" --session ../../x
	assert_failure 100
	[ ! -e "$VMDIR/sessions" ]
}

@test "unknown VM, stopped VM: clear errors" {
	run fcm console nope
	assert_failure 100
	assert_output "fcm-console: fatal: no VM named 'nope' (see 'fcm ls')"
	run fcm console "$NAME"
	assert_failure 100
	assert_output "fcm-console $NAME: fatal: VM '$NAME' is not running: start it with 'fcm start $NAME'"
	run fcm console "$NAME" --serial
	assert_failure 100
	assert_output --partial "is not running"
	# a console socket left by a dead VMM is a stopped VM too
	vm_running
	kill -9 "$SERIAL_PID"
	wait "$SERIAL_PID" || true
	SERIAL_PID=
	[ -S "$VMDIR/console.sock" ]
	run fcm console "$NAME"
	assert_failure 100
	assert_output --partial "is not running: start it with 'fcm start $NAME'"
	[ ! -e "$VMDIR/sessions" ]
}

@test "a dead session is replaced, saying so; a session that dies while attached says so" {
	vm_running
	run fcm-console "$NAME" --ensure
	assert_success
	pid=$(fcm-tty status "$VMDIR/sessions/main.sock" | jq .pid)
	kill -9 "$pid"
	sleep 0.2
	[ -S "$VMDIR/sessions/main.sock" ]
	run fcm-tty attach "$VMDIR/sessions/main.sock"
	assert_failure 100
	assert_output --partial "is dead"
	run fcm-console "$NAME" --ensure --json
	assert_success
	assert_output --partial "console session 'main' of VM '$NAME' had died (what ran in it is lost): starting a new one"
	run fcm-tty status "$VMDIR/sessions/main.sock"
	assert_success
	terminal c1
	type_line c1 "fcm console $NAME"
	wait_screen c1 '^guest\$'
	type_line c1 'exit 4'
	wait_screen c1 '\[session ended: exit status 4\]'
}

@test "--cleanup ends every session of a VM and removes its sockets (by id or name, twice)" {
	vm_running
	fcm-console "$NAME" --ensure >/dev/null
	fcm-console "$NAME" --ensure --session two >/dev/null
	terminal c1
	type_line c1 "fcm console $NAME --session two"
	wait_screen c1 '^guest\$'
	p1=$(fcm-tty status "$VMDIR/sessions/main.sock" | jq .pid)
	p2=$(fcm-tty status "$VMDIR/sessions/two.sock" | jq .pid)
	run fcm-console --cleanup "$ID"
	assert_success
	[ ! -e "$VMDIR/sessions" ]
	run ! kill -0 "$p1" 2>/dev/null
	run ! kill -0 "$p2" 2>/dev/null
	wait_screen c1 '\[session ended'
	run fcm-console --cleanup "$ID"
	assert_success
	run fcm-console --cleanup "$NAME"
	assert_success
	# the serial console is not a session: it stays
	run fcm-tty status "$VMDIR/console.sock"
	assert_success
	# a VM whose record is gone can still be cleaned by id
	rm "$VMDIR/config.json"
	run fcm-console --cleanup "$ID"
	assert_success
	run fcm-console --cleanup nope
	assert_failure 100
}

@test "a guest showing another host key than the one recorded is refused; so is one with none recorded" {
	vm_running
	GUEST_KEY=AAAAC3NzaC1lZDI1NTE5AAAAIAnother run fcm-console "$NAME" </dev/null
	assert_failure
	assert_output --partial "VM '$NAME' answered with an ssh host key other than the one recorded when it was created ($VMDIR/known_hosts): refusing to connect"
	[ ! -e "$VMDIR/sessions/main.sock" ]
	ls "$BATS_TEST_TMPDIR"/ssh-args.* 2>/dev/null && fail "ssh ran"
	rm "$VMDIR/known_hosts"
	run fcm-console "$NAME" </dev/null
	assert_failure
	assert_output --partial "no ssh host key is recorded for VM '$NAME'"
	[ ! -e "$VMDIR/sessions/main.sock" ]
}

@test "usage errors" {
	run fcm console --bogus
	assert_failure 100
	assert_output --partial "unknown option"
	run fcm console a b
	assert_failure 100
	run fcm console "$NAME" --serial --session x
	assert_failure 100
	run fcm console "$NAME" --list --cleanup
	assert_failure 100
	run fcm console --help
	assert_success
	assert_output --partial "usage: fcm console"
}

# --- against a real guest -------------------------------------------------------
# One VM, booted by the first test that needs it (in a network namespace
# this file makes, with its own daemon), taken down at the end of the file.

teardown_file() {
	[ -f "$BATS_FILE_TMPDIR/guest.ns" ] || return 0
	NS=$(cat "$BATS_FILE_TMPDIR/guest.ns")
	export FCM_ROOT=$BATS_FILE_TMPDIR/groot
	daemon_stop
	netns_delete "$NS"
}

guest_up() {
	[ -x "$FCM_SRC/bin/fcm-create" ] || skip "fcm-create does not exist yet: no real guest to test against"
	require_image
	export PATH=${PATH#"$FAKEBIN:"}	# the real ssh
	export FCM_ROOT=$BATS_FILE_TMPDIR/groot FCM_PROXY=off
	export FCM_FIRECRACKER=$BATS_FILE_TMPDIR/fc
	export FCM_TEST_FC_VERSION=1.7.0	# devices on the command line only
	if [ -f "$BATS_FILE_TMPDIR/guest.failed" ]; then
		fail "the guest did not boot (see the first real-guest test)"
	fi
	if [ ! -f "$BATS_FILE_TMPDIR/guest.ns" ]; then
		NS=fcmt-con-$$
		ln -sf "$FCM_SRC/test/firecracker/firecracker" "$FCM_FIRECRACKER"
		mkdir -p "$FCM_ROOT"
		netns_create "$NS"
		echo "$NS" > "$BATS_FILE_TMPDIR/guest.ns"
		fcm_install_image
		daemon_start
		(cd "$BATS_FILE_TMPDIR" && in_ns "$NS" fcm create --name con-one --json) > "$BATS_FILE_TMPDIR/create.out" 2>&1 || {
			touch "$BATS_FILE_TMPDIR/guest.failed"
			fail "fcm create failed: $(cat "$BATS_FILE_TMPDIR/create.out")"
		}
	fi
	export NS=$(cat "$BATS_FILE_TMPDIR/guest.ns")
}

# A terminal inside the namespace (where the guest is reachable).
ns_terminal() {
	tm new-session -d -s "$1" -x 80 -y 24 -c "$BATS_TEST_TMPDIR" \
		"ip netns exec $NS env PS1='outer\$ ' bash --norc --noprofile -i"
	wait_screen "$1" 'outer\$'
}

@test "real guest: attach, echo marker-1, detach, reattach: screen and state kept; resize; kill -9" {
	guest_up
	ns_terminal g1
	type_line g1 "fcm console con-one"
	wait_screen g1 'con-one.*#' 60
	type_line g1 'echo marker-1; X=42; stty size'
	wait_screen g1 '^marker-1'
	wait_screen g1 '^24 80'
	tm send-keys -t g1 C-]
	wait_screen g1 '\[detached — reattach with: fcm console con-one\]'
	type_line g1 "clear; fcm console con-one"
	wait_screen g1 '^marker-1'
	type_line g1 'echo "X=$X"'
	wait_screen g1 '^X=42'
	tm resize-window -t g1 -x 100 -y 30
	sleep 0.5
	type_line g1 'clear; stty size'
	wait_screen g1 '^30 100'
	# kill -9 of the client: the session lives on
	pid=$(pgrep -f "fcm-tty attach $FCM_ROOT/vms/.*/sessions/main.sock" | head -1)
	[ -n "$pid" ]
	kill -9 "$pid"
	ns_terminal g2
	type_line g2 "fcm console con-one"
	wait_screen g2 '^30 100'
	type_line g2 'echo "still X=$X"'
	wait_screen g2 '^still X=42'
	tm send-keys -t g2 C-]
}

@test "real guest: --serial gives a shell while the guest's eth0 is down" {
	guest_up
	ns_terminal g1
	type_line g1 "fcm console con-one --serial"
	sleep 1
	tm send-keys -t g1 Enter
	wait_screen g1 '#' 30
	type_line g1 'ip link set eth0 down; echo "eth0 is $(cat /sys/class/net/eth0/operstate)"'
	wait_screen g1 '^eth0 is down' 30
	type_line g1 'echo serial-still-answers'
	wait_screen g1 '^serial-still-answers' 30
	type_line g1 'ip link set eth0 up; ip route replace default via 172.16.0.1 dev eth0; echo "eth0 is $(cat /sys/class/net/eth0/operstate)"'
	wait_screen g1 '^eth0 is (up|unknown)' 30
	tm send-keys -t g1 C-]
	wait_screen g1 '\[detached — reattach with: fcm console con-one --serial\]'
}

@test "real guest: stopping the VM removes its console sessions" {
	guest_up
	run in_ns "$NS" fcm-console con-one --ensure --session extra --json
	assert_success
	sock=$(echo "$output" | jq -r .socket)
	pid=$(fcm-tty status "$sock" | jq .pid)
	run in_ns "$NS" fcm stop con-one
	assert_success
	[ ! -e "$sock" ]
	run ! kill -0 "$pid" 2>/dev/null
	run in_ns "$NS" fcm console con-one
	assert_failure 100
	assert_output --partial "VM 'con-one' is not running: start it with 'fcm start con-one'"
}
