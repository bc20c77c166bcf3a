#!/usr/bin/env bats
# Shell completion (completion/fcm.bash, completion/_fcm) through bash's own
# machinery (complete -p, COMP_WORDS/COMP_CWORD, COMPREPLY) and zsh with a
# stand-in compadd.  VM names come from fake records in FCM_ROOT: no guest.
load test_helper

setup() {
	local n id=10
	for n in alpha-one beta-two; do
		id=$((id + 1))
		mkdir -p "$FCM_ROOT/vms/vm0000$id"
		printf '{"id":"vm0000%s","name":"%s","ip":"172.16.0.%s","state":"stopped","expose":{"port":8000,"domain":"%s.example"},"cpus":1,"memory":1024,"disk":"2G","owner":"admin","created_at":1764000000}\n' \
			"$id" "$n" "$((id + 40))" "$n" > "$FCM_ROOT/vms/vm0000$id/config.json"
	done
	PLUGDIR=$BATS_TEST_TMPDIR/plugins-on-path
	mkdir -p "$PLUGDIR"
	printf '#!/bin/sh\n# fcm-description: a test plugin\n' > "$PLUGDIR/fcm-crumble"
	chmod +x "$PLUGDIR/fcm-crumble"
}

# comp WORD...: what bash completes for the command line WORD... (the last
# word is the one under the cursor), one candidate a line.
comp() {
	PATH="$PLUGDIR:$PATH" bash -c '
		source "$FCM_SRC/completion/fcm.bash"
		[ "$(complete -p fcm)" = "complete -F _fcm fcm" ] || { echo "not registered: $(complete -p fcm)"; exit 1; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		$(complete -p fcm | sed -n "s/.* -F \([^ ]*\) .*/\1/p") fcm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' comp "$@"
}

@test "bash: fcm cr<TAB> completes to create, and plugins on PATH are commands" {
	run comp fcm cr
	assert_success
	assert_output $'create\ncrumble'
	run comp fcm creat
	assert_output create
	run comp fcm ""
	assert_line stop
	assert_line destroy
	assert_line keys
	assert_line name
}

@test "bash: fcm stop <TAB> completes the VM names from fcm ls --json" {
	run comp fcm stop ""
	assert_success
	assert_output $'alpha-one\nbeta-two'
	run comp fcm destroy b
	assert_output beta-two
	run comp fcm logs al
	assert_output alpha-one
}

@test "bash: options come from the command's definition, subcommands from its table" {
	run comp fcm create --c
	assert_output --cpus
	run comp fcm create --no-
	assert_output $'--no-expose\n--no-wait\n--no-dotfile'
	# an option that takes a value: no VM names, no options
	run comp fcm create --name ""
	assert_output ""
	run comp fcm keys ""
	assert_line add
	assert_line rm
	refute_line alpha-one
	run comp fcm keys add --ad
	assert_output --admin
}

@test "bash: with FCM_HOST the names are asked of that daemon: none, and no noise, when it cannot be reached" {
	FCM_HOST=127.0.0.1:9 run comp fcm stop ""
	assert_success
	assert_output ""
}

@test "zsh: the same completions from _fcm" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	zcomp() {
		PATH="$PLUGDIR:$PATH" zsh -f -c '
			compadd() { [ "$1" = -- ] && shift; print -l -- "$@"; }
			_files() { print FILES; }
			words=("$@"); CURRENT=$#
			source "$FCM_SRC/completion/_fcm"' zcomp "$@"
	}
	run zcomp fcm cr
	assert_line create
	assert_line crumble
	run zcomp fcm stop ""
	assert_output $'alpha-one\nbeta-two'
	run zcomp fcm create --name ""
	assert_output FILES
	run zcomp fcm keys ""
	assert_line add
}
