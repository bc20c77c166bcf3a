#!/usr/bin/env bats
# git push deploy, end to end: real guests (the Firecracker test double), the
# fcm daemon with Caddy on its internal CA, an sshd of our own for git push,
# and a package index — all inside network namespaces made here.
#
# NETWORK SAFETY: two namespaces, removed in teardown_file even on failure:
#   $NS   fcm (bridge 172.16.0.1/24, taps, guests), Caddy, the test sshd on
#         port 22, every git push and curl;
#   $IX   "the internet": a package index (python3 -m http.server) on
#         198.51.100.2 (a documentation range: guests reach only public
#         addresses, doc/isolation.md), joined to $NS by a veth pair only.
# No link leads out of them; nothing is installed from the internet.
load test_helper

GW=172.16.0.1
IX_ADDR=198.51.100.2

setup_file() {
	require_image_file
	command -v caddy >/dev/null || skip "caddy is not installed (make deps)"
	[ -x /usr/sbin/sshd ] || skip "sshd is not installed (make deps)"
	export NS=fcmt-dep-$$ IX=fcmt-depix-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	# The oldest Firecracker fcm supports: its devices only on the kernel
	# command line (test/boot.bats covers both releases).
	export FCM_TEST_FC_VERSION=1.7.0
	export FCM_TLS=internal FCM_PUBLIC_IP=$GW
	unset FCM_DOMAIN FCM_GIT_HOST FCM_GIT_PORT FCM_PROXY
	export FCM_BOOT_TIMEOUT=${FCM_BOOT_TIMEOUT:-600}
	D=$BATS_FILE_TMPDIR
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	netns_create "$IX"
	fcm_install_image
	daemon_start

	# The package index, one veth away.
	ip link add dix0 netns "$NS" type veth peer name dix1 netns "$IX"
	ip -n "$NS" addr add 198.51.100.1/24 dev dix0
	ip -n "$IX" addr add "$IX_ADDR/24" dev dix1
	ip -n "$NS" link set dix0 up
	ip -n "$IX" link set dix1 up
	"$FCM_SRC/test/deploy/make-index" "$D/index" >/dev/null
	in_ns "$IX" python3 -m http.server 8099 --bind "$IX_ADDR" --directory "$D/index" \
	    >"$D/index.log" 2>&1 3>&- &

	# The pusher: plain git and ssh, a key in ~/.ssh, added with fcm keys.
	export HOME=$D/home
	mkdir -p "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C pusher -f "$HOME/.ssh/id_ed25519"
	# ssh reads ~/.ssh of the passwd entry, not $HOME: name the files.
	printf 'Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile %s\n' \
	    "$HOME/.ssh/id_ed25519" "$HOME/.ssh/known_hosts" >"$HOME/.ssh/config"
	git config --global core.sshCommand "ssh -F $HOME/.ssh/config"
	git config --global user.name pusher
	git config --global user.email pusher@example.org
	git config --global init.defaultBranch main
	fcm keys add --admin "$HOME/.ssh/id_ed25519.pub" >/dev/null

	# The host's sshd, as doc/deploy.md sets it up, on port 22 of $NS.
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$D/ssh_host_ed25519_key"
	cat >"$D/sshd_config" <<-EOF
	Port 22
	ListenAddress 0.0.0.0
	HostKey $D/ssh_host_ed25519_key
	PidFile $D/sshd.pid
	AuthorizedKeysFile $(fcm keys sshd | sed 's/^AuthorizedKeysFile .ssh\/authorized_keys //')
	StrictModes no
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	SetEnv FCM_PIP_INDEX_URL=http://$IX_ADDR:8099/simple/
	LogLevel VERBOSE
	EOF
	in_ns "$NS" /usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"

	# One VM for the Python app, one for Node and Ruby.
	cd "$D"
	in_ns "$NS" fcm create --name dep-py --no-dotfile --json >"$D/create-py.json"
	in_ns "$NS" fcm create --name dep-nr --no-dotfile --json >"$D/create-nr.json"
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	[ -s "$BATS_FILE_TMPDIR/sshd.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/sshd.pid")" 2>/dev/null
	netns_delete "$IX"
	netns_delete "$NS"
	true
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root HOME=$BATS_FILE_TMPDIR/home
	D=$BATS_FILE_TMPDIR
	cd "$D"
}

# push DIR [git push args...]: plain git push, from inside $NS.
push() {
	local dir=$1
	shift
	(cd "$dir" && in_ns "$NS" git push "$@" 2>&1)
}
# page NAME: the VM's URL through Caddy (HTTPS, the internal CA).
page() {
	local host
	host=$(fcm-ls --json "$1" | jq -r .url | sed 's|^https://||')
	in_ns "$NS" curl -sS --max-time 10 --resolve "$host:443:$GW" \
	    --cacert "$FCM_ROOT/caddy/caddy/pki/authorities/local/root.crt" "https://$host/"
}
# new_app DIR SRC: a fresh git repo with a copy of SRC, committed.
new_app() {
	rm -rf "$1"
	cp -r "$2" "$1"
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" commit -qm "first"
}
commit() { git -C "$1" add -A && git -C "$1" commit -qm "${2:-change}"; }

@test "fcm create made both VMs with a git remote on the host" {
	for n in py nr; do
		[ "$(jq -r .ok "$D/create-$n.json")" = true ]
		[ "$(jq -r .git "$D/create-$n.json")" = "root@$GW:dep-$n.git" ]
		[ -x "$FCM_ROOT/git/dep-$n.git/hooks/pre-receive" ]
	done
}

@test "before the first deploy, the URL serves the placeholder naming the VM and how to deploy" {
	local i
	for i in $(seq 60); do	# the guest is ready when its sshd is; the page comes a little later
		run page dep-py
		[[ $output == *"git push"* ]] && break
		sleep 1
	done
	assert_success
	assert_output --partial dep-py
	assert_output --partial "git push"
}

@test "fcm remote adds the VM's remote as origin" {
	new_app "$D/py" "$FCM_SRC/test/deploy/python-app"
	cd "$D/py"
	run fcm remote dep-py
	assert_success
	[ "$(git remote get-url origin)" = "root@$GW:dep-py.git" ]
	run fcm remote dep-py
	assert_success
	[ "$(jq -r .added <<<"$output")" = false ]
	run fcm remote dep-nr
	assert_failure 100
	assert_output --partial "remote 'origin' already points to root@$GW:dep-py.git"
}

@test "a Python app deploys with plain git push: detection, pip from the local index, start, URL" {
	run push "$D/py" origin main
	assert_success
	assert_output --partial "remote: -----> Deploying "
	assert_output --partial "remote: -----> Detected Python (requirements.txt)"
	assert_output --partial "remote: -----> Running pip install..."
	assert_output --partial "Successfully installed fcmgreet-1.0"
	assert_output --partial "remote: -----> Starting web: python3 app.py"
	assert_output --partial "remote: -----> Deploy successful!"
	assert_output --partial "remote:        https://dep-py.172-16-0-1.sslip.io"
	run page dep-py
	assert_success
	assert_output "Python page one
Greetings from fcmgreet, fcm!"
	# the branch names what is deployed
	[ "$(git --git-dir="$FCM_ROOT/git/dep-py.git" rev-parse main)" = "$(git -C "$D/py" rev-parse HEAD)" ]
}

@test "a second push with a change serves the new page" {
	echo "Python page two" >"$D/py/message.txt"
	commit "$D/py"
	run push "$D/py" origin main
	assert_success
	assert_output --partial "Deploy successful!"
	run page dep-py
	assert_output --partial "Python page two"
}

@test "a push with a syntax error is refused and the old page keeps serving" {
	good=$(git -C "$D/py" rev-parse HEAD)
	echo "def broken(:" >>"$D/py/app.py"
	echo "Python page three" >"$D/py/message.txt"
	commit "$D/py" broken
	run push "$D/py" origin main
	assert_failure
	assert_output --partial "remote: -----> Deploy failed: web exited"
	assert_output --partial "SyntaxError"
	assert_output --partial "release 2 is still serving (it was never stopped)"
	assert_output --partial "[remote rejected] main -> main (pre-receive hook declined)"
	run page dep-py
	assert_output --partial "Python page two"
	[ "$(git --git-dir="$FCM_ROOT/git/dep-py.git" rev-parse main)" = "$good" ]
	git -C "$D/py" reset -q --hard "$good"
}

@test "a push whose web: exits is refused and the old page keeps serving" {
	echo "web: python3 -c 'import sys; sys.exit(3)'" >"$D/py/Procfile"
	commit "$D/py" exits
	run push "$D/py" origin main
	assert_failure
	assert_output --partial "Deploy failed: web exited"
	run page dep-py
	assert_output --partial "Python page two"
	git -C "$D/py" reset -q --hard HEAD~1
}

@test "a push without a Procfile, or without web:, is refused with a clear message" {
	git -C "$D/py" rm -q Procfile
	commit "$D/py" "no procfile"
	run push "$D/py" origin main
	assert_failure
	assert_output --partial "Deploy failed: no Procfile"
	echo "worker: python3 app.py" >"$D/py/Procfile"
	commit "$D/py" "no web"
	run push "$D/py" origin main
	assert_failure
	assert_output --partial "Deploy failed: the Procfile has no web: line"
	git -C "$D/py" reset -q --hard HEAD~2
	run page dep-py
	assert_output --partial "Python page two"
}

@test "a pip failure keeps the old release" {
	echo "no-such-package-anywhere" >>"$D/py/requirements.txt"
	commit "$D/py" "bad requirement"
	run push "$D/py" origin main
	assert_failure
	assert_output --partial "Deploy failed: pip install failed"
	git -C "$D/py" reset -q --hard HEAD~1
	run page dep-py
	assert_output --partial "Python page two"
}

@test "a push to another branch is accepted and not deployed" {
	run push "$D/py" origin main:feature
	assert_success
	assert_output --partial "Not deploying feature"
}

@test "a Node app deploys the same way" {
	new_app "$D/node" "$FCM_SRC/examples/node-app"
	git -C "$D/node" remote add origin "root@$GW:dep-nr.git"
	run push "$D/node" origin main
	assert_success
	assert_output --partial "remote: -----> Detected Node.js (package.json)"
	assert_output --partial "remote: -----> Running npm install..."
	assert_output --partial "remote: -----> Starting web: node server.js"
	assert_output --partial "remote: -----> Deploy successful!"
	run page dep-nr
	assert_output --partial "Node.js app running on dep-nr"
}

@test "a Ruby app deploys the same way" {
	new_app "$D/ruby" "$FCM_SRC/examples/ruby-app"
	git -C "$D/ruby" remote add origin "root@$GW:dep-nr.git"
	run push "$D/ruby" --force origin main
	assert_success
	assert_output --partial "remote: -----> Detected Ruby (Gemfile)"
	assert_output --partial "remote: -----> Running bundle install..."
	assert_output --partial "remote: -----> Starting web: ruby app.rb"
	assert_output --partial "remote: -----> Deploy successful!"
	run page dep-nr
	assert_output --partial "Ruby app running on dep-nr"
}

@test "every deploy is in the VM's deploy.log" {
	id=$(fcm-ls --json dep-py | jq -r .id)
	log=$FCM_ROOT/vms/$id/deploy.log
	[ "$(grep -c '^[0-9TZ:.-]* === deployed in' "$log")" -eq 2 ]
	grep -q 'Deploy failed: web exited' "$log"
	grep -q 'pushed by admin' "$log"
}

@test "a push to a stopped VM is refused: start it with fcm start" {
	in_ns "$NS" fcm stop dep-nr
	echo "// change" >>"$D/ruby/app.rb"
	commit "$D/ruby"
	run push "$D/ruby" origin main
	assert_failure
	assert_output --partial "remote: -----> Deploy failed: VM 'dep-nr' is not running: start it with 'fcm start dep-nr'"
	[ "$(git --git-dir="$FCM_ROOT/git/dep-nr.git" rev-parse main)" = "$(git -C "$D/ruby" rev-parse HEAD~1)" ]
}

@test "fcm destroy removes the git repo" {
	in_ns "$NS" fcm destroy dep-nr
	[ ! -e "$FCM_ROOT/git/dep-nr.git" ]
}

@test "a simulated host reboot: the deployed app is served over HTTPS again, with its release" {
	before=$(page dep-py)
	[[ $before == *"Python page two"* ]]
	id=$(fcm-ls --json dep-py | jq -r .id)
	# The reboot: every process in the namespace killed at once (daemon, VMs,
	# Caddy, sshd), the namespace with its bridge, taps and rules gone, then
	# made again, empty; fcm daemon started on the same FCM_ROOT.
	netns_delete "$NS"
	netns_create "$NS"
	daemon_start
	s6-svwait -U -t 600000 "$FCM_ROOT/vms/$id/service"
	local i
	for i in $(seq 150); do
		run page dep-py
		[[ $output == *"Python page two"* ]] && break
		sleep 2
	done
	assert_output "$before"
	[ "$(fcm-ls --json dep-py | jq -r .state)" = running ]
}

# --- the app runtime: processes, release phase, config, ps, restart, run, logs ------
# On dep-py, after the reboot test: an app with web, worker and release lines.

# rfcm ARGS: fcm as a remote user runs it, through the API.
rfcm() {
	in_ns "$NS" env FCM_HOST=127.0.0.1:7777 FCM_TOKEN="$(cat "$FCM_ROOT/.token")" fcm "$@"
}

@test "web, worker and release: the release command runs once per push, before the processes start" {
	# The simulated reboot took the test's sshd with its namespace.
	if [ -s "$D/sshd.pid" ]; then kill "$(cat "$D/sshd.pid")" 2>/dev/null || true; fi
	in_ns "$NS" /usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"
	new_app "$D/procs" "$FCM_SRC/test/deploy/procs-app"
	git -C "$D/procs" remote add origin "root@$GW:dep-py.git"
	run push "$D/procs" --force origin main
	assert_success
	assert_output --partial "remote: -----> Running release: python3 migrate.py"
	assert_output --partial "remote:        migrations applied"
	assert_output --partial "remote: -----> Starting web: python3 app.py"
	assert_output --partial "remote: -----> Starting worker: python3 -u worker.py"
	assert_output --partial "remote: -----> Deploy successful!"
	assert_output --regexp "remote: -----> Released v[0-9]+"
	run page dep-py
	assert_output "procs v1
greeting: no greeting
migrations: 1"
	echo "procs v2" >"$D/procs/version.txt"
	commit "$D/procs" v2
	run push "$D/procs" origin main
	assert_success
	run page dep-py
	assert_output "procs v2
greeting: no greeting
migrations: 2"
}

@test "fcm ps lists web and worker with their release, locally and through the API" {
	run in_ns "$NS" fcm ps dep-py --json
	assert_success
	# (the web of the release before may run beside, as the standby)
	output=$(jq -c 'select(.state != "standby")' <<<"$output")
	[ "$(jq -s 'map(.type) | sort | join(",")' <<<"$output")" = '"web,worker"' ]
	[ "$(jq -s 'map(.state) | unique | join(",")' <<<"$output")" = '"up"' ]
	rel=$(in_ns "$NS" fcm run dep-py -- readlink /app/current)
	[ "$(jq -s "map(.release == ${rel##*/}) | all" <<<"$output")" = true ]
	[ "$(jq -r 'select(.type == "worker") | .instance' <<<"$output")" = worker.1 ]
	run rfcm ps dep-py --json
	assert_success
	[ "$(jq -s 'map(select(.state != "standby") | .type) | sort | join(",")' <<<"$output")" = '"web,worker"' ]
}

@test "the worker's output is in fcm logs --type worker and in the merged view, tagged" {
	local i
	for i in $(seq 60); do
		run in_ns "$NS" fcm logs dep-py --type worker -n 5
		[[ $output == *"app[worker.1]: worker tick"* ]] && break
		sleep 1
	done
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z app\[worker\.1\]: worker tick [0-9]+'
	refute_output --partial "app[web.1]"
	run rfcm logs dep-py -n 500
	assert_success
	assert_output --partial "app[worker.1]: worker tick"
	assert_output --partial "fcm[deploy]: -----> Deploy successful!"
	assert_output --partial "fcm[deploy]: -----> Running release: python3 migrate.py"
	run in_ns "$NS" fcm logs dep-py --type nosuch
	assert_failure
	assert_output --partial "no process type 'nosuch' has run in it"
}

@test "a killed worker is started again by its supervisor, and fcm ps counts the restart" {
	pid=$(in_ns "$NS" fcm ps dep-py --json | jq -r 'select(.type == "worker") | .pid')
	[ "$pid" -gt 1 ]
	run in_ns "$NS" fcm run dep-py -- kill -9 "$pid"
	assert_success
	local i
	for i in $(seq 60); do
		p=$(in_ns "$NS" fcm ps dep-py --json | jq -c 'select(.type == "worker")')
		[ "$(jq -r .state <<<"$p")" = up ] && [ "$(jq -r .pid <<<"$p")" != "$pid" ] && break
		sleep 1
	done
	[ "$(jq -r .pid <<<"$p")" != "$pid" ]
	[ "$(jq -r .restarts <<<"$p")" -ge 1 ]
	run in_ns "$NS" fcm restart dep-py --type worker
	assert_success
	run in_ns "$NS" fcm restart dep-py --type nosuch
	assert_failure
	assert_output --partial "no process type 'nosuch'"
}

@test "fcm config set changes what web answers without a push; unset takes it away; the value is nowhere else" {
	secret="hi-$RANDOM$RANDOM-s3cret"
	run rfcm config set dep-py "GREETING=$secret"
	assert_success
	run page dep-py
	assert_output --partial "greeting: $secret"
	run in_ns "$NS" fcm config dep-py --json
	assert_output "{\"name\":\"GREETING\",\"value\":\"$secret\"}"
	run in_ns "$NS" script -qec "fcm config dep-py" /dev/null
	refute_output --partial "$secret"
	assert_output --partial GREETING
	# in no process's arguments, on the host or in the guest (the pattern
	# from a file: in grep's own arguments it would find itself)
	printf '%s\n' "$secret" > "$BATS_TEST_TMPDIR/secret"
	run ! grep -alFf "$BATS_TEST_TMPDIR/secret" /proc/[0-9]*/cmdline 2>/dev/null
	run in_ns "$NS" fcm run dep-py -- sh -c 'cat /proc/[0-9]*/cmdline | tr "\0" " "'
	assert_success
	refute_output --partial "$secret"
	# in no log, and in no file another user may read on the host
	run in_ns "$NS" fcm logs dep-py -n 1000
	refute_output --partial "$secret"
	run in_ns "$NS" fcm logs dep-py --console -n 10000
	refute_output --partial "$secret"
	for f in $(grep -rlF -- "$secret" "$FCM_ROOT" 2>/dev/null); do
		[ "$(stat -c %a "$f")" = 600 ] && [ "$(stat -c %U "$f")" = root ]
		[ "$(stat -c %a "$(dirname "$f")")" = 700 ]
	done
	run in_ns "$NS" fcm config unset dep-py GREETING
	assert_success
	run page dep-py
	assert_output --partial "greeting: no greeting"
}

@test "fcm run: the config in env, the exit status, /app/current, and an interactive bash under tmux" {
	in_ns "$NS" fcm config set dep-py RUNVAR=visible --no-restart >/dev/null
	run in_ns "$NS" fcm run dep-py -- env
	assert_success
	assert_line RUNVAR=visible
	assert_line PORT=8000
	run in_ns "$NS" fcm run dep-py -- sh -c 'exit 7'
	assert_failure 7
	# through the API: the same, in a console session of its own
	run rfcm run dep-py -- sh -c 'echo "remote $RUNVAR"; exit 5'
	assert_failure 5
	assert_output "remote visible"
	# a tmux server of its own (-L): not the machine's default one
	s=fcmrun-$$
	tmux -L "$s" new-session -d -s "$s" -x 120 -y 30 "ip netns exec $NS $FCM_SRC/bin/fcm run dep-py -- bash; sleep 30"
	local i
	for i in $(seq 60); do
		tmux -L "$s" capture-pane -p -t "$s" | grep -q '[#$] *$' && break
		sleep 1
	done
	tmux -L "$s" send-keys -t "$s" 'echo "at $PWD: $((6 * 7))"' Enter
	for i in $(seq 30); do
		tmux -L "$s" capture-pane -p -t "$s" | grep -q '^at /app/current: 42' && break
		sleep 1
	done
	out=$(tmux -L "$s" capture-pane -p -t "$s")
	tmux -L "$s" send-keys -t "$s" 'exit' Enter
	sleep 1
	tmux -L "$s" kill-server 2>/dev/null || true
	[[ $out == *"at /app/current: 42"* ]]
}

@test "a failing release: command refuses the push, and the previous release still answers" {
	printf 'web: python3 app.py\nworker: python3 -u worker.py\nrelease: python3 -c "import sys; print(\\"migration broke\\"); sys.exit(4)"\n' >"$D/procs/Procfile"
	echo "procs v3" >"$D/procs/version.txt"
	commit "$D/procs" "bad release"
	run push "$D/procs" origin main
	assert_failure
	assert_output --partial "migration broke"
	assert_output --partial "Deploy failed: the release command failed (exit 4"
	run page dep-py
	assert_output --partial "procs v2"
	git -C "$D/procs" reset -q --hard HEAD~1
}

@test "bad input to config, run and restart: one clear line each, and nothing changed" {
	id=$(fcm-ls --json dep-py | jq -r .id)
	before=$(sha256sum <"$FCM_ROOT/vms/$id/env")
	run in_ns "$NS" fcm config set dep-py 1BAD=x
	assert_failure 100
	assert_output "fcm-config: fatal: '1BAD' is not a config var name: use letters, digits and _, not starting with a digit, at most 128 characters (e.g. DATABASE_URL)"
	run in_ns "$NS" fcm config set dep-py PORT=1
	assert_failure 100
	assert_output "fcm-config: fatal: PORT is set by fcm (the web process listens on it): pick another name"
	run in_ns "$NS" fcm config set dep-py "BIG=$(head -c 40000 /dev/zero | tr '\0' x)"
	assert_failure 100
	assert_output "fcm-config: fatal: the value of BIG is 40000 bytes: at most 32768 are allowed"
	python3 -c 'import json; print(json.dumps({"pairs": ["BIG=" + "x" * 1000000]}))' >"$BATS_TEST_TMPDIR/big.json"
	run rfcm_json POST /v1/vms/dep-py/config "$BATS_TEST_TMPDIR/big.json"
	[[ $output == *'"ok":false'* ]]
	run in_ns "$NS" script -qec "fcm config set dep-py NOVALUE" /dev/null	# from a terminal: no value on stdin
	assert_failure 100
	assert_output --partial "is not KEY=VALUE"
	run in_ns "$NS" fcm run dep-py --
	assert_failure 100
	assert_output --partial "say which command"
	run in_ns "$NS" fcm restart dep-py --type 'Bad!'
	assert_failure 100
	assert_output --partial "is not a process type"
	[ "$(sha256sum <"$FCM_ROOT/vms/$id/env")" = "$before" ]
}

@test "after fcm stop and start: every process type runs again, with its config, and the logs are still there" {
	in_ns "$NS" fcm config set dep-py GREETING=after-restart --no-restart >/dev/null
	first=$(in_ns "$NS" fcm logs dep-py --type worker -n 100000 | head -n 1)
	[[ $first == *"app[worker.1]: "* ]]
	in_ns "$NS" fcm stop dep-py >/dev/null
	in_ns "$NS" fcm config set dep-py GREETING=set-while-stopped >/dev/null
	run in_ns "$NS" fcm start dep-py
	assert_success
	local i
	for i in $(seq 120); do
		run in_ns "$NS" fcm ps dep-py --json
		[ "$(jq -s 'map(select(.state == "up")) | length' <<<"$output" 2>/dev/null)" = 2 ] && break
		sleep 1
	done
	[ "$(jq -s 'map(select(.state == "up") | .type) | sort | join(",")' <<<"$output")" = '"web,worker"' ]
	for i in $(seq 60); do
		run page dep-py
		[[ $output == *"greeting: set-while-stopped"* ]] && break
		sleep 1
	done
	assert_output --partial "greeting: set-while-stopped"
	run in_ns "$NS" fcm logs dep-py --type worker -n 100000
	assert_line --index 0 "$first"
}

@test "fcm releases: every deploy and config change in order; fcm rollback runs an earlier build and config again, with no build step" {
	run in_ns "$NS" fcm releases dep-py --json
	assert_success
	[ "$(jq -s 'map(.version) | . == (sort | reverse)' <<<"$output")" = true ]
	v1sha=$(git -C "$D/procs" rev-parse HEAD~1) v2sha=$(git -C "$D/procs" rev-parse HEAD)
	old=$(jq -s -r --arg c "$v1sha" 'map(select(.kind == "deploy" and .commit == $c)) | .[0].version' <<<"$output")
	[ "$old" -ge 1 ]
	[ "$(jq -s -r '.[0].kind + " " + .[0].description' <<<"$output")" = "config Set GREETING" ]
	[ "$(jq -s -r --arg c "$v2sha" 'map(select(.kind == "deploy" and .commit == $c)) | length' <<<"$output")" = 1 ]
	run rfcm rollback dep-py "v$old"
	assert_success
	[ "$(jq -r .rolled_back_to <<<"$output")" = "$old" ]
	run in_ns "$NS" script -qec "fcm releases dep-py" /dev/null
	assert_line --index 1 --regexp "^v[0-9]+ +[0-9]+[smhd] +admin +${v1sha:0:7} +Rollback to v$old  \\(current\\)"
	run page dep-py
	assert_output "procs v1
greeting: no greeting
migrations: 2"	# v1's code and config; no release command ran again
	run in_ns "$NS" fcm releases dep-py --json
	[ "$(jq -s -r '.[0].kind + " " + .[0].description + " " + .[0].commit' <<<"$output")" = "rollback Rollback to v$old $v1sha" ]
	# the default: the release before the current one (v2 with its last config)
	run in_ns "$NS" fcm rollback dep-py
	assert_success
	run page dep-py
	assert_output --partial "procs v2"
	assert_output --partial "greeting: set-while-stopped"
	run in_ns "$NS" fcm rollback dep-py v999
	assert_failure 100
	assert_output "fcm-rollback: fatal: VM 'dep-py' has no release v999 (see 'fcm releases dep-py')"
}

# rfcm_json METHOD PATH FILE: a raw API request with the admin token, the
# body from FILE.
rfcm_json() {
	in_ns "$NS" curl -s -X "$1" -H "Authorization: Bearer $(cat "$FCM_ROOT/.token")" \
	    -H 'Content-Type: application/json' --data-binary "@$3" "http://127.0.0.1:7777$2"
}

# --- the zero-downtime switch (doc/deploy.md) ------------------------------------
# load_start VM: 20 HTTPS requests a second through Caddy to the VM's URL,
# one after the other, until load_stop; each answer is one line of
# $D/load: "<body> <status>" (status 000: no answer at all).
load_start() {
	local host
	host=$(fcm-ls --json "$1" | jq -r .url | sed 's|^https://||')
	: >"$D/load"
	# ip netns exec execs curl: $! is curl's pid
	ip netns exec "$NS" curl -s --rate 20/s --max-time 30 --resolve "$host:443:$GW" \
	    --cacert "$FCM_ROOT/caddy/caddy/pki/authorities/local/root.crt" \
	    -w ' %{http_code}\n' "https://$host/?n=[1-1000000]" >"$D/load" 2>/dev/null 3>&- &
	LOAD=$!
}
# load_stop: the load ends (call it in the test's shell, not in `run`);
# prints "N requests, N failed", the failed ones by kind, and then each body
# the answers carried, in order, once per run of equal ones.  The request
# the kill cut short (no status) is not counted.
load_stop() {
	kill "$LOAD"
	wait "$LOAD" 2>/dev/null || true
	grep -aE ' [0-9]{3}$' "$D/load" >"$D/load.done"
	echo "$(wc -l <"$D/load.done") requests, $(grep -cv ' 200$' "$D/load.done") failed"
	grep -v ' 200$' "$D/load.done" | cut -c 1-100 | sort | uniq -c | head -n 5
	grep ' 200$' "$D/load.done" | sed 's/ 200$//' | uniq
}
# load_check BODIES: the load ends (2 s after the last switch); not one
# request failed, and the answers carried BODIES (one per line), in order,
# each once per run.
load_check() {
	sleep 2
	load_stop >"$D/verdict"
	echo "# load: $(head -n 1 "$D/verdict")" >&3
	run cat "$D/verdict"
	echo "$output"
	assert_line --index 0 --regexp '^[0-9]{3,} requests, 0 failed$'
	assert_equal "$(tail -n +2 <<<"$output")" "$1"
}
web_pid() { in_ns "$NS" fcm ps dep-py --json | jq -r 'select(.instance == "web.1") | .pid'; }
# standby: "RELEASE PID" of the standby web, or nothing.
standby() { in_ns "$NS" fcm ps dep-py --json | jq -r 'select(.state == "standby") | "\(.release) \(.pid)"'; }

@test "zero downtime, an app on \$PORT: a push, a rollback, a config change and a push that never becomes healthy, under load, not one failed request" {
	rm -rf "$D/zd" && mkdir -p "$D/zd"
	cat >"$D/zd/app.py" <<-'PY'
	import http.server, os
	class H(http.server.BaseHTTPRequestHandler):
	    def do_GET(self):
	        body = ("%s %s" % (open("version.txt").read().strip(), os.environ.get("MOTTO", "-"))).encode()
	        self.send_response(500 if os.path.exists("broken") else 200)
	        self.send_header("Content-Length", str(len(body)))
	        self.end_headers()
	        self.wfile.write(body)
	    def log_message(self, *a):
	        pass
	http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
	PY
	echo 'web: python3 app.py' >"$D/zd/Procfile"
	echo v1 >"$D/zd/version.txt"
	git -C "$D/zd" init -q && commit "$D/zd" v1
	run push "$D/zd" --force "root@$GW:dep-py.git" main
	assert_success
	assert_output --partial "Deploy successful!"
	run page dep-py
	assert_output "v1 -"

	load_start dep-py
	v1=$(in_ns "$NS" fcm ps dep-py --json | jq -r 'select(.instance == "web.1") | "\(.release) \(.pid)"')
	echo v2 >"$D/zd/version.txt" && commit "$D/zd" v2
	run push "$D/zd" "root@$GW:dep-py.git" main
	assert_success
	assert_output --partial "remote: -----> Web answered GET / with 200"
	assert_output --partial "remote: -----> Traffic moved to the new web; the old one stays ready for 600 s as the standby"
	[ "$(standby)" = "$v1" ]	# v1's web runs on, not routed to
	v2=$(web_pid)
	# the rollback to it only moves the route: v1's own web serves again,
	# and v2's is the standby
	run in_ns "$NS" fcm rollback dep-py
	assert_success
	[ "$(web_pid)" = "${v1#* }" ]
	[ "$(standby | cut -d' ' -f2)" = "$v2" ]
	pid=$(web_pid)
	# FCM_HEALTH_TIMEOUT=60: a web's first answer can take half a minute on
	# a loaded machine (the guest is emulated); the later pushes of this
	# file are checked within it too
	run in_ns "$NS" fcm config set dep-py MOTTO=hello FCM_HEALTH_TIMEOUT=60 FCM_STANDBY=2
	assert_success
	[ "$(web_pid)" != "$pid" ]	# a new web serves the new config
	pid=$(web_pid)
	# FCM_STANDBY=2: the standby (the web with the old config) is retired
	# 2 s after the switch
	for _ in $(seq 60); do [ -z "$(standby)" ] && break; sleep 1; done
	[ -z "$(standby)" ]
	: >"$D/zd/broken" && echo v3 >"$D/zd/version.txt" && commit "$D/zd" "answers 500"
	run push "$D/zd" "root@$GW:dep-py.git" main
	assert_failure
	assert_output --partial "remote: -----> Web did not answer the health check within 60 s"
	assert_output --partial "is still serving (it was never stopped)"
	[ "$(web_pid)" = "$pid" ]	# untouched
	load_check "v1 -
v2 -
v1 -
v1 hello"
	git -C "$D/zd" reset -q --hard HEAD~1
}

@test "zero downtime, an app that binds port 8000 itself: the same four, not one failed request" {
	rm -rf "$D/zd8" && mkdir -p "$D/zd8"
	echo 'web: python3 -m http.server ${LISTEN:-8000}' >"$D/zd8/Procfile"
	printf b1 >"$D/zd8/index.html"
	git -C "$D/zd8" init -q && commit "$D/zd8" b1
	run push "$D/zd8" --force "root@$GW:dep-py.git" main
	assert_success
	run page dep-py
	assert_output "b1"

	load_start dep-py
	printf b2 >"$D/zd8/index.html" && commit "$D/zd8" b2
	run push "$D/zd8" "root@$GW:dep-py.git" main
	assert_success
	run in_ns "$NS" fcm rollback dep-py
	assert_success
	pid=$(web_pid)
	run in_ns "$NS" fcm config set dep-py MOTTO=again
	assert_success
	[ "$(web_pid)" != "$pid" ]
	pid=$(web_pid)
	echo 'web: sleep 100000' >"$D/zd8/Procfile" && commit "$D/zd8" "never listens"
	run push "$D/zd8" "root@$GW:dep-py.git" main
	assert_failure
	assert_output --partial "remote: -----> Web did not answer the health check within 60 s"
	[ "$(web_pid)" = "$pid" ]
	# a restart is a switch too
	run in_ns "$NS" fcm restart dep-py
	assert_success
	[ "$(web_pid)" != "$pid" ]
	load_check "b1
b2
b1"
	git -C "$D/zd8" reset -q --hard HEAD~1
}

@test "a config change whose web never becomes healthy is refused: the old config and web serve on; the switch's settings are checked" {
	pid=$(web_pid)
	names=$(in_ns "$NS" fcm config dep-py --json | jq -rs '[.[].name] | sort | join(",")')
	run in_ns "$NS" fcm config set dep-py LISTEN=9000 FCM_HEALTH_TIMEOUT=10
	assert_failure 111
	assert_output --regexp "^fcm-config: fatal: VM 'dep-py': with the new config web did not answer the health check \(GET /\) within 10 s \(see 'fcm logs --type web'\); nothing was changed: the old processes serve on with the old config$"
	[ "$(web_pid)" = "$pid" ]
	run in_ns "$NS" fcm config dep-py --json
	assert_success
	[ "$(jq -rs '[.[].name] | sort | join(",")' <<<"$output")" = "$names" ]
	run in_ns "$NS" fcm config get dep-py FCM_HEALTH_TIMEOUT
	assert_output '{"name":"FCM_HEALTH_TIMEOUT","value":"60"}'
	run page dep-py
	assert_output "b1"
	run in_ns "$NS" fcm config set dep-py FCM_HEALTH_PATH=nope
	assert_failure 100
	assert_output "fcm-config: fatal: FCM_HEALTH_PATH must be a path of at most 256 characters starting with / (letters, digits and ._~/?=&%+:@!\$,;- only), e.g. /healthz"
	run in_ns "$NS" fcm config set dep-py FCM_GRACE=0
	assert_failure 100
	assert_output "fcm-config: fatal: FCM_GRACE must be a whole number of seconds from 1 to 3600"
	for v in -1 86401 10m; do
		run in_ns "$NS" fcm config set dep-py "FCM_STANDBY=$v"
		assert_failure 100
		assert_output "fcm-config: fatal: FCM_STANDBY must be a whole number of seconds from 0 (no standby) to 86400"
	done
}
