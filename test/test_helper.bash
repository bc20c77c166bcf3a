# test/test_helper.bash — loaded by every suite: `load test_helper`.
bats_require_minimum_version 1.5.0
#
# Gives each test a private FCM_ROOT, puts the checkout's bin/ first on PATH,
# and offers network-namespace helpers.  NETWORK SAFETY: anything that makes
# links, addresses, routes or nftables rules runs inside a namespace made here
# (fcmt-*), never in the machine's own.

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

FCM_SRC=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export FCM_SRC
export PATH="$FCM_SRC/bin:$PATH"
export FCM_CACHE=${FCM_CACHE:-/var/cache/fcm}
unset FCM_HOST FCM_TOKEN FCM_EXEC_PATH FCM_PLUGINS FCM_CALLER

# A fresh state root for every test.
fcm_fresh_root() {
	FCM_ROOT=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/root.XXXXXX")
	export FCM_ROOT
}
fcm_fresh_root

# Run in a scratch directory, never the checkout: `fcm create` writes .fcm in
# the current directory, and later commands look for one in its parents.
cd "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}" || exit 1

# Assert that a directory tree is exactly as it was: snapshot, then compare.
tree_snapshot() { (cd "$1" && find . -printf '%p %s %m\n' 2>/dev/null | sort); }

# --- console clients in tmux (server $TM) ------------------------------------
# sigterm_cmd CLIENT: the line to type in a pane's shell to run the console
# client CLIENT for assert_sigterm_detaches.
sigterm_cmd() {
	printf '%s 2> %s/err; echo status=$?; stty -a | tr " " "\\n" | grep -x icanon > %s/after' \
		"$1" "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR"
}
# assert_sigterm_detaches PANE PROCESS HINT: the client (pgrep -f PROCESS, a
# child of PANE's shell) is made to echo, then gets SIGTERM: the terminal must
# be cooked again ("icanon", not "-icanon"), stderr one line, the exit 143.
assert_sigterm_detaches() {
	local pane=$1 pid i
	tmux -L "$TM" send-keys -t "$pane" -l 'echo attached-$((6*7))'
	tmux -L "$TM" send-keys -t "$pane" Enter
	for i in $(seq 100); do tmux -L "$TM" capture-pane -p -t "$pane" | grep -q '^attached-42' && break; sleep 0.1; done
	pid=$(pgrep -P "$(tmux -L "$TM" display -p -t "$pane" '#{pane_pid}')" -f "$2")
	[ -n "$pid" ] || fail "no $2 runs in pane $pane"
	kill -TERM "$pid"
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/after" ] && break; sleep 0.1; done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/after")" icanon
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "[detached by SIGTERM — reattach with: $3]"
	run tmux -L "$TM" capture-pane -p -t "$pane"
	assert_line --regexp 'status=143$'	# the session's prompt may stand before it
}

# --- network namespaces ----------------------------------------------------
# netns_create NAME: a namespace with only lo up; no link to the outside.
netns_create() {
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
}
netns_delete() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	ip netns delete "$ns" 2>/dev/null || true
}
# in_ns NAME cmd...: run a command inside the namespace.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# netns_private_net HOST PEER: the host's "other private network" for the
# egress tests: lan0 in HOST (10.99.0.1/24) joined to eth0 in PEER
# (10.99.0.2), where the "cloud metadata service" 169.254.169.254 lives too.
netns_private_net() {
	local host=$1 peer=$2
	ip link add lan0 netns "$host" type veth peer name eth0 netns "$peer"
	ip -n "$host" addr add 10.99.0.1/24 dev lan0
	ip -n "$host" link set lan0 up
	ip -n "$host" route add 169.254.169.254/32 via 10.99.0.2
	ip -n "$peer" addr add 10.99.0.2/24 dev eth0
	ip -n "$peer" addr add 169.254.169.254/32 dev lo
	ip -n "$peer" link set eth0 up
	ip -n "$peer" route add default via 10.99.0.1
}

# --- the guest image ---------------------------------------------------------
# fcm_cached_image [FLAVOR]: the cached image that `make image` builds from
# this checkout's recipe (FLAVOR fcm, the default, or debian), or fail.
fcm_cached_image() {
	local h
	h=$(FLAVOR=${1:-fcm} "$FCM_SRC/rootfs/build" --print-hash) || return 1
	[ -e "$FCM_CACHE/image-$h/.complete" ] || return 1
	echo "$FCM_CACHE/image-$h"
}
require_image() {
	FCM_IMAGE_DIR=$(fcm_cached_image) || skip "no guest image: run 'make image' first"
	export FCM_IMAGE_DIR
}

# For setup_file: skip the whole file when there is no image.
require_image_file() {
	FCM_IMAGE_DIR=$(fcm_cached_image) || skip "no guest image: run 'make image' first"
	export FCM_IMAGE_DIR
}

# fake_image DIR [VERSION]: a tiny image dir as `make image` leaves it, that
# no guest could boot (for the suites that only handle images and disks).
fake_image() {
	mkdir -p "$1"
	printf '\177ELF fake kernel' > "$1/vmlinux"
	truncate -s 8M "$1/rootfs.ext4"
	printf '{"version":"%s","kernel":"6.1.0-test","boot":"root-device","boot_args":"init=/usr/local/lib/fcm/boot","devices":["cmdline","acpi"],"created_at":1700000000}\n' "${2:-v1}" > "$1/manifest.json"
}

# add_image: add the fake image $IMG to the store, as a test step.
add_image() {
	run fcm-image add dir="$IMG"
	assert_success
}

# Install the cached image into $FCM_ROOT/images (hard links: instant).
fcm_install_image() {
	fcm-image add dir="$FCM_IMAGE_DIR" >/dev/null
}

# Caddy runs as its own user (s6/caddy/run): it must be able to pass
# through the directories above $FCM_ROOT/caddy.  Adds search permission
# (o+x, never read) to those that lack it — the test's own temporary ones.
fcm_root_searchable() {
	local d=$FCM_ROOT
	while [ -n "$d" ] && [ "$d" != / ]; do
		[ -d "$d" ] && [ "$(stat -c %A "$d" | cut -c10)" = - ] && chmod o+x "$d"
		d=$(dirname "$d")
	done
	return 0
}

# daemon_start [--net-only]: fcm daemon inside $NS; waits until s6-svscan
# answers.  With --net-only it joins only the namespace's network: `ip netns
# exec` also mounts a sysfs of its own over /sys, which hides the host's
# cgroups (the jailer needs them).
daemon_start() {
	fcm_root_searchable
	if [ "${1:-}" = --net-only ]; then
		nsenter --net="/run/netns/$NS" fcm daemon > "$BATS_FILE_TMPDIR/daemon.log" 2>&1 &
	else
		in_ns "$NS" fcm daemon > "$BATS_FILE_TMPDIR/daemon.log" 2>&1 &
	fi
	local i
	for i in $(seq 1 100); do
		s6-svscanctl -a "$FCM_ROOT/scan" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$BATS_FILE_TMPDIR/daemon.log" >&2
	return 1
}
daemon_stop() {
	s6-svscanctl -t "$FCM_ROOT/scan" 2>/dev/null || return 0
	local i
	for i in $(seq 1 300); do
		pgrep -f "s6-svscan .*$FCM_ROOT/scan" >/dev/null || return 0
		sleep 0.2
	done
	pkill -9 -f "$FCM_ROOT" 2>/dev/null || true
}

# For a suite whose daemon runs in $NS: fcm in the namespace, and ssh into
# a guest at IP with the host's key into its guests (a test's own ssh: the
# guest's host key not pinned).
fcmns() { in_ns "$NS" fcm "$@"; }
vm_ssh() {
	local ip=$1; shift
	in_ns "$NS" ssh -i "$FCM_ROOT/ssh/id_ed25519" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=180 \
		-o BatchMode=yes "root@$ip" "$@"
}
