#!/usr/bin/env bats
# fcm-deploy as the pre-receive hook, without a guest: which pushes are
# deployed, and the refusals that need no VM (a stopped VM, a VM gone, bad
# hook input).  Pushes go through fcm-git-shell via test/deploy/fake-ssh.
load test_helper

setup() {
	export FCM_PUBLIC_IP=10.9.8.7
	mkdir -p "$FCM_ROOT/vms/aaaa1111"
	jq -nc '{id:"aaaa1111",name:"app1",owner:"admin",state:"stopped",ip:"172.16.0.50",created_at:1}' \
	    >"$FCM_ROOT/vms/aaaa1111/config.json"
	fcm-repo create id=aaaa1111 name=app1 >/dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/key"
	export FAKE_SSH_KEY=$(fcm keys add --admin "$BATS_TEST_TMPDIR/key.pub" | jq -r .key.id)
	export GIT_SSH_COMMAND=$FCM_SRC/test/deploy/fake-ssh
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
	APP=$BATS_TEST_TMPDIR/app
	cp -r "$FCM_SRC/examples/python-app" "$APP"
	git -C "$APP" init -q -b main
	git -C "$APP" add -A
	git -C "$APP" commit -qm one
	cd "$APP"
	REPO=$FCM_ROOT/git/app1.git
}

@test "a push to main of a stopped VM is refused with a clear message; the branch is not updated" {
	run git push root@host:app1.git main
	assert_failure
	assert_output --partial "remote: -----> Deploy failed: VM 'app1' is not running: start it with 'fcm start app1'"
	assert_output --partial '[remote rejected] main -> main (pre-receive hook declined)'
	run git --git-dir="$REPO" rev-parse --verify -q refs/heads/main
	assert_failure
	[ -z "$(find "$REPO/objects" -type f -path '*/objects/??/*')" ]
}

@test "pushes to other branches are accepted and not deployed" {
	run git push root@host:app1.git main:feature
	assert_success
	assert_output --partial 'remote: -----> Not deploying feature: only pushes to main or master are deployed'
	[ "$(git --git-dir="$REPO" rev-parse refs/heads/feature)" = "$(git rev-parse HEAD)" ]
}

@test "master is deployed like main; main wins when both are pushed" {
	run git push root@host:app1.git main:master
	assert_failure
	assert_output --partial "Deploy failed: VM 'app1' is not running"
	run git push root@host:app1.git main main:master
	assert_failure
	assert_output --partial 'Not deploying master: main is deployed'
}

@test "a push to a VM that is gone is refused" {
	rm -rf "$FCM_ROOT/vms/aaaa1111"
	run git push root@host:app1.git main
	assert_failure
}

@test "a running record but no live VMM is not running" {
	jq -c '.state="running"' "$FCM_ROOT/vms/aaaa1111/config.json" >"$BATS_TEST_TMPDIR/r"
	cp "$BATS_TEST_TMPDIR/r" "$FCM_ROOT/vms/aaaa1111/config.json"
	run git push root@host:app1.git main
	assert_failure
	assert_output --partial "is not running"
}

@test "the hook refuses bad input and a directory that is no app repo" {
	cd "$REPO"
	run fcm-deploy --hook <<<"not a ref line"
	assert_failure 100
	run fcm-deploy --hook <<<"$(printf '0%.0s' {1..40}) zzzz refs/heads/main"
	assert_failure 100
	cd "$BATS_TEST_TMPDIR"
	run fcm-deploy --hook </dev/null
	assert_failure 100
	assert_output --partial 'runs in an app repo under'
	run fcm-deploy
	assert_failure 100
	run fcm-deploy app1 '--upload-pack=x'
	assert_failure 100
	run fcm-deploy app1 'a..b'
	assert_failure 100
	run fcm-deploy app1
	assert_failure 100
	assert_output --partial 'nothing pushed to app1 yet'
}

@test "the deploy log is capped and rotated: past FCM_DEPLOY_LOG_MAX it becomes deploy.log.1" {
	export FCM_DEPLOY_LOG_MAX=4096
	log=$FCM_ROOT/vms/aaaa1111/deploy.log
	head -c 5000 /dev/zero | tr '\0' x > "$log"
	echo old-one > "$log.1"
	run git push root@host:app1.git main
	assert_failure
	# the full log moved aside (the older one gone); the new one holds this push only
	assert_equal "$(wc -c < "$log.1")" 5000
	run ! grep -q old-one "$log.1"
	grep -q "Deploy failed: VM 'app1' is not running" "$log"
	[ "$(wc -c < "$log")" -lt 4096 ]
	# below the cap, it is appended to
	run git push root@host:app1.git main
	[ "$(grep -c "Deploy failed: VM 'app1' is not running" "$log")" -eq 2 ]
	[ "$(wc -c < "$log.1")" -eq 5000 ]
}

# app1 as a running VM to fcm-deploy (its s6 service up and ready), with an
# `ssh` on PATH standing in for the guest: it takes the tar stream, then
# does what FAKE_GUEST says (flood: prints without end; hang: never ends).
fake_running_vm() {
	local svc=$FCM_ROOT/vms/aaaa1111/service i
	mkdir -p "$svc" "$BATS_TEST_TMPDIR/bin" "$FCM_ROOT/ssh"
	printf '#!/bin/sh\necho >&3\nexec sleep 600\n' > "$svc/run"
	chmod +x "$svc/run"
	echo 3 > "$svc/notification-fd"
	jq -c '.state="running"' "$FCM_ROOT/vms/aaaa1111/config.json" > "$BATS_TEST_TMPDIR/r"
	cp "$BATS_TEST_TMPDIR/r" "$FCM_ROOT/vms/aaaa1111/config.json"
	s6-supervise "$svc" > /dev/null 2>&1 3>&- &
	SUPERVISED=$svc
	for i in $(seq 100); do [ "$(s6-svstat -o ready "$svc" 2>/dev/null)" = true ] && break; sleep 0.1; done
	ssh-keygen -q -t ed25519 -N '' -f "$FCM_ROOT/ssh/id_ed25519"
	# its host key, recorded as fcm create records it (the stand-in never checks it)
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/hostkey"
	echo "fcm-aaaa1111 $(cat "$BATS_TEST_TMPDIR/hostkey.pub")" > "$FCM_ROOT/vms/aaaa1111/known_hosts"
	chmod 600 "$FCM_ROOT/vms/aaaa1111/known_hosts"
	cat > "$BATS_TEST_TMPDIR/bin/ssh" <<'SH'
#!/bin/bash
cat > /dev/null
case $FAKE_GUEST in
flood) echo '-----> Building'; exec yes 'a line of build output, again and again' ;;
hang) echo '-----> Building'; exec sleep 300 ;;
esac
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/ssh"
	export PATH=$BATS_TEST_TMPDIR/bin:$PATH
}

teardown() {
	# the service down and its s6-supervise gone (-x)
	if [ -n "${SUPERVISED:-}" ]; then
		s6-svc -dx "$SUPERVISED" 2>/dev/null || true
		for i in $(seq 50); do s6-svok "$SUPERVISED" 2>/dev/null || break; sleep 0.1; done
	fi
}

@test "a deploy that prints without end is stopped on the host at FCM_DEPLOY_OUTPUT_MAX; the push is refused" {
	fake_running_vm
	export FAKE_GUEST=flood FCM_DEPLOY_OUTPUT_MAX=100000
	run timeout 120 git push root@host:app1.git main
	assert_failure
	assert_output --partial 'remote: -----> Building'
	assert_output --partial 'remote: -----> Deploy failed: the deploy printed more than 100000 bytes (FCM_DEPLOY_OUTPUT_MAX): stopped'
	assert_output --partial '[remote rejected] main -> main (pre-receive hook declined)'
	# what reached the pusher and the log is bounded
	[ "$(wc -c < "$FCM_ROOT/vms/aaaa1111/deploy.log")" -lt 200000 ]
	run pgrep -f "yes a line of build output"
	assert_failure
}

@test "a deploy that never ends is stopped on the host at FCM_DEPLOY_HOST_TIMEOUT; the push is refused" {
	fake_running_vm
	export FAKE_GUEST=hang FCM_DEPLOY_HOST_TIMEOUT=3
	run timeout 120 git push root@host:app1.git main
	assert_failure
	assert_output --partial 'remote: -----> Deploy failed: the deploy ran longer than 3 s (FCM_DEPLOY_HOST_TIMEOUT): stopped'
	assert_output --partial '[remote rejected] main -> main (pre-receive hook declined)'
	[ "$(git -C "$REPO" rev-parse -q --verify refs/heads/main || echo none)" = none ]
}
