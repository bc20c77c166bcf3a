# test/api_helper.bash — for test/api*.bats: fake VM records, stand-ins for
# the porcelain (fcm-create, fcm-start, ...) and an fcm-api on a free
# loopback port.  `load api_helper` after `load test_helper`.
#
# The stand-ins answer as the real commands do (same flags, same JSON, same
# exit statuses) and log every call to $FCM_ROOT/calls.log, so a test can
# tell that a refused request ran nothing.  fcm-ls and fcm-tty are the real
# ones.  NETWORK SAFETY: everything listens on 127.0.0.1 only.

API_TOOL="$FCM_SRC/test/api_tool.py"

# A fake VM record: fake_vm NAME [OWNER] [STATE]
fake_vm() {
	local name=$1 owner=${2:-admin} id
	id=$(printf '%s' "$name" | sha256sum | tr -dc 'a-z' | head -c 8)
	mkdir -p "$FCM_ROOT/vms/$id"
	printf '{"id":"%s","name":"%s","ip":"172.16.0.%d","state":"running","expose":{"port":8000,"domain":"%s.127-0-0-1.sslip.io"},"url":"https://%s.127-0-0-1.sslip.io","cpus":1,"memory":1024,"disk":"2G","owner":"%s","created_at":%d}\n' \
		"$id" "$name" $((50 + RANDOM % 200)) "$name" "$name" "$owner" "$(( $(date +%s) - 7200 ))" \
		> "$FCM_ROOT/vms/$id/config.json"
	echo "$id"
}

# The stand-ins, in $STUBS (FCM_EXEC_PATH).
make_stubs() {
	STUBS=$BATS_TEST_TMPDIR/exec
	mkdir -p "$STUBS"
	for p in ls tty name api; do
		ln -sf "$FCM_SRC/bin/fcm-$p" "$STUBS/fcm-$p"
	done
	# Common part: log the call, find the VM (last argument) by fcm-ls.
	cat > "$STUBS/stub-common" <<'SH'
echo "$(basename "$0") $*" >> "$FCM_ROOT/calls.log"
vm_or_die() {
	rec=$("$FCM_EXEC_PATH/fcm-ls" --json -- "$1" 2>/dev/null) || {
		[ -n "$json" ] && printf '{"ok":false,"error":"no VM named '\''%s'\'' (see '\''fcm ls'\'')"}\n' "$1"
		printf '%s: fatal: no VM named '\''%s'\'' (see '\''fcm ls'\'')\n' "$(basename "$0")" "$1" >&2
		exit 100
	}
	id=$(printf '%s' "$rec" | jq -r .id)
}
SH
	cat > "$STUBS/fcm-create" <<'SH'
#!/bin/bash
. "$FCM_EXEC_PATH/stub-common"
name= owner=admin cpus=1 memory=1024 disk=2G expose=8000 json=
while [ $# -gt 0 ]; do
	case $1 in
	--name) name=$2; shift ;;
	--owner) owner=$2; shift ;;
	--cpus) cpus=$2; shift ;;
	--memory) memory=$2; shift ;;
	--disk) disk=$2; shift ;;
	--expose) expose=$2; shift ;;
	--no-expose) expose= ;;
	--json) json=1 ;;
	esac
	shift
done
[ -n "$name" ] || name=quiet-river-$RANDOM
if [ "$name" = fail-hard ]; then
	echo '{"ok":false,"error":"unable to create tap tap_x: Operation not permitted"}'
	echo 'fcm-create: fatal: unable to create tap tap_x: Operation not permitted' >&2
	exit 111
fi
if "$FCM_EXEC_PATH/fcm-ls" --json -- "$name" >/dev/null 2>&1; then
	echo "{\"ok\":false,\"error\":\"name '$name' is already used by a VM: choose another, or leave it out for a fresh one\"}"
	exit 100
fi
id=$(head -c 64 /dev/urandom | sha256sum | tr -dc 'a-z' | head -c 8)
mkdir -p "$FCM_ROOT/vms/$id"
jq -nc --arg id "$id" --arg name "$name" --arg owner "$owner" --argjson cpus "$cpus" \
	--argjson memory "$memory" --arg disk "$disk" --arg expose "$expose" \
	'{id:$id,name:$name,ip:"172.16.0.60",state:"running",
	  expose:(if $expose == "" then null else {port:($expose|tonumber),domain:($name+".127-0-0-1.sslip.io")} end),
	  url:(if $expose == "" then null else "https://"+$name+".127-0-0-1.sslip.io" end),
	  git:("root@host:"+$name+".git"),cpus:$cpus,memory:$memory,disk:$disk,owner:$owner,created_at:now|floor}' \
	> "$FCM_ROOT/vms/$id/config.json"
jq -c '. + {ok:true}' "$FCM_ROOT/vms/$id/config.json"
SH
	for verb in start stop destroy; do
		cat > "$STUBS/fcm-$verb" <<SH
#!/bin/bash
. "\$FCM_EXEC_PATH/stub-common"
json=
for a in "\$@"; do [ "\$a" = --json ] && json=1; done
vm_or_die "\${@: -1}"
state=\$(case $verb in start) echo running ;; stop) echo stopped ;; destroy) echo destroyed ;; esac)
[ $verb = destroy ] && rm -rf "\$FCM_ROOT/vms/\$id"
printf '%s' "\$rec" | jq -c --arg s "\$state" '{ok:true,id,name,state:\$s}'
SH
	done
	cat > "$STUBS/fcm-logs" <<'SH'
#!/bin/bash
. "$FCM_EXEC_PATH/stub-common"
n=10 follow= json=
while [ $# -gt 1 ]; do
	case $1 in -n) n=$2; shift ;; -f) follow=1 ;; esac
	shift
done
vm_or_die "$1"
for i in $(seq 1 $((n < 5 ? n : 5))); do echo "log line $i of $1"; done
if [ -n "$follow" ]; then
	for i in $(seq 1 600); do sleep 0.1; echo "tick $i"; done
fi
SH
	# The console: an fcm-tty session running a shell, as fcm-console
	# starts one (one per VM, kept across attaches).
	cat > "$STUBS/fcm-console" <<'SH'
#!/bin/bash
. "$FCM_EXEC_PATH/stub-common"
json=1
vm_or_die "${@: -1}"
sock=$FCM_ROOT/vms/$id/console.sock
if ! "$FCM_EXEC_PATH/fcm-tty" status "$sock" >/dev/null 2>&1; then
	setsid "$FCM_EXEC_PATH/fcm-tty" serve "$sock" -- /bin/sh </dev/null >/dev/null 2>&1 3>&- &
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	echo "$sock" >> "$FCM_ROOT/sessions"
fi
printf '{"ok":true,"socket":"%s"}\n' "$sock"
SH
	chmod +x "$STUBS"/fcm-*
	export FCM_EXEC_PATH=$STUBS
}

# Start fcm-api on a free loopback port: sets API, API_PID, API_LOG, TOKEN.
api_start() {
	API_LOG=${API_LOG:-$BATS_TEST_TMPDIR/api.log}
	local i before
	before=$(grep -c 'listening on' "$API_LOG" 2>/dev/null) || true
	"${FCM_API_BIN:-$FCM_SRC/bin/fcm-api}" --listen 127.0.0.1:0 2>>"$API_LOG" 3>&- &
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
