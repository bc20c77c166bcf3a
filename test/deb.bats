#!/usr/bin/env bats
# The Debian package (make deb, debian/): lintian, dpkg -i, the unit's
# ExecStart line running a working daemon — inside a test network namespace
# with a test FCM_ROOT, never through the host's systemd — and dpkg --purge
# removing all it put there.  This is the CI machine: the package is purged
# whatever happens, and the test refuses to run over an fcm package that is
# already installed.
load test_helper

setup_file() {
	if dpkg-query -W -f='${Status}' fcm 2>/dev/null | grep -q 'ok installed'; then
		skip "an fcm package is installed on this machine: not touching it"
	fi
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || skip "no debhelper: make deps"
	make -s -C "$FCM_SRC" deb > "$BATS_FILE_TMPDIR/deb.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/deb.log" >&2
		return 1
	}
	DEB=$(ls "$FCM_SRC"/build/deb/fcm_*_*.deb)
	export DEB
}

teardown_file() {
	[ -n "${INSTALLED:-}" ] || [ -e "$BATS_FILE_TMPDIR/installed" ] || return 0
	dpkg --purge fcm >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${NS:-}" ] || return 0
	if [ -n "${ROOT:-}" ]; then
		FCM_ROOT=$ROOT daemon_stop
	fi
	netns_delete "$NS"
}

@test "make deb: lintian finds no error and no warning" {
	run lintian "${DEB%.deb}.changes" "$DEB"
	refute_line --regexp '^[EW]: '	# line by line: lintian may say something first
	run dpkg-deb -f "$DEB" Depends
	assert_output --regexp '(^|, )s6(,|$)'
	assert_output --regexp '(^|, )caddy(,|$)'
	refute_output --partial qemu
	run dpkg-deb -c "$DEB"
	refute_output --partial firecracker/firecracker	# the test double is not shipped
	refute_output --partial /var/lib/firecracker
}

@test "dpkg -i installs; the unit's ExecStart runs a working daemon in a namespace; dpkg --purge removes it all" {
	local gone=() f exec_start reload
	[ -d /var/lib/firecracker ] && local had_state=1
	run dpkg -i "$DEB"
	assert_success
	touch "$BATS_FILE_TMPDIR/installed"

	# what the package put there
	[ -x /usr/bin/fcm ] && [ -x /usr/lib/fcm/fcm-net ] && [ -L /usr/lib/fcm/fcm-create ]
	[ -f /usr/lib/fcm/s6/api/run ] && [ -x /usr/lib/fcm/rootfs/build ]
	[ -f /usr/share/bash-completion/completions/fcm ] && [ -f /usr/share/zsh/vendor-completions/_fcm ]
	[ -f /usr/share/fcm/sshd_config.d/fcm.conf ] && [ ! -e /etc/ssh/sshd_config.d/fcm.conf ]	# opt-in
	run env MANWIDTH=80 man fcm-create
	assert_success
	assert_line --partial 'fcm-create — make a VM'
	run env -u FCM_ROOT MANWIDTH=80 /usr/bin/fcm help create
	assert_output "$(MANWIDTH=80 man fcm-create)"
	run /usr/bin/fcm --version
	assert_output --regexp '^fcm version [0-9.]+ \(state format [0-9]+\)$'

	# the unit: ExecStart and ExecReload, with the test's FCM_ROOT, in a namespace
	exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/fcm.service)
	reload=$(sed -n 's/^ExecReload=//p' /lib/systemd/system/fcm.service)
	assert_equal "$exec_start" "/usr/bin/fcm daemon"
	NS=fcmt-deb-$$
	netns_create "$NS"
	ROOT=$FCM_ROOT
	fcm_root_searchable
	# shellcheck disable=SC2086
	ip netns exec "$NS" env PATH=/usr/sbin:/usr/bin:/sbin:/bin FCM_PROXY=off $exec_start > "$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
	for f in $(seq 100); do s6-svscanctl -a "$ROOT/scan" 2>/dev/null && break; sleep 0.1; done
	for f in $(seq 100); do ip netns exec "$NS" curl -sf http://127.0.0.1:7777/v1/health > "$BATS_TEST_TMPDIR/health" && break; sleep 0.2; done
	run cat "$BATS_TEST_TMPDIR/health"
	assert_output --regexp '^\{"ok":true,"version":"[0-9.]+","state_format":[0-9]+\}$'
	run ip netns exec "$NS" curl -s -H "Authorization: Bearer $(cat "$ROOT/.token")" http://127.0.0.1:7777/v1/vms
	assert_success
	assert_output '[]'	# no VM yet
	# the API runs the installed programs (in this test's namespace: not
	# another suite's)
	run pgrep -af --nslist net --ns "$(ip netns pids "$NS" | head -1)" "^/usr/lib/fcm/fcm-api"
	assert_success
	# shellcheck disable=SC2086
	run ip netns exec "$NS" env PATH=/usr/sbin:/usr/bin:/sbin:/bin FCM_PROXY=off $reload
	assert_success
	assert_output --partial reloaded
	run ip netns exec "$NS" /usr/bin/fcm daemon --stop
	assert_success
	for f in $(seq 100); do pgrep -f "s6-svscan $ROOT/scan" >/dev/null || break; sleep 0.2; done
	run pgrep -f "s6-svscan $ROOT/scan"
	assert_failure

	# purge: every file and directory of its own gone; the state left
	mapfile -t gone < <(dpkg -L fcm)
	run dpkg --purge fcm
	assert_success
	rm -f "$BATS_FILE_TMPDIR/installed"
	for f in "${gone[@]}"; do
		[ -d "$f" ] && continue	# shared directories (/usr/bin, /lib ...) stay
		[ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after purge"
	done
	for f in /usr/lib/fcm /usr/share/fcm /usr/share/doc/fcm; do
		[ ! -e "$f" ] || fail "$f is left after purge"
	done
	[ -z "${had_state:-}" ] || [ -d /var/lib/firecracker ]
	run dpkg-query -W fcm
	assert_failure
}
