#!/usr/bin/env bats
# fcm-api with curl: every endpoint and every error status, tokens, ownership,
# bad input and abuse (bodies, header floods, path tricks, slow clients), the
# WebSocket console.  Fake VM records and stand-ins for the porcelain
# (test/api_helper.bash); loopback only.
load test_helper
load api_helper

setup() {
	make_stubs
	VM1=$(fake_vm cosmic-nova)
	fake_vm stellar-comet >/dev/null
	api_start
}

teardown() {
	api_stop
}

# --- health, auth/me -----------------------------------------------------------

@test "GET /v1/health needs no token and gives the version" {
	run curl -s -w '%{http_code}' "$API/v1/health"
	assert_line -n 0 "{\"ok\":true,\"version\":\"$(fcm --version | cut -d' ' -f3)\"}"
	assert_line -n 1 200
}

@test "GET /v1/auth/me names the admin" {
	run api GET /v1/auth/me
	assert_line -n 0 200
	assert_line -n 1 '{"name":"admin","admin":true}'
}

@test "the token file is made on first start, 0600, 64 hex digits" {
	run stat -c %a "$FCM_ROOT/.token"
	assert_output 600
	run cat "$FCM_ROOT/.token"
	assert_output --regexp '^[0-9a-f]{64}$'
}

@test "a token file readable by others is made 0600 again" {
	api_stop
	chmod 644 "$FCM_ROOT/.token"
	api_start
	run stat -c %a "$FCM_ROOT/.token"
	assert_output 600
	grep -q 'was readable by others' "$API_LOG"
}

@test "a token file that holds no token stops the API with a clear error" {
	api_stop
	echo garbage > "$FCM_ROOT/.token"
	run "$FCM_SRC/bin/fcm-api" --listen 127.0.0.1:0
	assert_failure 111
	assert_output --partial "does not hold a token"
}

# --- tokens: 401 and nothing changes ---------------------------------------------

@test "a missing, empty, wrong or almost-right token gets 401 and runs nothing" {
	before=$(tree_snapshot "$FCM_ROOT")
	almost=${TOKEN:0:63}$( [ "${TOKEN:63}" = 0 ] && echo 1 || echo 0 )
	upper=$(printf '%s' "$TOKEN" | tr a-f A-F)
	for h in "" "Authorization:" "Authorization: Bearer" "Authorization: Bearer " \
		"Authorization: Bearer $almost" "Authorization: Bearer ${TOKEN:0:63}" \
		"Authorization: Bearer ${TOKEN}0" "Authorization: Bearer $upper" \
		"Authorization: Basic $TOKEN" "Authorization: $TOKEN" \
		"Authorization: Bearer $TOKEN $TOKEN" "Authorization: Bearer wrong"; do
		for req in "GET /v1/vms" "POST /v1/vms" "GET /v1/vms/cosmic-nova" "DELETE /v1/vms/cosmic-nova" \
			"POST /v1/vms/cosmic-nova/stop" "POST /v1/vms/cosmic-nova/start" \
			"GET /v1/vms/cosmic-nova/logs" "GET /v1/auth/me"; do
			set -- $req
			run curl -s -o /dev/null -w '%{http_code}' -X "$1" ${h:+-H "$h"} -d '{"name":"evil"}' "$API$2"
			[ "$output" = 401 ] || fail "$req with '$h' gave $output"
		done
	done
	run curl -s -i "$API/v1/vms"
	assert_line --partial 'WWW-Authenticate: Bearer realm="fcm"'
	assert_output --partial '{"error":"missing token'
	[ ! -e "$FCM_ROOT/calls.log" ]
	# The token file was read, never written: the tree is as it was.
	assert_equal "$(tree_snapshot "$FCM_ROOT")" "$before"
}

@test "the token in the query string is not a token" {
	run curl -s -o /dev/null -w '%{http_code}' "$API/v1/vms?token=$TOKEN"
	assert_output 401
}

@test "the token never appears in the log, even when a wrong one is sent" {
	api GET /v1/vms >/dev/null
	curl -s -o /dev/null -H "Authorization: Bearer ${TOKEN:0:63}x" "$API/v1/vms"
	curl -s -o /dev/null "$API/v1/vms/cosmic-nova?token=$TOKEN"
	api_stop
	grep -q 'GET /v1/vms 200 admin' "$API_LOG"
	run grep -c -e "$TOKEN" -e "${TOKEN:0:63}x" -e "${TOKEN:0:16}" "$API_LOG"
	assert_output 0
}

# --- GET /v1/vms, GET /v1/vms/{vm} --------------------------------------------------

@test "GET /v1/vms lists every record as a JSON array (fcm-ls --json)" {
	run api GET /v1/vms
	assert_line -n 0 200
	[ "$(sed -n 2p <<< "$output" | jq -r 'map(.name) | sort | join(",")')" = cosmic-nova,stellar-comet ]
	[ "$(sed -n 2p <<< "$output" | jq -c '.[0] | keys')" = \
		"$("$FCM_SRC/bin/fcm-ls" --json | head -1 | jq -c 'keys')" ]
}

@test "GET /v1/vms with no VMs is an empty array" {
	rm -rf "$FCM_ROOT/vms"
	run api GET /v1/vms
	assert_line -n 0 200
	assert_line -n 1 '[]'
}

@test "HEAD /v1/vms answers 200 with no body" {
	run curl -s -I -H "$AUTH" "$API/v1/vms"
	assert_line --partial '200 OK'
	assert_line --partial 'Content-Type: application/json'
}

@test "GET /v1/vms/{vm} by name and by id" {
	run api GET /v1/vms/cosmic-nova
	assert_line -n 0 200
	[ "$(sed -n 2p <<< "$output" | jq -r .name)" = cosmic-nova ]
	run api GET "/v1/vms/$VM1"
	assert_line -n 0 200
	[ "$(sed -n 2p <<< "$output" | jq -r .id)" = "$VM1" ]
}

@test "GET /v1/vms/{vm} of an unknown VM is 404 with fcm-ls's message" {
	run api GET /v1/vms/no-such-vm
	assert_line -n 0 404
	assert_line -n 1 "{\"error\":\"no VM named 'no-such-vm' (see 'fcm ls')\"}"
}

# --- POST /v1/vms --------------------------------------------------------------------

@test "POST /v1/vms runs fcm-create with the fields and answers 201 with the record" {
	run api POST /v1/vms -d '{"name":"lunar-peak","cpus":2,"memory":2048,"disk":"4G","expose":3000}'
	assert_line -n 0 201
	rec=$(sed -n 2p <<< "$output")
	[ "$(jq -r '[.ok,.name,.cpus,.memory,.disk,.expose.port,.owner] | join(" ")' <<< "$rec")" = \
		"true lunar-peak 2 2048 4G 3000 admin" ]
	run cat "$FCM_ROOT/calls.log"
	assert_output "fcm-create --name lunar-peak --cpus 2 --memory 2048 --disk 4G --expose 3000 --owner admin --no-dotfile --json"
	run api GET /v1/vms/lunar-peak
	assert_line -n 0 200
}

@test "POST /v1/vms with no body makes a VM with every default" {
	run api POST /v1/vms
	assert_line -n 0 201
	run cat "$FCM_ROOT/calls.log"
	assert_output "fcm-create --owner admin --no-dotfile --json"
}

@test "POST /v1/vms: expose false and wait false" {
	run api POST /v1/vms -d '{"expose":false,"wait":false}'
	assert_line -n 0 201
	run cat "$FCM_ROOT/calls.log"
	assert_output "fcm-create --no-expose --no-wait --owner admin --no-dotfile --json"
}

@test "POST /v1/vms with a name in use is 409 and makes nothing" {
	before=$(ls "$FCM_ROOT/vms")
	run api POST /v1/vms -d '{"name":"cosmic-nova"}'
	assert_line -n 0 409
	assert_line -n 1 --partial "is already used by a VM"
	assert_equal "$(ls "$FCM_ROOT/vms")" "$before"
}

@test "POST /v1/vms: a failure of fcm-create (exit 111) is 500 with its message" {
	run api POST /v1/vms -d '{"name":"fail-hard"}'
	assert_line -n 0 500
	assert_line -n 1 '{"error":"unable to create tap tap_x: Operation not permitted"}'
}

@test "POST /v1/vms: malformed JSON, unknown fields, wrong types, bad values are 400 and run nothing" {
	for body in '{' '{"name":' 'null' '[]' '"x"' '42' '{"name":"a"} {}' '{"nme":"x"}' \
		'{"name":"x","extra":1}' '{"name":1}' '{"cpus":"2"}' '{"cpus":1.5}' '{"cpus":0}' \
		'{"memory":-1}' '{"disk":"2G; rm -rf /"}' '{"disk":""}' '{"expose":"8000"}' \
		'{"expose":70000}' '{"wait":"no"}' '{"name":"Bad_Name"}' '{"name":"-x"}' \
		'{"name":"'"$(printf 'a%.0s' $(seq 64))"'"}' '{"name":"--json"}' '{"owner":""}' \
		'{"owner":"a/b"}' '{"cpus":1e400}'; do
		run api POST /v1/vms -d "$body"
		[ "${lines[0]}" = 400 ] || fail "body $body gave ${lines[0]}: ${lines[1]}"
		[ "$(jq -r 'keys|join(",")' <<< "${lines[1]}")" = error ] || fail "body $body: ${lines[1]}"
	done
	printf '{"name":"\xff\xfe"}' > "$BATS_TEST_TMPDIR/bad"
	run api POST /v1/vms --data-binary @"$BATS_TEST_TMPDIR/bad"
	assert_line -n 0 400
	assert_line -n 1 --partial 'not UTF-8'
	[ ! -e "$FCM_ROOT/calls.log" ]
}

@test "POST /v1/vms: a 10 MB body is 413, with Content-Length or chunked, and the API keeps serving" {
	head -c 10000000 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/big"
	run api POST /v1/vms --data-binary @"$BATS_TEST_TMPDIR/big"
	assert_line -n 0 413
	assert_line -n 1 --partial 'larger than 65536 bytes'
	run api POST /v1/vms -H 'Transfer-Encoding: chunked' --data-binary @"$BATS_TEST_TMPDIR/big"
	assert_line -n 0 413
	head -c 65537 /dev/zero | tr '\0' ' ' > "$BATS_TEST_TMPDIR/edge"
	run api POST /v1/vms --data-binary @"$BATS_TEST_TMPDIR/edge"
	assert_line -n 0 413
	[ ! -e "$FCM_ROOT/calls.log" ]
	run api GET /v1/vms
	assert_line -n 0 200
}

# --- start, stop, destroy ------------------------------------------------------------

@test "POST /v1/vms/{vm}/stop and /start run fcm-stop and fcm-start" {
	run api POST /v1/vms/cosmic-nova/stop
	assert_line -n 0 200
	assert_line -n 1 "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"stopped\"}"
	run api POST /v1/vms/cosmic-nova/start
	assert_line -n 0 200
	assert_line -n 1 "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"running\"}"
	run cat "$FCM_ROOT/calls.log"
	assert_line -n 0 "fcm-stop --json -- cosmic-nova"
	assert_line -n 1 "fcm-start --json -- cosmic-nova"
}

@test "DELETE /v1/vms/{vm} runs fcm-destroy; then the VM is 404" {
	run api DELETE /v1/vms/cosmic-nova
	assert_line -n 0 200
	assert_line -n 1 --partial '"state":"destroyed"'
	run api GET /v1/vms/cosmic-nova
	assert_line -n 0 404
	run api DELETE /v1/vms/cosmic-nova
	assert_line -n 0 404
}

@test "start, stop, destroy of an unknown VM are 404" {
	for req in "POST /v1/vms/ghost/start" "POST /v1/vms/ghost/stop" "DELETE /v1/vms/ghost"; do
		set -- $req
		run api "$1" "$2"
		assert_line -n 0 404
		assert_line -n 1 "{\"error\":\"no VM named 'ghost' (see 'fcm ls')\"}"
	done
}

# --- logs -------------------------------------------------------------------------------

@test "GET /v1/vms/{vm}/logs gives fcm-logs's text; lines= is passed on" {
	run api GET "/v1/vms/cosmic-nova/logs?lines=3"
	assert_line -n 0 200
	assert_line -n 1 'log line 1 of cosmic-nova'
	assert_line -n 3 'log line 3 of cosmic-nova'
	run curl -s -D - -o /dev/null -H "$AUTH" "$API/v1/vms/cosmic-nova/logs"
	assert_line --partial 'Content-Type: text/plain; charset=utf-8'
	grep -q -- 'fcm-logs -n 3 -- cosmic-nova' "$FCM_ROOT/calls.log"
	grep -q -- 'fcm-logs -n 100 -- cosmic-nova' "$FCM_ROOT/calls.log"
}

@test "GET /v1/vms/{vm}/logs: bad lines= is 400, unknown VM is 404" {
	for q in lines=-1 lines=abc lines=1000001 'lines=1%200' follow=maybe; do
		run api GET "/v1/vms/cosmic-nova/logs?$q"
		[ "${lines[0]}" = 400 ] || fail "$q gave ${lines[0]}"
	done
	run api GET /v1/vms/ghost/logs
	assert_line -n 0 404
	assert_line -n 1 "{\"error\":\"no VM named 'ghost' (see 'fcm ls')\"}"
}

@test "GET /v1/vms/{vm}/logs?follow=1 streams as lines come; the API serves others meanwhile" {
	curl -s -N -H "$AUTH" "$API/v1/vms/cosmic-nova/logs?follow=1&lines=2" > "$BATS_TEST_TMPDIR/follow" 3>&- &
	cpid=$!
	for i in $(seq 100); do grep -q 'tick 3' "$BATS_TEST_TMPDIR/follow" && break; sleep 0.1; done
	run api GET /v1/vms
	assert_line -n 0 200
	kill $cpid
	wait $cpid || true
	run cat "$BATS_TEST_TMPDIR/follow"
	assert_line -n 0 'log line 1 of cosmic-nova'
	assert_line -n 2 'tick 1'
	# The follower is stopped once the client is gone (at its next line).
	for i in $(seq 50); do pgrep -f 'fcm-logs -n 2 -f' >/dev/null || break; sleep 0.1; done
	run pgrep -f 'fcm-logs -n 2 -f'
	assert_failure
}

# --- routing: 404, 405, path tricks -------------------------------------------------

@test "unknown endpoints are 404, wrong methods 405 with Allow" {
	for p in / /v1 /v1/ /v2/vms /v1/vms/ /v1/vmsx /v1/vms/cosmic-nova/ /v1/vms/cosmic-nova/reboot \
		/v1/vms/a/b/c/d /v1/auth /v1/auth/me/x //v1/vms /v1//vms /index.html; do
		run curl -s -o /dev/null -w '%{http_code}' --path-as-is -H "$AUTH" "$API$p"
		[ "$output" = 404 ] || fail "$p gave $output"
	done
	run curl -s -i -X PUT -H "$AUTH" "$API/v1/vms/cosmic-nova"
	assert_line --partial '405 Method Not Allowed'
	assert_line --partial 'Allow: GET, HEAD, DELETE'
	for req in "GET /v1/vms/cosmic-nova/start" "DELETE /v1/vms" "POST /v1/vms/cosmic-nova" \
		"POST /v1/vms/cosmic-nova/logs" "PATCH /v1/vms" "POST /v1/auth/me" "DELETE /v1/health" \
		"OPTIONS /v1/vms" "POST /v1/vms/cosmic-nova/console"; do
		set -- $req
		run curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "$AUTH" "$API$2"
		[ "$output" = 405 ] || fail "$req gave $output"
	done
	[ ! -e "$FCM_ROOT/calls.log" ]
}

@test "path tricks are refused cleanly (400/404) and reach no command" {
	for p in '/v1/vms/..%2f..' '/v1/vms/../..' '/v1/vms/%2e%2e' '/v1/vms/.' '/v1/vms/..' \
		'/v1/vms/..%2f..%2f..%2fetc%2fpasswd' '/v1/vms/%00' '/v1/vms/a%00b' '/v1/vms/a%2fb' \
		'/v1/vms/a%2fb/start' '/v1/vms/%2e%2e/start' '/v1/vms/COSMIC-NOVA' '/v1/vms/cosmic%20nova' \
		'/v1/vms/-rf' '/v1/vms/%2d%2djson' "/v1/vms/$(printf 'a%.0s' $(seq 64))" \
		"/v1/$(printf 'x%.0s' $(seq 600))" '/v1/vms/%ff%fe' '/v1/vms/caf%c3%a9' '/v1/vms/a;b' \
		'/v1/vms/%0d%0aX-Evil:%201'; do
		run curl -s -w '\n%{http_code}' --path-as-is -H "$AUTH" "$API$p"
		code=${lines[-1]}
		case $code in 400|404) ;; *) fail "$p gave $code: $output" ;; esac
		jq -e .error <<< "${lines[0]}" >/dev/null || fail "$p: not a JSON error: ${lines[0]}"
	done
	if [ -e "$FCM_ROOT/calls.log" ] && grep -v -- '-- [a-z0-9-]*$' "$FCM_ROOT/calls.log"; then
		fail "a command ran with a bad name: $(cat "$FCM_ROOT/calls.log")"
	fi
	run api GET /v1/vms
	assert_line -n 0 200
}

# --- abuse: header flood, slow clients, many clients -----------------------------

@test "a header flood is refused cleanly and the API keeps serving" {
	run python3 "$API_TOOL" flood "$API_PORT" 5000
	case $output in *431*|*413*|*400*|closed) ;; *) fail "flood: $output" ;; esac
	run python3 "$API_TOOL" flood "$API_PORT" 100
	assert_output --partial '200 OK'
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "garbage requests get 400 and the API keeps serving" {
	for req in 'GARBAGE\r\n\r\n' 'GET\r\n\r\n' 'GET /v1/health HTTP/9.9\r\n\r\n' \
		'GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
		'POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n' \
		'\x00\x01\x02\xff\r\n\r\n'; do
		printf "$req" | timeout 10 python3 "$API_TOOL" raw "$API_PORT" > "$BATS_TEST_TMPDIR/raw" || true
		# An error status, or the connection closed without a word.
		[ ! -s "$BATS_TEST_TMPDIR/raw" ] || head -1 "$BATS_TEST_TMPDIR/raw" | grep -qE '^HTTP/1\.[01] (4[0-9][0-9]|505)' || \
			fail "$req: $(head -1 "$BATS_TEST_TMPDIR/raw")"
	done
	run api GET /v1/health
	assert_line -n 0 200
}

@test "1,000 slow connections: the API keeps serving, then times them out" {
	api_stop
	FCM_API_TIMEOUT=3 api_start
	python3 "$API_TOOL" slow "$API_PORT" 1000 8 > "$BATS_TEST_TMPDIR/slow" 3>&- &
	spid=$!
	for i in $(seq 100); do grep -q '^open' "$BATS_TEST_TMPDIR/slow" && break; sleep 0.1; done
	# While they hang: health, a list, a create.
	run api GET /v1/health
	assert_line -n 0 200
	run api GET /v1/vms
	assert_line -n 0 200
	run api POST /v1/vms -d '{"name":"during-slow"}'
	assert_line -n 0 201
	wait $spid
	run cat "$BATS_TEST_TMPDIR/slow"
	assert_line -n 0 'open 1000 refused 0'
	assert_line -n 1 'closed-by-server 1000'
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "connections over the limit wait their turn; each is timed out in the end" {
	api_stop
	FCM_API_MAX_CONN=50 FCM_API_TIMEOUT=1 api_start
	# 200 clients, 50 at a time, each held for the 1 s timeout: all are
	# closed within a few rounds, none is left hanging.
	run python3 "$API_TOOL" slow "$API_PORT" 200 15
	assert_line -n 1 'closed-by-server 200'
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "100 concurrent GET /v1/vms all succeed" {
	for i in $(seq 100); do fake_vm "vm-$i" >/dev/null; done
	for i in $(seq 100); do echo "url = \"$API/v1/vms\""; echo "output = \"$BATS_TEST_TMPDIR/out-$i\""; done \
		> "$BATS_TEST_TMPDIR/urls"
	run curl -s --parallel --parallel-immediate --parallel-max 100 -H "$AUTH" \
		-w '%{http_code}\n' -K "$BATS_TEST_TMPDIR/urls"
	assert_equal "$(grep -c '^200$' <<< "$output")" 100
	for i in $(seq 100); do
		[ "$(jq length "$BATS_TEST_TMPDIR/out-$i")" = 102 ] || fail "reply $i: $(head -c 200 "$BATS_TEST_TMPDIR/out-$i")"
	done
}

# --- users: ownership ---------------------------------------------------------------------

@test "a user token sees and touches only its owner's VMs (others' are 404, creating for others 403)" {
	fake_vm alice-app alice >/dev/null
	fake_vm bob-app bob >/dev/null
	alice=$(user_token alice)
	A="Authorization: Bearer $alice"
	run curl -s -H "$A" "$API/v1/auth/me"
	assert_output '{"name":"alice","admin":false}'
	run curl -s -H "$A" "$API/v1/vms"
	assert_equal "$(jq -r 'map(.name)|join(",")' <<< "$output")" alice-app
	run curl -s -w ' %{http_code}' -H "$A" "$API/v1/vms/alice-app"
	assert_output --regexp '"name":"alice-app".* 200$'
	for req in "GET /v1/vms/bob-app" "DELETE /v1/vms/bob-app" "POST /v1/vms/bob-app/stop" \
		"POST /v1/vms/bob-app/start" "GET /v1/vms/bob-app/logs" "GET /v1/vms/cosmic-nova"; do
		set -- $req
		run curl -s -w ' %{http_code}' -X "$1" -H "$A" "$API$2"
		# The same answer as for no VM at all: other users' names do not leak.
		assert_output --regexp "no VM named '(bob-app|cosmic-nova)'.* 404$"
	done
	run curl -s -w ' %{http_code}' -X POST -H "$A" -d '{"owner":"bob"}' "$API/v1/vms"
	assert_output --regexp "only an admin may create a VM for another user.* 403$"
	run grep -s -c 'bob-app' "$FCM_ROOT/calls.log"
	refute_output --regexp '[1-9]'
	run curl -s -o /dev/null -w '%{http_code}' -X POST -H "$A" -d '{"name":"alice-two"}' "$API/v1/vms"
	assert_output 201
	grep -q -- '--name alice-two --owner alice' "$FCM_ROOT/calls.log"
	run curl -s -o /dev/null -w '%{http_code}' -X POST -H "$A" "$API/v1/vms/alice-app/stop"
	assert_output 200
}

@test "an expired user token is 401; the admin may create for another owner" {
	old=$(user_token carol '"expires_at":1000')
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old" "$API/v1/vms"
	assert_output 401
	run api POST /v1/vms -d '{"name":"for-carol","owner":"carol"}'
	assert_line -n 0 201
	assert_line -n 1 --partial '"owner":"carol"'
}

# --- the WebSocket console ---------------------------------------------------------------

@test "console: a WebSocket to the VM's session: type, see output, resize, ping, close" {
	run timeout 30 python3 "$API_TOOL" ws "$API_PORT" "/v1/vms/cosmic-nova/console?rows=30&cols=100" "$TOKEN" \
		'send:echo hello-$((6*7))\n' expect:hello-42 \
		'text:{"type":"resize","rows":40,"cols":120}' 'send:stty size\n' 'expect:40 120' \
		ping msgs close
	assert_success
	assert_line -n 0 'HTTP/1.1 101 Switching Protocols'
	assert_line 'saw hello-42'
	assert_line 'saw 40 120'
	assert_line 'pong'
	assert_line 'msg {"type":"welcome","role":"writer","rows":30,"cols":100}'
	assert_line 'close 1000'
	grep -q 'fcm-console --ensure --json -- cosmic-nova' "$FCM_ROOT/calls.log"
}

@test "console: the session survives a disconnect and replays the screen on reattach" {
	run timeout 30 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'send:X=persist-$((2*21))\n' 'send:echo $X\n' expect:persist-42
	assert_success
	run timeout 30 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		expect:persist-42 'send:echo again-$X\n' expect:again-persist-42 close
	assert_success
}

@test "console: bad frames get the right close code; bad control messages an error" {
	run timeout 20 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" unmasked
	assert_line 'close 1002'
	run timeout 20 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" big
	assert_line 'close 1009'
	run timeout 20 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'text:not json' 'text:{"type":"dance"}' 'text:{"type":"resize","rows":0,"cols":5}' msgs close
	assert_line --partial 'msg {"type":"error","error":"a text message must be a JSON object'
	assert_line 'msg {"type":"error","error":"unknown control message type"}'
	assert_line --partial 'msg {"type":"error","error":"resize needs rows and cols'
	assert_line 'close 1000'
	run api GET /v1/health
	assert_line -n 0 200
}

@test "console: the session's exit reaches the client as an exit message and a close" {
	run timeout 30 python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'send:exit 7\n' 'waitclose:10' msgs
	assert_line 'close 1000'
	assert_line 'msg {"type":"exit","status":7}'
}

@test "console: no upgrade, a bad key or version, an unknown VM, no token" {
	run curl -s -w ' %{http_code}' -H "$AUTH" "$API/v1/vms/cosmic-nova/console"
	assert_output --regexp 'WebSocket.* 400$'
	ws=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13')
	run curl -s -w ' %{http_code}' -H "$AUTH" "${ws[@]}" -H 'Sec-WebSocket-Key: short' "$API/v1/vms/cosmic-nova/console"
	assert_output --regexp 'Sec-WebSocket-Key.* 400$'
	run curl -s -w ' %{http_code}' -H "$AUTH" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 8' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$API/v1/vms/cosmic-nova/console"
	assert_output --regexp 'version 13.* 400$'
	run curl -s -w ' %{http_code}' -H "$AUTH" "${ws[@]}" -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"$API/v1/vms/cosmic-nova/console?rows=5"
	assert_output --regexp 'rows and cols.* 400$'
	run curl -s -w ' %{http_code}' -H "$AUTH" "${ws[@]}" -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"$API/v1/vms/ghost/console"
	assert_output --regexp "no VM named 'ghost'.* 404$"
	run curl -s -o /dev/null -w '%{http_code}' "${ws[@]}" -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"$API/v1/vms/cosmic-nova/console"
	assert_output 401
	run grep -c fcm-console "$FCM_ROOT/calls.log"
	assert_output 1
}

# --- the service: restart, signals --------------------------------------------------

@test "SIGTERM: the API answers what runs, then exits 0; restarted, it serves the same token" {
	kill -TERM "$API_PID"
	rc=0
	wait "$API_PID" || rc=$?
	assert_equal "$rc" 0
	API_PID=
	grep -q 'fcm-api: info: stopped' "$API_LOG"
	old=$TOKEN
	api_start
	assert_equal "$TOKEN" "$old"
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "bad settings and usage are refused with exit 100" {
	run "$FCM_SRC/bin/fcm-api" --listen nowhere
	assert_failure 100
	assert_output --partial "bad listen address 'nowhere'"
	FCM_API_TIMEOUT=0 run "$FCM_SRC/bin/fcm-api" --listen 127.0.0.1:0
	assert_failure 100
	run "$FCM_SRC/bin/fcm-api" extra
	assert_failure 100
	run "$FCM_SRC/bin/fcm-api" --listen "127.0.0.1:$API_PORT"
	assert_failure 111
	assert_output --partial 'unable to listen'
}
