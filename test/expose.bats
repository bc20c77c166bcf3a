#!/usr/bin/env bats
# fcm expose / fcm unexpose: a VM's port over HTTPS, and back.
#
# NETWORK SAFETY: Caddy, the stand-in guests (python3 http.server) and every
# request run inside a network namespace made here (fcmt-px-*), removed in
# teardown; Caddy uses its internal CA only (FCM_TLS=internal), and the
# namespace has no route out.
load test_helper

load proxy_helper

rec() { jq -c "$1" "$FCM_ROOT/vms/$2/config.json"; }

@test "a bad port is refused clearly and the record is left as it was" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	before=$(tree_snapshot "$FCM_ROOT"; cat "$FCM_ROOT/vms/aaaa0001/config.json")
	for p in 0 70000 abc -1 8000x 65536 ''; do
		run fcm expose cosmic-nova "$p"
		[ "$status" -eq 100 ]
		assert_output "fcm-expose: fatal: port must be a whole number from 1 to 65535, not '$p'"
	done
	run fcm expose --json cosmic-nova 0
	[ "$status" -eq 100 ]
	assert_line '{"ok":false,"kind":"usage","error":"port must be a whole number from 1 to 65535, not '"'0'"'"}'
	[ "$(tree_snapshot "$FCM_ROOT"; cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
}

@test "usage errors: no port, too many words, unknown VM, unknown option" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	run fcm expose
	[ "$status" -eq 100 ]
	assert_output --partial "say which port"
	run fcm expose cosmic-nova 8000 extra
	[ "$status" -eq 100 ]
	assert_output --partial "too many arguments"
	run fcm expose no-such-vm 8000
	[ "$status" -eq 100 ]
	assert_output --partial "no VM named 'no-such-vm'"
	run fcm unexpose no-such-vm
	[ "$status" -eq 100 ]
	assert_output --partial "no VM named 'no-such-vm'"
	run fcm unexpose --bogus
	[ "$status" -eq 100 ]
	assert_output --partial "unknown option '--bogus'"
	cd "$BATS_TEST_TMPDIR"
	run fcm expose 8000
	[ "$status" -eq 100 ]
	assert_output --partial "no .fcm file"
}

@test "a bad FCM_DOMAIN or FCM_PUBLIC_IP is refused clearly; the record is left as it was" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	before=$(cat "$FCM_ROOT/vms/aaaa0001/config.json")
	FCM_DOMAIN='my domain.com' run fcm expose cosmic-nova 8000
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_DOMAIN: 'my domain.com' is not a valid domain"
	FCM_DOMAIN='-bad.example.com' run fcm expose cosmic-nova 8000
	[ "$status" -eq 100 ]
	assert_output --partial "not a valid domain"
	FCM_PUBLIC_IP=1.2.3 run fcm expose cosmic-nova 8000
	[ "$status" -eq 100 ]
	assert_output --partial "FCM_PUBLIC_IP must be an IPv4 address"
	[ "$(cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
}

@test "fcm expose: the record gets expose and url, Caddy the route; JSON when piped" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	serve 10.240.0.50 "hello from cosmic-nova"
	start_caddy
	run in_ns "$NS" fcm expose cosmic-nova 8000
	assert_success
	[ "$(echo "$output" | jq -c '[.ok, .name, .expose, .url]')" = \
	  "[true,\"cosmic-nova\",{\"port\":8000,\"domain\":\"cosmic-nova.$DOMAIN\"},\"https://cosmic-nova.$DOMAIN\"]" ]
	[ "$(rec '[.expose, .url]' aaaa0001)" = "[{\"port\":8000,\"domain\":\"cosmic-nova.$DOMAIN\"},\"https://cosmic-nova.$DOMAIN\"]" ]
	run fetch cosmic-nova
	assert_output "hello from cosmic-nova
200"
}

@test "fcm expose: prose on a terminal" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 - stopped
	start_caddy
	run in_ns "$NS" script -qec "fcm expose cosmic-nova 8000" /dev/null
	assert_success
	assert_line --partial "cosmic-nova: port 8000 exposed at https://cosmic-nova.$DOMAIN"
	assert_line --partial "the VM is stopped"
	run in_ns "$NS" script -qec "fcm unexpose cosmic-nova" /dev/null
	assert_success
	assert_line --partial "cosmic-nova: no longer exposed"
}

@test "fcm expose: the VM from .fcm; changing the port moves the route" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	serve 10.240.0.50 "on 8000"
	serve 10.240.0.50 "on 8001" 8001
	start_caddy
	mkdir "$BATS_TEST_TMPDIR/app" && cd "$BATS_TEST_TMPDIR/app"
	echo '{"name":"cosmic-nova","id":"aaaa0001"}' > .fcm
	run in_ns "$NS" fcm expose --json 8000
	assert_success
	run fetch cosmic-nova
	assert_output "on 8000
200"
	run in_ns "$NS" fcm expose 8001
	assert_success
	[ "$(rec .expose.port aaaa0001)" = 8001 ]
	run fetch cosmic-nova
	assert_output "on 8001
200"
	run in_ns "$NS" fcm-proxy routes
	[ "$(echo "$output" | jq -c '[.routes[].upstream]')" = '["10.240.0.50:8001"]' ]
}

@test "FCM_DOMAIN gives <name>.<domain>" {
	export FCM_DOMAIN=Apps.Example.TEST DOMAIN=apps.example.test
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	serve 10.240.0.50 "under my domain"
	start_caddy
	run in_ns "$NS" fcm expose cosmic-nova 8000
	assert_success
	[ "$(rec .url aaaa0001)" = '"https://cosmic-nova.apps.example.test"' ]
	run fetch cosmic-nova
	assert_output "under my domain
200"
}

@test "fcm unexpose: only that VM's route goes; unexposing again is harmless" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	vm_record aaaa0002 lunar-reef 10.240.0.51 -
	serve 10.240.0.50 "I am cosmic-nova"
	serve 10.240.0.51 "I am lunar-reef"
	start_caddy
	in_ns "$NS" fcm expose cosmic-nova 8000 >/dev/null
	in_ns "$NS" fcm expose lunar-reef 8000 >/dev/null
	run fetch lunar-reef
	assert_output "I am lunar-reef
200"
	run in_ns "$NS" fcm unexpose lunar-reef
	assert_success
	[ "$(echo "$output" | jq -c '[.ok, .expose, .url]')" = '[true,null,null]' ]
	[ "$(rec '[.expose, .url]' aaaa0002)" = '[null,null]' ]
	run in_ns "$NS" fcm-proxy routes
	[ "$(echo "$output" | jq -r '[.routes[].host] | join(" ")')" = "cosmic-nova.$DOMAIN" ]
	run fetch_once lunar-reef
	assert_failure
	run fetch cosmic-nova
	assert_output "I am cosmic-nova
200"
	run in_ns "$NS" fcm unexpose lunar-reef
	assert_success
	[ "$(rec '[.expose, .url]' aaaa0002)" = '[null,null]' ]
}

@test "Caddy not running: a clear error, the record rolled back, previous routes back with Caddy" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	serve 10.240.0.50 "I am cosmic-nova"
	start_caddy
	in_ns "$NS" fcm expose cosmic-nova 8000 >/dev/null
	before=$(cat "$FCM_ROOT/vms/aaaa0001/config.json")
	stop_caddy
	run in_ns "$NS" fcm expose cosmic-nova 9000
	[ "$status" -eq 111 ]
	assert_output --partial "Caddy is not running"
	assert_output --partial "VM cosmic-nova is left as it was"
	[ "$(cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
	run in_ns "$NS" fcm unexpose --json cosmic-nova
	[ "$status" -eq 111 ]
	assert_line --partial '{"ok":false,"kind":"unavailable","error":"Caddy is not running'
	[ "$(cat "$FCM_ROOT/vms/aaaa0001/config.json")" = "$before" ]
	start_caddy
	run fetch cosmic-nova
	assert_output "I am cosmic-nova
200"
}

@test "bad input while Caddy runs leaves the previous routes working" {
	vm_record aaaa0001 cosmic-nova 10.240.0.50 -
	serve 10.240.0.50 "I am cosmic-nova"
	start_caddy
	in_ns "$NS" fcm expose cosmic-nova 8000 >/dev/null
	run fetch cosmic-nova
	assert_success
	before=$(loads)
	for p in 0 70000 abc; do
		run in_ns "$NS" fcm expose cosmic-nova "$p"
		[ "$status" -eq 100 ]
	done
	FCM_DOMAIN='has spaces.com' run in_ns "$NS" fcm expose cosmic-nova 8001
	[ "$status" -eq 100 ]
	[ "$(loads)" -eq "$before" ]
	[ "$(rec .expose.port aaaa0001)" = 8000 ]
	run fetch_once cosmic-nova
	assert_output "I am cosmic-nova"
}
