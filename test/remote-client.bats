#!/usr/bin/env bats
# The front end's remote mode: `fcm <command>` with FCM_HOST (or not root)
# sends the request to fcm-api and prints what the command prints locally —
# the same arguments, the same output.  A real fcm daemon, the real commands
# behind the API and real VMs, inside a network namespace
# (test/api_helper.bash); the console through fcm-console's WebSocket.
# Every command line, good and bad, locally and remotely: test/parity.bats;
# remote mode with real guests: test/remote.bats.
load test_helper
load api_helper

setup_file() { api_setup_file rc; }
teardown_file() { api_teardown_file; }

setup() {
	api_setup
	export FCM_HOST=127.0.0.1:$API_PORT
	export FCM_TOKEN=$TOKEN
	C=${FCM_CLIENT_BIN:-$FCM_SRC/bin/fcm}
	CON=$FCM_SRC/bin/fcm-console	# FCM_HOST is set: remote
	TM=fcmrc-$$-$BATS_TEST_NUMBER
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	tmux -L "$TM" kill-server 2>/dev/null || true
	api_teardown
	[ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
}

# fcm in remote mode (FCM_HOST and FCM_TOKEN from setup), in the namespace.
rfcm() { ip netns exec "$NS" "$FCM_SRC/bin/fcm" "$@"; }
# On a terminal: rtty and ltty run a command line with and without FCM_HOST.
rtty() { ip netns exec "$NS" script -qec "$1" /dev/null | tr -d '\r'; }
ltty() { ip netns exec "$NS" env -u FCM_HOST -u FCM_TOKEN script -qec "$1" /dev/null | tr -d '\r'; }
api_requests() { grep -c "fcm-api: info: 127.0.0.1 " "$API_LOG" || true; }

# --- the front end ----------------------------------------------------------------

@test "fcm runs the VM commands through the API when FCM_HOST is set, here when not; other programs as they are" {
	# The user commands are built into fcm: a program of that name in the
	# exec path is not run, in either mode.
	d=$BATS_TEST_TMPDIR/fe
	mkdir -p "$d"
	for p in client name ls stop console; do
		printf '#!/bin/sh\necho "%s $*"\n' "$p" > "$d/fcm-$p"
		chmod +x "$d/fcm-$p"
	done
	n=$(api_requests)
	FCM_EXEC_PATH=$d run rfcm ls --json
	assert_success
	assert_equal "$(jq -r .name <<< "$output" | sort | tr '\n' ' ')" "cosmic-nova stellar-comet "
	grep -q 'GET /v1/vms 200 admin' "$API_LOG"
	FCM_EXEC_PATH=$d run rfcm stop stellar-comet
	assert_output --partial '"name":"stellar-comet","state":"stopped"'
	grep -q 'POST /v1/vms/stellar-comet/stop 200 admin' "$API_LOG"
	assert_equal "$(api_requests)" $((n + 2))
	# Root with no FCM_HOST (or an empty one): here, the API is not asked.
	FCM_EXEC_PATH=$d run ip netns exec "$NS" env -u FCM_HOST "$FCM_SRC/bin/fcm" ls --json
	assert_equal "$(jq -r .name <<< "$output" | sort | tr '\n' ' ')" "cosmic-nova stellar-comet "
	FCM_HOST= run rfcm start stellar-comet
	assert_output --partial '"name":"stellar-comet","state":"running"'
	assert_equal "$(api_requests)" $((n + 2))
	# Other programs are found and run as they are; the console is always
	# fcm-console, which itself goes through the API when FCM_HOST is set.
	FCM_EXEC_PATH=$d FCM_HOST=127.0.0.1:9 run "$FCM_SRC/bin/fcm" name
	assert_output "name "
	FCM_EXEC_PATH=$d FCM_HOST=127.0.0.1:9 run "$FCM_SRC/bin/fcm" console x
	assert_output "console x"
	FCM_EXEC_PATH=$d FCM_HOST= run "$FCM_SRC/bin/fcm" console x
	assert_output "console x"
	FCM_HOST=127.0.0.1:1 run "$CON" x
	assert_failure 111
	assert_output "fcm-console x: fatal: unable to reach the fcm API at 127.0.0.1:1: Couldn't connect to server"
}

@test "fcm run by a user who is not root goes through the API" {
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	NOBODY_DIR=$(mktemp -d /tmp/fcm-remote.XXXXXX)
	chmod 755 "$NOBODY_DIR"
	cp "$FCM_SRC/bin/fcm" "$NOBODY_DIR/fcm"
	# The API where a user's fcm looks when FCM_HOST is not set.
	api_stop
	API_LISTEN=127.0.0.1:7777 api_start
	n=$(api_requests)
	run ip netns exec "$NS" env -u FCM_HOST HOME="$NOBODY_DIR" \
		setpriv --reuid 65534 --regid 65534 --clear-groups "$NOBODY_DIR/fcm" ls --json
	assert_success
	assert_equal "$output" "$(nsfcm ls --json)"
	assert_equal "$(api_requests)" $((n + 1))
	tail -1 "$API_LOG" | grep -q 'GET /v1/vms 200 admin'
	# Root, no FCM_HOST: here.
	run ip netns exec "$NS" env -u FCM_HOST HOME="$NOBODY_DIR" "$NOBODY_DIR/fcm" ls --json
	assert_equal "$output" "$(nsfcm ls --json)"
	assert_equal "$(api_requests)" $((n + 1))
}

# --- same output as local ------------------------------------------------------------

@test "ls --json: byte for byte what the local fcm ls prints" {
	run rfcm ls --json
	assert_success
	assert_equal "$output" "$(nsfcm ls --json)"
	run rfcm ls cosmic-nova
	assert_equal "$output" "$(nsfcm ls cosmic-nova)"
}

@test "ls on a terminal: the same table as the local fcm ls" {
	# AGE is the one column that may tick between the two.
	age() { sed -E 's/[0-9]+[smhd] *$/AGE/'; }
	run rtty "$FCM_SRC/bin/fcm ls"
	assert_success
	assert_line -n 0 --regexp '^NAME +STATE +IP +URL +CPUS +MEM +DISK +GIT +AGE'
	assert_line --regexp '^cosmic-nova +running +172\.16\.0\.[0-9]+ '
	assert_equal "$(age <<< "$output")" "$(ltty "$FCM_SRC/bin/fcm ls" | age)"
}

@test "ls --owner filters; ls of an unknown VM fails as locally" {
	vm_new alice-app alice >/dev/null
	run rfcm ls --owner alice
	assert_output --partial '"name":"alice-app"'
	assert_equal "${#lines[@]}" 1
	run rfcm ls nope
	assert_failure 100
	assert_output "fcm-ls: fatal: no VM named 'nope' (see 'fcm ls')"
	run rfcm ls nope --json
	assert_failure 100
	assert_line "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'nope' (see 'fcm ls')\"}"
	run rfcm ls Bad_Name
	assert_failure 100
	assert_output --partial "uppercase letter"
}

@test "create: JSON with ok, .fcm with the host, the summary on a terminal" {
	run rfcm create --name lunar-peak --cpus 2 --memory 2048 --disk 4G --expose 3000 --json
	assert_success
	[ "$(jq -r '[.ok,.name,.cpus,.memory,.disk,.expose.port,.state] | join(" ")' <<< "$output")" = "true lunar-peak 2 2048 4G 3000 running" ]
	[ "$(jq -r .name .fcm)" = lunar-peak ]
	[ "$(jq -r .host .fcm)" = "$FCM_HOST" ]
	assert_equal "$(calls create | jq -cS .)" '{"cpus":2,"disk":"4G","expose":3000,"memory":2048,"name":"lunar-peak"}'
	rm .fcm
	run rtty "$FCM_SRC/bin/fcm create --name solar-grove --no-expose --no-dotfile"
	assert_success
	assert_line -n 0 'VM created: solar-grove'
	assert_line -n 1 '  Git: root@203.0.113.10:solar-grove.git'
	assert_line -n 2 --regexp '^  IP:  172\.16\.0\.[0-9]+$'
	[ ! -e .fcm ]
	# --no-dotfile stays on the client.
	assert_equal "$(calls create | tail -1)" '{"name":"solar-grove","expose":false}'
}

@test "create: a name in use, bad options, --ssh-key: exit 100 with the local messages" {
	run rfcm create --name cosmic-nova
	assert_failure 100
	assert_output "fcm-create: fatal: name 'cosmic-nova' is already used by a VM: choose another, or leave --name out"
	run rfcm create --name cosmic-nova --json
	assert_failure 100
	assert_line "{\"ok\":false,\"kind\":\"conflict\",\"error\":\"name 'cosmic-nova' is already used by a VM: choose another, or leave --name out\"}"
	run rfcm create --cpus many
	assert_failure 100
	assert_output --partial "--cpus must be a whole number"
	run rfcm create --bogus
	assert_failure 100
	assert_output --partial "fcm-create: fatal: unknown option '--bogus'; usage: fcm create"
	# --ssh-key names a file here, on the client: read here, sent as keys.
	run rfcm create --ssh-key ~/.ssh/no-such-key.pub
	assert_failure 100
	assert_output --partial "unable to read ssh key"
	run rfcm create extra
	assert_failure 100
	assert_output --partial "unexpected argument 'extra'"
	[ ! -e .fcm ]
	for args in "--name cosmic-nova" "--cpus many" "--bogus" "--ssh-key ~/.ssh/no-such-key.pub" "extra"; do
		assert_equal "$(rfcm create $args 2>&1)" "$(nsfcm create $args 2>&1)"
	done
	[ ! -e .fcm ]
}

@test "start, stop, destroy: by name or from .fcm; prose on a terminal, JSON otherwise" {
	echo '{"name":"cosmic-nova"}' > .fcm
	mkdir -p sub/dir
	cd sub/dir
	run rfcm stop
	assert_success
	assert_output "{\"ok\":true,\"id\":\"$VM1\",\"name\":\"cosmic-nova\",\"state\":\"stopped\"}"
	run rtty "$FCM_SRC/bin/fcm start"
	assert_output 'VM cosmic-nova: running'
	run rfcm start --no-wait --json stellar-comet
	assert_success
	assert_equal "$(calls start | tail -1)" '{"wait":false,"vm":"stellar-comet"}'
	run rtty "$FCM_SRC/bin/fcm destroy stellar-comet"
	assert_output 'VM stellar-comet: destroyed'
	run rfcm destroy stellar-comet
	assert_failure 100
	assert_output "fcm-destroy: fatal: no VM named 'stellar-comet' (see 'fcm ls')"
	cd "$BATS_TEST_TMPDIR" && rm .fcm
	run rfcm stop
	assert_failure 100
	assert_output "fcm-stop: fatal: no VM given and no .fcm file here: name a VM (see 'fcm ls')"
	run rfcm stop a b
	assert_failure 100
	assert_output --partial "one VM at a time"
}

@test "logs: text; -n, --console and --deploy passed on; -f streams until stopped" {
	run rfcm logs cosmic-nova -n 2 --console
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_equal "$output" "$(nsfcm logs cosmic-nova -n 2 --console)"
	run rfcm logs cosmic-nova -n 5
	assert_success
	assert_equal "$output" "$(nsfcm logs cosmic-nova -n 5)"
	printf 'deploy line %s\n' 1 2 > "$FCM_ROOT/vms/$VM1/deploy.log"
	run rfcm logs cosmic-nova --deploy
	assert_output $'deploy line 1\ndeploy line 2'
	assert_equal "$(calls logs | tail -1)" '{"deploy":true,"vm":"cosmic-nova"}'
	last=$(nsfcm logs cosmic-nova -n 1 --console)
	( sleep 1; echo "tick 1" >> "$FCM_ROOT/vms/$VM1/log/current" ) 3>&- &
	run timeout 3 ip netns exec "$NS" "$FCM_SRC/bin/fcm" logs -f -n 1 --console cosmic-nova
	assert_line -n 0 "$last"
	assert_line -n 1 'tick 1'
	run rfcm logs ghost
	assert_failure 100
	assert_output "fcm-logs: fatal: no VM named 'ghost' (see 'fcm ls')"
	run rfcm logs -n lots cosmic-nova
	assert_failure 100
	assert_output --partial "--lines must be a whole number from 0 to 1000000, not 'lots'"
}

# --- tokens and hosts -------------------------------------------------------------------

@test "the token: FCM_TOKEN, else ~/.fcm-token (warned when others can read it), else none" {
	unset FCM_TOKEN
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	mv "$FCM_ROOT/.token" "$BATS_TEST_TMPDIR/admin-token"   # not on this host, say
	run rfcm ls
	assert_failure 100
	assert_output --partial "no token for $FCM_HOST: set FCM_TOKEN or write it to ~/.fcm-token"
	cp "$BATS_TEST_TMPDIR/admin-token" "$HOME/.fcm-token"
	chmod 600 "$HOME/.fcm-token"
	mv "$BATS_TEST_TMPDIR/admin-token" "$FCM_ROOT/.token"
	run rfcm ls --json
	assert_success
	refute_output --partial warning
	chmod 644 "$HOME/.fcm-token"
	run rfcm ls --json
	assert_success
	assert_line "fcm-ls: warning: $HOME/.fcm-token is readable by others: chmod 600 $HOME/.fcm-token"
	echo nonsense > "$HOME/.fcm-token"
	run rfcm ls
	assert_failure 100
	assert_output --partial "does not hold a token"
}

@test "root on the host needs no token file: the admin token is read from FCM_ROOT" {
	unset FCM_TOKEN
	HOME=$BATS_TEST_TMPDIR/nohome run rfcm ls --json
	assert_success
	assert_equal "$output" "$(nsfcm ls --json)"
}

@test "a wrong or malformed token, an unreachable or bad host: clear errors, 100 or 111" {
	FCM_TOKEN=$(printf '0%.0s' $(seq 64)) run rfcm ls
	assert_failure 100
	assert_output "fcm-ls: fatal: invalid token"
	FCM_TOKEN=$(printf '0%.0s' $(seq 64)) run rfcm ls --json
	assert_failure 100
	assert_line '{"ok":false,"kind":"unauthorized","error":"invalid token"}'
	FCM_TOKEN='abc
Injected: 1' run rfcm ls
	assert_failure 100
	assert_output --partial "FCM_TOKEN is not a token"
	FCM_HOST=127.0.0.1:1 run rfcm ls
	assert_failure 111
	assert_output --partial "unable to reach the fcm API at 127.0.0.1:1"
	FCM_HOST='http://user:pw@127.0.0.1:1' run rfcm ls
	assert_failure 100
	FCM_HOST="http://127.0.0.1:$API_PORT/" run rfcm ls --json
	assert_success
	run rfcm ls --help
	assert_success
	assert_output --partial 'usage: fcm ls'
}

# --- console -------------------------------------------------------------------------------

@test "console with piped input: output, then the session's exit status" {
	console_session cosmic-nova
	run bash -c "printf 'echo hi-\$((40+2))\nexit 3\n' | timeout 20 ip netns exec $NS '$CON' cosmic-nova"
	assert_failure 3
	assert_output --partial 'hi-42'
	assert_line --partial '[session ended: exit status 3]'
}

@test "console: Ctrl-] detaches and says how to come back; the session keeps running" {
	console_session cosmic-nova
	run bash -c "(printf 'Z=kept-\$((6*7))\n'; sleep 1; printf '\035') | timeout 20 ip netns exec $NS '$CON' cosmic-nova"
	assert_success
	assert_line --partial '[detached — reattach with: fcm console cosmic-nova]'
	run bash -c "(printf 'echo \$Z\n'; sleep 1; printf '\035') | timeout 20 ip netns exec $NS '$CON' cosmic-nova"
	assert_success
	assert_output --partial 'kept-42'
}

@test "console: errors as locally: unknown VM, bad options; host-only options run here" {
	run ip netns exec "$NS" "$CON" ghost
	assert_failure 100
	assert_output "fcm-console ghost: fatal: no VM named 'ghost' (see 'fcm ls')"
	# host-only options run on the host, whatever FCM_HOST says
	run ip netns exec "$NS" "$CON" cosmic-nova --list --json
	assert_success
	run ip netns exec "$NS" "$CON" cosmic-nova --serial --session x
	assert_failure 100
}

@test "console in a terminal (tmux): raw keys, window size and resize, Ctrl-] detach, terminal restored" {
	console_session cosmic-nova
	tm() { tmux -L "$TM" "$@"; }
	tm -f /dev/null new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tm set -g status off
	tm set -g remain-on-exit on
	# icanon alone on its line: the terminal is cooked ("-icanon" when raw).
	tm send-keys -t t "stty -a | tr ' ' '\n' | grep -x icanon > $BATS_TEST_TMPDIR/before; ip netns exec $NS $CON cosmic-nova; stty -a | tr ' ' '\n' | grep -x icanon > $BATS_TEST_TMPDIR/after" Enter
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
	console_session cosmic-nova
	tm() { tmux -L "$TM" "$@"; }
	tm -f /dev/null new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tm set -g status off
	tm send-keys -t t "$(sigterm_cmd "ip netns exec $NS $CON cosmic-nova")" Enter
	assert_sigterm_detaches t fcm-console "fcm console cosmic-nova"
	run "$FCM_SRC/bin/fcm-tty" status "$FCM_ROOT/vms/$VM1/sessions/main.sock"
	assert_success
}
