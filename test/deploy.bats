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
	run page dep-py
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
	assert_output --partial "remote: -----> Starting: python3 app.py"
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
	assert_output --partial "remote: -----> Deploy failed: the app exited"
	assert_output --partial "SyntaxError"
	assert_output --partial "rolled back"
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
	assert_output --partial "Deploy failed: the app exited"
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
	assert_output --partial "remote: -----> Starting: node server.js"
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
	assert_output --partial "remote: -----> Starting: ruby app.rb"
	assert_output --partial "remote: -----> Deploy successful!"
	run page dep-nr
	assert_output --partial "Ruby app running on dep-nr"
}

@test "every deploy is in the VM's deploy.log" {
	id=$(fcm-ls --json dep-py | jq -r .id)
	log=$FCM_ROOT/vms/$id/deploy.log
	[ "$(grep -c '^=== deployed in' "$log")" -eq 2 ]
	grep -q 'Deploy failed: the app exited' "$log"
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
