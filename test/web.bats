#!/usr/bin/env bats
# The web dashboard (doc/web.md): fcm-api's pages and sessions with curl,
# then Debian's chromium, headless, driven by puppeteer-core
# (test/browser/drive.mjs), against a real daemon with Caddy (its internal
# CA) publishing the dashboard at fcm.172-16-0-1.sslip.io, and one real
# guest booted by the Firecracker test double for the whole file.
#
# NETWORK SAFETY: the daemon, Caddy, the guest and curl run inside $NS; the
# browser (node and chromium) inside $BNS, whose only link is a veth pair to
# $NS (10.255.0.2 -> 10.255.0.1); both are made in setup_file and deleted in
# teardown_file, and neither has a link out.  The browser resolves the
# dashboard's name by --host-resolver-rules to 10.255.0.1: no DNS, no
# network beyond.  (The browser has a namespace of its own because chromium
# aborts requests in flight when its namespace's links change, as they do
# when a VM's tap comes and goes.)
# Screenshots of every page go to $SHOTS (test/tmp/web/), printed.
load test_helper

GW=172.16.0.1
HOST=fcm.172-16-0-1.sslip.io

setup_file() {
	require_image_file
	command -v caddy >/dev/null || skip "caddy is not installed (make deps)"
	[ -x /usr/lib/chromium/chromium ] || skip "chromium is not installed (make deps)"
	[ -d "$FCM_SRC/test/browser/node_modules/puppeteer-core" ] ||
		skip "puppeteer-core is not installed: npm ci --prefix test/browser"
	[ -f "$FCM_SRC/web/dist/index.html" ] || skip "the dashboard is not built: make web"
	export NS=fcmt-web-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_TLS=internal FCM_PUBLIC_IP=$GW FCM_PUBLISH_API=1
	unset FCM_DOMAIN FCM_PROXY FCM_API_HOST
	export FCM_BOOT_TIMEOUT=${FCM_BOOT_TIMEOUT:-600} FCM_STOP_TIMEOUT=30
	export SHOTS=${FCM_WEB_SHOTS:-$FCM_SRC/test/tmp/web}
	rm -rf "$SHOTS"
	mkdir -p "$FCM_ROOT" "$SHOTS"
	netns_create "$NS"
	export BNS=fcmt-webb-$$
	netns_create "$BNS"
	# No IPv6 where the browser lives: an address finishing its duplicate
	# detection makes chromium abandon a page load (ERR_NETWORK_CHANGED).
	in_ns "$BNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip link add wb0 netns "$BNS" type veth peer name wb1 netns "$NS"
	ip -n "$NS" addr add 10.255.0.1/30 dev wb1
	ip -n "$BNS" addr add 10.255.0.2/30 dev wb0
	ip -n "$NS" link set wb1 up
	ip -n "$BNS" link set wb0 up
	fcm_install_image
	daemon_start
	local i
	for i in $(seq 1 300); do
		dash -o /dev/null /v1/health 2>/dev/null && break
		sleep 0.2
	done
	dash -o /dev/null /v1/health || { cat "$BATS_FILE_TMPDIR/daemon.log" >&2; return 1; }
	# Two users (tokens as lib/auth/token.h stores them) and their VMs:
	# alice-idle is alice's, bob-secret bob's (records only: no guest).
	export ADMIN=$(cat "$FCM_ROOT/.token")
	export ALICE=$(user_token alice) BOB=$(user_token bob)
	record alice-idle alice
	record bob-secret bob
	echo "# screenshots: $SHOTS" >&3
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$BNS"
	netns_delete "$NS"
}

# curl to the dashboard through Caddy, inside $NS: dash [curl args] PATH
dash() {
	local path=${*: -1}
	in_ns "$NS" curl -sf --max-time 60 -k --resolve "$HOST:443:127.0.0.1" "${@:1:$#-1}" "https://$HOST$path"
}
# The same, whatever the status: "BODY STATUS" on one line
dashs() {
	local path=${*: -1} out
	out=$(in_ns "$NS" curl -s --max-time 60 -k --resolve "$HOST:443:127.0.0.1" -w ' %{http_code}' "${@:1:$#-1}" "https://$HOST$path")
	printf '%s\n' "${out//$'\n'/}"
}

user_token() {
	local tok hash
	tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	hash=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
	mkdir -p "$FCM_ROOT/tokens"
	chmod 700 "$FCM_ROOT/tokens"
	printf '{"user":"%s"}\n' "$1" > "$FCM_ROOT/tokens/$hash"
	echo "$tok"
}

record() {
	local id
	id=$(printf '%s' "$1" | sha256sum | tr -dc 'a-z' | head -c 8)
	mkdir -p "$FCM_ROOT/vms/$id"
	printf '{"id":"%s","name":"%s","state":"stopped","owner":"%s","cpus":1,"memory":1024,"disk":"2G","expose":null,"url":null,"created_at":%d}\n' \
		"$id" "$1" "$2" "$(( $(date +%s) - 7200 ))" > "$FCM_ROOT/vms/$id/config.json"
}

drive() {
	in_ns "$BNS" env DASH_URL="https://$HOST" RESOLVE="MAP $HOST 10.255.0.1" SHOTS="$SHOTS" \
		HOME="$BATS_FILE_TMPDIR" "$@"
}
browse() {
	local scenario=$1
	shift
	drive "$@" node "$FCM_SRC/test/browser/drive.mjs" "$scenario"
}

# Sign in with TOKEN: sets cookie ("fcm_session=...") and CSRF.
session_of() {
	local out
	out=$(dash -D "$BATS_TEST_TMPDIR/h" -H 'Content-Type: application/json' -d "{\"token\":\"$1\"}" /v1/session)
	CSRF=$(jq -r .csrf <<< "$out")
	cookie=$(sed -n 's/^set-cookie: \(fcm_session=[^;]*\);.*/\1/Ip' "$BATS_TEST_TMPDIR/h" | tr -d '\r')
	[ -n "$cookie" ] && [ ${#CSRF} -eq 64 ]
}

@test "the pages: served by fcm-api through Caddy, a CSP without inline script, no inline script in them" {
	run dash -D "$BATS_TEST_TMPDIR/h" /
	assert_success
	page=$output
	run grep -i '^content-security-policy:' "$BATS_TEST_TMPDIR/h"
	assert_output --regexp "script-src 'self';"
	refute_output --regexp "script-src[^;]*unsafe"
	grep -qi '^x-frame-options: DENY' "$BATS_TEST_TMPDIR/h"
	# every <script> has a src of the daemon's own, and nothing runs from attributes
	[ "$(grep -o '<script[^>]*>' <<< "$page" | grep -vc 'src="/assets/')" -eq 0 ]
	[ "$(grep -c '<script' <<< "$page")" -ge 1 ]
	run grep -Eoi ' on[a-z]+=|javascript:|<script>' <<< "$page"
	assert_failure
	# the same page at /login (the OIDC redirect), and the assets it loads
	[ "$(dash /login)" = "$page" ]
	for a in $(grep -o '/assets/[a-z0-9.]*' <<< "$page"); do
		run dash -D "$BATS_TEST_TMPDIR/ha" "$a"
		assert_success
		grep -qi '^content-security-policy:' "$BATS_TEST_TMPDIR/ha"
	done
	# nothing from elsewhere: no URL of another host in the bundle's loads
	run grep -Eo '(src|href)="https?://' <<< "$page"
	assert_failure
	# not a page: the API's 404
	run dashs /assets/../../etc/passwd
	assert_output --regexp ' 40[04]$'
	run dashs /assets/app.js.map
	assert_output --partial '"kind":"not_found"'
}

@test "sign-in: the session cookie is HttpOnly, Secure, SameSite=Strict; a bad token is refused" {
	run dashs -H 'Content-Type: application/json' -d '{"token":"0123abcd"}' /v1/session
	assert_output '{"ok":false,"kind":"unauthorized","error":"invalid token"} 401'
	run dashs -d 'not json' /v1/session
	assert_output --regexp '"kind":"usage".* 400$'
	# an OIDC code comes back only to a loopback callback (the CLI's) or https://HOST/login
	v=$(printf 'v%.0s' $(seq 43))
	for bad in https://evil.example/callback "https://$HOST/login?x=1" http://fcm.example/login; do
		run dashs -d "{\"code\":\"c\",\"code_verifier\":\"$v\",\"nonce\":\"n\",\"redirect_uri\":\"$bad\"}" /v1/session
		assert_output --regexp '"error":"redirect_uri must be .*https://HOST/login \(the web dashboard.s\)"\} 400$'
	done
	run dash -D "$BATS_TEST_TMPDIR/h" -H 'Content-Type: application/json' -d "{\"token\":\"$ALICE\"}" /v1/session
	assert_success
	[ "$(jq -r .name <<< "$output")" = alice ]
	[ "$(jq -r .admin <<< "$output")" = false ]
	[ "$(jq -r '.csrf | length' <<< "$output")" = 64 ]
	refute_output --partial "$ALICE"	# the token never comes back in a reply
	run grep -i '^set-cookie:' "$BATS_TEST_TMPDIR/h"
	assert_output --regexp '^set-cookie: fcm_session=t\.[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; Secure; SameSite=Strict'
	# the cookie is a session: GET /v1/session and the API answer to it
	session_of "$ALICE"
	run dash -H "Cookie: $cookie" /v1/session
	[ "$(jq -r .csrf <<< "$output")" = "$CSRF" ]
	run dash -H "Cookie: $cookie" /v1/vms
	[ "$(jq -r '[.[].name] | join(",")' <<< "$output")" = alice-idle ]
}

@test "a request with the session but without its CSRF token, or from another origin, is refused and runs nothing" {
	session_of "$ALICE"
	before=$(cat "$FCM_ROOT"/vms/*/config.json | sha256sum)
	run dashs -X POST -H "Cookie: $cookie" /v1/vms/alice-idle/start
	assert_output --regexp "^\{\"ok\":false,\"kind\":\"forbidden\",\"error\":\"the request lacks the session's CSRF token \(X-FCM-CSRF\): reload the dashboard\"\} 403$"
	run dashs -X POST -H "Cookie: $cookie" -H "X-FCM-CSRF: ${CSRF%?}0" /v1/vms/alice-idle/start
	assert_output --regexp '"kind":"forbidden".* 403$'
	run dashs -X DELETE -H "Cookie: $cookie" /v1/vms/alice-idle
	assert_output --regexp '"kind":"forbidden".* 403$'
	run dashs -H "Cookie: $cookie" -H 'Content-Type: application/json' -d '{}' /v1/vms
	assert_output --regexp '"kind":"forbidden".* 403$'
	run dashs -H "Cookie: $cookie" -H 'Origin: https://evil.example' /v1/vms
	assert_output --regexp '"kind":"forbidden".* 403$'
	# the WebSocket console too: a page elsewhere may not open it
	run dashs -H "Cookie: $cookie" -H 'Origin: https://evil.example' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' /v1/vms/alice-idle/console
	assert_output --regexp '"kind":"forbidden".* 403$'
	[ "$(cat "$FCM_ROOT"/vms/*/config.json | sha256sum)" = "$before" ]
	# with the token it gets through to the command (which answers for itself)
	run dashs -X POST -H "Cookie: $cookie" -H "X-FCM-CSRF: $CSRF" -H "Origin: https://$HOST" /v1/vms/bob-secret/stop
	assert_output "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'bob-secret' (see 'fcm ls')\"} 404"
	# a bearer token needs none (the CLI's way): CSRF is the cookie's matter
	run dashs -X POST -H "Authorization: Bearer $BOB" /v1/vms/bob-secret/unexpose
	assert_output --regexp '"ok":true.* 200$'
}

@test "sign-out forgets the session; the commands the dashboard builds its forms from" {
	session_of "$ADMIN"
	run dash -H "Cookie: $cookie" /v1/commands
	assert_success
	run jq -c '.[] | select(.name == "create") | [.routes[0].method, .routes[0].path, ([.options[].name] | index("cpus") != null), ([.options[].name] | index("ssh-key"))]' <<< "$output"
	assert_output '["POST","/v1/vms",true,null]'
	run dashs -X DELETE -H "Cookie: $cookie" /v1/session
	assert_output --regexp '"kind":"forbidden".* 403$'
	run dash -D "$BATS_TEST_TMPDIR/h" -X DELETE -H "Cookie: $cookie" -H "X-FCM-CSRF: $CSRF" /v1/session
	assert_success
	grep -qi '^set-cookie: fcm_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict' "$BATS_TEST_TMPDIR/h"
	# a typed token stays valid (it is the CLI's too); the browser dropped it
	[ -n "$(dash -H "Authorization: Bearer $ADMIN" /v1/auth/me)" ]
	run dashs /v1/session
	assert_output --regexp '"kind":"unauthorized".* 401$'
}

@test "chromium: security — no inline script or CSP violation on any page, CSRF refused to the page itself, HttpOnly cookie, sign-out" {
	run browse security TOKEN="$ALICE" OWN=alice-idle
	echo "$output"
	assert_success
	assert_output --partial '# security: ok'
}

@test "chromium: another user's VM never appears and its pages give the API's 404; an admin sees owners" {
	run browse isolation TOKEN="$ALICE" OWN=alice-idle OTHER=bob-secret OTHER_OWNER=bob ADMIN_TOKEN="$ADMIN"
	echo "$output"
	assert_success
	assert_output --partial '# isolation: ok'
}

@test "chromium: sign in with the OIDC issuer (browser redirect flow, PKCE), the same login as the CLI; sign-out revokes it" {
	[ -d "$FCM_SRC/test/oidc/node_modules/oidc-provider" ] || skip "no test OIDC provider: run 'npm ci --prefix test/oidc'"
	local f=$BATS_TEST_TMPDIR/issuer i
	in_ns "$NS" env FCM_TEST_REDIRECT_URI="https://$HOST/login" node "$FCM_SRC/test/oidc/provider.js" "$f" \
		> "$BATS_TEST_TMPDIR/issuer.log" 2>&1 3>&- &
	ISSUER_PID=$!
	for i in $(seq 600); do [ -s "$f" ] && break; sleep 0.1; done
	issuer=$(cat "$f")
	# the browser reaches the issuer at the same loopback address, through the veth
	port=${issuer##*:}
	in_ns "$NS" socat "TCP-LISTEN:$port,bind=10.255.0.1,fork,reuseaddr" "TCP:127.0.0.1:$port" 3>&- &
	FWD1=$!
	in_ns "$BNS" socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:10.255.0.1:$port" 3>&- &
	FWD2=$!
	printf '{"issuer":"%s","client_id":"fcm-test","client_secret":"fcm-test-secret"}\n' "$issuer" > "$FCM_ROOT/auth.json"
	chmod 600 "$FCM_ROOT/auth.json"
	in_ns "$NS" fcm users allow @example.test > /dev/null
	tokens_before=$(ls "$FCM_ROOT/tokens" | wc -l)
	run browse oidc OIDC_ISSUER="$issuer" OIDC_USER=carol OIDC_ID=carol-
	kill "$ISSUER_PID" "$FWD1" "$FWD2" 2>/dev/null || true
	rm -f "$FCM_ROOT/auth.json"
	echo "$output"
	assert_success
	assert_output --partial '# oidc: ok'
	# the sign-in made carol's user and a token; the sign-out revoked it
	[ "$(jq -r '.[] | select(.email == "carol@example.test") | .id' "$FCM_ROOT/auth/users.json")" != "" ]
	[ "$(ls "$FCM_ROOT/tokens" | wc -l)" -eq "$tokens_before" ]
}

@test "chromium: sign in, create a VM, see it running, console (type, detach, reattach with the screen restored, a watcher), stop, destroy" {
	run browse lifecycle TOKEN="$ALICE" VM=web-one
	echo "$output"
	assert_success
	assert_output --partial '# lifecycle: ok'
	# what the browser did, the host did: alice's VM, now gone with its repo
	run fcm-ls --json web-one
	assert_failure
	[ ! -e "$FCM_ROOT/git/web-one.git" ]
	# screenshots of each page
	for p in sign-in apps create app-running console console-watcher-phone console-reattached app-stopped destroy-confirm; do
		ls "$SHOTS"/lifecycle-*-"$p".png >/dev/null
	done
}
