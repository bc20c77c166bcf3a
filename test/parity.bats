#!/usr/bin/env bats
# Parity: every user command, with good arguments and bad ones, run twice —
# locally (root on the host, no FCM_HOST) and through the daemon
# (FCM_HOST=127.0.0.1:7777 and a token) — must print the same stdout and
# stderr and exit with the same status (issue 13: remote mode is a
# transport, not a second implementation).  One table below; each row is
# one command line.  To add a case, add a row.
#
# What runs: a real `fcm daemon` (s6, its API service, Caddy for expose) and
# every real fcm command, inside a network namespace this file creates and
# deletes.  Guests: the Firecracker test double runs each VM, with
# test/firecracker/fake-qemu as its QEMU — no command here needs a booted
# guest, and a real boot takes a minute or more of both CPUs.  A guest's
# readiness is its sshd accepting a connection (fcm-fc): a listener on port
# 22 in the namespace, with the addresses of pv, pv-x and pv-o on its lo,
# stands in for that, so `start` of those finishes in a second.  Every other
# VM never gets ready: its state is "starting" whenever it is read (no race),
# and a `create` that waits fails after FCM_BOOT_TIMEOUT (3 s), undone.
#
# NETWORK SAFETY: the daemon, the API, both sides of every row and every
# request run in the namespace (fcmt-par-*), which has no link out.
load test_helper

# --- the table -----------------------------------------------------------------
#
#   EXIT  [@MARK...] COMMAND LINE (after 'fcm', shell words)  [| BEFORE]
#
# EXIT: the status both sides must exit with.  BEFORE: shell run before each
# side, as root in the namespace, in the fresh directory the side runs in
# (the same path for both: messages name it); it puts back the state the row
# needs (e.g. `fcm stop pv`).  Marks: @tty runs the command on a terminal
# (script(1); stderr still to a file), @nodaemon against a second root with
# no daemon (locally; remotely through an API started without one),
# @follow under `timeout 3` (exit 124: it follows until killed).
#
# The VMs (setup_file): pv (running; exposed on 8000), pv-x (for expose),
# pv-o (owner bob), pv-n (never gets ready: see above).  VMs a row makes are destroyed
# after each side; their ids, generated names and created_at are the only
# things normalised (<id-N>, <name-N>, <T>).  IPs need no normalising: a
# destroyed VM's address is given again.
PARITY_TABLE=$(cat <<'TABLE'
# create: every check and the run, good and bad
0    create --name pv-new --no-wait
0    create --name pv-new --no-wait --json
0    create --name pv-new --no-wait --no-dotfile --cpus 2 --memory 256 --disk 1G --expose 3000
0    create --no-wait --no-expose
111  create --name pv-new
0    create --name pv-new --no-wait --owner bob --json
0    create --name pv-new --no-wait --ssh-key me.pub                 | echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0b me@x' > me.pub
0    @tty create --name pv-new --no-wait
100  create --cpus 99
100  create --cpus 0
100  create --cpus many
100  create --cpus 2000
100  create --memory 0
100  create --memory 99999999
100  create --disk 2X
100  create --expose 0
100  create --expose 70000
100  create --name BAD
100  create --name -x
100  create --name
100  create --name BAD --json
100  create --bogus
100  create --no-wait=yes
100  create extra-word
100  create --name pv
100  create --name pv --json
100  create --owner Bad_Owner
100  create --ssh-key missing.pub
100  create --ssh-key bad.pub                                        | echo 'not a key' > bad.pub
0    create --help
111  @nodaemon create --no-wait
111  @nodaemon create --no-wait --json
# ls: JSON lines in a pipe, with or without --json (the table is for terminals)
0    ls
0    ls --json
0    ls pv
0    ls pv pv-x --json
0    ls --owner bob
0    ls --owner nobody
0    ls pv-o --owner admin
100  ls ghost
100  ls ghost --json
100  ls pv ghost
100  ls Bad_Name
100  ls --owner
100  ls --bogus
0    @nodaemon ls --json
# start
0    start pv                                                        | fcm stop pv
0    start pv --json                                                 | fcm stop pv
0    @tty start pv                                                   | fcm stop pv
0    start --no-wait                                                 | fcm stop pv-n; echo '{"name":"pv-n"}' > .fcm
0    start pv-n --no-wait --json                                     | fcm stop pv-n
111  start pv-n                                                      | fcm stop pv-n
100  start ghost
100  start ghost --json
100  start
100  start pv pv-x
100  start Bad_Name
100  start pv --bogus
100  start                                                           | echo '{"name":"ghost"}' > .fcm
100  start                                                           | echo garbage > .fcm
# stop
0    stop pv                                                         | fcm start pv
0    stop pv --json                                                  | fcm start pv
0    @tty stop pv                                                    | fcm start pv
0    stop                                                            | echo '{"name":"pv"}' > .fcm
100  stop ghost
100  stop ghost --json
100  stop
100  stop pv pv-x
100  stop pv --no-wait
# destroy
0    destroy pv-d                                                    | fcm create --name pv-d --no-wait --no-dotfile >/dev/null
0    destroy pv-d --json                                             | fcm create --name pv-d --no-wait --no-dotfile >/dev/null
0    @tty destroy pv-d                                               | fcm create --name pv-d --no-wait --no-dotfile >/dev/null
0    destroy                                                         | fcm create --name pv-d --no-wait >/dev/null
100  destroy no-such-vm
100  destroy no-such-vm --json
100  destroy
100  destroy pv pv-x
# logs
0    logs pv -n 2
0    logs pv -n 0
0    logs pv
0    logs pv -n2
0    logs pv --lines=1
0    logs pv --deploy                                                | printf '%s\n' one two three > "$FCM_ROOT/vms/$(vm_id pv)/deploy.log"
0    logs pv --deploy -n 1                                           | printf '%s\n' one two three > "$FCM_ROOT/vms/$(vm_id pv)/deploy.log"
100  logs pv --deploy                                                | rm -f "$FCM_ROOT/vms/$(vm_id pv)/deploy.log"
100  logs pv -n lots
100  logs pv -n -1
100  logs pv -n 1000001
100  logs pv -n
100  logs pv -x
100  logs ghost
100  logs ghost -f
100  logs ghost --json
124  @follow logs pv -f -n 1
0    logs pv --console -n 2
100  logs pv --deploy --console
100  logs pv --type 'Bad!'
# config: a stopped VM keeps the change for its next start (no guest needed)
0    config set pv-x A=1 B='two words' --json                       | fcm stop pv-x >/dev/null; fcm config unset pv-x A B >/dev/null 2>&1 || true
0    @tty config set pv-x A=1                                        | fcm stop pv-x >/dev/null; fcm config unset pv-x A >/dev/null 2>&1 || true
0    config pv-x                                                     | fcm stop pv-x >/dev/null; fcm config set pv-x A=1 >/dev/null
0    @tty config pv-x                                                | fcm stop pv-x >/dev/null; fcm config set pv-x A=1 >/dev/null
0    @tty config pv-x --reveal                                       | fcm stop pv-x >/dev/null; fcm config set pv-x A=1 >/dev/null
0    config get pv-x A                                               | fcm stop pv-x >/dev/null; fcm config set pv-x A=1 >/dev/null
0    config unset pv-x A --json                                      | fcm stop pv-x >/dev/null; fcm config set pv-x A=1 >/dev/null
0    config set A=1                                                  | fcm stop pv-x >/dev/null; echo '{"name":"pv-x"}' > .fcm
0    config set pv-x FROMSTDIN --json                                | fcm stop pv-x >/dev/null; fcm config unset pv-x FROMSTDIN >/dev/null 2>&1 || true
100  config set pv 1BAD=x
100  config set pv PORT=1
100  @tty config set pv NOVALUE
100  config set pv
100  config unset pv-x NOPE                                          | fcm config unset pv-x A >/dev/null 2>&1 || true
100  config get pv-x NOPE
100  config get pv-x 'bad name'
100  config frobnicate pv
100  config ghost
# releases, rollback
0    releases pv-x --json                                            | fcm stop pv-x >/dev/null; rm -f "$FCM_ROOT/vms/$(vm_id pv-x)/releases"
0    @tty releases pv-x                                              | fcm stop pv-x >/dev/null; rm -f "$FCM_ROOT/vms/$(vm_id pv-x)/releases"
100  releases ghost
100  rollback pv-x                                                   | fcm stop pv-x >/dev/null
100  rollback pv v999
100  rollback pv vx
100  rollback pv v1 v2
100  rollback ghost v1
# ps, restart, run: bad input is refused before any guest is asked
100  ps ghost
100  ps pv-x                                                         | fcm stop pv-x >/dev/null
100  restart pv --type 'Bad!'
100  restart ghost
100  run pv --
100  run ghost -- true
100  run pv-x -- true                                                | fcm stop pv-x >/dev/null
# expose and unexpose
0    expose pv-x 3000                                                | fcm unexpose pv-x >/dev/null
0    expose pv-x 3000 --json                                         | fcm unexpose pv-x >/dev/null
0    @tty expose pv-x 3000                                           | fcm unexpose pv-x >/dev/null
0    @tty expose pv-n 3000                                           | fcm stop pv-n >/dev/null
0    expose 8080                                                     | echo '{"name":"pv-x"}' > .fcm
100  expose pv-x 0
100  expose pv-x 70000
100  expose pv-x abc
100  expose pv-x 0 --json
100  expose pv-x
100  expose pv-x 3000 extra
100  expose ghost 3000
0    unexpose pv-x                                                   | fcm expose pv-x 8000 >/dev/null
0    unexpose pv-x --json                                            | fcm expose pv-x 8000 >/dev/null
0    @tty unexpose pv-x                                              | fcm expose pv-x 8000 >/dev/null
0    @tty unexpose pv-x                                              | fcm unexpose pv-x >/dev/null
100  unexpose ghost
100  unexpose pv-x extra
# remote: the client adds the git remote the host names
0    remote pv                                                       | git init -q
0    remote pv --json                                                | git init -q
0    @tty remote pv                                                  | git init -q
0    @tty remote pv                                                  | git init -q; git remote add origin root@203.0.113.10:pv.git
0    remote pv --name deploy                                         | git init -q
100  remote pv                                                       | git init -q; git remote add origin elsewhere:x.git
100  remote pv -n 'bad name'                                         | git init -q
100  remote pv
100  remote ghost                                                    | git init -q
100  remote                                                          | git init -q
# users: who may log in (admins only; the table's sides are both admins)
0    users allow @example.org
0    users allow Alice@Example.NET --json
0    users deny @example.org                                         | fcm users allow @example.org
0    users deny bob@example.org --json                               | fcm users allow bob@example.org
0    users admin carol@example.org                                   | fcm users deny carol@example.org || true
0    users admin --remove carol@example.org                          | fcm users admin carol@example.org
0    users ls --json                                                 | fcm users allow @example.org
0    users reassign nobody-abcdef admin --json
100  users allow 'a b@example.org'
100  users allow nodot
100  users allow
100  users deny nobody@example.net
100  users admin @example.org
100  users reassign nobody-abcdef nobody@example.net
100  users reassign
100  users frobnicate
0    users quota --vms 5 --cpus 64 --json
0    users quota --user bob --disk 20G
100  users quota --disk 2X
100  users quota --user Bad_User --vms 1
100  users quota --vms -1
# domains: list, add, rm (pv-x holds www.pv.test between rows unless BEFORE says)
0    domains pv-x                                                    | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    @tty domains pv-x                                               | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    domains pv-x --json                                             | fcm domains add pv-x www.pv.test >/dev/null
0    @tty domains ls pv-x                                            | fcm domains add pv-x www.pv.test >/dev/null
0    domains                                                         | echo '{"name":"pv-x"}' > .fcm
0    domains add pv-x WWW.PV.test.                                   | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    domains add pv-x www.pv.test --json                             | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    @tty domains add pv-x www.pv.test                               | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    @tty domains add pv-x www.pv.test                               | fcm domains add pv-x www.pv.test >/dev/null
0    domains add www.pv.test                                         | echo '{"name":"pv-x"}' > .fcm; fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
0    domains rm pv-x www.pv.test                                     | fcm domains add pv-x www.pv.test >/dev/null
0    @tty domains rm pv-x WWW.pv.test                                | fcm domains add pv-x www.pv.test >/dev/null
100  domains rm pv-x www.pv.test --json                              | fcm domains rm pv-x www.pv.test >/dev/null 2>&1 || true
100  domains add pv www.pv.test                                      | fcm domains add pv-x www.pv.test >/dev/null 2>&1 || true
100  domains add pv --json www.pv.test                               | fcm domains add pv-x www.pv.test >/dev/null 2>&1 || true
100  domains add pv-x 'bad name.test'
100  domains add pv-x localhost --json
100  domains add pv-x '*.pv.test'
100  domains add pv-x pv.203-0-113-10.sslip.io
100  domains add pv-x
100  domains add pv-x a.test extra
100  domains add ghost www.pv.test
100  domains ghost
100  domains rm pv-x
100  domains frobnicate pv-x
TABLE
)

# --- the file's daemon, VMs and second root -------------------------------------

setup_file() {
	require_image_file
	command -v caddy >/dev/null || skip "caddy is not installed (make deps): expose needs it"
	export NS=fcmt-par-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export ROOT2=$BATS_FILE_TMPDIR/root2
	export HOME=$BATS_FILE_TMPDIR/home
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_TEST_QEMU=$FCM_SRC/test/firecracker/fake-qemu
	export FCM_TLS=internal
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=10
	export FCM_BOOT_TIMEOUT=3
	unset FCM_PROXY FCM_DOMAIN FCM_CADDY_ADMIN FCM_PUBLISH_API
	mkdir -p "$FCM_ROOT" "$ROOT2" "$HOME"
	netns_create "$NS"
	# The guests' sshd, for readiness (see the top of the file).
	in_ns "$NS" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()' >/dev/null 2>&1 3>&- &
	fcm_install_image
	daemon_start
	wait_for "API" in_ns "$NS" curl -sf http://127.0.0.1:7777/v1/health
	wait_for "Caddy" in_ns "$NS" curl -sf -H 'Host;' --unix-socket "$FCM_ROOT/caddy/admin.sock" http://localhost/config/
	export TOKEN
	TOKEN=$(cat "$FCM_ROOT/.token")
	# The second root: an API and no daemon.
	(in_ns "$NS" env FCM_ROOT="$ROOT2" fcm-api --listen 127.0.0.1:7778 >"$BATS_FILE_TMPDIR/api2.log" 2>&1 3>&- &)
	wait_for "the second API" in_ns "$NS" curl -sf http://127.0.0.1:7778/v1/health
	export TOKEN2
	TOKEN2=$(cat "$ROOT2/.token")
	# The VMs of the table; all but pv-n get ready.
	local vm
	in_ns "$NS" fcm create --name pv --no-wait --no-dotfile >/dev/null
	in_ns "$NS" fcm create --name pv-x --no-wait --no-dotfile >/dev/null
	in_ns "$NS" fcm create --name pv-o --owner bob --no-wait --no-dotfile >/dev/null
	in_ns "$NS" fcm create --name pv-n --no-wait --no-dotfile >/dev/null
	for vm in pv pv-x pv-o; do
		ip -n "$NS" addr add "$(fcm-ls --json "$vm" | jq -r .ip)/32" dev lo
		wait_for "$vm" vm_running "$vm"
	done
}

vm_running() { [ "$(fcm-ls --json "$1" | jq -r .state)" = running ]; }

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$NS"
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	cd "$BATS_TEST_TMPDIR"
}

# wait_for WHAT cmd...: until the command succeeds (10 s).
wait_for() {
	local what=$1 i
	shift
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "$what did not come up" >&2
	return 1
}

# For BEFORE: the id of a VM.
vm_id() { fcm-ls --json "$1" | jq -r .id; }
export -f vm_id

# "id name" of every VM of root $1, sorted.
vm_list() {
	local f
	for f in "$1"/vms/*/config.json; do
		[ -e "$f" ] && jq -r '.id + " " + .name' "$f"
	done | sort
}

# --- running a row ----------------------------------------------------------------

# side SIDE ROW: run the row's command on one side (local or remote); its
# stdout, stderr and exit status in $PD/SIDE.{out,err,rc}, normalised.
side() {
	local which=$1 row=$2 line prep= root=$FCM_ROOT port=7777 token=$TOKEN
	local tty= follow= rc= dir=$BATS_TEST_TMPDIR/here words cmdline before after fresh
	local -a env
	line=${row#* }
	if [[ $line == *'|'* ]]; then
		prep=${line#*|}
		line=${line%%|*}
	fi
	eval "words=($line)"
	while [[ ${words[0]} == @* ]]; do
		case ${words[0]} in
		@tty) tty=1 ;;
		@follow) follow=1 ;;
		@nodaemon) root=$ROOT2 port=7778 token=$TOKEN2 ;;
		*) fail "unknown mark ${words[0]} in: $row" ;;
		esac
		words=("${words[@]:1}")
	done
	if [ "$which" = local ]; then
		env=(env -u FCM_HOST -u FCM_TOKEN FCM_ROOT="$root")
	else
		env=(env FCM_ROOT="$root" FCM_HOST=127.0.0.1:$port FCM_TOKEN="$token")
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	before=$(vm_list "$root")
	if [ -n "$prep" ]; then
		(cd "$dir" && in_ns "$NS" env FCM_ROOT="$root" bash -ec "$prep") >"$PD/prep.log" 2>&1 ||
			fail "BEFORE of '$row' failed: $(cat "$PD/prep.log")"
	fi
	after=$(vm_list "$root")
	cd "$dir"
	if [ -n "$tty" ]; then
		cmdline=$(printf '%q ' fcm "${words[@]}")
		in_ns "$NS" "${env[@]}" script -qec "$cmdline 2>$(printf %q "$PD/$which.err")" /dev/null \
			>"$PD/$which.raw" </dev/null && rc=0 || rc=$?
		tr -d '\r' <"$PD/$which.raw" >"$PD/$which.out"
	elif [ -n "$follow" ]; then
		timeout 3 ip netns exec "$NS" "${env[@]}" fcm "${words[@]}" >"$PD/$which.out" 2>"$PD/$which.err" </dev/null &&
			rc=0 || rc=$?
	else
		in_ns "$NS" "${env[@]}" fcm "${words[@]}" >"$PD/$which.out" 2>"$PD/$which.err" </dev/null &&
			rc=0 || rc=$?
	fi
	echo "$rc" >"$PD/$which.rc"
	cd "$BATS_TEST_TMPDIR"
	# The VMs this side made (in BEFORE or the row): normalised, then gone.
	after=$( (echo "$after"; vm_list "$root") | sort -u)
	fresh=$(comm -13 <(echo "$before") <(echo "$after") | grep . || true)
	local n=0 id name sed=()
	while read -r id name; do
		[ -n "$id" ] || continue
		n=$((n + 1))
		sed+=(-e "s/$id/<id-$n>/g")
		[[ " ${words[*]} $prep " == *" $name "* ]] || sed+=(-e "s/$name/<name-$n>/g")
		[ -e "$root/vms/$id" ] && in_ns "$NS" env FCM_ROOT="$root" fcm destroy "$id" >/dev/null 2>&1
	done <<< "$fresh"
	if [ "$n" -gt 0 ]; then
		sed+=(-e 's/"created_at":[0-9]*/"created_at":<T>/g')
		sed -i "${sed[@]}" "$PD/$which.out" "$PD/$which.err"
	fi
	true
}

# parity CMD: every row of the table for fcm CMD, on both sides; fails
# listing each row whose sides differ or exit otherwise than the table says.
parity() {
	local row exit line bad=0 rows=0 words
	PD=$BATS_TEST_TMPDIR/parity
	mkdir -p "$PD"
	while IFS= read -r row; do
		[[ -z $row || $row == \#* ]] && continue
		line=${row#* }
		line=${line%%|*}
		read -ra words <<< "$line"
		while [[ ${words[0]} == @* ]]; do words=("${words[@]:1}"); done
		[ "${words[0]}" = "$1" ] || continue
		rows=$((rows + 1))
		exit=${row%% *}
		side local "$row"
		side remote "$row"
		local msg=
		for s in out err rc; do
			cmp -s "$PD/local.$s" "$PD/remote.$s" ||
				msg+="  $s differs (< local, > remote):"$'\n'"$(diff "$PD/local.$s" "$PD/remote.$s" | sed 's/^/    /')"$'\n'
		done
		[ "$(cat "$PD/local.rc")" = "$exit" ] ||
			msg+="  exit $(cat "$PD/local.rc"), not $exit; stderr: $(head -c 300 "$PD/local.err")"$'\n'
		if [ -n "$msg" ]; then
			bad=$((bad + 1))
			printf 'fcm %s\n%s\n' "$(sed 's/  */ /g' <<< "$line")" "$msg" >&3
		fi
	done <<< "$PARITY_TABLE"
	[ "$rows" -gt 0 ] || fail "no rows for '$1' in the table"
	[ "$bad" -eq 0 ] || fail "$bad of $rows rows of 'fcm $1' differ (above)"
}

# --- the tests: one per command ----------------------------------------------------

@test "parity: create" { parity create; }
@test "parity: ls" { parity ls; }
@test "parity: start" { parity start; }
@test "parity: stop" { parity stop; }
@test "parity: destroy" { parity destroy; }
@test "parity: logs" { parity logs; }
@test "parity: expose" { parity expose; }
@test "parity: unexpose" { parity unexpose; }
@test "parity: remote" { parity remote; }
@test "parity: users" { parity users; }
@test "parity: config" { parity config; }
@test "parity: ps" { parity ps; }
@test "parity: restart" { parity restart; }
@test "parity: run" { parity run; }
@test "parity: releases" { parity releases; }
@test "parity: rollback" { parity rollback; }
@test "parity: domains" { parity domains; }

@test "every row of the table belongs to a test above and is well-formed" {
	local tested=" create ls start stop destroy logs expose unexpose remote users config ps restart run domains releases rollback " row words
	while IFS= read -r row; do
		[[ -z $row || $row == \#* ]] && continue
		[[ $row =~ ^(0|100|111|124)\  ]] || fail "row without an exit status: $row"
		read -ra words <<< "${row#* }"
		while [[ ${words[0]} == @* ]]; do words=("${words[@]:1}"); done
		[[ $tested == *" ${words[0]} "* ]] || fail "no test runs the rows of '${words[0]}': $row"
	done <<< "$PARITY_TABLE"
}

# --- what the table cannot say --------------------------------------------------------

@test "destroy no-such-vm --json: kind not_found, exit 100; the API answers 404 with the same body" {
	run -100 --separate-stderr in_ns "$NS" fcm destroy no-such-vm --json
	assert_line -n 0 '{"ok":false,"kind":"not_found","error":"no VM named '"'no-such-vm'"' (see '"'fcm ls'"')"}'
	local body=${lines[0]}
	run in_ns "$NS" curl -s -w '\n%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" \
		http://127.0.0.1:7777/v1/vms/no-such-vm
	assert_line -n 0 "$body"
	assert_line -n 1 404
}

@test "daemon not running: kind unavailable, exit 111 on both sides; the API answers 503 with the same body" {
	run -111 --separate-stderr in_ns "$NS" env FCM_ROOT="$ROOT2" fcm create --no-wait --json
	assert_output --partial '{"ok":false,"kind":"unavailable","error":"fcm daemon is not running on '"$ROOT2"
	local body=${lines[0]}
	run -111 --separate-stderr in_ns "$NS" env FCM_ROOT="$ROOT2" FCM_HOST=127.0.0.1:7778 FCM_TOKEN="$TOKEN2" fcm create --no-wait --json
	assert_line -n 0 "$body"
	run in_ns "$NS" curl -s -i -X POST -H "Authorization: Bearer $TOKEN2" -d '{"wait":false}' http://127.0.0.1:7778/v1/vms
	assert_line --regexp '^HTTP/1\.1 503 '
	assert_line --regexp '^Retry-After: 1'
	assert_line "$body"
	[ -z "$(ls "$ROOT2/vms" 2>/dev/null)" ] || fail "the refused create left $(ls "$ROOT2/vms")"
	# No API at all: the same kind, said by the client.
	run -111 in_ns "$NS" env FCM_HOST=127.0.0.1:1 FCM_TOKEN="$TOKEN" fcm ls --json
	assert_output --partial '"kind":"unavailable"'
	assert_output --partial 'unable to reach the fcm API at 127.0.0.1:1'
}

@test "the table's VMs are as the rows expect, and rows left none behind" {
	run fcm-ls --json
	assert_equal "$(jq -r .name <<< "$output" | sort | tr '\n' ' ')" "pv pv-n pv-o pv-x "
	[ "$(jq -r 'select(.name=="pv-o") | .owner' <<< "$output")" = bob ]
	[ -z "$(ls "$ROOT2/vms" 2>/dev/null)" ]
}
