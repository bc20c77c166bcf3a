#!/usr/bin/env bats
# Quotas (lib/vm/quota.h, doc/fcm-users.md): per user, with host-wide
# defaults, checked at create under the VM table lock; usage against quota in
# fcm whoami.  The real commands under a real fcm daemon and fcm-api, inside
# a network namespace (test/api_helper.bash: the Firecracker test double with
# a stand-in QEMU, no guest boots).
load test_helper
load api_helper

setup_file() { api_setup_file quota; }
teardown_file() { api_teardown_file; }
setup() {
	api_setup --no-vms
	ALICE=$(user_token alice-abc123)
	BOB=$(user_token bob-abc123)
}
teardown() { api_teardown; }

# as TOKEN fcm ...: a user through the API
as() {
	local t=$1
	shift
	ip netns exec "$NS" env FCM_HOST=127.0.0.1:$API_PORT FCM_TOKEN="$t" "$FCM_SRC/bin/fcm" "$@"
}

@test "over-quota creates are refused with the numbers; usage is back after destroy" {
	nsfcm users quota --vms 2 --cpus 3 --memory 1536 --disk 5G > /dev/null
	run as "$ALICE" create --name a1 --cpus 2 --memory 512 --no-dotfile --no-wait --json
	assert_success
	# 2 + 2 vCPUs > 3; 512 + 1024 MiB fits; 1 + 1 VMs fits; 2G + 4G disk > 5G
	run as "$ALICE" create --name a2 --cpus 2 --disk 4G --no-dotfile --no-wait
	assert_failure 100
	assert_output "fcm-create: fatal: over quota for alice-abc123: vCPUs 2 used + 2 = 4 > 3 (1 over); disk 2048 MiB used + 4096 = 6144 > 5120 MiB (1024 over): destroy a VM or ask an admin for more (fcm whoami shows usage)"
	# nothing made
	run nsfcm ls --json
	assert_equal "$(jq -sr 'map(.name)|join(",")' <<< "$output")" a1
	run curl -s -w '\n%{http_code}' -X POST -H "Authorization: Bearer $ALICE" -d '{"name":"a2","cpus":2,"wait":false}' "$API/v1/vms"
	assert_line -n 0 --partial '"kind":"forbidden","error":"over quota for alice-abc123: vCPUs 2 used + 2 = 4 > 3 (1 over)'
	assert_line -n 1 403
	run as "$ALICE" create --name a2 --cpus 1 --no-dotfile --no-wait --json
	assert_success
	run as "$ALICE" create --name a3 --cpus 1 --memory 128 --disk 512M --no-dotfile --no-wait
	assert_failure 100
	assert_output --partial 'over quota for alice-abc123: VMs 2 used + 1 = 3 > 2 (1 over); vCPUs 3 used + 1 = 4 > 3 (1 over); memory 1536 MiB used + 128 = 1664 > 1536 MiB (128 over)'
	# another user has a quota of their own
	run as "$BOB" create --name b1 --cpus 2 --no-dotfile --no-wait --json
	assert_success
	# whoami: usage against quota
	run curl -s -H "Authorization: Bearer $ALICE" "$API/v1/auth/me"
	assert_equal "$(jq -c .usage <<< "$output")" '{"vms":2,"cpus":3,"memory":1536,"disk":"4096M"}'
	assert_equal "$(jq -c .quota <<< "$output")" '{"vms":2,"cpus":3,"memory":1536,"disk":"5120M"}'
	# destroy gives the room back
	as "$ALICE" destroy a2 > /dev/null
	run curl -s -H "Authorization: Bearer $ALICE" "$API/v1/auth/me"
	assert_equal "$(jq -c .usage <<< "$output")" '{"vms":1,"cpus":2,"memory":512,"disk":"2048M"}'
	run as "$ALICE" create --name a3 --cpus 1 --memory 128 --disk 512M --no-dotfile --no-wait --json
	assert_success
	# a user's own quota overrides the defaults; the admin token has none
	nsfcm users quota --user alice-abc123 --vms 5 --cpus 8 --memory 8192 --disk 20G > /dev/null
	run as "$ALICE" create --name a4 --no-dotfile --no-wait --json
	assert_success
	run as "$TOKEN" create --name root1 --cpus 2 --no-dotfile --no-wait --json
	assert_success
}

@test "fcm whoami on a terminal shows usage against quota" {
	nsfcm users quota --vms 3 --cpus 4 > /dev/null
	as "$ALICE" create --name w1 --no-dotfile --no-wait > /dev/null
	run ip netns exec "$NS" env FCM_HOST=127.0.0.1:$API_PORT FCM_TOKEN="$ALICE" script -qec "$FCM_SRC/bin/fcm whoami" /dev/null
	assert_success
	assert_output --partial 'VMs:    1 of 3'
	assert_output --partial 'vCPUs:  1 of 4'
	assert_output --partial 'memory: 1024 of no limit (MiB)'
	assert_output --partial 'disk:   2048M of no limit'
}

@test "two creates at once cannot both take the last room" {
	nsfcm users quota --vms 1 > /dev/null
	local pids=() p
	for i in 1 2 3 4; do
		as "$ALICE" create --name race$i --no-dotfile --no-wait --json > "$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	run nsfcm ls --json
	assert_equal "$(jq -s 'map(select(.owner=="alice-abc123"))|length' <<< "$output")" 1
	assert_equal "$(grep -l 'over quota for alice-abc123: VMs 1 used + 1 = 2 > 1 (1 over)' "$BATS_TEST_TMPDIR"/c*.out | wc -l)" 3
}

@test "quota settings: admins only; bad values refused, nothing changed" {
	run as "$ALICE" users quota --vms 100
	assert_failure 100
	assert_output --partial 'only an admin may manage users'
	nsfcm users quota --vms 2 > /dev/null
	before=$(cat "$FCM_ROOT/quota.json")
	for bad in '--vms -1' '--vms many' '--disk 2X' '--user Bad_User --vms 1' '--user admin --vms 1'; do
		run nsfcm users quota $bad
		assert_failure 100
		assert_equal "${#lines[@]}" 1
	done
	assert_equal "$(cat "$FCM_ROOT/quota.json")" "$before"
	run as "$TOKEN" users quota --user bob-abc123 --cpus 2 --json
	assert_success
	assert_equal "$(jq -c .quota <<< "$output")" '{"vms":2,"cpus":2,"memory":null,"disk":null}'
}
