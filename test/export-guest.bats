#!/usr/bin/env bats
# fcm export of a running VM with an app, fcm import on a second fcm root in
# a second namespace: the app answers there with the same content, its git
# history is there, and the original keeps running untouched.  Real guests
# (the Firecracker test double): two boots, shared by the file.
#
# NETWORK SAFETY: two namespaces ($NA, $NB), each with its own daemon,
# bridge and guest, no link between them or to the outside; removed in
# teardown_file.
load test_helper

setup_file() {
	require_image_file
	export NA=fcmt-expa-$$ NB=fcmt-expb-$$
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_PROXY=off FCM_PUBLIC_IP=203.0.113.10
	export FCM_BOOT_TIMEOUT=${FCM_BOOT_TIMEOUT:-600}
	export RA=$BATS_FILE_TMPDIR/root-a RB=$BATS_FILE_TMPDIR/root-b
	mkdir -p "$RA" "$RB"
	netns_create "$NA"
	netns_create "$NB"
	FCM_ROOT=$RA fcm_install_image
	FCM_ROOT=$RB fcm_install_image
	NS=$NA FCM_ROOT=$RA daemon_start
	NS=$NB FCM_ROOT=$RB FCM_SUBNET=172.16.7.0/24 daemon_start
}

teardown_file() {
	[ -n "${NA:-}" ] || return 0
	FCM_ROOT=$RA daemon_stop
	FCM_ROOT=$RB daemon_stop
	netns_delete "$NA"
	netns_delete "$NB"
}

# vm_ssh NS ROOT IP CMD...: root in the guest with that root's key into its guests.
vm_ssh() {
	local ns=$1 root=$2 ip=$3; shift 3
	in_ns "$ns" ssh -i "$root/ssh/id_ed25519" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=180 \
		-o BatchMode=yes "root@$ip" "$@"
}
# get NS URL: the body, retried while the app starts.
get() {
	local i
	for i in $(seq 1 120); do
		in_ns "$1" curl -sf --max-time 5 "$2" && return 0
		sleep 1
	done
	return 1
}

@test "export a running VM with an app; import it on another root: the app answers there, history and config vars came along, the original is untouched" {
	export FCM_ROOT=$RA
	run in_ns "$NA" fcm create --name exp-app --json --no-dotfile
	assert_success
	local ip_a id_a
	ip_a=$(jq -r .ip <<< "$output")
	id_a=$(jq -r .id <<< "$output")
	# the app, as a deploy leaves it: /app/current with a Procfile and its
	# config vars in .env, the app service restarted
	vm_ssh "$NA" "$RA" "$ip_a" 'mkdir -p /app/current && cd /app/current &&
		echo "web: python3 -m http.server \$PORT" > Procfile &&
		echo "GREETING=hello-from-a" > .env &&
		echo "the app, version 1" > index.html &&
		/usr/local/lib/fcm/app sync && /usr/local/lib/fcm/app restart'
	run get "$NA" "http://$ip_a:8000/index.html"
	assert_output 'the app, version 1'
	# a config var (fcm config): a secret, exported only when asked
	in_ns "$NA" fcm config set exp-app SECRET_TOKEN=s3cr3t-from-a >/dev/null
	run get "$NA" "http://$ip_a:8000/index.html"
	assert_output 'the app, version 1'
	# its history: a commit in its repo (fetched in: no deploy hook runs)
	git init -q "$BATS_TEST_TMPDIR/src"
	echo 'the app, version 1' > "$BATS_TEST_TMPDIR/src/index.html"
	git -C "$BATS_TEST_TMPDIR/src" add . && git -C "$BATS_TEST_TMPDIR/src" -c user.name=t -c user.email=t@t commit -qm 'version 1'
	git --git-dir="$RA/git/exp-app.git" fetch -q "$BATS_TEST_TMPDIR/src" HEAD:refs/heads/main
	local commit rec_a
	commit=$(git -C "$BATS_TEST_TMPDIR/src" rev-parse HEAD)
	rec_a=$(cat "$RA/vms/$id_a/config.json")

	# export, running: paused for the copy, resumed after
	in_ns "$NA" fcm export exp-app > "$BATS_TEST_TMPDIR/plain.tar"
	run tar -tf "$BATS_TEST_TMPDIR/plain.tar"
	refute_line vm/env
	in_ns "$NA" fcm export exp-app --include-secrets > "$BATS_TEST_TMPDIR/app.tar" 2> "$BATS_TEST_TMPDIR/export.err"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/export.err")" ""	# the guest synced
	run tar -tf "$BATS_TEST_TMPDIR/app.tar"
	assert_line vm/env
	run tar -xOf "$BATS_TEST_TMPDIR/app.tar" fcm-export.json
	assert_output --partial '"state":"running"'
	assert_equal "$(FCM_ROOT=$RA fcm-fc state id="$id_a" | jq -r .instance.state)" Running

	# import on the other root, in the other namespace
	export FCM_ROOT=$RB
	run --separate-stderr in_ns "$NB" fcm import --json < "$BATS_TEST_TMPDIR/app.tar"
	assert_success
	local ip_b id_b
	ip_b=$(jq -r .ip <<< "$output")
	id_b=$(jq -r .id <<< "$output")
	[[ "$ip_b" == 172.16.7.* ]]
	assert_equal "$(jq -r .name <<< "$output")" exp-app
	run get "$NB" "http://$ip_b:8000/index.html"
	assert_output 'the app, version 1'
	# this host reaches the guest with its own key; the config came along
	run vm_ssh "$NB" "$RB" "$ip_b" 'cat /app/current/.env; hostname'
	assert_success
	assert_line 'GREETING=hello-from-a'
	run in_ns "$NB" fcm run exp-app -- printenv SECRET_TOKEN
	assert_success
	assert_output s3cr3t-from-a
	run in_ns "$NB" fcm config get exp-app SECRET_TOKEN
	assert_output --partial s3cr3t-from-a
	assert_equal "$(git --git-dir="$RB/git/exp-app.git" rev-parse main)" "$commit"
	assert_equal "$(git --git-dir="$RB/git/exp-app.git" log --format=%s main)" 'version 1'
	[ "$id_b" != "$id_a" ] || [ "$ip_b" != "$ip_a" ]

	# the original: running, answering, its record as it was
	export FCM_ROOT=$RA
	run get "$NA" "http://$ip_a:8000/index.html"
	assert_output 'the app, version 1'
	assert_equal "$(cat "$RA/vms/$id_a/config.json")" "$rec_a"
	assert_equal "$(fcm-ls --json exp-app | jq -r .state)" running
}
