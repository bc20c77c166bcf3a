#!/usr/bin/env bats
# The real guest image (from `make image`) booted under QEMU microvm with VM
# disks made by fcm-disk, on taps inside a network namespace made here.
#
# NETWORK SAFETY: the bridge, its address and the taps exist only inside the
# namespace fcmt-img-<pid>; QEMU runs inside it; ssh and curl run inside it.
# Nothing is created in the machine's own namespace and no -netdev user.
load test_helper

GW=172.16.0.1
IP_A=172.16.0.50
IP_B=172.16.0.51

# --- once for the file: image, namespace, two VMs ------------------------------

# boot NAME IP MAC TAP acpi=on|off: start QEMU (daemonized) inside the
# namespace as Firecracker starts the fcm image: no initramfs, the base as
# the root device (the first drive, "root=/dev/vda ro"), the guest's boot
# program as init; with acpi=off the devices are on the kernel command line
# only (QEMU's microvm appends them, as Firecracker before 1.8 does).
# -icount shift=auto: guest time follows executed instructions; without it a
# software-emulated guest on a loaded host can livelock on timer interrupts
# (its TSC calibration against the PIT fails and the boot hangs; see
# doc/kernels.md).
boot() {
	local id=$1 ip=$2 mac=$3 tap=$4 acpi=$5 img=$T/root/images/default
	ip -n "$NS" tuntap add "$tap" mode tap
	ip -n "$NS" link set "$tap" master br0 up
	ip netns exec "$NS" qemu-system-x86_64 \
		-M "microvm,$acpi" -accel tcg,tb-size=32 -icount shift=auto -cpu max -smp 1 -m 256M \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$img/vmlinux" \
		-append "console=ttyS0 reboot=k panic=-1 $(jq -r .boot_args "$img/manifest.json") ip=$ip::$GW:255.255.255.0:$id:eth0:off root=/dev/vda ro" \
		-drive id=base,file="$img/rootfs.ext4",format=raw,if=none,readonly=on -device virtio-blk-device,drive=base \
		-drive id=disk,file="$T/root/vms/$id/disk.img",format=raw,if=none -device virtio-blk-device,drive=disk \
		-netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac="$mac" \
		-serial file:"$T/$id.console" -qmp unix:"$T/$id.qmp",server=on,wait=off \
		-device i8042 -daemonize -pidfile "$T/$id.pid" </dev/null >"$T/$id.qemu.log" 2>&1
}

setup_file() {
	IMAGE_DIR=$(fcm_cached_image) || skip "the guest image is not built: run 'make image' first"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	export IMAGE_DIR

	T=$(mktemp -d /tmp/fcmt-img.XXXXXX)
	NS=fcmt-img-$$
	export T NS
	# The VMs' state root (each test gets its own FCM_ROOT from test_helper;
	# these tests share this one).
	mkdir -p "$T/root"
	FCM_ROOT=$T/root fcm-image add dir="$IMAGE_DIR" >/dev/null
	BASE_SUM=$(sha256sum < "$T/root/images/default/rootfs.ext4")
	export BASE_SUM

	netns_create "$NS"
	ip -n "$NS" link add br0 type bridge
	ip -n "$NS" addr add "$GW/24" dev br0
	ip -n "$NS" link set br0 up

	FCM_ROOT=$T/root fcm-disk create id=vmaaaaaa name=img-alpha size=2G > "$T/a.json"
	FCM_ROOT=$T/root fcm-disk create id=vmbbbbbb name=img-beta size=1G > "$T/b.json"
	for v in a b; do
		ip=$IP_A; [ $v = b ] && ip=$IP_B
		echo "$ip $(jq -r .host_key "$T/$v.json")" >> "$T/known_hosts"
	done
	boot vmaaaaaa "$IP_A" 06:00:ac:10:00:32 tap-a acpi=off
	boot vmbbbbbb "$IP_B" 06:00:ac:10:00:33 tap-b acpi=on
}

teardown_file() {
	local p
	for p in "$T"/*.pid; do
		[ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	[ -n "${NS:-}" ] && netns_delete "$NS"
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		# keep the consoles of a failed run for the log
		for c in "$T"/*.console; do
			[ -f "$c" ] && cp "$c" "${BATS_FILE_TMPDIR:-/tmp}/" 2>/dev/null
		done
		rm -rf "$T"
	fi
}

setup() {
	export FCM_ROOT=$T/root
}

# vm_ssh IP [ssh args...] -- command
vm_ssh() {
	local ip=$1; shift
	ip netns exec "$NS" ssh -i "$FCM_ROOT/ssh/id_ed25519" \
		-o BatchMode=yes -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts" \
		-o ConnectTimeout="${SSH_TIMEOUT:-30}" -o ServerAliveInterval=5 -o ServerAliveCountMax=6 \
		-o LogLevel=ERROR "root@$ip" "$@"
}

# wait_ssh IP: until the guest answers ssh (at most ~5 minutes under TCG on
# a loaded host).
wait_ssh() {
	local i
	for i in $(seq 60); do
		SSH_TIMEOUT=5 vm_ssh "$1" true 2>/dev/null && return 0
		sleep 2
	done
	echo "guest $1 never answered ssh; console:" >&2
	tail -n 40 "$T"/*.console >&2
	return 1
}

qmp() {	# qmp ID JSON-COMMAND
	printf '{"execute":"qmp_capabilities"}\n%s\n' "$2" |
		socat -t 2 - UNIX-CONNECT:"$T/$1.qmp"
}

# --- tests ------------------------------------------------------------------

@test "ssh as root with the fcm key, no password: python3, ruby and node" {
	wait_ssh "$IP_A"
	run vm_ssh "$IP_A" 'python3 --version; ruby --version; node --version; npm --version; bundle --version; python3 -m venv --help >/dev/null && echo venv-ok; pip3 --version; git --version; hostname'
	assert_success
	assert_line --regexp '^Python 3\.[0-9]+'
	assert_line --regexp '^ruby [0-9]+\.[0-9]+'
	assert_line --regexp '^v[0-9]+\.[0-9]+\.[0-9]+$'
	assert_line venv-ok
	assert_line --regexp '^pip '
	assert_line --regexp '^git version'
	assert_line img-alpha
	grep -q "fcm-init: network $IP_A/24 up" "$T/vmaaaaaa.console"
	grep -q "fcm-init: sshd started" "$T/vmaaaaaa.console"
}

@test "passwords are refused; the host key is the VM's own (known_hosts pinned)" {
	wait_ssh "$IP_A"
	run ip netns exec "$NS" ssh -o BatchMode=yes -o PreferredAuthentications=password,keyboard-interactive \
		-o PubkeyAuthentication=no -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
		-o ConnectTimeout=30 "root@$IP_A" true
	assert_failure
	assert_output --partial "Permission denied (publickey)"
	run vm_ssh "$IP_A" 'cat /etc/ssh/ssh_host_ed25519_key.pub; ls /var/lib/fcm/base/etc/ssh/ | grep -c ssh_host_ || true'
	assert_success
	assert_line --index 0 "$(jq -r .host_key "$T/a.json")"
	assert_line --index 1 0	# the base image carries no host keys
}

@test "the guest: overlay root, swap, hostname, app placeholder on :8000" {
	wait_ssh "$IP_A"
	run vm_ssh "$IP_A" 'findmnt -no FSTYPE /; findmnt -no OPTIONS /var/lib/fcm/base; swapon --show=NAME,SIZE --noheadings; ip -4 -o addr show eth0; ip route show default; cat /proc/1/cmdline | tr "\0" " "; echo; for i in $(seq 30); do curl -fsS localhost:8000/ >/dev/null 2>&1 && break; sleep 1; done; s6-svstat /run/service/app-web.a; curl -sS -o /dev/null -w "localhost %{http_code}\n" localhost:8000/; echo "serving $(cat /run/fcm/app/serving)"; nft list chain ip fcm_app pre'
	assert_success
	assert_line --index 0 overlay
	assert_line --regexp '^ro,'
	assert_line --regexp '^/var/lib/fcm/disk/swapfile +512M$'
	assert_output --partial "inet $IP_A/24"
	assert_output --partial "default via $GW dev eth0"
	assert_output --partial "/usr/local/lib/fcm/init"
	assert_output --regexp 'up \(pid [0-9]+'
	# web in slot a, its own namespace; port 8000 reaches it from outside
	# and from the guest's own localhost (doc/deploy.md)
	assert_line "localhost 200"
	assert_line "serving a"
	assert_output --regexp 'iifname "eth0" tcp dport 8000 dnat to 100\.127\.255\.2:8000'
	run ip netns exec "$NS" curl -fsS --max-time 10 "http://$IP_A:8000/"
	assert_success
	assert_output --partial "<h1>img-alpha</h1>"
	assert_output --partial "git push"
}

@test "PID 1 reaps orphans" {
	wait_ssh "$IP_A"
	run vm_ssh "$IP_A" 'for i in 1 2 3; do (sleep 0.2 &) ; done; sleep 2; ps -eo stat= | grep -c "^Z" || true'
	assert_success
	assert_output 0
}

@test "two VMs from the same base run side by side with separate disks (devices on the command line, or in ACPI)" {
	wait_ssh "$IP_A"
	wait_ssh "$IP_B"
	run vm_ssh "$IP_A" 'hostname; echo from-alpha > /root/alpha-only; sync'
	assert_success
	assert_output img-alpha
	run vm_ssh "$IP_B" 'hostname; ls /root/alpha-only 2>&1; df -B1M --output=size /var/lib/fcm/disk | tail -n 1'
	assert_output --partial img-beta
	assert_output --partial "No such file or directory"
	[ "$(echo "$output" | tail -n 1 | tr -d ' ')" -lt 1100 ]	# its own 1G disk
	# both alive, separate processes and disk files
	kill -0 "$(cat "$T/vmaaaaaa.pid")" && kill -0 "$(cat "$T/vmbbbbbb.pid")"
	grep -q 'vms/vmaaaaaa/disk.img' "/proc/$(cat "$T/vmaaaaaa.pid")/cmdline"
	grep -q 'vms/vmbbbbbb/disk.img' "/proc/$(cat "$T/vmbbbbbb.pid")/cmdline"
	# the boot program found the VM disk by its label; the kernel found the
	# devices on its command line (A) or in ACPI (B)
	grep -q 'fcm-boot: base /dev/vda, disk /dev/vdb' "$T/vmaaaaaa.console"
	grep -q 'fcm-boot: base /dev/vda, disk /dev/vdb' "$T/vmbbbbbb.console"
	grep -q 'Kernel command line: .*virtio_mmio.device=' "$T/vmaaaaaa.console"
	run ! grep -q 'Kernel command line: .*virtio_mmio.device=' "$T/vmbbbbbb.console"
	run vm_ssh "$IP_A" 'test -e /sys/firmware/acpi/tables/DSDT && echo acpi || echo no-acpi'
	assert_output no-acpi
	run vm_ssh "$IP_B" 'test -e /sys/firmware/acpi/tables/DSDT && echo acpi || echo no-acpi'
	assert_output acpi
}

@test "writes land on the VM disk; Ctrl-Alt-Del shuts down; the base is unchanged" {
	wait_ssh "$IP_A"
	token=proof-$RANDOM-$RANDOM
	run vm_ssh "$IP_A" "echo $token > /root/proof && mkdir -p /app && echo app > /app/marker && sync"
	assert_success
	pid=$(cat "$T/vmaaaaaa.pid")
	# Firecracker's SendCtrlAltDel, as the test double sends it: QMP send-key.
	if command -v socat >/dev/null; then
		qmp vmaaaaaa '{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]}}'
	else
		vm_ssh "$IP_A" 'kill -INT 1' || true
	fi
	for i in $(seq 120); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	run kill -0 "$pid"
	assert_failure	# QEMU exited: the guest rebooted (-no-reboot), as Firecracker exits
	grep -q 'fcm-init: shutting down' "$T/vmaaaaaa.console"
	grep -q 'fcm-init: rebooting' "$T/vmaaaaaa.console"
	disk=$FCM_ROOT/vms/vmaaaaaa/disk.img
	[ "$(debugfs -R 'cat /upper/root/proof' "$disk" 2>/dev/null)" = "$token" ]
	[ "$(debugfs -R 'cat /upper/app/marker' "$disk" 2>/dev/null)" = app ]
	debugfs -R 'stat /swapfile' "$disk" 2>/dev/null | grep -q 'Size: 536870912'
	# the base image is byte-for-byte what it was
	[ "$(sha256sum < "$FCM_ROOT/images/default/rootfs.ext4")" = "$BASE_SUM" ]
	[ "$(sha256sum < "$IMAGE_DIR/rootfs.ext4")" = "$BASE_SUM" ]
	# the disk is still sparse: far less than its 2G allocated
	[ "$(stat -c %b "$disk")" -lt $((600 * 2048)) ]
	# the other VM is unaffected
	run vm_ssh "$IP_B" hostname
	assert_output img-beta
}
