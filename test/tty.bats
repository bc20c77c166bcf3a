#!/usr/bin/env bats
# fcm-tty: sessions driven as a person would, in real terminals under tmux
# (send-keys / capture-pane).  Each test has its own tmux server.
load test_helper

setup() {
	TM="fcmt-tty-$$-$BATS_TEST_NUMBER"
	SOCK=$BATS_TEST_TMPDIR/s.sock
	export TERM=xterm-256color
	SERVER_PID=
}

teardown() {
	tmux -L "$TM" kill-server 2>/dev/null || true
	fcm-tty kill "$SOCK" --timeout 2 2>/dev/null || true
	[ -z "$SERVER_PID" ] || kill -9 "$SERVER_PID" 2>/dev/null || true
}

tm() { tmux -L "$TM" "$@"; }

# start_session [serve options] [-- command...]: a session server in the
# background running an interactive bash with prompt '$ ' (or the command).
start_session() {
	local opts=() cmd=(env PS1='$ ' bash --norc --noprofile -i)
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then shift; cmd=("$@"); break; fi
		opts+=("$1"); shift
	done
	fcm-tty serve "$SOCK" "${opts[@]}" -- "${cmd[@]}" >"$BATS_TEST_TMPDIR/serve.out" 2>"$BATS_TEST_TMPDIR/serve.err" 3>&- &
	SERVER_PID=$!
	for _ in $(seq 100); do
		fcm-tty status "$SOCK" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "session did not start: $(cat "$BATS_TEST_TMPDIR/serve.err")" >&2
	return 1
}

# A terminal (tmux session NAME, 80x24 unless given) running an outer shell,
# as a person's terminal would.
terminal() {
	local name=$1 x=${2:-80} y=${3:-24}
	tm new-session -d -s "$name" -x "$x" -y "$y" "env PS1='outer\$ ' bash --norc --noprofile -i"
	wait_screen "$name" 'outer\$'
}

keys() { local t=$1; shift; tm send-keys -t "$t" "$@"; }
type_line() { tm send-keys -t "$1" -l "$2"; tm send-keys -t "$1" Enter; }
screen() { tm capture-pane -p -t "$1"; }
history_and_screen() { tm capture-pane -p -S -200 -t "$1"; }

# wait_screen TARGET REGEX [SECONDS]: until the visible screen matches.
wait_screen() {
	local t=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		screen "$t" | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	echo "timed out waiting for /$re/ on $t; the screen is:" >&2
	screen "$t" >&2
	return 1
}

attach_in() {	# attach_in TERMINAL [attach options]
	local t=$1; shift
	type_line "$t" "fcm-tty attach $SOCK $*"
	wait_screen "$t" '^\$( |$)'
}

@test "attach, type, detach with Ctrl-], reattach: the screen and the shell's state are intact" {
	start_session
	terminal c1
	attach_in c1
	type_line c1 'echo marker-1; X=42'
	wait_screen c1 '^marker-1$'
	keys c1 C-]
	wait_screen c1 "\[detached — reattach with: fcm-tty attach $SOCK\]"
	# the outer shell has its terminal back
	wait_screen c1 'outer\$ ?$'
	type_line c1 clear
	sleep 0.2
	attach_in c1
	wait_screen c1 '^marker-1$'
	type_line c1 'echo "X is $X"'
	wait_screen c1 '^X is 42$'
}

@test "after detach the terminal is restored (icanon, echo)" {
	start_session
	terminal c1
	attach_in c1
	type_line c1 'stty -a | grep -o -- "-icanon" | head -1; echo inner-done'
	wait_screen c1 '^inner-done'
	keys c1 C-]
	wait_screen c1 'detached'
	type_line c1 'clear; stty -a | tr " " "\n" | grep -xE -- "-?(icanon|echo)" | tr "\n" " "; echo'
	wait_screen c1 '^icanon echo ?$'
	run screen c1
	refute_output --partial -- '-icanon'
}

@test "SIGTERM to the client: the terminal is restored, one line says so, exit 143; the session goes on" {
	start_session
	terminal c1
	type_line c1 "$(sigterm_cmd "fcm-tty attach $SOCK")"
	wait_screen c1 '^\$( |$)'
	assert_sigterm_detaches c1 "fcm-tty attach" "fcm-tty attach $SOCK"
	run fcm-tty status "$SOCK"
	assert_success
	assert_output --partial '"live":true'
}

@test "resizing the terminal changes the session's stty size" {
	start_session
	terminal c1
	attach_in c1
	type_line c1 'stty size'
	wait_screen c1 '^24 80$'
	tm resize-window -t c1 -x 100 -y 30
	sleep 0.3
	type_line c1 'clear; stty size'
	wait_screen c1 '^30 100$'
}

@test "kill -9 of the client leaves the session alive; reattach works" {
	start_session
	tm new-session -d -s c1 -x 80 -y 24 "exec fcm-tty attach $SOCK"
	wait_screen c1 '^\$'
	type_line c1 'Y=survivor; echo set-$Y'
	wait_screen c1 '^set-survivor$'
	pid=$(tm display -p -t c1 '#{pane_pid}')
	kill -9 "$pid"
	sleep 0.3
	run fcm-tty status "$SOCK"
	assert_success
	assert_output --partial '"live":true'
	terminal c2
	attach_in c2
	wait_screen c2 '^set-survivor$'
	type_line c2 'echo "Y=$Y"'
	wait_screen c2 '^Y=survivor$'
}

@test "a full-screen program is redrawn on reattach, and gets a SIGWINCH" {
	seq -f 'line-%03g' 1 200 > "$BATS_TEST_TMPDIR/lines"
	start_session
	terminal c1
	attach_in c1
	type_line c1 "less $BATS_TEST_TMPDIR/lines"
	wait_screen c1 '^line-023$'
	keys c1 C-]
	wait_screen c1 'detached'
	type_line c1 clear
	wait_screen c1 '^outer\$ ?$'
	attach_in c1 || true
	wait_screen c1 '^line-001$'
	wait_screen c1 '^line-023$'
	# less still works after the reattach
	keys c1 q
	wait_screen c1 '^\$ ?$'

	# a program on the alternate screen is told to redraw even at the same size
	type_line c1 "bash -c \"printf '\\033[?1049h'; trap 'echo got-winch' WINCH; while :; do sleep 0.1; done\""
	sleep 0.5
	keys c1 C-]
	wait_screen c1 'detached'
	attach_in c1 || true
	wait_screen c1 'got-winch'
	keys c1 C-c
}

@test "two clients: the most recent attach types, the other watches; --read-only never types" {
	start_session
	terminal c1
	terminal c2
	attach_in c1
	attach_in c2 --read-only
	type_line c1 'echo from-c1'
	wait_screen c2 '^from-c1$'
	type_line c2 'echo from-c2'
	sleep 0.5
	run screen c1
	refute_output --partial from-c2
	# a second interactive attach takes the keyboard; c1 now watches
	terminal c3
	attach_in c3
	type_line c3 'echo from-c3'
	wait_screen c1 '^from-c3$'
	type_line c1 'echo c1-again'
	sleep 0.5
	run screen c3
	refute_output --partial c1-again
	# when c3 leaves, c1 types again
	keys c3 C-]
	wait_screen c3 detached
	type_line c1 'echo c1-back'
	wait_screen c1 '^c1-back$'
}

@test "the command's exit ends the session: the client says so, the socket is removed" {
	start_session
	terminal c1
	attach_in c1
	type_line c1 'exit 7'
	wait_screen c1 '\[session ended: exit status 7\]'
	type_line c1 'echo "client said $?"'
	wait_screen c1 '^client said 7$'
	st=0
	wait "$SERVER_PID" || st=$?
	assert_equal "$st" 7
	SERVER_PID=
	[ ! -e "$SOCK" ]
}

@test "attach without a terminal: bytes in, output out, EXIT status" {
	start_session -- sh -c 'read line; echo "got:$line"; exit 5'
	run bash -c "printf 'hello\r' | fcm-tty attach '$SOCK'"
	assert_equal "$status" 5
	assert_output --partial 'got:hello'
	assert_output --partial '[session ended: exit status 5]'
}

@test "--wait-attach: the command starts when its first client comes, which gets its output and nothing else" {
	mark=$BATS_TEST_TMPDIR/ran
	start_session --wait-attach -- sh -c "touch '$mark'; echo only-this; exit 3"
	sleep 1
	[ ! -e "$mark" ]	# nobody attached: not run yet
	run bash -c "fcm-tty attach '$SOCK' </dev/null 2>/dev/null"
	assert_equal "$status" 3
	assert_output "$(printf 'only-this\r')"	# no redraw, no escapes: the pty's output only
	[ -e "$mark" ]
}

@test "Ctrl-] in piped input detaches and leaves the session" {
	start_session -- sh -c 'cat; sleep 100'
	run bash -c "printf 'abc\035' | fcm-tty attach '$SOCK'"
	assert_success
	assert_output --partial "[detached — reattach with: fcm-tty attach $SOCK]"
	run fcm-tty status "$SOCK"
	assert_success
}

@test "the reattach hint comes from --hint or FCM_TTY_HINT" {
	start_session -- sleep 100
	run bash -c "printf '\035' | FCM_TTY_HINT='fcm console cosmic-nova' fcm-tty attach '$SOCK'"
	assert_success
	assert_output --partial "[detached — reattach with: fcm console cosmic-nova]"
	run bash -c "printf '\035' | fcm-tty attach '$SOCK' --hint 'do this'"
	assert_output --partial "[detached — reattach with: do this]"
}

@test "bad socket paths and dead sessions: clear errors" {
	run fcm-tty attach "$BATS_TEST_TMPDIR/nope.sock"
	assert_failure 100
	assert_output "fcm-tty: fatal: no session at $BATS_TEST_TMPDIR/nope.sock"

	run fcm-tty attach "/tmp/$(printf 'x%.0s' $(seq 120)).sock"
	assert_failure 100
	assert_output --partial "is too long"

	touch "$BATS_TEST_TMPDIR/plain"
	run fcm-tty attach "$BATS_TEST_TMPDIR/plain"
	assert_failure 100

	# a dead session: its server was killed and left the socket behind
	start_session -- sleep 100
	kill -9 "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=
	[ -S "$SOCK" ]
	run fcm-tty attach "$SOCK"
	assert_failure 100
	assert_output "fcm-tty: fatal: the session at $SOCK is dead (nothing serves its socket)"
	run fcm-tty status "$SOCK"
	assert_output --partial '"live":false'

	# serving on it replaces the stale socket
	start_session -- sleep 100
	run fcm-tty status "$SOCK"
	assert_success
	# but a live session is never replaced
	run fcm-tty serve "$SOCK" -- true
	assert_failure 100
	assert_output --partial "a live session already serves $SOCK"
	# nor a file that is not a socket
	run fcm-tty serve "$BATS_TEST_TMPDIR/plain" -- true
	assert_failure 100
	assert_output --partial "is not a socket"
	# a missing directory
	run fcm-tty serve "$BATS_TEST_TMPDIR/no/such/dir/s.sock" -- true
	assert_failure
	assert_output --partial "unable to open directory"
}

@test "serve: usage errors, a command that cannot run" {
	run fcm-tty serve
	assert_failure 100
	run fcm-tty serve "$SOCK"
	assert_failure 100
	assert_output --partial "needs a SOCKET and a COMMAND"
	run fcm-tty serve "$SOCK" --scrollback lots -- true
	assert_failure 100
	assert_output --partial "--scrollback takes a whole number"
	run fcm-tty serve "$SOCK" -- /no/such/program
	assert_failure 100
	assert_output --partial "unable to run /no/such/program: No such file or directory"
	[ ! -e "$SOCK" ]
	run fcm-tty bogus
	assert_failure 100
}

@test "the socket is mode 0600" {
	start_session -- sleep 100
	run stat -c %a "$SOCK"
	assert_output 600
}

@test "SIGTERM to the server is forwarded to the command; the server exits with its status" {
	start_session -- sleep 100
	kill -TERM "$SERVER_PID"
	st=0
	wait "$SERVER_PID" || st=$?
	assert_equal "$st" 143
	SERVER_PID=
	[ ! -e "$SOCK" ]
}

@test "fcm-tty kill ends a session (an interactive shell ignores SIGTERM; SIGHUP ends it)" {
	start_session
	run fcm-tty kill "$SOCK"
	assert_success
	[ ! -e "$SOCK" ]
	run fcm-tty kill "$SOCK"
	assert_success
}

@test "--log copies the output to stdout" {
	fcm-tty serve "$SOCK" --log -- sh -c 'echo logged-line; exit 0' > "$BATS_TEST_TMPDIR/log" 3>&-
	run cat "$BATS_TEST_TMPDIR/log"
	assert_output --partial logged-line
}

@test "--log never blocks on a stdout nobody reads" {
	# ~470 KB of output (more than the pipe and the log queue hold) into a
	# pipe nobody reads: the command still ends
	done=$BATS_TEST_TMPDIR/done
	( fcm-tty serve "$SOCK" --log -- seq 1 80000 3>&-; echo "server-exit=$?" > "$done" ) | sleep 180 &
	sleeper=$!
	for _ in $(seq 1200); do [ -s "$done" ] && break; sleep 0.1; done
	kill "$sleeper" 2>/dev/null || true
	run cat "$done"
	assert_output server-exit=0
}

@test "a late attach sees the scrollback and the screen" {
	start_session -- sh -c 'seq -f "old-%g" 1 100; echo; echo last-line; sleep 100'
	sleep 0.5
	terminal c1
	type_line c1 "fcm-tty attach $SOCK"
	wait_screen c1 '^last-line$'
	run history_and_screen c1
	assert_output --partial old-1
	assert_output --partial old-50
	assert_output --partial old-100
}

@test "the wire-protocol decoder rejects malformed frames (unit test)" {
	cc -std=c11 -D_GNU_SOURCE -DFCM_UNIT -Wall -Wextra -Werror -iquote "$FCM_SRC/lib" \
	    -o "$BATS_TEST_TMPDIR/proto" "$FCM_SRC/test/fuzz/ttyproto.c" "$FCM_SRC/lib/tty/ttyproto.c"
	run "$BATS_TEST_TMPDIR/proto"
	assert_success
	assert_output --partial "all decoder checks passed"
}

@test "the wire-protocol decoder survives fuzzing (libFuzzer, 5 seconds)" {
	command -v clang >/dev/null || skip "clang is not installed"
	clang -g -O1 -fsanitize=fuzzer,address,undefined -iquote "$FCM_SRC/lib" \
	    -o "$BATS_TEST_TMPDIR/fuzz" "$FCM_SRC/test/fuzz/ttyproto.c" "$FCM_SRC/lib/tty/ttyproto.c" 2>"$BATS_TEST_TMPDIR/cc.err" ||
	    skip "clang cannot build libFuzzer targets here: $(head -1 "$BATS_TEST_TMPDIR/cc.err")"
	mkdir -p "$BATS_TEST_TMPDIR/corpus"
	run "$BATS_TEST_TMPDIR/fuzz" -max_total_time=5 -print_final_stats=0 "$BATS_TEST_TMPDIR/corpus"
	assert_success
}

@test "a server answers a malformed frame with ERROR and goes on serving" {
	start_session -- sleep 100
	run python3 - "$SOCK" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'Z' + struct.pack('>I', 1) + b'x')
d = b''
while True:
    c = s.recv(4096)
    if not c: break
    d += c
print(d[:1].decode(), d[5:].decode())
PY
	assert_output --regexp '^E protocol error: unknown frame type'
	run python3 - "$SOCK" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'D' + struct.pack('>I', 2) + b'hi')
d = b''
while True:
    c = s.recv(4096)
    if not c: break
    d += c
print(d[5:].decode())
PY
	assert_output 'protocol error: the first frame must be HELLO'
	run fcm-tty status "$SOCK"
	assert_success
}
