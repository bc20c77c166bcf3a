#!/usr/bin/env bats
# fcm-api with curl: every endpoint and every error status, tokens, ownership,
# bad input and abuse (bodies, header floods, path tricks, slow clients), the
# WebSocket console.  The real commands behind the API, real VMs made by the
# real fcm create under a real fcm daemon, all inside a network namespace
# (test/api_helper.bash says how, and what stands in for a booted guest).
load test_helper
load api_helper

setup_file() { api_setup_file api; }
teardown_file() { api_teardown_file; }
setup() { api_setup; }
teardown() { api_teardown; }

# What a request may change: the VM records and the tokens.
records() {
	ls "$FCM_ROOT/vms"
	cat "$FCM_ROOT"/vms/*/config.json 2>/dev/null
	ls -l --time-style=+%s "$FCM_ROOT/.token" "$FCM_ROOT/tokens" 2>/dev/null || true
}

# --- health, auth/me -----------------------------------------------------------

@test "GET /v1/health needs no token and gives the version" {
	run curl -s -w '%{http_code}' "$API/v1/health"
	assert_line -n 0 "{\"ok\":true,\"version\":\"$(fcm --version | cut -d' ' -f3)\",\"state_format\":$(fcm --version | sed 's/.*state format \([0-9]*\))$/\1/')}"
	assert_line -n 1 200
}

@test "GET /v1/auth/me names the admin" {
	run api GET /v1/auth/me
	assert_line -n 0 200
	assert_equal "$(jq -c '[.name,.admin]' <<< "${lines[1]}")" '["admin",true]'
	# the admin has no quota; usage counts the VMs it owns
	assert_equal "$(jq -c .quota <<< "${lines[1]}")" '{"vms":null,"cpus":null,"memory":null,"disk":null}'
	assert_equal "$(jq -c '.usage.vms' <<< "${lines[1]}")" 2
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
	run ip netns exec "$NS" "$FCM_SRC/bin/fcm-api" --listen 127.0.0.1:0
	assert_failure 111
	assert_output --partial "does not hold a token"
}

# --- tokens: 401 and nothing changes ---------------------------------------------

@test "a missing, empty, wrong or almost-right token gets 401 and runs nothing" {
	before=$(records)
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
	assert_output --partial '{"ok":false,"kind":"unauthorized","error":"missing token'
	[ ! -e "$FCM_ROOT/calls.log" ]
	# The token file was read, never written; no record changed.
	assert_equal "$(records)" "$before"
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
	# The very records the local fcm ls prints.
	assert_equal "$(sed -n 2p <<< "$output")" "$(nsfcm ls --json | jq -sc .)"
	# Answered by the API itself (lib/vm/vmcache.h): no fcm-ls ran.
	[ -z "$(calls ls)" ]
}

@test "GET /v1/vms and /v1/vms/{vm} are never stale: every change reads back at once, in a loop" {
	id=$(vm_id cosmic-nova)
	svc=$FCM_ROOT/vms/$id/service
	run api GET /v1/vms	# the cache is filled
	for i in 1 2 3 4 5; do
		s6-svc -d "$svc"
		s6-svwait -D -t 20000 "$svc"
		run api GET /v1/vms/cosmic-nova
		assert_line -n 0 200
		[ "$(sed -n 2p <<< "$output" | jq -r .state)" = stopped ]
		run api GET /v1/vms
		assert_equal "$(sed -n 2p <<< "$output")" "$(nsfcm ls --json | jq -sc .)"
		s6-svc -u "$svc"
		s6-svwait -U -t 20000 "$svc"
		run api GET /v1/vms/cosmic-nova
		[ "$(sed -n 2p <<< "$output" | jq -r .state)" = running ]
		run api GET /v1/vms
		assert_equal "$(sed -n 2p <<< "$output")" "$(nsfcm ls --json | jq -sc .)"
		# A record rewritten (as fcm writes them: a rename) is read at once.
		jq -c ".memory = $((256 * i))" "$FCM_ROOT/vms/$id/config.json" > "$FCM_ROOT/vms/$id/config.json.new"
		mv "$FCM_ROOT/vms/$id/config.json.new" "$FCM_ROOT/vms/$id/config.json"
		run api GET "/v1/vms/$id"
		[ "$(sed -n 2p <<< "$output" | jq -r .memory)" = $((256 * i)) ]
		# A VM made, then destroyed: there at once, then 404 at once.
		vm_new "loop-$i" --no-wait >/dev/null
		run api GET "/v1/vms/loop-$i"
		assert_line -n 0 200
		nsfcm destroy "loop-$i" >/dev/null
		run api GET "/v1/vms/loop-$i"
		assert_line -n 0 404
	done
	[ -z "$(calls ls)" ]
}

@test "GET /v1/vms answers from its cache: GETs of unchanged VMs read no record and no status" {
	run api GET /v1/vms	# the cache is filled
	assert_line -n 0 200
	# every file the API opens, while it answers
	strace -f -e trace=openat -p "$API_PID" -o "$BATS_TEST_TMPDIR/opens" 2>"$BATS_TEST_TMPDIR/strace.err" &
	local st=$!
	for _ in $(seq 50); do grep -q attached "$BATS_TEST_TMPDIR/strace.err" && break; sleep 0.1; done
	for _ in $(seq 20); do
		api GET /v1/vms >/dev/null
		api GET /v1/vms/cosmic-nova >/dev/null
	done
	# (reading a state must not mark it changed: an open of the control
	# fifo, or anything else the cache watches, made every GET read all)
	run grep -E 'config\.json|supervise/(status|lock)' "$BATS_TEST_TMPDIR/opens"
	assert_output ""
	# the control: a VM that changes is read again, and strace sees it
	id=$(vm_id cosmic-nova)
	s6-svc -d "$FCM_ROOT/vms/$id/service"
	s6-svwait -D -t 20000 "$FCM_ROOT/vms/$id/service"
	run api GET /v1/vms/cosmic-nova
	[ "$(sed -n 2p <<< "$output" | jq -r .state)" = stopped ]
	kill -INT "$st"
	wait "$st" || true
	grep -qE "vms/$id/service/supervise/status" "$BATS_TEST_TMPDIR/opens"
	s6-svc -u "$FCM_ROOT/vms/$id/service"
	s6-svwait -U -t 20000 "$FCM_ROOT/vms/$id/service"
}

@test "GET /v1/vms with no VMs is an empty array" {
	nsfcm destroy cosmic-nova >/dev/null
	nsfcm destroy stellar-comet >/dev/null
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
	assert_line -n 1 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'no-such-vm' (see 'fcm ls')\"}"
}

# --- POST /v1/vms --------------------------------------------------------------------

@test "POST /v1/vms runs fcm-create with the fields and answers 201 with the record" {
	run api POST /v1/vms -d '{"name":"lunar-peak","cpus":2,"memory":2048,"disk":"4G","expose":3000}'
	assert_line -n 0 201
	rec=$(sed -n 2p <<< "$output")
	[ "$(jq -r '[.ok,.name,.cpus,.memory,.disk,.expose.port,.owner,.state] | join(" ")' <<< "$rec")" = \
		"true lunar-peak 2 2048 4G 3000 admin running" ]
	grep -q '^fcm-create --request --as admin --admin {' "$FCM_ROOT/calls.log"
	assert_equal "$(calls create | jq -cS .)" '{"cpus":2,"disk":"4G","expose":3000,"memory":2048,"name":"lunar-peak"}'
	run api GET /v1/vms/lunar-peak
	assert_line -n 0 200
	assert_line -n 1 "$(jq -c 'del(.ok)' <<< "$rec")"
}

@test "POST /v1/vms with no body makes a VM with every default" {
	run api POST /v1/vms
	assert_line -n 0 201
	[ "$(sed -n 2p <<< "$output" | jq -r '[.cpus,.memory,.disk,.expose.port,.owner,.state] | join(" ")')" = \
		"1 1024 2G 8000 admin running" ]
	assert_equal "$(calls create)" '{}'
}

@test "POST /v1/vms: expose false and wait false" {
	run api POST /v1/vms -d '{"expose":false,"wait":false}'
	assert_line -n 0 201
	[ "$(sed -n 2p <<< "$output" | jq -c '[.expose,.url]')" = '[null,null]' ]
	assert_equal "$(calls create)" '{"expose":false,"wait":false}'
}

@test "POST /v1/vms with a name in use is 409 and makes nothing" {
	before=$(records)
	run api POST /v1/vms -d '{"name":"cosmic-nova"}'
	assert_line -n 0 409
	assert_line -n 1 "{\"ok\":false,\"kind\":\"conflict\",\"error\":\"name 'cosmic-nova' is already used by a VM: choose another, or leave --name out\"}"
	assert_equal "$(records)" "$before"
}

@test "POST /v1/vms: a failure of fcm-create (exit 111) is 500 with its message, undone" {
	# A host without its guest image: fcm-disk cannot make the disk.
	mv "$FCM_ROOT/images" "$FCM_ROOT/images.away"
	before=$(records)
	run api POST /v1/vms -d '{"name":"fail-hard"}'
	assert_line -n 0 500
	assert_line -n 1 --regexp '^\{"ok":false,"kind":"internal","error":"unable to create the disk: .+"\}$'
	assert_equal "$(records)" "$before"
	grep -q 'fcm-api: warning: POST /v1/vms: unable to create the disk' "$API_LOG"
}

@test "POST /v1/vms: malformed JSON, unknown fields, wrong types, bad values are 400 and make nothing" {
	before=$(records)
	for body in '{' '{"name":' 'null' '[]' '"x"' '42' '{"name":"a"} {}' '{"nme":"x"}' \
		'{"name":"x","extra":1}' '{"name":1}' '{"cpus":"2"}' '{"cpus":1.5}' '{"cpus":0}' \
		'{"memory":-1}' '{"disk":"2G; rm -rf /"}' '{"disk":""}' '{"expose":"8000"}' \
		'{"expose":70000}' '{"wait":"no"}' '{"name":"Bad_Name"}' '{"name":"-x"}' \
		'{"name":"'"$(printf 'a%.0s' $(seq 64))"'"}' '{"name":"--json"}' '{"owner":""}' \
		'{"owner":"a/b"}' '{"cpus":1e400}'; do
		run api POST /v1/vms -d "$body"
		[ "${lines[0]}" = 400 ] || fail "body $body gave ${lines[0]}: ${lines[1]}"
		[ "$(jq -c '[.ok,.kind]' <<< "${lines[1]}")" = '[false,"usage"]' ] || fail "body $body: ${lines[1]}"
		jq -e '.error | length > 10' <<< "${lines[1]}" >/dev/null || fail "body $body: ${lines[1]}"
	done
	# Refused by the API itself, before any command: not JSON, not an
	# object, fields the definition of create does not have or types.
	rm -f "$FCM_ROOT/calls.log"
	for body in '{' 'null' '{"name":"a"} {}' '{"nme":"x"}' '{"name":1}' '{"cpus":1.5}' '{"wait":"no"}'; do
		run api POST /v1/vms -d "$body"
		assert_line -n 0 400
	done
	[ ! -e "$FCM_ROOT/calls.log" ] || fail "ran: $(cat "$FCM_ROOT/calls.log")"
	printf '{"name":"\xff\xfe"}' > "$BATS_TEST_TMPDIR/bad"
	run api POST /v1/vms --data-binary @"$BATS_TEST_TMPDIR/bad"
	assert_line -n 0 400
	assert_line -n 1 --partial 'not UTF-8'
	assert_equal "$(records)" "$before"
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
	assert_line -n 1 '{"ok":false,"kind":"usage","error":"the request body is larger than 65536 bytes"}'
	[ ! -e "$FCM_ROOT/calls.log" ]
	run api GET /v1/vms
	assert_line -n 0 200
}

# --- start, stop, destroy ------------------------------------------------------------

@test "POST /v1/vms/{vm}/stop and /start run fcm-stop and fcm-start" {
	run api POST /v1/vms/cosmic-nova/stop
	assert_line -n 0 200
	assert_line -n 1 "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"stopped\"}"
	[ "$(nsfcm ls --json cosmic-nova | jq -r .state)" = stopped ]
	run api POST /v1/vms/cosmic-nova/start
	assert_line -n 0 200
	assert_line -n 1 "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"running\"}"
	run cat "$FCM_ROOT/calls.log"
	assert_line -n 0 'fcm-stop --request --as admin --admin {"vm":"cosmic-nova"}'
	assert_line -n 1 'fcm-start --request --as admin --admin {"vm":"cosmic-nova"}'
	run api POST '/v1/vms/cosmic-nova/start?wait=false'
	assert_line -n 0 200
	assert_equal "$(calls start | tail -1)" '{"wait":false,"vm":"cosmic-nova"}'
}

@test "DELETE /v1/vms/{vm} runs fcm-destroy; then the VM is 404" {
	run api DELETE /v1/vms/cosmic-nova
	assert_line -n 0 200
	assert_line -n 1 "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"destroyed\"}"
	[ ! -e "$FCM_ROOT/vms/$VM1" ]
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
		assert_line -n 1 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'ghost' (see 'fcm ls')\"}"
	done
}

# --- logs -------------------------------------------------------------------------------

@test "GET /v1/vms/{vm}/logs gives fcm-logs's text; lines=, console= and deploy= are passed on" {
	run curl -s -H "$AUTH" "$API/v1/vms/cosmic-nova/logs?console=1&lines=3"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_equal "$output" "$(nsfcm logs cosmic-nova -n 3 --console)"
	run curl -s -D - -o "$BATS_TEST_TMPDIR/all" -H "$AUTH" "$API/v1/vms/cosmic-nova/logs"
	assert_line --partial 'Content-Type: text/plain; charset=utf-8'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/all")" "$(nsfcm logs cosmic-nova)"
	printf 'deploy line %s\n' 1 2 3 > "$FCM_ROOT/vms/$VM1/deploy.log"
	run curl -s -H "$AUTH" "$API/v1/vms/cosmic-nova/logs?deploy=1&lines=2"
	assert_output $'deploy line 2\ndeploy line 3'
	run calls logs
	assert_line -n 0 '{"console":true,"lines":3,"vm":"cosmic-nova"}'
	assert_line -n 1 '{"vm":"cosmic-nova"}'
	assert_line -n 2 '{"deploy":true,"lines":2,"vm":"cosmic-nova"}'
}

@test "GET /v1/vms/{vm}/logs: bad lines= is 400, unknown VM is 404" {
	for q in lines=-1 lines=abc lines=1000001 'lines=1%200' follow=maybe 'lines=%ff' 'deploy=%c3'; do
		run api GET "/v1/vms/cosmic-nova/logs?$q"
		[ "${lines[0]}" = 400 ] || fail "$q gave ${lines[0]}"
	done
	for q in '' '?follow=1'; do
		run api GET "/v1/vms/ghost/logs$q"
		assert_line -n 0 404
		assert_line -n 1 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'ghost' (see 'fcm ls')\"}"
	done
	run api GET /v1/vms/cosmic-nova/logs?deploy=1
	assert_line -n 0 404
	assert_line -n 1 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"VM 'cosmic-nova' has no deploy log yet\"}"
}

@test "GET /v1/vms/{vm}/logs?follow=1 streams as lines come; the API serves others meanwhile" {
	log=$FCM_ROOT/vms/$VM1/log/current
	last2=$(nsfcm logs cosmic-nova -n 2 --console)
	curl -s -N -H "$AUTH" "$API/v1/vms/cosmic-nova/logs?console=1&follow=1&lines=2" > "$BATS_TEST_TMPDIR/follow" 3>&- &
	cpid=$!
	for i in $(seq 100); do [ "$(wc -l < "$BATS_TEST_TMPDIR/follow")" -ge 2 ] && break; sleep 0.1; done
	# Lines as the VM's s6-log would add them, until told to stop.
	( for i in $(seq 600); do [ -e "$BATS_TEST_TMPDIR/stop" ] && break; echo "tick $i" >> "$log"; sleep 0.1; done ) 3>&- &
	tpid=$!
	for i in $(seq 100); do grep -q 'tick 3' "$BATS_TEST_TMPDIR/follow" && break; sleep 0.1; done
	run api GET /v1/vms
	assert_line -n 0 200
	kill $cpid
	wait $cpid || true
	run cat "$BATS_TEST_TMPDIR/follow"
	assert_equal "$(head -2 <<< "$output")" "$last2"
	assert_line -n 2 'tick 1'
	assert_line -n 4 'tick 3'
	# The follower is stopped once the client is gone (at its next line).
	for i in $(seq 50); do pgrep -f "$SHIMS/fcm-logs --request" >/dev/null || break; sleep 0.1; done
	touch "$BATS_TEST_TMPDIR/stop"
	wait $tpid
	run pgrep -f "$SHIMS/fcm-logs --request"
	assert_failure
	grep -q 'fcm-logs --request --as admin --admin {"console":true,"follow":true,"lines":2,"vm":"cosmic-nova"}' "$FCM_ROOT/calls.log"
}

@test "40 clients following logs do not stop another user's fcm ls (streams have slots of their own)" {
	vm_new alice-app alice > /dev/null
	vm_new bob-app bob > /dev/null
	alice=$(user_token alice)
	bob=$(user_token bob)
	local pids=() p i
	for i in $(seq 40); do
		curl -s -N -H "Authorization: Bearer $alice" "$API/v1/vms/alice-app/logs?follow=1" > /dev/null 3>&- &
		pids+=($!)
	done
	# every follower runs (more than FCM_API_MAX_JOBS, 32)
	for i in $(seq 300); do
		[ "$(grep -c 'fcm-logs --request --as alice {"follow":true' "$FCM_ROOT/calls.log")" -ge 40 ] && break
		sleep 0.1
	done
	assert_equal "$(grep -c 'fcm-logs --request --as alice {"follow":true' "$FCM_ROOT/calls.log")" 40
	# and a short request of another user still runs at once
	run timeout 60 ip netns exec "$NS" env FCM_HOST=127.0.0.1:$API_PORT FCM_TOKEN="$bob" "$FCM_SRC/bin/fcm" ls --json
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	assert_success
	assert_equal "$(jq -sr 'map(.name)|join(",")' <<< "$output")" bob-app
}

# --- routing: 404, 405, path tricks -------------------------------------------------

@test "unknown endpoints are 404, wrong methods 405 with Allow" {
	for p in /v1 /v1/ /v2/vms /v1/vms/ /v1/vmsx /v1/vms/cosmic-nova/ /v1/vms/cosmic-nova/reboot \
		/v1/vms/a/b/c/d /v1/auth /v1/auth/me/x //v1/vms /v1//vms /index.html /assets/ /assets/x.exe; do	# / is the dashboard (doc/web.md)
		run curl -s -o /dev/null -w '%{http_code}' --path-as-is -H "$AUTH" "$API$p"
		[ "$output" = 404 ] || fail "$p gave $output"
	done
	run curl -s -i -X PUT -H "$AUTH" "$API/v1/vms/cosmic-nova"
	assert_line --partial '405 Method Not Allowed'
	allow=$(tr -d '\r' <<< "$output" | sed -n 's/^Allow: //p' | tr -d ' ' | tr , '\n' | sort | tr '\n' ' ')
	assert_equal "$allow" "DELETE GET HEAD "
	assert_line '{"ok":false,"kind":"usage","error":"method PUT is not allowed here: use DELETE, GET, HEAD"}'
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
	# Whatever ran, ran with a good name.
	if [ -e "$FCM_ROOT/calls.log" ]; then
		sed -n 's/^fcm-[a-z]* --request [^{]*//p' "$FCM_ROOT/calls.log" | jq -r '.vm // (.vms // [])[]' |
			grep -v -E '^[a-z0-9][a-z0-9-]{0,62}$' && fail "a command ran with a bad name: $(cat "$FCM_ROOT/calls.log")"
	fi
	run api GET /v1/vms
	assert_line -n 0 200
}

# --- abuse: header flood, slow clients, many clients -----------------------------

@test "a header flood is refused cleanly and the API keeps serving" {
	run api_tool flood "$API_PORT" 5000
	case $output in *431*|*413*|*400*|closed) ;; *) fail "flood: $output" ;; esac
	run api_tool flood "$API_PORT" 100
	assert_output --partial '200 OK'
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "garbage requests get 400 and the API keeps serving" {
	for req in 'GARBAGE\r\n\r\n' 'GET\r\n\r\n' 'GET /v1/health HTTP/9.9\r\n\r\n' \
		'GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
		'POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n' \
		'\x00\x01\x02\xff\r\n\r\n'; do
		printf "$req" | timeout 10 ip netns exec "$NS" python3 "$API_TOOL" raw "$API_PORT" > "$BATS_TEST_TMPDIR/raw" || true
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
	api_tool slow "$API_PORT" 1000 8 > "$BATS_TEST_TMPDIR/slow" 3>&- &
	spid=$!
	for i in $(seq 100); do grep -q '^open' "$BATS_TEST_TMPDIR/slow" && break; sleep 0.1; done
	# While they hang: health, a list, a create.
	run api GET /v1/health
	assert_line -n 0 200
	run api GET /v1/vms
	assert_line -n 0 200
	run api POST /v1/vms -d '{"name":"during-slow"}'
	assert_line -n 0 201
	assert_line -n 1 --partial '"name":"during-slow","state":"running"' 
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
	run api_tool slow "$API_PORT" 200 15
	assert_line -n 1 'closed-by-server 200'
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "100 concurrent GET /v1/vms all succeed" {
	# Records only (api_helper.bash): 100 real VMs would take minutes.
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
	vm_new alice-app alice >/dev/null
	vm_new bob-app bob >/dev/null
	bob_before=$(nsfcm ls --json bob-app)
	alice=$(user_token alice)
	A="Authorization: Bearer $alice"
	run curl -s -H "$A" "$API/v1/auth/me"
	assert_equal "$(jq -c '[.name,.admin,.usage.vms]' <<< "$output")" '["alice",false,1]'
	run curl -s -H "$A" "$API/v1/vms"
	assert_equal "$(jq -r 'map(.name)|join(",")' <<< "$output")" alice-app
	run curl -s -w ' %{http_code}' -H "$A" "$API/v1/vms/alice-app"
	assert_output --regexp '"name":"alice-app".* 200$'
	for req in "GET /v1/vms/bob-app" "DELETE /v1/vms/bob-app" "POST /v1/vms/bob-app/stop" \
		"POST /v1/vms/bob-app/start" "GET /v1/vms/bob-app/logs" "GET /v1/vms/cosmic-nova"; do
		set -- $req
		run curl -s -w '%{http_code}' -X "$1" -H "$A" "$API$2"
		# The same answer as for no VM at all: other users' names do not leak.
		assert_line -n 0 --regexp "^\{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named '(bob-app|cosmic-nova)' \(see 'fcm ls'\)\"\}$"
		assert_line -n 1 404
	done
	run curl -s -w '%{http_code}' -X POST -H "$A" -d '{"owner":"bob"}' "$API/v1/vms"
	assert_line -n 0 "{\"ok\":false,\"kind\":\"forbidden\",\"error\":\"only an admin may create VMs for another user ('bob')\"}"
	assert_line -n 1 403
	# Bob's VM was not touched: not stopped, not destroyed.
	assert_equal "$(nsfcm ls --json bob-app)" "$bob_before"
	run curl -s -o /dev/null -w '%{http_code}' -X POST -H "$A" -d '{"name":"alice-two"}' "$API/v1/vms"
	assert_output 201
	grep -q -- 'fcm-create --request --as alice {"name":"alice-two"}' "$FCM_ROOT/calls.log"
	[ "$(nsfcm ls --json alice-two | jq -r .owner)" = alice ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST -H "$A" "$API/v1/vms/alice-app/stop"
	assert_output 200
	# An admin sees every VM, and ?owner= narrows it; all answered by the API itself.
	run curl -s -H "$AUTH" "$API/v1/vms"
	assert_equal "$(jq -r 'map(.name)|sort|join(",")' <<< "$output")" alice-app,alice-two,bob-app,cosmic-nova,stellar-comet
	run curl -s -H "$AUTH" "$API/v1/vms?owner=bob"
	assert_equal "$(jq -r 'map(.name)|join(",")' <<< "$output")" bob-app
	run curl -s -H "$A" "$API/v1/vms?owner=bob"
	assert_output '[]'
	[ -z "$(calls ls)" ]
}

@test "an expired user token is 401; the admin may create for another owner" {
	old=$(user_token carol '"expires_at":1000')
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old" "$API/v1/vms"
	assert_output 401
	run api POST /v1/vms -d '{"name":"for-carol","owner":"carol","wait":false}'
	assert_line -n 0 201
	assert_line -n 1 --partial '"owner":"carol"'
	[ "$(nsfcm ls --json for-carol | jq -r .owner)" = carol ]
}

# --- the WebSocket console ---------------------------------------------------------------

@test "console: a WebSocket to the VM's session: type, see output, resize, ping, close" {
	console_session cosmic-nova
	run timeout 30 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" "/v1/vms/cosmic-nova/console?rows=30&cols=100" "$TOKEN" \
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
	console_session cosmic-nova
	run timeout 30 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'send:X=persist-$((2*21))\n' 'send:echo $X\n' expect:persist-42
	assert_success
	run timeout 30 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		expect:persist-42 'send:echo again-$X\n' expect:again-persist-42 close
	assert_success
}

@test "console: a client that never reads is disconnected, and the API's memory stays bounded" {
	api_stop
	export FCM_API_SLOW_CLIENT=3
	api_start
	console_session cosmic-nova
	rss() { awk '/^VmRSS/ {print $2}' "/proc/$API_PID/status"; }
	before=$(rss)
	# the session prints without end; the client reads nothing for 10 s
	run timeout 90 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'send:yes a-line-the-client-never-reads\n' stall:10 drain:30
	after=$(rss)
	assert_success
	assert_line --regexp '^eof after [0-9]+ bytes$'
	grep -q 'the client read nothing for too long' "$API_LOG"
	# at most the 1 MiB queue and its frames, not what `yes` printed in 10 s
	[ $((after - before)) -lt 16384 ] || fail "RSS grew from $before to $after KiB"
	run api GET /v1/vms
	assert_line -n 0 200
}

@test "console: bad frames get the right close code; bad control messages an error" {
	console_session cosmic-nova
	run timeout 20 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" unmasked
	assert_line 'close 1002'
	run timeout 20 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" big
	assert_line 'close 1009'
	run timeout 20 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
		'text:not json' 'text:{"type":"dance"}' 'text:{"type":"resize","rows":0,"cols":5}' msgs close
	assert_line --partial 'msg {"type":"error","error":"a text message must be a JSON object'
	assert_line 'msg {"type":"error","error":"unknown control message type"}'
	assert_line --partial 'msg {"type":"error","error":"resize needs rows and cols'
	assert_line 'close 1000'
	run api GET /v1/health
	assert_line -n 0 200
}

@test "console: the session's exit reaches the client as an exit message and a close" {
	console_session cosmic-nova
	run timeout 30 ip netns exec "$NS" python3 "$API_TOOL" ws "$API_PORT" /v1/vms/cosmic-nova/console "$TOKEN" \
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
	run ip netns exec "$NS" "$FCM_SRC/bin/fcm-api" --listen nowhere
	assert_failure 100
	assert_output --partial "bad listen address 'nowhere'"
	FCM_API_TIMEOUT=0 run ip netns exec "$NS" "$FCM_SRC/bin/fcm-api" --listen 127.0.0.1:0
	assert_failure 100
	run ip netns exec "$NS" "$FCM_SRC/bin/fcm-api" extra
	assert_failure 100
	run ip netns exec "$NS" "$FCM_SRC/bin/fcm-api" --listen "127.0.0.1:$API_PORT"
	assert_failure 111
	assert_output --partial 'unable to listen'
}
