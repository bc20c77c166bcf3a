#!/usr/bin/env bats
# fcm-repo: the bare git repo of each VM, its deploy hook and its remote.
load test_helper

setup() {
	export FCM_PUBLIC_IP=10.9.8.7
	unset FCM_GIT_HOST FCM_GIT_PORT
}

@test "create makes a bare repo with the deploy hook and answers the git remote" {
	run fcm-repo create id=abcd1234 name=cosmic-nova owner=admin
	assert_success
	assert_output "{\"ok\":true,\"path\":\"$FCM_ROOT/git/cosmic-nova.git\",\"git\":\"root@10.9.8.7:cosmic-nova.git\"}"
	repo=$FCM_ROOT/git/cosmic-nova.git
	[ "$(git --git-dir="$repo" rev-parse --is-bare-repository)" = true ]
	[ -x "$repo/hooks/pre-receive" ]
	grep -qF "exec '$FCM_SRC/bin/fcm-deploy' --hook" "$repo/hooks/pre-receive"
	grep -qF "FCM_ROOT='$FCM_ROOT'" "$repo/hooks/pre-receive"
	[ "$(jq -r .owner "$repo/fcm.json")" = admin ]
	[ "$(jq -r .id "$repo/fcm.json")" = abcd1234 ]
	# no temporary directories left beside it
	[ "$(ls -A "$FCM_ROOT/git" | grep -v '^\.lock$')" = cosmic-nova.git ]
}

@test "the repo is the layout git init --bare makes; git accepts it and a push runs the hook" {
	# fcm-repo writes the layout itself (no git process): the same as git's,
	# plus the hook and fcm.json.
	fcm-repo create id=abcd1234 name=cosmic-nova owner=admin
	repo=$FCM_ROOT/git/cosmic-nova.git
	git init --quiet --bare --template= --shared=0600 --initial-branch=main "$BATS_TEST_TMPDIR/ref.git"
	layout() { (cd "$1" && find . ! -path ./fcm.json ! -path './hooks*' -printf '%M %P\n' | sort); }
	[ "$(layout "$repo")" = "$(layout "$BATS_TEST_TMPDIR/ref.git")" ]
	[ "$(stat -c %a "$repo/fcm.json" "$repo/hooks")" = "$(printf '600\n700')" ]
	[ "$(git --git-dir="$repo" symbolic-ref HEAD)" = refs/heads/main ]
	run git --git-dir="$repo" config --file "$repo/config" --list
	assert_output "core.repositoryformatversion=0
core.filemode=true
core.bare=true
core.sharedrepository=0600
receive.denynonfastforwards=false
receive.denydeletecurrent=true
receive.fsckobjects=true"
	run git --git-dir="$repo" fsck --strict
	assert_success
	work=$BATS_TEST_TMPDIR/work
	git init --quiet --initial-branch=main "$work"
	git -C "$work" -c user.name=t -c user.email=t@example.org commit --quiet --allow-empty -m one
	run git -C "$work" push "$repo" main:feature
	assert_success
	assert_output --partial 'Not deploying feature'	# the pre-receive hook ran
	[ "$(git --git-dir="$repo" rev-parse feature)" = "$(git -C "$work" rev-parse main)" ]
	# pushed objects are root's alone, as core.sharedrepository says
	[ -z "$(find "$repo/objects" -type f ! -perm 0400)" ]
	run git -C "$work" push "$repo" main
	assert_failure
	assert_output --partial "there is no VM 'cosmic-nova'"	# the hook refused it
	run git --git-dir="$repo" fsck --strict
	assert_success
}

@test "create is idempotent for the same VM and refuses another VM's repo" {
	fcm-repo create id=abcd1234 name=cosmic-nova
	run fcm-repo create id=abcd1234 name=cosmic-nova
	assert_success
	before=$(tree_snapshot "$FCM_ROOT/git")
	run fcm-repo create id=zzzz9999 name=cosmic-nova
	assert_failure 100
	assert_output --partial 'belongs to VM abcd1234'
	[ "$before" = "$(tree_snapshot "$FCM_ROOT/git")" ]
}

@test "FCM_GIT_HOST and FCM_GIT_PORT name the remote" {
	FCM_GIT_HOST=git.example.org run fcm-repo show name=cosmic-nova
	assert_success
	assert_output --partial '"git":"root@git.example.org:cosmic-nova.git","exists":false'
	FCM_GIT_HOST=10.0.0.1 FCM_GIT_PORT=2222 run fcm-repo show name=x
	assert_output --partial '"git":"ssh://root@10.0.0.1:2222/x.git"'
	FCM_GIT_HOST='a;b' run fcm-repo show name=x
	assert_failure 100
	assert_output --partial 'FCM_GIT_HOST is neither'
	FCM_GIT_PORT=99999 run fcm-repo show name=x
	assert_failure 100
}

@test "bad names, ids and owners are refused and nothing is made" {
	for args in "id=abcd1234 name=../etc" "id=abcd1234 name=Foo" "id=../../x name=ok" \
	    "id=abcd1234 name=ok owner=a;b" "id=abcd1234 name=ok owner=-x" "id=abcd1234 name=ok extra=1"; do
		run fcm-repo create $args
		assert_failure 100
	done
	[ -z "$(ls -A "$FCM_ROOT/git" 2>/dev/null | grep -v '^\.lock$')" ]
}

@test "delete removes the repo and is idempotent" {
	fcm-repo create id=abcd1234 name=cosmic-nova
	run fcm-repo delete name=cosmic-nova
	assert_success
	assert_output '{"ok":true}'
	[ ! -e "$FCM_ROOT/git/cosmic-nova.git" ]
	run fcm-repo delete name=cosmic-nova
	assert_success
	run fcm-repo delete name=../x
	assert_failure 100
}

@test "JSON lines on stdin, one reply each" {
	run fcm-repo <<-'EOF'
	{"op":"create","id":"abcd1234","name":"a1","owner":"admin"}
	{"op":"delete","name":"a1"}
	{"op":"nope"}
	EOF
	assert_failure 100
	[ "${#lines[@]}" -ge 3 ]
	[[ ${lines[0]} == '{"ok":true,'* ]]
	[ "${lines[1]}" = '{"ok":true}' ]
}

# --- fcm remote ----------------------------------------------------------------

make_vm_record() {
	mkdir -p "$FCM_ROOT/vms/$2"
	jq -nc --arg n "$1" --arg i "$2" '{id:$i,name:$n,owner:"admin",created_at:1}' >"$FCM_ROOT/vms/$2/config.json"
}

@test "fcm remote adds origin, is idempotent, and refuses a remote pointing elsewhere" {
	make_vm_record cosmic-nova abcd1234
	fcm-repo create id=abcd1234 name=cosmic-nova >/dev/null
	git init -q "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	run fcm remote cosmic-nova
	assert_success
	[ "$(jq -r .added <<<"$output")" = true ]
	[ "$(git remote get-url origin)" = "root@10.9.8.7:cosmic-nova.git" ]
	run fcm remote cosmic-nova
	assert_success
	[ "$(jq -r .added <<<"$output")" = false ]
	git remote set-url origin https://example.org/x.git
	run fcm remote cosmic-nova
	assert_failure 100
	assert_output --partial "remote 'origin' already points to https://example.org/x.git"
	run fcm remote cosmic-nova --name fcm
	assert_success
	[ "$(git remote get-url fcm)" = "root@10.9.8.7:cosmic-nova.git" ]
}

@test "fcm remote: the VM from .fcm; refusals" {
	make_vm_record cosmic-nova abcd1234
	git init -q "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	echo '{"name":"cosmic-nova","id":"abcd1234"}' >.fcm
	run fcm remote
	assert_success
	[ "$(git remote get-url origin)" = "root@10.9.8.7:cosmic-nova.git" ]
	run fcm remote no-such-vm
	assert_failure 100
	run fcm remote cosmic-nova --name '-x'
	assert_failure 100
	run fcm remote cosmic-nova --name 'a b'
	assert_failure 100
	cd "$BATS_TEST_TMPDIR"
	run fcm remote cosmic-nova
	assert_failure 100
	assert_output --partial 'not in a git repository'
}
