#!/usr/bin/env bats
# fcm-git-shell: the forced command of fcm's keys allows git to the key's own
# apps and nothing else.
load test_helper

# make_vm NAME ID OWNER [STATE]: a VM record and its repo.
make_vm() {
	mkdir -p "$FCM_ROOT/vms/$2"
	jq -nc --arg n "$1" --arg i "$2" --arg o "$3" --arg s "${4:-stopped}" \
	    '{id:$i,name:$n,owner:$o,state:$s,ip:"10.0.0.9",created_at:1}' >"$FCM_ROOT/vms/$2/config.json"
	fcm-repo create id="$2" name="$1" owner="$3" >/dev/null
}

setup() {
	export FCM_PUBLIC_IP=10.9.8.7
	K=$BATS_TEST_TMPDIR/keys
	mkdir -p "$K"
	ssh-keygen -q -t ed25519 -N '' -C admin -f "$K/admin"
	ssh-keygen -q -t ed25519 -N '' -C alice -f "$K/alice"
	ssh-keygen -q -t ed25519 -N '' -C bob -f "$K/bob"
	ADMIN=$(fcm keys add --admin "$K/admin.pub" | jq -r .key.id)
	ALICE=$(fcm keys add --owner alice "$K/alice.pub" | jq -r .key.id)
	BOB=$(fcm keys add --owner bob "$K/bob.pub" | jq -r .key.id)
	make_vm alice-app aaaa1111 alice
	make_vm bob-app bbbb2222 bob
	SNAP=$(tree_snapshot "$FCM_ROOT")
}

# gsh KEY COMMAND: the forced command as sshd runs it.
gsh() {
	local key=$1
	shift
	if [ $# -gt 0 ]; then
		SSH_ORIGINAL_COMMAND=$1 fcm-git-shell --root "$FCM_ROOT" "$key" </dev/null
	else
		env -u SSH_ORIGINAL_COMMAND fcm-git-shell --root "$FCM_ROOT" "$key" </dev/null
	fi
}

unchanged() { [ "$SNAP" = "$(tree_snapshot "$FCM_ROOT")" ]; }

@test "a shell, 'ssh host ls' and other commands are refused" {
	for cmd in "" ls "sh -c id" "bash" "git-upload-archive 'alice-app.git'" \
	    "git-receive-pack" "git-receive-pack 'alice-app.git'; id" "git-receive-pack 'alice-app.git' x" \
	    "git receive-pack" "scp -t /tmp" "rsync --server . /"; do
		run gsh "$ALICE" "$cmd"
		assert_failure 100
		[ "${#lines[@]}" -eq 1 ]
		assert_output --regexp '^fcm-git-shell: fatal: '
	done
	run gsh "$ALICE"
	assert_failure 100
	assert_output --partial 'no shell here'
	unchanged
}

@test "paths outside the repos are refused" {
	for p in "'../../etc'" "'../../etc.git'" "'/etc/passwd'" "'/etc'" "'/var/lib/x.git'" \
	    "'alice-app.git/../bob-app.git'" "'alice-app/../../x.git'" "'~/alice-app.git'" \
	    "'alice-app.git/'" "'.git'" "'Alice-App.git'" "\"alice-app.git\"" "'alice-app.git" \
	    "'a'b'" "''"; do
		run gsh "$ADMIN" "git-receive-pack $p"
		assert_failure 100
		assert_output --regexp '^fcm-git-shell: fatal: '
	done
	unchanged
}

@test "a missing repo is refused" {
	run gsh "$ADMIN" "git-receive-pack 'nope.git'"
	assert_failure 100
	assert_output --partial "no app 'nope' here"
	unchanged
}

@test "an unknown key and a bad key id are refused" {
	run gsh 0123456789ab "git-receive-pack 'alice-app.git'"
	assert_failure 100
	assert_output --partial 'not known to fcm'
	run gsh '../x' "git-receive-pack 'alice-app.git'"
	assert_failure 100
	fcm keys rm "$BOB" >/dev/null
	SNAP=$(tree_snapshot "$FCM_ROOT")
	run gsh "$BOB" "git-receive-pack 'bob-app.git'"
	assert_failure 100
	unchanged
}

@test "a key pushing to another user's repo is refused" {
	run gsh "$BOB" "git-receive-pack 'alice-app.git'"
	assert_failure 100
	assert_output --partial "app 'alice-app' is not yours"
	run gsh "$BOB" "git-upload-pack 'alice-app.git'"
	assert_failure 100
	unchanged
}

@test "a real push with another user's key is refused and writes nothing" {
	git init -q -b main "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	echo hi >f && git add f && git -c user.name=t -c user.email=t@t commit -qm one
	export GIT_SSH_COMMAND="$FCM_SRC/test/deploy/fake-ssh" FAKE_SSH_KEY=$BOB
	run git push root@host:alice-app.git main
	assert_failure
	assert_output --partial "app 'alice-app' is not yours"
	unchanged
}

@test "the owner's key and an admin key may fetch; every accepted spelling works" {
	for cmd in "git-upload-pack 'alice-app.git'" "git-upload-pack '/alice-app.git'" \
	    "git upload-pack 'alice-app.git'" "git-upload-pack alice-app.git" "git-upload-pack 'alice-app'"; do
		# git itself answers: its (empty) advertisement, then EOF on stdin
		run gsh "$ALICE" "$cmd"
		[ "$status" -ne 100 ]
		refute_output --partial 'fcm-git-shell'
		assert_output --regexp '^0000'
	done
	run gsh "$ADMIN" "git-upload-pack 'bob-app.git'"
	assert_output --regexp '^0000' 
	export GIT_SSH_COMMAND="$FCM_SRC/test/deploy/fake-ssh" FAKE_SSH_KEY=$ALICE
	run git clone -q root@host:alice-app.git "$BATS_TEST_TMPDIR/clone"
	assert_success
	unchanged
}

@test "pushed objects are checked: a malformed commit is refused, a good one accepted" {
	git init -q -b main "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	export GIT_SSH_COMMAND="$FCM_SRC/test/deploy/fake-ssh" FAKE_SSH_KEY=$ALICE
	tree=$(git mktree </dev/null)
	bad=$(printf 'tree %s\nauthor nobody <x> notadate\ncommitter nobody <x> notadate\n\nbad\n' "$tree" |
		git hash-object -t commit -w --stdin --literally)
	run git push root@host:alice-app.git "$bad:refs/heads/feature"
	assert_failure
	assert_output --partial "fsck"
	run git --git-dir="$FCM_ROOT/git/alice-app.git" rev-parse -q --verify refs/heads/feature
	assert_failure
	echo hi >f && git add f && git -c user.name=t -c user.email=t@t commit -qm one
	run git push root@host:alice-app.git main:feature
	assert_success
	# what the push wrote is root's alone
	run find "$FCM_ROOT/git" -perm /077
	assert_output ""
}

@test "a push larger than FCM_PUSH_MAX is refused; a bad FCM_PUSH_MAX is said plainly" {
	git init -q -b main "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	export GIT_SSH_COMMAND="$FCM_SRC/test/deploy/fake-ssh" FAKE_SSH_KEY=$ALICE
	head -c 200000 /dev/urandom >big && git add big && git -c user.name=t -c user.email=t@t commit -qm big
	FCM_PUSH_MAX=50k run git push root@host:alice-app.git main:feature
	assert_failure
	assert_output --partial "maximum allowed size"
	FCM_PUSH_MAX=lots run git push root@host:alice-app.git main:feature
	assert_failure
	assert_output --partial "FCM_PUSH_MAX must be a size such as 512m or 2g, not 'lots'"
	run git --git-dir="$FCM_ROOT/git/alice-app.git" rev-parse -q --verify refs/heads/feature
	assert_failure
	FCM_PUSH_MAX=1m run git push root@host:alice-app.git main:feature
	assert_success
}
