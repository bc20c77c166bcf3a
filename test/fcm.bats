#!/usr/bin/env bats
# The front end: dispatch, help, plugins, version, unknown commands.
load test_helper

setup() {
	PLUGDIR=$BATS_TEST_TMPDIR/plugins-on-path
	mkdir -p "$PLUGDIR"
	cat > "$PLUGDIR/fcm-hello" <<'SH'
#!/bin/sh
# fcm-description: say hello with the arguments
echo "hello $# [$1] [$2] root=$FCM_ROOT host=$FCM_HOST version=$FCM_VERSION"
SH
	chmod +x "$PLUGDIR/fcm-hello"
}

@test "fcm --version prints the version and the state format" {
	run fcm --version
	assert_success
	assert_output --regexp '^fcm version [0-9]+\.[0-9]+\.[0-9]+ \(state format [0-9]+\)$'
}

@test "a plugin on PATH runs with its arguments and the fcm environment" {
	PATH="$PLUGDIR:$PATH" run fcm hello a 'b c'
	assert_success
	assert_output "hello 2 [a] [b c] root=$FCM_ROOT host= version=$(fcm --version | cut -d' ' -f3)"
}

@test "FCM_HOST given by the user reaches the plugin" {
	PATH="$PLUGDIR:$PATH" FCM_HOST=10.9.8.7:1234 run fcm hello
	assert_success
	assert_output --partial "host=10.9.8.7:1234"
}

@test "fcm help lists built-in commands and plugins with a description" {
	PATH="$PLUGDIR:$PATH" run fcm help
	assert_success
	assert_line --regexp '^   name +a fresh VM name'
	assert_line --regexp '^   hello +say hello with the arguments$'
}

@test "a plugin in plugins/ is found" {
	mkdir -p "$BATS_TEST_TMPDIR/pl"
	printf '#!/bin/sh\necho from-plugins-dir "$@"\n' > "$BATS_TEST_TMPDIR/pl/fcm-zap"
	chmod +x "$BATS_TEST_TMPDIR/pl/fcm-zap"
	FCM_PLUGINS=$BATS_TEST_TMPDIR/pl run fcm zap 1
	assert_success
	assert_output "from-plugins-dir 1"
}

@test "a built-in command wins over a plugin of the same name" {
	printf '#!/bin/sh\necho impostor\n' > "$PLUGDIR/fcm-name"
	chmod +x "$PLUGDIR/fcm-name"
	PATH="$PLUGDIR:$PATH" run fcm name
	assert_success
	refute_output --partial impostor
	assert_output --regexp '^\{"ok":true,"name":"[a-z]+-[a-z]+"\}$'
}

@test "an unknown command is refused with a suggestion" {
	run fcm nmae
	assert_failure 100
	assert_line --index 0 "fcm: 'nmae' is not an fcm command. See 'fcm help'."
	assert_output --partial $'\tname'
}

@test "an unknown command with no close match has no suggestion" {
	run fcm zzzzzzzzzz
	assert_failure 100
	assert_output "fcm: 'zzzzzzzzzz' is not an fcm command. See 'fcm help'."
}

@test "path tricks are not commands" {
	run fcm ../bin/fcm-name
	assert_failure 100
	assert_output --partial "is not an fcm command"
	run fcm "$(printf 'na\xffme')"
	assert_failure 100
}

@test "fcm help <cmd> shows its man page, fcm <cmd> --help its usage" {
	run fcm help name
	assert_success
	assert_output --partial "fcm-name — a fresh VM name"
	run fcm name --help
	assert_success
	assert_output --partial "usage: fcm-name"
}

@test "fcm with an unknown option says so" {
	run fcm --bogus
	assert_failure 100
	assert_output --partial "unknown option '--bogus'"
}

@test "a relative or odd FCM_ROOT is refused" {
	FCM_ROOT=relative/path run fcm-name
	assert_failure 100
	assert_output --partial "FCM_ROOT must be an absolute path"
}

@test "the host saved by fcm login (~/.fcm-host) makes VM commands remote" {
	mkdir -p "$BATS_TEST_TMPDIR/home"
	echo '127.0.0.1:1' > "$BATS_TEST_TMPDIR/home/.fcm-host"
	HOME=$BATS_TEST_TMPDIR/home run fcm ls
	assert_failure
	assert_output --partial "no token for 127.0.0.1:1"
	# FCM_HOST given by the user wins over the saved one.
	HOME=$BATS_TEST_TMPDIR/home FCM_HOST=127.0.0.1:2 run fcm ls
	assert_output --partial "no token for 127.0.0.1:2"
}

@test "plugins/ ships fcm ssh; fcm help lists it; it refuses a VM that is not running" {
	run fcm help
	assert_line --regexp '^   ssh +run a command in a VM over ssh'
	run fcm ssh
	assert_failure 100
	assert_output --partial "usage: fcm ssh VM"
	mkdir -p "$FCM_ROOT/vms/abcd1234"
	echo '{"id":"abcd1234","name":"sleepy","state":"stopped","ip":"172.16.0.50"}' > "$FCM_ROOT/vms/abcd1234/config.json"
	run fcm ssh sleepy true
	assert_failure 100
	assert_output "fcm-ssh: fatal: VM 'sleepy' is not running: start it with 'fcm start sleepy'"
	run fcm ssh nosuch true
	assert_failure 100
	assert_output --partial "no VM named 'nosuch'"
}
