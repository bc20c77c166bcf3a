#!/usr/bin/env bats
# Remote mode — the commands through fcm (lib/cmd), fcm-console's WebSocket
# console — against fcm-api with fake VM records and stand-ins for the porcelain
# (test/api_helper.bash): the same arguments and the same output as the local
# commands.  Loopback only.
# The same scenarios against a real daemon and real guests: test/remote.bats.
load test_helper
load api_helper

setup() {
	make_stubs
	VM1=$(fake_vm cosmic-nova)
	fake_vm stellar-comet >/dev/null
	api_start
	export FCM_HOST=127.0.0.1:$API_PORT
	export FCM_TOKEN=$TOKEN
	C=${FCM_CLIENT_BIN:-$FCM_SRC/bin/fcm}
	CON=$FCM_SRC/bin/fcm-console	# FCM_HOST is set: remote
	TM=fcmrc-$$-$BATS_TEST_NUMBER
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	tmux -L "$TM" kill-server 2>/dev/null || true
	api_stop
	[ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
}

# --- the front end ----------------------------------------------------------------

@test "fcm console always runs fcm-console, which goes through the API when FCM_HOST is set" {
	d=$BATS_TEST_TMPDIR/fe
	mkdir -p "$d"
	printf '#!/bin/sh\necho "fcm-console $* host=${FCM_HOST:-}"\n' > "$d/fcm-console"
	chmod +x "$d/fcm-console"
	FCM_EXEC_PATH=$d FCM_HOST=127.0.0.1:9 run "$FCM_SRC/bin/fcm" console x
	assert_output "fcm-console x host=127.0.0.1:9"
	FCM_EXEC_PATH=$d FCM_HOST= run "$FCM_SRC/bin/fcm" console x
	assert_output "fcm-console x host="
	FCM_HOST=127.0.0.1:1 run "$CON" x
	assert_failure 111
	assert_output "fcm-console x: fatal: unable to reach the fcm API at 127.0.0.1:1: Couldn't connect to server"
}

@test "fcm console run by a user who is not root goes through the API; host-only options are refused" {
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	NOBODY_DIR=$(mktemp -d /tmp/fcm-remote.XXXXXX)
	chmod 755 "$NOBODY_DIR"
	cp "$CON" "$NOBODY_DIR/fcm-console"
	unset FCM_HOST FCM_TOKEN
	nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/nonexistent "$NOBODY_DIR/fcm-console" "$@"; }
	run nobody cosmic-nova
	assert_failure 100
	assert_output --partial "fcm-console cosmic-nova: fatal: no token for 127.0.0.1:7777"
	run nobody cosmic-nova --list
	assert_failure 100
	assert_output "fcm-console: fatal: 'fcm console --list' works on the host only: run it there as root"
}

@test "fcm ls through the front end reaches the API" {
	run fcm ls --json
	assert_success
	assert_equal "$(jq -r .name <<< "$output" | sort | tr '\n' ' ')" "cosmic-nova stellar-comet "
	grep -q 'GET /v1/vms 200 admin' "$API_LOG"
}

# --- same output as local ------------------------------------------------------------

@test "ls --json: byte for byte what the local fcm-ls prints" {
	run "$C" ls --json
	assert_success
	assert_equal "$output" "$("$FCM_SRC/bin/fcm-ls" --json)"
	run "$C" ls cosmic-nova
	assert_equal "$output" "$("$FCM_SRC/bin/fcm-ls" cosmic-nova)"
}

@test "ls on a terminal: the same table as the local fcm-ls" {
	run script -qec "$C ls" /dev/null
	assert_success
	assert_line -n 0 --regexp '^NAME +STATE +IP +URL +CPUS +MEM +DISK +GIT +AGE'
	assert_equal "$output" "$(script -qec "$FCM_SRC/bin/fcm-ls" /dev/null)"
}

@test "ls --owner filters; ls of an unknown VM fails as locally" {
	fake_vm alice-app alice >/dev/null
	run "$C" ls --owner alice
	assert_output --partial '"name":"alice-app"'
	assert_equal "${#lines[@]}" 1
	run "$C" ls nope
	assert_failure 100
	assert_output "fcm-ls: fatal: no VM named 'nope' (see 'fcm ls')"
	run "$C" ls nope --json
	assert_failure 100
	assert_line "{\"ok\":false,\"error\":\"no VM named 'nope' (see 'fcm ls')\"}"
	run "$C" ls Bad_Name
	assert_failure 100
	assert_output --partial "uppercase letter"
}

@test "create: JSON with ok, .fcm with the host, the summary on a terminal" {
	run "$C" create --name lunar-peak --cpus 2 --memory 2048 --disk 4G --expose 3000 --json
	assert_success
	[ "$(jq -r '[.ok,.name,.cpus,.memory,.disk,.expose.port] | join(" ")' <<< "$output")" = "true lunar-peak 2 2048 4G 3000" ]
	[ "$(jq -r .name .fcm)" = lunar-peak ]
	[ "$(jq -r .host .fcm)" = "$FCM_HOST" ]
	grep -q -- 'fcm-create --name lunar-peak --cpus 2 --memory 2048 --disk 4G --expose 3000 --owner admin --no-dotfile --json' \
		"$FCM_ROOT/calls.log"
	rm .fcm
	run script -qec "$C create --name solar-grove --no-expose --no-dotfile" /dev/null
	assert_success
	assert_line -n 0 --regexp '^VM created: solar-grove'
	assert_line --regexp '^  Git: root@host:solar-grove\.git'
	[ ! -e .fcm ]
}

@test "create: a name in use, bad options, --ssh-key: exit 100 with the local messages" {
	run "$C" create --name cosmic-nova
	assert_failure 100
	assert_output "fcm-create: fatal: name 'cosmic-nova' is already used by a VM: choose another, or leave it out for a fresh one"
	run "$C" create --name cosmic-nova --json
	assert_failure 100
	assert_line --partial '{"ok":false,"error":"name '"'"'cosmic-nova'"'"' is already used'
	run "$C" create --cpus many
	assert_failure 100
	assert_output --partial "--cpus takes a whole number"
	run "$C" create --bogus
	assert_failure 100
	assert_output --partial "unknown option or missing value '--bogus'"
	run "$C" create --ssh-key ~/.ssh/id.pub
	assert_failure 100
	assert_output --partial "--ssh-key works on the host only"
	run "$C" create extra
	assert_failure 100
	[ ! -e .fcm ]
}

@test "start, stop, destroy: by name or from .fcm; prose on a terminal, JSON otherwise" {
	echo '{"name":"cosmic-nova"}' > .fcm
	mkdir -p sub/dir
	cd sub/dir
	run "$C" stop
	assert_success
	assert_output "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"stopped\"}"
	run script -qec "$C start" /dev/null
	assert_output --regexp '^VM cosmic-nova: running'
	run "$C" start --no-wait --json stellar-comet
	assert_success
	grep -q -- 'fcm-start --json --no-wait -- stellar-comet' "$FCM_ROOT/calls.log"
	run script -qec "$C destroy stellar-comet" /dev/null
	assert_output --regexp '^VM stellar-comet destroyed'
	run "$C" destroy stellar-comet
	assert_failure 100
	assert_output "fcm-destroy: fatal: no VM named 'stellar-comet' (see 'fcm ls')"
	cd "$BATS_TEST_TMPDIR" && rm .fcm
	run "$C" stop
	assert_failure 100
	assert_output "fcm-stop: fatal: no VM given and no .fcm file here: name a VM (see 'fcm ls')"
	run "$C" stop a b
	assert_failure 100
	assert_output --partial "one VM at a time"
}

@test "logs: text; -n and --deploy passed on; -f streams until stopped" {
	run "$C" logs cosmic-nova -n 2
	assert_success
	assert_output $'log line 1 of cosmic-nova\nlog line 2 of cosmic-nova'
	"$C" logs cosmic-nova --deploy >/dev/null
	grep -q -- 'fcm-logs -n 100 --deploy -- cosmic-nova' "$FCM_ROOT/calls.log"
	run timeout 2 "$C" logs -f -n 1 cosmic-nova
	assert_line -n 0 'log line 1 of cosmic-nova'
	assert_line -n 1 'tick 1'
	run "$C" logs ghost
	assert_failure 100
	assert_output "fcm-logs: fatal: no VM named 'ghost' (see 'fcm ls')"
	run "$C" logs -n lots cosmic-nova
	assert_failure 100
}

# --- tokens and hosts -------------------------------------------------------------------

@test "the token: FCM_TOKEN, else ~/.fcm-token (warned when others can read it), else none" {
	unset FCM_TOKEN
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	mv "$FCM_ROOT/.token" "$BATS_TEST_TMPDIR/admin-token"   # not on this host, say
	run "$C" ls
	assert_failure 100
	assert_output --partial "no token for $FCM_HOST: set FCM_TOKEN or write it to ~/.fcm-token"
	cp "$BATS_TEST_TMPDIR/admin-token" "$HOME/.fcm-token"
	chmod 600 "$HOME/.fcm-token"
	mv "$BATS_TEST_TMPDIR/admin-token" "$FCM_ROOT/.token"
	run "$C" ls --json
	assert_success
	refute_output --partial warning
	chmod 644 "$HOME/.fcm-token"
	run "$C" ls --json
	assert_success
	assert_line "fcm-ls: warning: $HOME/.fcm-token is readable by others: chmod 600 $HOME/.fcm-token"
	echo nonsense > "$HOME/.fcm-token"
	run "$C" ls
	assert_failure 100
	assert_output --partial "does not hold a token"
}

@test "root on the host needs no token file: the admin token is read from FCM_ROOT" {
	unset FCM_TOKEN
	HOME=$BATS_TEST_TMPDIR/nohome run "$C" ls --json
	assert_success
}

@test "a wrong or malformed token, an unreachable or bad host: clear errors, 100 or 111" {
	FCM_TOKEN=$(printf '0%.0s' $(seq 64)) run "$C" ls
	assert_failure 100
	assert_output "fcm-ls: fatal: invalid token"
	FCM_TOKEN='abc
Injected: 1' run "$C" ls
	assert_failure 100
	assert_output --partial "FCM_TOKEN is not a token"
	FCM_HOST=127.0.0.1:1 run "$C" ls
	assert_failure 111
	assert_output --partial "unable to reach the fcm API at 127.0.0.1:1"
	FCM_HOST='http://user:pw@127.0.0.1:1' run "$C" ls
	assert_failure 100
	FCM_HOST="http://127.0.0.1:$API_PORT/" run "$C" ls --json
	assert_success
	run "$C" keys
	assert_failure 100
	assert_output --partial "'keys' does not work over the API"
	run "$C" ls --help
	assert_success
	assert_output --partial 'usage: fcm ls'
}

# --- console -------------------------------------------------------------------------------

@test "console with piped input: output, then the session's exit status" {
	run bash -c "printf 'echo hi-\$((40+2))\nexit 3\n' | timeout 20 $CON cosmic-nova"
	assert_failure 3
	assert_output --partial 'hi-42'
	assert_line --partial '[session ended: exit status 3]'
}

@test "console: Ctrl-] detaches and says how to come back; the session keeps running" {
	run bash -c "(printf 'Z=kept-\$((6*7))\n'; sleep 1; printf '\035') | timeout 20 $CON cosmic-nova"
	assert_success
	assert_line --partial '[detached — reattach with: fcm console cosmic-nova]'
	run bash -c "(printf 'echo \$Z\n'; sleep 1; printf '\035') | timeout 20 $CON cosmic-nova"
	assert_success
	assert_output --partial 'kept-42'
}

@test "console: errors as locally: unknown VM, bad options; host-only options run here" {
	run $CON ghost
	assert_failure 100
	assert_output "fcm-console ghost: fatal: no VM named 'ghost' (see 'fcm ls')"
	# host-only options run on the host, whatever FCM_HOST says
	run $CON cosmic-nova --list --json
	assert_success
	run $CON cosmic-nova --serial --session x
	assert_failure 100
}

@test "console in a terminal (tmux): raw keys, window size and resize, Ctrl-] detach, terminal restored" {
	tm() { tmux -L "$TM" "$@"; }
	tm -f /dev/null new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tm set -g status off
	tm set -g remain-on-exit on
	# icanon alone on its line: the terminal is cooked ("-icanon" when raw).
	tm send-keys -t t "stty -a | tr ' ' '\n' | grep -x icanon > $BATS_TEST_TMPDIR/before; $CON cosmic-nova; stty -a | tr ' ' '\n' | grep -x icanon > $BATS_TEST_TMPDIR/after" Enter
	for i in $(seq 50); do tm capture-pane -p -t t | grep -q '#' && break; sleep 0.2; done
	tm send-keys -t t 'stty size' Enter
	for i in $(seq 50); do tm capture-pane -p -t t | grep -qE '^(# )?30 100$' && break; sleep 0.2; done
	run tm capture-pane -p -t t
	assert_line --regexp '^(# )?30 100$'	# typed ahead, the prompt may come first
	tm resize-window -t t -x 120 -y 40
	sleep 0.5
	tm send-keys -t t 'stty size' Enter
	for i in $(seq 50); do tm capture-pane -p -t t | grep -qE '^(# )?40 120$' && break; sleep 0.2; done
	run tm capture-pane -p -t t
	assert_line --regexp '^(# )?40 120$'	# typed ahead, the prompt may come first
	tm send-keys -t t C-]
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/after" ] && break; sleep 0.2; done
	run tm capture-pane -p -t t -S -50
	assert_output --partial '[detached — reattach with: fcm console cosmic-nova]'
	# The shell's terminal is cooked again, as before.
	assert_equal "$(cat "$BATS_TEST_TMPDIR/before")" icanon
	assert_equal "$(cat "$BATS_TEST_TMPDIR/after")" icanon
}

@test "console in a terminal: SIGTERM restores the terminal, says one line, exits 143; the session goes on" {
	tm() { tmux -L "$TM" "$@"; }
	tm -f /dev/null new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tm set -g status off
	tm send-keys -t t "$(sigterm_cmd "$CON cosmic-nova")" Enter
	assert_sigterm_detaches t fcm-console "fcm console cosmic-nova"
	run "$FCM_SRC/bin/fcm-tty" status "$FCM_ROOT/vms/$VM1/console.sock"
	assert_success
}
