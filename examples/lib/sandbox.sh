# examples/lib/sandbox.sh — a whole fcm host in a private network namespace,
# for examples/demo and bench/deploy-push.  Source it, then:
#
#   sandbox_up        namespace, state root, guest image, fcm daemon (with Caddy
#                     on its internal CA), a pusher's ssh key added with
#                     `fcm keys`, and an sshd on port 22 of the namespace that
#                     reads fcm's authorized_keys (as doc/deploy.md sets up)
#   sb fcm create …   run a command inside the namespace
#   sandbox_fetch URL curl an fcm URL through Caddy, trusting its internal CA
#   sandbox_down      everything stopped and removed (also on EXIT)
#
# NETWORK SAFETY: every link, address, guest, sshd and Caddy lives in the
# namespace ($SB_NS), which has no link out; it is deleted by sandbox_down.
# The firecracker binary is the test double (test/firecracker), which boots
# the guest under QEMU.

SB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SB_GW=172.16.0.1
SB_NS=fcm-sandbox-$$
SB_TMP=
SB_SSHD_PID=

sb_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
sb_die() { echo "${0##*/}: fatal: $*" >&2; exit 111; }
sb() { ip netns exec "$SB_NS" "$@"; }

# The guest image `make image` built for this recipe, else the newest one.
sb_image() {
	local cache=${FCM_CACHE:-/var/cache/fcm} h d
	h=$("$SB_SRC/rootfs/build" --print-hash 2>/dev/null) || h=
	if [ -n "$h" ] && [ -e "$cache/image-$h/.complete" ]; then
		echo "$cache/image-$h"
		return 0
	fi
	for d in $(ls -dt "$cache"/image-*/ 2>/dev/null); do
		[ -e "$d/.complete" ] && { echo "${d%/}"; return 0; }
	done
	return 1
}

sandbox_up() {
	local img i
	[ "$(id -u)" = 0 ] || sb_die "run as root (network namespaces, taps, sshd)"
	for t in ip git ssh ssh-keygen curl caddy s6-svscan /usr/sbin/sshd qemu-system-x86_64; do
		command -v "$t" >/dev/null || sb_die "unable to find $t: run 'make deps'"
	done
	[ -x "$SB_SRC/bin/fcm" ] && [ -x "$SB_SRC/test/firecracker/firecracker" ] || sb_die "build fcm first: make"
	img=$(sb_image) || sb_die "no guest image: run 'make image'"

	SB_TMP=$(mktemp -d /tmp/fcm-sandbox.XXXXXX)
	chmod 0711 "$SB_TMP"	# Caddy runs as its own user: it must pass through to $FCM_ROOT/caddy
	trap sandbox_down EXIT
	trap 'exit 130' INT TERM
	export PATH=$SB_SRC/bin:$PATH
	export FCM_ROOT=$SB_TMP/root
	export FCM_FIRECRACKER=$SB_SRC/test/firecracker/firecracker
	export FCM_TLS=internal FCM_PUBLIC_IP=$SB_GW
	export FCM_BOOT_TIMEOUT=${FCM_BOOT_TIMEOUT:-600}
	unset FCM_DOMAIN FCM_GIT_HOST FCM_GIT_PORT FCM_PROXY FCM_HOST FCM_TOKEN FCM_EXEC_PATH
	mkdir -p "$FCM_ROOT"

	ip netns add "$SB_NS" || sb_die "unable to create network namespace $SB_NS"
	ip -n "$SB_NS" link set lo up
	fcm-image add dir="$img" >/dev/null || sb_die "unable to install the guest image $img"

	sb fcm daemon >"$SB_TMP/daemon.log" 2>&1 3>&- &
	for i in $(seq 100); do
		s6-svscanctl -a "$FCM_ROOT/scan" 2>/dev/null && break
		sleep 0.1
	done
	s6-svscanctl -a "$FCM_ROOT/scan" 2>/dev/null || { cat "$SB_TMP/daemon.log" >&2; sb_die "fcm daemon did not start"; }

	# The pusher: a key in ~/.ssh and plain ssh settings.
	export HOME=$SB_TMP/home
	mkdir -p "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C you@laptop -f "$HOME/.ssh/id_ed25519"
	# ssh reads ~/.ssh of the passwd entry, not $HOME: name the files.
	printf 'Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile %s\n' \
	    "$HOME/.ssh/id_ed25519" "$HOME/.ssh/known_hosts" >"$HOME/.ssh/config"
	git config --global core.sshCommand "ssh -F $HOME/.ssh/config"
	git config --global user.name "fcm demo"
	git config --global user.email demo@example.org
	git config --global init.defaultBranch main
	git config --global advice.detachedHead false
	fcm keys add --admin "$HOME/.ssh/id_ed25519.pub" >/dev/null || sb_die "fcm keys add failed"

	# The host's sshd, reading fcm's authorized_keys (doc/deploy.md).
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$SB_TMP/ssh_host_ed25519_key"
	cat >"$SB_TMP/sshd_config" <<-EOF
	Port 22
	ListenAddress 0.0.0.0
	HostKey $SB_TMP/ssh_host_ed25519_key
	PidFile $SB_TMP/sshd.pid
	AuthorizedKeysFile $FCM_ROOT/ssh/authorized_keys
	StrictModes no
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	EOF
	sb /usr/sbin/sshd -f "$SB_TMP/sshd_config" -E "$SB_TMP/sshd.log" || sb_die "sshd did not start"
	SB_SSHD_PID=$(cat "$SB_TMP/sshd.pid" 2>/dev/null)
}

# sandbox_fetch URL: the page, through Caddy, with its internal CA.
sandbox_fetch() {
	local host=${1#https://}
	host=${host%%/*}
	sb curl -sS --max-time 20 --resolve "$host:443:$SB_GW" \
	    --cacert "$FCM_ROOT/caddy/caddy/pki/authorities/local/root.crt" "https://$host/"
}

sandbox_down() {
	local pids
	trap - EXIT
	[ -n "$SB_TMP" ] || return 0
	[ -n "$SB_SSHD_PID" ] && kill "$SB_SSHD_PID" 2>/dev/null
	if ip netns list 2>/dev/null | grep -qw "$SB_NS"; then
		# Every process of the sandbox runs in its namespace: fcm daemon,
		# s6, the VMMs and QEMU, Caddy, sshd.
		pids=$(ip netns pids "$SB_NS" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		sleep 0.5
		ip netns delete "$SB_NS" 2>/dev/null
	fi
	rm -rf --one-file-system "$SB_TMP"
	SB_TMP=
}
