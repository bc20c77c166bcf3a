#!/usr/bin/env bats
# fcm-proxy: exposed VMs' HTTPS routes in Caddy.
#
# NETWORK SAFETY: Caddy, the stand-in guests (python3 http.server) and every
# request run inside a network namespace made here (fcmt-px-*), removed in
# teardown; Caddy uses its internal CA only (FCM_TLS=internal), so it never
# tries ACME, and the namespace has no route out anyway.
load test_helper

load proxy_helper

@test "render: the config for the records, with TLS from Caddy's internal CA and no trust-store install" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 8000
	vm_record aaaa0002 lunar-reef 10.240.0.51 - 
	run fcm-proxy render
	assert_success
	cfg=$(echo "$output" | jq -c .config)
	[ "$(echo "$cfg" | jq -r '.admin.listen')" = "unix/$ADMIN_SOCK" ]
	[ "$(echo "$cfg" | jq -c '[.apps.http.servers.fcm.routes[] | {h: .match[0].host[0], d: .handle[0].upstreams[0].dial}]')" = \
	  "[{\"h\":\"cosmic-nova.$DOMAIN\",\"d\":\"10.240.0.50:8000\"}]" ]
	[ "$(echo "$cfg" | jq -c '.apps.tls.automation.policies[0].issuers')" = '[{"module":"internal"}]' ]
	[ "$(echo "$cfg" | jq -c '.apps.pki.certificate_authorities.local.install_trust')" = false ]
	FCM_TLS= FCM_ACME_EMAIL=ops@example.org run fcm-proxy render
	assert_success
	[ "$(echo "$output" | jq -c '.config.apps.tls.automation.policies[0].issuers')" = '[{"module":"acme","email":"ops@example.org"}]' ]
}

@test "render: FCM_PUBLISH_API=1 routes fcm.<domain> to the daemon's API" {
	FCM_PUBLISH_API=1 run fcm-proxy render
	assert_success
	[ "$(echo "$output" | jq -r '.config.apps.http.servers.fcm.routes[0] | .match[0].host[0] + " " + .handle[0].upstreams[0].dial')" = \
	  "fcm.$DOMAIN 127.0.0.1:7777" ]
}

@test "render: FCM_API_HOST names the API's (and the dashboard's) host instead; a bad one is refused" {
	FCM_PUBLISH_API=1 FCM_API_HOST=console.example.org run fcm-proxy render
	assert_success
	[ "$(echo "$output" | jq -r '.config.apps.http.servers.fcm.routes[0].match[0].host[0]')" = console.example.org ]
	FCM_PUBLISH_API=1 FCM_API_HOST='bad name' run fcm-proxy render
	[ "$status" -eq 100 ]
	assert_output --partial 'FCM_API_HOST: '
}

@test "bad settings are refused clearly: FCM_TLS, FCM_CADDY_ADMIN, FCM_ACME_EMAIL" {
	FCM_TLS=bogus run fcm-proxy sync
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_TLS must be 'acme'"
	FCM_CADDY_ADMIN='http://x y' run fcm-proxy sync
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_CADDY_ADMIN must be"
	FCM_TLS= FCM_ACME_EMAIL='not an email' run fcm-proxy render
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_ACME_EMAIL must be"
	run fcm-proxy sync extra=1
	[ "$status" -eq 100 ]
	assert_output --partial extra
}

@test "Caddy not running: sync fails clearly with 111" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	run proxy sync
	[ "$status" -eq 111 ]
	assert_output --partial '"ok":false'
	assert_output --partial "Caddy is not running"
	assert_output --partial "unix/$ADMIN_SOCK"
	run proxy status
	assert_success
	[ "$(echo "$output" | head -1 | jq -c '.running')" = false ]
}

@test "a VM's URL reaches its guest over HTTPS, certificate from Caddy's internal CA" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	serve 10.240.0.50 "hello from cosmic-nova"
	start_caddy
	run proxy sync
	assert_success
	[ "$(echo "$output" | jq -c '[.changed, (.routes | length)]')" = '[false,1]' ] ||
	    [ "$(echo "$output" | jq -c '[.changed, (.routes | length)]')" = '[true,1]' ]
	run fetch cosmic-nova
	assert_success
	assert_output "hello from cosmic-nova
200"
	# the root CA is also available from the admin API
	run proxy ca
	assert_success
	[ "$(echo "$output" | jq -r .root)" = "$(cat "$(ROOT_CA)")" ]
}

@test "two VMs, two routes, each to its own guest; removing one removes only its route" {
	serve 10.240.0.50 "I am cosmic-nova"
	serve 10.240.0.51 "I am lunar-reef"
	start_caddy
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	run proxy sync
	assert_success
	[ "$(echo "$output" | jq -c .changed)" = true ]
	[ "$(echo "$output" | jq -r '[.routes[].host] | sort | join(" ")')" = "cosmic-nova.$DOMAIN lunar-reef.$DOMAIN" ]
	run fetch cosmic-nova
	assert_output "I am cosmic-nova
200"
	run fetch lunar-reef
	assert_output "I am lunar-reef
200"
	# destroy one (its record goes), sync: only its route goes
	rm -r "$FCM_ROOT/vms/aaaa0002"
	run proxy sync
	assert_success
	[ "$(echo "$output" | jq -r '[.routes[].host] | join(" ")')" = "cosmic-nova.$DOMAIN" ]
	run proxy routes
	[ "$(echo "$output" | jq -c '[.routes[] | [.host, .upstream, .vm]]')" = "[[\"cosmic-nova.$DOMAIN\",\"10.240.0.50:8000\",\"aaaa0001\"]]" ]
	run fetch cosmic-nova
	assert_output "I am cosmic-nova
200"
	run fetch_once lunar-reef
	assert_failure
	# nothing duplicated in Caddy's config
	in_ns "$NS" curl -s -H 'Host;' --unix-socket "$ADMIN_SOCK" http://localhost/config/ > "$BATS_TEST_TMPDIR/cfg"
	[ "$(jq '.apps.http.servers.fcm.routes | length' "$BATS_TEST_TMPDIR/cfg")" -eq 1 ]
	[ "$(jq '.apps.tls.automation.policies | length' "$BATS_TEST_TMPDIR/cfg")" -eq 1 ]
}

@test "sync with nothing changed is a no-op: Caddy is not reloaded" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	start_caddy
	run proxy sync
	assert_success
	before=$(loads)
	for _ in 1 2 3; do
		run proxy sync
		assert_success
		[ "$(echo "$output" | jq -c .changed)" = false ]
	done
	[ "$(loads)" -eq "$before" ]
	run proxy status
	[ "$(echo "$output" | jq -c '[.running, .in_sync, (.routes | length)]')" = '[true,true,2]' ]
	# a change is loaded once
	vm_record aaaa0003 solar-peak 10.240.0.52
	run proxy status
	[ "$(echo "$output" | jq -c .in_sync)" = false ]
	run proxy sync
	[ "$(echo "$output" | jq -c .changed)" = true ]
	[ "$(loads)" -eq $((before + 1)) ]
}

@test "restarting Caddy keeps both routes (the s6 run script, and caddy run --resume)" {
	serve 10.240.0.50 "I am cosmic-nova"
	serve 10.240.0.51 "I am lunar-reef"
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	start_caddy
	proxy sync >/dev/null
	run fetch cosmic-nova
	assert_success
	stop_caddy
	run proxy status
	[ "$(echo "$output" | jq -c .running)" = false ]
	start_caddy
	run fetch cosmic-nova
	assert_output "I am cosmic-nova
200"
	run fetch lunar-reef
	assert_output "I am lunar-reef
200"
	run proxy sync
	[ "$(echo "$output" | jq -c .changed)" = false ]
	# Caddy's own persistence: plain `caddy run --resume`, no fcm involved
	stop_caddy
	run proxy status
	[ "$(echo "$output" | jq -c .running)" = false ]
	rm "$FCM_ROOT/caddy/caddy.json"
	in_ns "$NS" env XDG_DATA_HOME="$FCM_ROOT/caddy" XDG_CONFIG_HOME="$FCM_ROOT/caddy" HOME="$FCM_ROOT/caddy" \
	    caddy run --resume >>"$CADDY_LOG" 2>&1 3>&- &
	wait_admin
	run fetch lunar-reef
	assert_output "I am lunar-reef
200"
	run proxy sync
	[ "$(echo "$output" | jq -c .changed)" = false ]
}

@test "a stopped VM keeps its route; its URL gives a 502 page naming it" {
	vm_record aaaa0001 cosmic-nova 10.240.0.52 8000 stopped
	start_caddy
	proxy sync >/dev/null
	run fetch cosmic-nova
	assert_success
	assert_output --partial "VM cosmic-nova is not running"
	assert_line 502
}

@test "Caddy's other config is left alone: only fcm's parts are replaced" {
	start_caddy
	other='{"servers":{"other":{"listen":[":8080"],"routes":[{"handle":[{"handler":"static_response","body":"other site"}]}]}}}'
	in_ns "$NS" curl -sf -X PUT -H 'Content-Type: application/json' -d "$other" \
	    -H 'Host;' --unix-socket "$ADMIN_SOCK" http://localhost/config/apps/http
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	run proxy sync
	assert_success
	[ "$(echo "$output" | jq -c .changed)" = true ]
	run in_ns "$NS" curl -s "http://$CADDY_ADDR:8080/"
	assert_output "other site"
	rm -r "$FCM_ROOT/vms/aaaa0001"
	run proxy sync
	assert_success
	in_ns "$NS" curl -s -H 'Host;' --unix-socket "$ADMIN_SOCK" http://localhost/config/ > "$BATS_TEST_TMPDIR/cfg"
	[ "$(jq -c '.apps.http.servers | keys' "$BATS_TEST_TMPDIR/cfg")" = '["other"]' ]
	[ "$(jq -c '.apps.tls' "$BATS_TEST_TMPDIR/cfg")" = null ]
}

@test "a bad record is skipped with a warning; the others are still routed" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef not-an-ip
	vm_record aaaa0003 solar-peak 10.240.0.52 99999
	start_caddy
	run proxy sync
	assert_success
	assert_output --partial "lunar-reef: not routed"
	assert_output --partial "solar-peak: not routed"
	[ "$(echo "$output" | tail -1 | jq -r '[.routes[].host] | join(" ")')" = "cosmic-nova.$DOMAIN" ]
}

@test "Caddy runs as its own user, listens on TCP for HTTP and HTTPS only; its admin socket is for root alone" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	serve 10.240.0.50 "via the socket"
	start_caddy
	run proxy status
	assert_success
	[ "$(echo "$output" | jq -c '[.admin, .running, .in_sync]')" = "[\"unix/$ADMIN_SOCK\",true,true]" ]
	run fetch cosmic-nova
	assert_output "via the socket
200"
	# not root: Caddy's uid is its user's
	pid=$(caddy_pids)
	[ -n "$pid" ]
	[ "$(stat -c %u "/proc/$pid")" = "$(id -u caddy)" ]
	[ "$(stat -c %u "/proc/$pid")" != 0 ]
	# its TCP listeners: 80 and 443, nothing else (no admin port)
	run bash -c "ip netns exec '$NS' ss -Hltnp | grep 'pid=$pid,' | awk '{print \$4}' | sed 's/.*://' | sort -u | tr '\n' ' '"
	assert_output "443 80 "
	# the socket's directory: Caddy's, 0700; another user cannot open the socket
	[ "$(stat -c '%a %U' "$FCM_ROOT/caddy")" = "700 caddy" ]
	[ -S "$ADMIN_SOCK" ]
	run in_ns "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		socat -u /dev/null "UNIX-CONNECT:$ADMIN_SOCK"
	assert_failure
	assert_output --partial "Permission denied"
	in_ns "$NS" socat -u /dev/null "UNIX-CONNECT:$ADMIN_SOCK"	# control: root may
	# nor can Caddy read fcm's secrets
	echo secret > "$FCM_ROOT/.token"; chmod 600 "$FCM_ROOT/.token"
	run in_ns "$NS" setpriv --reuid=caddy --regid=caddy --clear-groups cat "$FCM_ROOT/.token"
	assert_failure
}
