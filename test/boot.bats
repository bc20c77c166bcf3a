#!/usr/bin/env bats
# Booting on every Firecracker from 1.7: the two image flavours (fcm, built
# by `make image`; debian, by `make image FLAVOR=debian DEFAULT=false`) under
# the test double emulating 1.7.0 (devices only on the kernel command line)
# and 1.8.0 (devices in ACPI), through fcm itself.
#
# NETWORK SAFETY: the daemon, bridge, taps and guests live in the namespace
# this file creates and deletes; ssh runs inside it.
load test_helper

setup_file() {
	require_image_file
	DEBIAN_IMAGE_DIR=$(fcm_cached_image debian) || skip "no Debian-flavour image: run 'make image FLAVOR=debian DEFAULT=false'"
	export DEBIAN_IMAGE_DIR
	export NS=fcmt-boot-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	# The VMM: the double, emulating the release named in the file fc-version
	# (read at every start, so the CLI's check and the VMM always agree).
	echo 1.7.0 > "$BATS_FILE_TMPDIR/fc-version"
	cat > "$BATS_FILE_TMPDIR/fc" <<-EOF
	#!/bin/sh
	FCM_TEST_FC_VERSION=\$(cat "$BATS_FILE_TMPDIR/fc-version") exec "$FCM_SRC/test/firecracker/firecracker" "\$@"
	EOF
	chmod +x "$BATS_FILE_TMPDIR/fc"
	export FCM_FIRECRACKER=$BATS_FILE_TMPDIR/fc
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=30
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	fcm_install_image
	DEBIAN=$(fcm-image add dir="$DEBIAN_IMAGE_DIR" | jq -r .version)
	export DEBIAN
	daemon_start
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$NS"
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	cd "$BATS_TEST_TMPDIR"
}

fc_version() { echo "$1" > "$BATS_FILE_TMPDIR/fc-version"; }
vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }

# What the guest saw: its command line, whether ACPI described devices, and
# whether its kernel runs web in a namespace of its own (veth and NAT: the
# zero-downtime switch, doc/deploy.md) once the app's processes started.
GUEST_VIEW='cat /proc/cmdline; if [ -e /sys/firmware/acpi/tables/DSDT ]; then echo acpi=yes; else echo acpi=no; fi; findmnt -no FSTYPE /; for i in $(seq 150); do [ -e /run/fcm/app/serving ] && break; sleep 0.2; done; if [ -e /run/fcm/app/net.ok ]; then echo switch=namespaces; else echo switch=in-place; fi'

@test "the fcm image on Firecracker 1.7.0: devices from the command line, no initramfs" {
	fc_version 1.7.0
	run fcmns create --name boot-fcm --no-dotfile --json
	assert_success
	ip=$(echo "$output" | jq -r .ip)
	run vm_ssh "$ip" "$GUEST_VIEW"
	assert_success
	assert_output --regexp 'virtio_mmio\.device=[0-9]+[Kk]?@0x[0-9a-f]+:[0-9]+ '
	assert_output --partial 'init=/usr/local/lib/fcm/boot'
	assert_output --partial 'root=/dev/vda ro'
	assert_line acpi=no
	assert_line overlay
	assert_line switch=namespaces
	id=$(vm_field boot-fcm id)
	grep -q 'fcm-boot: base /dev/vda, disk /dev/vdb' "$FCM_ROOT/vms/$id/log/current"
	grep -q 'Running Firecracker v1.7.0' "$FCM_ROOT/vms/$id/log/current"
	# Firecracker boots it without an initrd
	jq -e '."boot-source" | has("initrd_path") | not' "$FCM_ROOT/vms/$id/firecracker.json"
	jq -e '.drives[0] | .drive_id == "base" and .is_root_device and .is_read_only' "$FCM_ROOT/vms/$id/firecracker.json"
}

@test "the same VM on Firecracker 1.8.0: devices from ACPI" {
	fc_version 1.8.0
	run fcmns stop boot-fcm
	assert_success
	run fcmns start boot-fcm
	assert_success
	run vm_ssh "$(vm_field boot-fcm ip)" "$GUEST_VIEW"
	assert_success
	refute_output --partial 'virtio_mmio.device='
	assert_line acpi=yes
	assert_line overlay
}

@test "the Debian flavour on Firecracker 1.7.0: fcm create refuses it, naming the releases and the fix, and makes nothing" {
	fc_version 1.7.0
	before=$(ls "$FCM_ROOT/vms")
	taps=$(ip -n "$NS" -o link show | grep -c tap || true)
	run fcmns create --name boot-deb --image "$DEBIAN" --no-dotfile
	assert_failure 100
	assert_output "fcm-create: fatal: image '$DEBIAN' (debian flavour, kernel $(jq -r .kernel "$DEBIAN_IMAGE_DIR/manifest.json")) finds its disks and network only through ACPI, which Firecracker provides from 1.8.0; this host runs Firecracker 1.7.0: install Firecracker 1.8.0 or later, or use an image whose kernel reads devices from the command line ('make image' builds one; 'fcm-image ls' lists them)"
	[ "$(ls "$FCM_ROOT/vms")" = "$before" ]
	[ "$(ip -n "$NS" -o link show | grep -c tap || true)" = "$taps" ]
	run fcm-ls --json boot-deb
	assert_failure
	# the JSON mirror carries the kind
	run --separate-stderr fcmns create --name boot-deb --image "$DEBIAN" --no-dotfile --json
	assert_failure 100
	echo "$output" | jq -e '.ok == false and .kind == "conflict" and (.error | contains("Firecracker 1.7.0"))'
}

@test "the Debian flavour boots on Firecracker 1.8.0, and start refuses it on 1.7.0" {
	fc_version 1.8.0
	run fcmns create --name boot-deb --image "$DEBIAN" --no-dotfile --json
	assert_success
	ip=$(echo "$output" | jq -r .ip)
	run vm_ssh "$ip" "$GUEST_VIEW"
	assert_success
	refute_output --partial 'virtio_mmio.device='
	assert_line acpi=yes
	assert_line overlay
	assert_line switch=namespaces	# the initramfs loaded veth and NAT
	id=$(vm_field boot-deb id)
	grep -q 'fcm-initramfs: base /dev/vd.' "$FCM_ROOT/vms/$id/log/current"
	grep -q 'fcm-boot: base /dev/vd., disk /dev/vd.' "$FCM_ROOT/vms/$id/log/current"
	jq -e '."boot-source" | has("initrd_path")' "$FCM_ROOT/vms/$id/firecracker.json"
	run fcmns stop boot-deb
	assert_success
	fc_version 1.7.0
	run fcmns start boot-deb
	assert_failure 100
	assert_output --partial "fcm-start: fatal: VM 'boot-deb': image '$DEBIAN' (debian flavour"
	assert_output --partial "this host runs Firecracker 1.7.0: install Firecracker 1.8.0 or later"
	[ "$(vm_field boot-deb state)" = stopped ]
	fcmns destroy boot-deb
}

@test "what the refusal prevents: Debian's kernel on a 1.7.0 VMM never finds its disks" {
	fc_version 1.7.0
	local d=$BATS_TEST_TMPDIR img=$FCM_ROOT/images/$DEBIAN
	truncate -s 256M "$d/disk.img"
	mkfs.ext4 -q -F -L fcm-disk "$d/disk.img"
	cat > "$d/fc.json" <<-EOF
	{"boot-source":{"kernel_image_path":"$img/vmlinux","initrd_path":"$img/initramfs.cpio.gz","boot_args":"console=ttyS0 reboot=k panic=1"},
	 "drives":[{"drive_id":"base","path_on_host":"$img/rootfs.ext4","is_root_device":false,"is_read_only":true},
	           {"drive_id":"disk","path_on_host":"$d/disk.img","is_root_device":false,"is_read_only":false}],
	 "machine-config":{"vcpu_count":1,"mem_size_mib":256}}
	EOF
	# No network device: nothing leaves this process.  The initramfs gives up
	# on its disks, then waits 5 s to reboot: the VMM is stopped once the
	# console says why (at most 300 s).
	FCM_TEST_FC_VERSION=1.7.0 timeout 300 "$FCM_SRC/test/firecracker/firecracker" --no-api \
		--config-file "$d/fc.json" --id deb-on-17 > "$d/console" 2>&1 &
	local vmm=$!
	for _ in $(seq 600); do
		grep -q 'fcm-initramfs: fatal' "$d/console" && break
		kill -0 "$vmm" 2>/dev/null || break
		sleep 0.5
	done
	kill "$vmm" 2>/dev/null || true
	wait "$vmm" || true
	grep -q 'fcm-initramfs: fatal: unable to find /dev/vda (the base image)' "$d/console"
	grep -q 'virtio_mmio.device=' "$d/console"
}
