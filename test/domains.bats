#!/usr/bin/env bats
# fcm domains: a VM's custom domains, routed by Caddy with a certificate each.
# (Local and remote: the rows of 'domains' in test/parity.bats.)
#
# NETWORK SAFETY: Caddy, the stand-in guests (python3 http.server) and every
# request run inside a network namespace made here (fcmt-px-*), removed in
# teardown; Caddy uses its internal CA only (FCM_TLS=internal), and the
# namespace has no route out.  No guest is booted.
load test_helper

load proxy_helper

rec() { jq -c "$1" "$FCM_ROOT/vms/$2/config.json"; }

# caddy_config: Caddy's running config, read through its admin socket.
caddy_config() { in_ns "$NS" curl -sf -H 'Host;' --unix-socket "$ADMIN_SOCK" http://localhost/config/; }

# caddy_hosts ID: the hosts of VM ID's route in Caddy's running config.
caddy_hosts() {
	caddy_config |
		jq -r --arg id "fcm-vm-$1" '[.apps.http.servers.fcm.routes[]? | select(."@id" == $id) | .match[0].host[]] | join(" ")'
}

@test "bad names are refused with one clear line; nothing changes" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	before=$(tree_snapshot "$FCM_ROOT"; cat "$FCM_ROOT/vms/aaaa0001/config.json")
	long_label=$(printf 'a%.0s' $(seq 64)).test
	long_name=$(for i in $(seq 26); do printf 'abcdefghi.'; done)test
	while IFS='|' read -r name msg; do
		run fcm domains add cosmic-nova -- "$name"
		[ "$status" -eq 100 ] || fail "'$name' was not refused: $output"
		[ "${#lines[@]}" -eq 1 ] || fail "'$name': more than one line: $output"
		assert_output --partial "fcm-domains: fatal: "
		assert_output --partial "$msg"
	done <<EOF
|say which domain
bad name.test|only a-z, 0-9, '-' and '.' are allowed
-bad.test|not a valid domain
a..test|not a valid domain
under_score.test|only a-z, 0-9, '-' and '.' are allowed
$long_label|longer than 63 characters
$long_name|is longer than 253 characters
localhost|not a full domain name
192.168.1.1|is an IP address
bücher.test|the domain has characters other than ASCII: give an internationalised name in its xn-- (punycode) form
$(printf 'www\texample.test')|the domain has a control character
*.example.test|wildcard domains such as '*.example.test' are not allowed on this host
www.*.test|a '*' may only be the whole first label
lunar-reef.$DOMAIN|one of this host's own names
fcm.$DOMAIN|one of this host's own names
$DOMAIN|one of this host's own names
EOF
	FCM_API_HOST=Apps.Example.TEST run fcm domains add cosmic-nova apps.example.test.
	[ "$status" -eq 100 ]
	assert_output "fcm-domains: fatal: 'apps.example.test' is this host's API and dashboard (FCM_API_HOST): give a domain of yours"
	run fcm domains add --json cosmic-nova localhost
	[ "$status" -eq 100 ]
	[ "$(echo "$output" | grep '^{' | jq -c '[.ok, .kind]')" = '[false,"usage"]' ]
	FCM_DOMAINS_WILDCARD=1 run fcm domains add cosmic-nova "*.$DOMAIN"
	[ "$status" -eq 100 ]
	assert_output --partial "would take every VM's URL"
	FCM_DOMAINS_WILDCARD=1 run fcm domains add cosmic-nova "*.test"
	[ "$status" -eq 100 ]
	assert_output --partial "too wide a wildcard"
	run fcm domains add no-such-vm www.example.test
	[ "$status" -eq 100 ]
	assert_output --partial "no VM named 'no-such-vm'"
	run fcm domains add cosmic-nova a.test extra
	[ "$status" -eq 100 ]
	assert_output --partial "too many arguments"
	[ "$(tree_snapshot "$FCM_ROOT"; cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
	run fcm domains rm cosmic-nova www.example.test
	[ "$status" -eq 100 ]
	assert_output "fcm-domains: fatal: VM cosmic-nova has no domain www.example.test (see 'fcm domains cosmic-nova')"
	[ "$(cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$(echo "$before" | tail -1)" ]
}

@test "add, list, rm: the record, Caddy's route and the listing follow; names are made canonical" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	start_caddy
	run in_ns "$NS" fcm domains add cosmic-nova WWW.Example.TEST.
	assert_success
	[ "$(echo "$output" | jq -c '[.ok, .name, .domain, .added, .domains]')" = \
	  '[true,"cosmic-nova","www.example.test",true,["www.example.test"]]' ]
	[ "$(rec .domains aaaa0001)" = '["www.example.test"]' ]
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN www.example.test" ]
	[ "$(in_ns "$NS" fcm-proxy routes | jq -c '.routes[0].hosts')" = "[\"cosmic-nova.$DOMAIN\",\"www.example.test\"]" ]
	# the TLS policy names it, so Caddy gets it a certificate
	caddy_config > "$BATS_TEST_TMPDIR/cfg"
	jq -e '.apps.tls.automation.policies[0].subjects | index("www.example.test")' "$BATS_TEST_TMPDIR/cfg"
	# again: nothing changes, Caddy is not reloaded
	before=$(loads)
	run in_ns "$NS" fcm domains add cosmic-nova www.example.test
	assert_success
	[ "$(echo "$output" | jq -c '[.added, .domains]')" = '[false,["www.example.test"]]' ]
	[ "$(loads)" -eq "$before" ]
	in_ns "$NS" fcm domains add cosmic-nova example.test >/dev/null
	# listing: JSON lines in a pipe, a table on a terminal; also in fcm ls
	run fcm domains cosmic-nova
	assert_success
	assert_output "{\"vm\":\"cosmic-nova\",\"domain\":\"www.example.test\",\"url\":\"https://www.example.test\",\"port\":8000}
{\"vm\":\"cosmic-nova\",\"domain\":\"example.test\",\"url\":\"https://example.test\",\"port\":8000}"
	run fcm domains ls --json cosmic-nova
	[ "${#lines[@]}" -eq 2 ]
	run script -qec "fcm domains cosmic-nova" /dev/null
	assert_line --regexp '^DOMAIN +URL'
	assert_line --regexp '^www.example.test +https://www.example.test'
	[ "$(fcm ls cosmic-nova | jq -c .domains)" = '["www.example.test","example.test"]' ]
	# the VM of .fcm
	cd "$BATS_TEST_TMPDIR" && echo '{"name":"cosmic-nova","id":"aaaa0001"}' > .fcm
	[ "$(fcm domains | jq -r .domain | tr '\n' ' ')" = "www.example.test example.test " ]
	run in_ns "$NS" fcm domains rm WWW.EXAMPLE.TEST
	assert_success
	[ "$(echo "$output" | jq -c '[.ok, .domain, .removed, .domains]')" = '[true,"www.example.test",true,["example.test"]]' ]
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN example.test" ]
	run in_ns "$NS" script -qec "fcm domains rm example.test" /dev/null
	assert_success
	assert_output --partial "cosmic-nova: domain example.test removed"
	[ "$(rec .domains aaaa0001)" = '[]' ]
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN" ]
	run script -qec "fcm domains" /dev/null
	assert_output --partial "cosmic-nova has no custom domains; add one with 'fcm domains add cosmic-nova DOMAIN'"
}

@test "a domain of another VM is refused (kind conflict), and so is an overlapping wildcard" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	start_caddy
	in_ns "$NS" fcm domains add cosmic-nova www.example.test >/dev/null
	before=$(cat "$FCM_ROOT/vms/aaaa0002/config.json"); loads=$(loads)
	run in_ns "$NS" fcm domains add lunar-reef www.example.test
	[ "$status" -eq 100 ]
	assert_output "fcm-domains: fatal: domain www.example.test is already used by VM cosmic-nova: a domain belongs to one VM; remove it there first"
	run in_ns "$NS" fcm domains add --json lunar-reef WWW.example.test
	[ "$status" -eq 100 ]
	[ "$(echo "$output" | grep '^{' | jq -r .kind)" = conflict ]
	export FCM_DOMAINS_WILDCARD=1
	run in_ns "$NS" fcm domains add lunar-reef '*.example.test'
	[ "$status" -eq 100 ]
	assert_output --partial "domain *.example.test overlaps www.example.test, which VM cosmic-nova uses"
	[ "$(cat "$FCM_ROOT/vms/aaaa0002/config.json")" = "$before" ]
	[ "$(loads)" -eq "$loads" ]
	# a wildcard one label wide: a.b.example.test is not under *.example.test
	run in_ns "$NS" fcm domains add lunar-reef '*.b.example.test'
	assert_success
	run in_ns "$NS" fcm domains add cosmic-nova 'x.b.example.test'
	[ "$status" -eq 100 ]
	assert_output --partial "overlaps *.b.example.test, which VM lunar-reef uses"
	[ "$(caddy_hosts aaaa0002)" = "lunar-reef.$DOMAIN *.b.example.test" ]
	# once removed there, the other VM may have it
	in_ns "$NS" fcm domains rm cosmic-nova www.example.test >/dev/null
	run in_ns "$NS" fcm domains add lunar-reef www.example.test
	assert_success
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN" ]
	[ "$(caddy_hosts aaaa0002)" = "lunar-reef.$DOMAIN *.b.example.test www.example.test" ]
}

@test "concurrent adds of one name to two VMs: exactly one wins" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	start_caddy
	for n in 1 2 3 4 5; do
		in_ns "$NS" fcm domains add cosmic-nova "race$n.example.test" >"$BATS_TEST_TMPDIR/a$n" 2>&1 &
		a=$!
		in_ns "$NS" fcm domains add lunar-reef "race$n.example.test" >"$BATS_TEST_TMPDIR/b$n" 2>&1 &
		b=$!
		ra=0 rb=0
		wait $a || ra=$?
		wait $b || rb=$?
		[ $((ra == 0)) -ne $((rb == 0)) ] || fail "round $n: exits $ra and $rb: $(cat "$BATS_TEST_TMPDIR/a$n" "$BATS_TEST_TMPDIR/b$n")"
		[ $((ra + rb)) -eq 100 ]
		grep -q "is already used by VM" "$BATS_TEST_TMPDIR/a$n" "$BATS_TEST_TMPDIR/b$n"
		[ "$(cat "$FCM_ROOT"/vms/*/config.json | jq -s --arg d "race$n.example.test" '[.[].domains[]? | select(. == $d)] | length')" -eq 1 ]
	done
	# and Caddy routes each name once
	caddy_config |
		jq -e '[.apps.http.servers.fcm.routes[].match[0].host[] | select(startswith("race"))] | (length == 5 and (unique | length) == 5)'
}

@test "a VM may have FCM_DOMAINS_MAX domains (kind forbidden past it); a VM not exposed keeps its domains unrouted" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	start_caddy
	export FCM_DOMAINS_MAX=2
	in_ns "$NS" fcm domains add cosmic-nova a.example.test >/dev/null
	run in_ns "$NS" script -qec "fcm domains add cosmic-nova b.example.test" /dev/null
	assert_success
	assert_output --partial "cosmic-nova: domain b.example.test added: https://b.example.test"
	assert_output --partial "cosmic-nova is not exposed: the domain answers once 'fcm expose cosmic-nova PORT'"
	run in_ns "$NS" fcm domains add --json cosmic-nova c.example.test
	[ "$status" -eq 100 ]
	[ "$(echo "$output" | grep '^{' | jq -c '[.ok, .kind]')" = '[false,"forbidden"]' ]
	assert_output --partial "VM cosmic-nova has 2 custom domains, and one VM may have at most 2 on this host"
	[ "$(rec .domains aaaa0001)" = '["a.example.test","b.example.test"]' ]
	FCM_DOMAINS_MAX=0 run in_ns "$NS" fcm domains add cosmic-nova c.example.test
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_DOMAINS_MAX must be a whole number from 1 to 1000"
	[ "$(caddy_hosts aaaa0001)" = "" ]
	[ "$(fcm domains cosmic-nova | jq -c .port | sort -u)" = null ]
	# exposing routes them with the generated name
	in_ns "$NS" fcm expose cosmic-nova 8000 >/dev/null
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN a.example.test b.example.test" ]
}

@test "Caddy not running: add fails clearly (111) and the record is left as it was" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	before=$(jq -cS . "$FCM_ROOT/vms/aaaa0001/config.json")
	run in_ns "$NS" fcm domains add cosmic-nova www.example.test
	[ "$status" -eq 111 ]
	assert_output --partial "Caddy is not running"
	assert_output --partial "VM cosmic-nova is left as it was"
	# as it was (fcm_vm_save stamps the state format on every write)
	[ "$(jq -cS 'del(.format)' "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
}

@test "destroy removes the VM's domains from Caddy; its name is free again" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	start_caddy
	in_ns "$NS" fcm domains add cosmic-nova www.example.test >/dev/null
	in_ns "$NS" fcm domains add lunar-reef api.example.test >/dev/null
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN www.example.test" ]
	run in_ns "$NS" fcm destroy cosmic-nova
	assert_success
	[ ! -e "$FCM_ROOT/vms/aaaa0001" ]
	[ "$(caddy_hosts aaaa0001)" = "" ]
	caddy_config > "$BATS_TEST_TMPDIR/cfg"
	[ "$(jq -c '[.apps.http.servers.fcm.routes[].match[0].host[]]' "$BATS_TEST_TMPDIR/cfg")" = "[\"lunar-reef.$DOMAIN\",\"api.example.test\"]" ]
	[ "$(jq -c '.apps.tls.automation.policies[0].subjects' "$BATS_TEST_TMPDIR/cfg")" = "[\"lunar-reef.$DOMAIN\",\"api.example.test\"]" ]
	# an interrupted destroy (the record left "destroying") routes nothing,
	# and its domains are free already
	vm_record aaaa0003 solar-peak 10.240.0.52
	in_ns "$NS" fcm domains add solar-peak shop.example.test >/dev/null
	jq -c '.state = "destroying"' "$FCM_ROOT/vms/aaaa0003/config.json" > "$BATS_TEST_TMPDIR/r" && cp "$BATS_TEST_TMPDIR/r" "$FCM_ROOT/vms/aaaa0003/config.json"
	in_ns "$NS" fcm-proxy sync >/dev/null
	[ "$(caddy_hosts aaaa0003)" = "" ]
	run in_ns "$NS" fcm domains add lunar-reef shop.example.test
	assert_success
	run in_ns "$NS" fcm domains add lunar-reef www.example.test
	assert_success
}

@test "end to end: https://www.example.test answers with the app, with a certificate for that name" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	serve 10.240.0.50 "hello from the app"
	start_caddy
	run in_ns "$NS" fcm domains add cosmic-nova www.example.test
	assert_success
	run fetch_host www.example.test
	assert_success
	assert_output "hello from the app
200"
	# the certificate Caddy serves for that name is for that name, from its CA
	in_ns "$NS" openssl s_client -connect "$CADDY_ADDR:443" -servername www.example.test \
		-CAfile "$(ROOT_CA)" -verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -ext subjectAltName > "$BATS_TEST_TMPDIR/san"
	run cat "$BATS_TEST_TMPDIR/san"
	assert_line --partial "DNS:www.example.test"
	refute_output --partial "cosmic-nova"
	# the generated name still works
	run fetch cosmic-nova
	assert_output "hello from the app
200"
	# removed: the name no longer answers
	in_ns "$NS" fcm domains rm cosmic-nova www.example.test >/dev/null
	run in_ns "$NS" curl -sS --max-time 5 --resolve "www.example.test:443:$CADDY_ADDR" --cacert "$(ROOT_CA)" https://www.example.test/
	assert_failure
}

@test "through the API: the routes, each user's own VMs only, and no other user's VM named in a conflict" {
	load api_helper
	vm_record aaaa0001 cosmic-nova 10.240.0.50
	vm_record aaaa0002 lunar-reef 10.240.0.51
	for v in aaaa0001:alice aaaa0002:bob; do
		f=$FCM_ROOT/vms/${v%%:*}/config.json
		jq -c --arg o "${v#*:}" '.owner = $o' "$f" > "$f.new" && mv "$f.new" "$f"
	done
	start_caddy
	make_shims
	api_start
	alice=$(user_token alice)
	A="Authorization: Bearer $alice"
	# POST /v1/vms/{vm}/domains, GET, DELETE /v1/vms/{vm}/domains/{domain}
	run in_ns "$NS" curl -s -w '%{http_code}' -H "$A" -d '{"domain":"WWW.Example.TEST"}' "$API/v1/vms/cosmic-nova/domains"
	assert_line -n 1 200
	[ "$(echo "${lines[0]}" | jq -c '[.ok, .domain, .domains]')" = '[true,"www.example.test",["www.example.test"]]' ]
	run in_ns "$NS" curl -s -w '%{http_code}' -H "$A" "$API/v1/vms/cosmic-nova/domains"
	assert_output '[{"vm":"cosmic-nova","domain":"www.example.test","url":"https://www.example.test","port":8000}]
200'
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN www.example.test" ]
	run in_ns "$NS" curl -s -w '%{http_code}' -H "$A" "$API/v1/vms/cosmic-nova"
	[ "$(echo "${lines[0]}" | jq -c .domains)" = '["www.example.test"]' ]
	# bad input: 400 with the same line as locally
	run in_ns "$NS" curl -s -w '%{http_code}' -H "$A" -d '{"domain":"localhost"}' "$API/v1/vms/cosmic-nova/domains"
	assert_output "{\"ok\":false,\"kind\":\"usage\",\"error\":\"'localhost' is not a full domain name: give one with a dot, such as www.example.com\"}
400"
	# Bob's VM is not Alice's: 404, as for no VM at all
	for req in "GET /v1/vms/lunar-reef/domains" "POST /v1/vms/lunar-reef/domains" "DELETE /v1/vms/lunar-reef/domains/a.example.test"; do
		set -- $req
		data=()
		[ "$1" = POST ] && data=(-d '{"domain":"a.example.test"}')
		run in_ns "$NS" curl -s -w '%{http_code}' -X "$1" -H "$A" "${data[@]}" "$API$2"
		assert_output "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'lunar-reef' (see 'fcm ls')\"}
404"
	done
	# a name Bob's VM has: 409, and Alice is not told whose it is
	in_ns "$NS" fcm domains add lunar-reef shop.example.test >/dev/null
	run in_ns "$NS" env FCM_HOST="127.0.0.1:$API_PORT" FCM_TOKEN="$alice" fcm domains add cosmic-nova shop.example.test
	[ "$status" -eq 100 ]
	assert_output "fcm-domains: fatal: domain shop.example.test is already used by another VM: a domain belongs to one VM; remove it there first"
	run in_ns "$NS" curl -s -w '%{http_code}' -H "$A" -d '{"domain":"shop.example.test"}' "$API/v1/vms/cosmic-nova/domains"
	assert_line -n 1 409
	# the client in remote mode, as Alice: list and remove
	run in_ns "$NS" env FCM_HOST="127.0.0.1:$API_PORT" FCM_TOKEN="$alice" fcm domains cosmic-nova
	assert_output '{"vm":"cosmic-nova","domain":"www.example.test","url":"https://www.example.test","port":8000}'
	run in_ns "$NS" env FCM_HOST="127.0.0.1:$API_PORT" FCM_TOKEN="$alice" fcm domains rm cosmic-nova www.example.test
	assert_success
	[ "$(echo "$output" | jq -c '[.removed, .domains]')" = '[true,[]]' ]
	[ "$(caddy_hosts aaaa0001)" = "cosmic-nova.$DOMAIN" ]
	run in_ns "$NS" curl -s -w '%{http_code}' -X DELETE -H "$A" "$API/v1/vms/cosmic-nova/domains/www.example.test"
	assert_line -n 1 404
	run in_ns "$NS" curl -s -o /dev/null -w '%{http_code} %header{allow}' -X PUT -H "$A" "$API/v1/vms/cosmic-nova/domains"
	assert_output "405 GET, HEAD, POST"
	api_stop
}
