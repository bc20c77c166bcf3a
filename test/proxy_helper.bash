# test/proxy_helper.bash — Caddy in a test namespace, fake VM records and
# stand-in guests, for test/proxy.bats and test/expose.bats.

CADDY_ADDR=10.240.0.1
DOMAIN=10-240-0-1.sslip.io

setup() {
	command -v caddy >/dev/null || skip "caddy is not installed (make deps)"
	NS=fcmt-px-$$-$BATS_TEST_NUMBER
	netns_create "$NS" || skip "cannot create a network namespace (needs root)"
	ip -n "$NS" link add px0 type veth peer name px1
	ip -n "$NS" addr add "$CADDY_ADDR/24" dev px0
	for a in 50 51 52; do ip -n "$NS" addr add "10.240.0.$a/24" dev px1; done
	ip -n "$NS" link set px0 up
	ip -n "$NS" link set px1 up
	export FCM_TLS=internal FCM_PUBLIC_IP=$CADDY_ADDR
	# Caddy's admin API: the default, a unix socket in its own directory
	unset FCM_CADDY_ADMIN FCM_DOMAIN FCM_ACME_EMAIL FCM_PUBLISH_API FCM_CADDY_LISTEN
	ADMIN_SOCK=$FCM_ROOT/caddy/admin.sock
	mkdir -p "$FCM_ROOT"
	fcm_root_searchable
	CADDY_LOG=$BATS_TEST_TMPDIR/caddy.log
}

teardown() {
	[ -n "${NS:-}" ] && netns_delete "$NS"
	true
}

vm_record() {
	local id=$1 name=$2 ip=$3 port=${4:-8000} state=${5:-running} expose url
	if [ "$port" = - ]; then
		expose=null url=null
	else
		expose="{\"port\":$port,\"domain\":\"$name.$DOMAIN\"}" url="\"https://$name.$DOMAIN\""
	fi
	mkdir -p "$FCM_ROOT/vms/$id"
	printf '{"id":"%s","name":"%s","ip":"%s","state":"%s","expose":%s,"url":%s,"created_at":%s}\n' \
	    "$id" "$name" "$ip" "$state" "$expose" "$url" "$(date +%s%N)" > "$FCM_ROOT/vms/$id/config.json"
}

# serve IP TEXT [PORT]: a stand-in guest answering TEXT on IP:PORT (8000).
serve() {
	local port=${3:-8000} dir=$BATS_TEST_TMPDIR/www-$1-${3:-8000}
	mkdir -p "$dir" && echo "$2" > "$dir/index.html"
	in_ns "$NS" python3 -m http.server "$port" --bind "$1" --directory "$dir" >/dev/null 2>&1 3>&- &
	for _ in $(seq 100); do
		in_ns "$NS" curl -sf -o /dev/null "http://$1:$port/" && return 0
		sleep 0.1
	done
	echo "stand-in guest on $1 did not start" >&2
	return 1
}

wait_admin() {
	for _ in $(seq 100); do
		in_ns "$NS" curl -sf -o /dev/null -H 'Host;' --unix-socket "$ADMIN_SOCK" http://localhost/config/ && return 0
		sleep 0.1
	done
	echo "Caddy did not start:" >&2
	cat "$CADDY_LOG" >&2
	return 1
}

# Caddy as the daemon runs it: the s6 service's run script.
start_caddy() {
	in_ns "$NS" "$FCM_SRC/s6/caddy/run" >>"$CADDY_LOG" 2>&1 3>&- &
	wait_admin
}

# caddy_pids: the Caddy processes in the test's namespace.
caddy_pids() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = caddy ] && echo "$p"
	done
	true
}

stop_caddy() {
	local pids
	pids=$(caddy_pids)
	[ -n "$pids" ] && kill $pids
	for _ in $(seq 100); do
		[ -z "$(caddy_pids)" ] && return 0
		sleep 0.1
	done
	echo "Caddy did not stop" >&2
	return 1
}

proxy() { in_ns "$NS" fcm-proxy "$@"; }

ROOT_CA() { echo "$FCM_ROOT/caddy/caddy/pki/authorities/local/root.crt"; }

# fetch NAME: GET https://NAME.DOMAIN/ through Caddy, trusting only Caddy's
# root CA; retried a while, since Caddy issues certificates in the background.
fetch() { fetch_host "$1.$DOMAIN"; }

# fetch_host HOST: the same for https://HOST/ (a custom domain).
fetch_host() {
	local host=$1 i
	for i in $(seq 50); do
		if [ -s "$(ROOT_CA)" ] && in_ns "$NS" curl -sS --max-time 5 --resolve "$host:443:$CADDY_ADDR" \
		    --cacert "$(ROOT_CA)" -w '%{http_code}\n' "https://$host/" >"$BATS_TEST_TMPDIR/fetch" 2>"$BATS_TEST_TMPDIR/fetch.err"; then
			cat "$BATS_TEST_TMPDIR/fetch"
			return 0
		fi
		sleep 0.2
	done
	cat "$BATS_TEST_TMPDIR/fetch.err" >&2
	return 1
}

# fetch_once NAME: one attempt, no retries.
fetch_once() {
	in_ns "$NS" curl -sS --max-time 5 --resolve "$1.$DOMAIN:443:$CADDY_ADDR" --cacert "$(ROOT_CA)" "https://$1.$DOMAIN/"
}

loads() { grep -c '"uri":"/load"' "$CADDY_LOG" || true; }
