# test/api_helper.bash — for test/api.bats and test/remote-client.bats: a
# real fcm daemon and an fcm-api inside a network namespace, real VMs, and
# the real commands behind the API.  `load api_helper` after `load
# test_helper`; the suite calls api_setup_file/api_teardown_file from its
# setup_file/teardown_file and api_setup/api_teardown from setup/teardown
# (test/api.bats, test/remote-client.bats, test/auth.bats).
#
# Each test has its own FCM_ROOT (test_helper), its own `fcm daemon` (s6, for
# create and start) and its own fcm-api on a free port; its VMs are made by
# the real `fcm create` (vm_new), so every record is one the commands made.
# Guests: the Firecracker test double with test/firecracker/fake-qemu as its
# QEMU — no test here needs a booted guest, and a real boot takes a minute
# or more of both CPUs — and a listener on port 22 of the namespace, with
# the VMs' addresses on its lo, standing in for the guest's sshd, which is
# how fcm-fc tells a guest is ready: `create` and `start` that wait finish
# in a second.
#
# The call log: the API finds the commands in FCM_EXEC_PATH; there each user
# command (and fcm-console) is a wrapper that appends "fcm-<name> ARGS
# REQUEST" to $FCM_ROOT/calls.log and execs the real program with the same
# arguments and stdin — not a stand-in: every answer is the real command's.
# So a test can tell what a request ran, and that a refused one ran nothing.
#
# NETWORK SAFETY: the daemon, the API, the commands it runs and every
# request (curl, api_tool.py, fcm in remote mode) run inside $NS, made in
# api_setup_file and deleted in api_teardown_file; it has no link out.

API_TOOL="$FCM_SRC/test/api_tool.py"
API_CMDS="create ls start stop destroy logs expose unexpose remote console"

# Requests go to the API in the namespace: curl and api_tool run there.
curl() { ip netns exec "$NS" curl "$@"; }
api_tool() { ip netns exec "$NS" python3 "$API_TOOL" "$@"; }
# fcm (and its commands) run there too: they make taps and nftables rules.
nsfcm() { ip netns exec "$NS" env -u FCM_HOST -u FCM_TOKEN "$FCM_SRC/bin/fcm" "$@"; }

api_setup_file() {
	require_image_file
	export NS=fcmt-${1:-api}-$$
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_TEST_QEMU=$FCM_SRC/test/firecracker/fake-qemu
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=10
	export FCM_BOOT_TIMEOUT=20
	export FCM_API_LISTEN=127.0.0.1:0	# the daemon's own API: out of the way
	netns_create "$NS"
	local i
	for i in $(seq 50 99); do ip -n "$NS" addr add "172.16.0.$i/32" dev lo; done
	make_shims
	ip netns exec "$NS" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()' >/dev/null 2>&1 3>&- &
}

api_teardown_file() {
	[ -n "${NS:-}" ] && netns_delete "$NS"
	true
}

# A fresh root with a daemon, cosmic-nova ($VM1) and stellar-comet (not with
# --no-vms), and the API.
api_setup() {
	fcm_install_image
	daemon_start
	if [ "${1:-}" != --no-vms ]; then
		VM1=$(vm_new cosmic-nova --no-wait)
		vm_new stellar-comet --no-wait >/dev/null
		vm_ready cosmic-nova
		vm_ready stellar-comet
	fi
	api_start
}

api_teardown() {
	api_stop
	daemon_stop
	true
}

# vm_new NAME [OWNER] [--no-wait]: a VM made by the real fcm create (ready,
# unless --no-wait); prints its id.
vm_new() {
	local name=$1 owner=
	shift
	[ $# -gt 0 ] && [ "$1" != --no-wait ] && { owner=$1; shift; }
	nsfcm create --name "$name" ${owner:+--owner "$owner"} --no-dotfile --json "$@" | jq -r .id
}

vm_ready() {
	local i
	for i in $(seq 200); do
		[ "$(nsfcm ls --json "$1" | jq -r .state)" = running ] && return 0
		sleep 0.1
	done
	echo "VM $1 did not get ready" >&2
	return 1
}

vm_id() { jq -r .id <<< "$(nsfcm ls --json "$1")"; }

# A record only, for the 100 VMs of the concurrency test (making 100 real
# ones takes minutes): what fcm ls needs, as the commands write it.
fake_vm() {
	local name=$1 owner=${2:-admin} id
	id=$(printf '%s' "$name" | sha256sum | tr -dc 'a-z' | head -c 8)
	mkdir -p "$FCM_ROOT/vms/$id"
	printf '{"id":"%s","name":"%s","state":"running","owner":"%s","cpus":1,"memory":1024,"disk":"2G","expose":null,"url":null,"created_at":%d}\n' \
		"$id" "$name" "$owner" "$(( $(date +%s) - 7200 ))" > "$FCM_ROOT/vms/$id/config.json"
	echo "$id"
}

# The exec path of the API: the real programs, the user commands wrapped.
make_shims() {
	export SHIMS=$BATS_FILE_TMPDIR/exec
	mkdir -p "$SHIMS"
	local p c
	for p in "$FCM_SRC"/bin/fcm-*; do
		[ -x "$p" ] && [[ $p != *.c ]] && ln -sf "$p" "$SHIMS/"
	done
	for c in $API_CMDS; do
		rm -f "$SHIMS/fcm-$c"
		cat > "$SHIMS/fcm-$c" <<SH
#!/bin/bash
# Log the call and its request, then run the real fcm-$c on them.
if [ "\$1" = --request ]; then
	IFS= read -r req
	printf 'fcm-$c %s %s\n' "\$*" "\$req" >> "\$FCM_ROOT/calls.log"
	exec "$FCM_SRC/bin/fcm-$c" "\$@" <<< "\$req"
fi
printf 'fcm-$c %s\n' "\$*" >> "\$FCM_ROOT/calls.log"
exec "$FCM_SRC/bin/fcm-$c" "\$@"
SH
		chmod +x "$SHIMS/fcm-$c"
	done
}

# Start fcm-api in the namespace on a free port (or $API_LISTEN): sets API,
# API_PORT, API_PID, API_LOG, TOKEN, AUTH.
api_start() {
	API_LOG=${API_LOG:-$BATS_TEST_TMPDIR/api.log}
	local i before
	before=$(grep -c 'listening on' "$API_LOG" 2>/dev/null) || true
	ip netns exec "$NS" env FCM_EXEC_PATH="$SHIMS" "${FCM_API_BIN:-$FCM_SRC/bin/fcm-api}" \
		--listen "${API_LISTEN:-127.0.0.1:0}" 2>>"$API_LOG" 3>&- &
	API_PID=$!
	for i in $(seq 200); do
		[ "$(grep -c 'listening on' "$API_LOG" 2>/dev/null)" -gt "${before:-0}" ] && break
		sleep 0.05
	done
	API_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$API_LOG" | tail -1)
	[ -n "$API_PORT" ] || { cat "$API_LOG" >&2; return 1; }
	API=http://127.0.0.1:$API_PORT
	TOKEN=$(cat "$FCM_ROOT/.token")
	AUTH="Authorization: Bearer $TOKEN"
}

api_stop() {
	if [ -n "${API_PID:-}" ]; then
		kill "$API_PID" 2>/dev/null
		wait "$API_PID" 2>/dev/null
		API_PID=
	fi
	if [ -f "$FCM_ROOT/sessions" ]; then
		while read -r s; do "$FCM_SRC/bin/fcm-tty" kill "$s" --timeout 2 >/dev/null 2>&1; done < "$FCM_ROOT/sessions"
	fi
	true
}

# console_session VM: its main console session, held by a real fcm-tty where
# fcm-console keeps it, running /bin/sh on the host instead of ssh into the
# guest (not booted here).  The real `fcm-console --ensure` finds it live
# and answers its socket; the API relays the WebSocket to it.
console_session() {
	local id sock i
	id=$(vm_id "$1")
	sock=$FCM_ROOT/vms/$id/sessions/main.sock
	mkdir -p "$(dirname "$sock")"
	chmod 700 "$(dirname "$sock")"
	setsid "$FCM_SRC/bin/fcm-tty" serve "$sock" -- /bin/sh </dev/null >/dev/null 2>&1 3>&- &
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	echo "$sock" >> "$FCM_ROOT/sessions"
}

# A user token for NAME (stored hashed, as lib/auth/token.h says): prints it.
user_token() {
	local tok hash
	tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	hash=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
	mkdir -p "$FCM_ROOT/tokens"
	printf '{"user":"%s"%s}\n' "$1" "${2:+,$2}" > "$FCM_ROOT/tokens/$hash"
	echo "$tok"
}

# curl with the admin token: status and body on two lines ("200" then JSON).
api() {
	local method=$1 path=$2
	shift 2
	curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -X "$method" -H "$AUTH" "$@" "$API$path"
	echo
	cat "$BATS_TEST_TMPDIR/body"
}

# The requests the API ran for a command: calls NAME (the JSON of each line).
calls() {
	[ -e "$FCM_ROOT/calls.log" ] || return 0
	sed -n "s/^fcm-$1 --request [^{]*//p" "$FCM_ROOT/calls.log"
}
