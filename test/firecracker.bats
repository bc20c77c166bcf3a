#!/usr/bin/env bats
# The test double of Firecracker (test/firecracker/): its command line, its API
# (Firecracker 1.7 as published), its strict validation, and the QEMU it runs.
# Network safety: anything with a tap runs inside a namespace made here.
load test_helper

FC=$FCM_SRC/test/firecracker/firecracker
FAKE=$FCM_SRC/test/firecracker/fake-qemu

setup() {
	T=$BATS_TEST_TMPDIR
	SOCK=$T/fc.sock
	FC_PID=
	NS=
	export FAKE_QEMU_ARGV=$T/qemu.argv FAKE_QEMU_QMP=$T/qemu.qmp
	printf 'kernel' > "$T/vmlinux"
	printf 'initrd' > "$T/initrd"
	printf 'base' > "$T/base.img"
	printf 'disk' > "$T/disk.img"
}

teardown() {
	if [ -n "$FC_PID" ] && kill -0 "$FC_PID" 2>/dev/null; then
		kill -KILL "$FC_PID" 2>/dev/null
		wait "$FC_PID" 2>/dev/null || true
	fi
	[ -z "$NS" ] || netns_delete "$NS"
}

# fc_start [args...]: the double in the background on $SOCK, output in $T/out, $T/err.
fc_start() {
	$FC_PREFIX "$FC" --api-sock "$SOCK" "$@" </dev/null >"$T/out" 2>"$T/err" &
	FC_PID=$!
	local n=0
	while [ ! -S "$SOCK" ]; do
		n=$((n + 1))
		[ $n -lt 200 ] || { cat "$T/out" "$T/err" >&2; return 1; }
		kill -0 "$FC_PID" 2>/dev/null || { cat "$T/out" "$T/err" >&2; return 1; }
		sleep 0.05
	done
}

# api METHOD PATH [BODY]: prints "STATUS BODY".
api() {
	local args=(-s --unix-socket "$SOCK" -X "$1" -o "$T/body" -w '%{http_code}')
	[ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	local code
	code=$(curl "${args[@]}" "http://localhost$2") || return 1
	printf '%s %s\n' "$code" "$(cat "$T/body")"
}

# fc_wait_exit SECONDS: waits for the double to end; its status in $FC_STATUS.
fc_wait_exit() {
	local n=0
	while kill -0 "$FC_PID" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt $(($1 * 20)) ] || return 1
		sleep 0.05
	done
	FC_STATUS=0
	wait "$FC_PID" || FC_STATUS=$?
	FC_PID=
}

configure_basic() {
	run api PUT /boot-source "{\"kernel_image_path\":\"$T/vmlinux\",\"initrd_path\":\"$T/initrd\",\"boot_args\":\"console=ttyS0 reboot=k panic=1\"}"
	assert_output "204 "
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}'
	assert_output "204 "
	run api PUT /drives/disk "{\"drive_id\":\"disk\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":false,\"is_read_only\":false}"
	assert_output "204 "
	run api PUT /drives/base "{\"drive_id\":\"base\",\"path_on_host\":\"$T/base.img\",\"is_root_device\":true,\"is_read_only\":true}"
	assert_output "204 "
}

start_with_fake() {
	export FCM_TEST_QEMU=$FAKE
	fc_start "$@"
	configure_basic
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output "204 "
}

# ---- command line ----------------------------------------------------------

@test "--version prints the emulated release: the newest by default, FCM_TEST_FC_VERSION picks one" {
	run "$FC" --version
	assert_success
	assert_line --index 0 "Firecracker v1.8.0"
	FCM_TEST_FC_VERSION=1.7.0 run "$FC" --version
	assert_success
	assert_line --index 0 "Firecracker v1.7.0"
	FCM_TEST_FC_VERSION=1.6.0 run "$FC" --version
	assert_failure 1
	assert_output "firecracker (fcm test double): FCM_TEST_FC_VERSION=1.6.0 is not a release this double emulates (1.7.0, 1.8.0)"
}

@test "--help lists the flags and exits 0" {
	run "$FC" --help
	assert_success
	assert_line --partial "--api-sock <api-sock>: Path to unix domain socket used by the API."
	assert_line --partial "--no-api: "
	assert_line --partial "--config-file <config-file>: "
}

@test "an unknown argument is refused as Firecracker does (exit 153)" {
	run "$FC" --api-sock "$SOCK" --frobnicate
	assert_failure 153
	assert_output --partial "Found argument 'frobnicate' which wasn't expected, or isn't valid in this context."
	assert_output --partial 'Error: ParseArguments(UnexpectedArgument("frobnicate"))'
	run "$FC" stray
	assert_failure 153
	assert_output --partial "Found argument 'stray' which wasn't expected"
	[ ! -e "$SOCK" ]
}

@test "a flag without its value, or given twice, is refused" {
	run "$FC" --api-sock
	assert_failure 153
	assert_output --partial "The argument 'api-sock' requires a value, but none was supplied."
	run "$FC" --id a --id b
	assert_failure 153
	assert_output --partial "The argument 'id' was provided more than once."
}

@test "--no-api requires --config-file" {
	run "$FC" --no-api
	assert_failure 153
	assert_output --partial "Argument 'config-file' required, but not found."
}

@test "an invalid --level is a bad configuration (exit 152)" {
	run "$FC" --api-sock "$SOCK" --level Loud
	assert_failure 152
	assert_output --partial "Invalid value for logger level: Loud"
}

@test "an existing socket path is refused and left alone" {
	echo keep > "$SOCK"
	run "$FC" --api-sock "$SOCK"
	assert_failure 1
	assert_output --partial "Failed to open the API socket at: $SOCK. Check that it is not already used."
	[ "$(cat "$SOCK")" = keep ]
}

@test "--id names the instance; logs go to stdout, or to --log-path with --show-level" {
	fc_start --id vm-42
	run api GET /
	assert_output '200 {"id":"vm-42","state":"Not started","vmm_version":"1.8.0","app_name":"Firecracker"}'
	grep -q '\[vm-42:main\] Running Firecracker v1.8.0' "$T/out"
	kill "$FC_PID"; fc_wait_exit 5
	: > "$T/fc.log"
	rm -f "$SOCK"
	fc_start --log-path "$T/fc.log" --show-level --level Debug
	run api GET /version
	assert_output '200 {"firecracker_version":"1.8.0"}'
	grep -q ':fc_api:INFO\] The API server received a GET request on "/version".' "$T/fc.log"
}

@test "a --log-path that does not exist is refused, as Firecracker does not create it" {
	run "$FC" --api-sock "$SOCK" --log-path "$T/missing.log"
	assert_failure 1
	assert_output --partial "Could not initialize logger"
}

@test "the double dies of SIGTERM like Firecracker, leaving its socket behind" {
	fc_start
	kill -TERM "$FC_PID"
	fc_wait_exit 5
	[ "$FC_STATUS" -eq 143 ]
	[ -S "$SOCK" ]
}

# ---- API: reads and the pre-boot configuration -----------------------------

@test "GET / and GET /version" {
	fc_start
	run api GET /
	assert_output '200 {"id":"anonymous-instance","state":"Not started","vmm_version":"1.8.0","app_name":"Firecracker"}'
	run api GET /version
	assert_output '200 {"firecracker_version":"1.8.0"}'
}

@test "machine-config: defaults, PUT, PATCH and their checks" {
	fc_start
	run api GET /machine-config
	assert_output '200 {"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}'
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":512,"cpu_template":"T2"}'
	assert_output "204 "
	run api PATCH /machine-config '{"mem_size_mib":1024}'
	assert_output "204 "
	run api GET /machine-config
	assert_output '200 {"vcpu_count":2,"mem_size_mib":1024,"smt":false,"cpu_template":"T2","track_dirty_pages":false,"huge_pages":"None"}'
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":1024,"smt":true,"track_dirty_pages":true}'
	assert_output "204 "
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	assert_output "204 "
	run api GET /machine-config
	assert_output '200 {"vcpu_count":1,"mem_size_mib":64,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}'
	run api PUT /machine-config '{"vcpu_count":0,"mem_size_mib":128}'
	assert_output '400 {"fault_message":"Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled."}'
	run api PUT /machine-config '{"vcpu_count":3,"mem_size_mib":128,"smt":true}'
	assert_output --partial '400 {"fault_message":"Machine config error: The number of vCPUs'
	run api PATCH /machine-config '{"mem_size_mib":0}'
	assert_output '400 {"fault_message":"Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size."}'
	run api PATCH /machine-config '{}'
	assert_output '400 {"fault_message":"Empty PATCH request."}'
	run api PUT /machine-config '{"vcpu_count":2}'
	assert_output '400 {"fault_message":"An error occurred when deserializing the json body of a request: missing field `mem_size_mib` at line 1 column 16."}'
}

@test "strict bodies: unknown field, wrong type, bad enum, bad JSON, trailing data" {
	fc_start
	run api PUT /boot-source "{\"kernel_image_path\":\"$T/vmlinux\",\"foo\":1}"
	assert_output --partial '400 {"fault_message":"An error occurred when deserializing the json body of a request: unknown field `foo`, expected one of `kernel_image_path`, `initrd_path`, `boot_args` at line 1 column'
	run api PUT /machine-config '{"vcpu_count":"2","mem_size_mib":128}'
	assert_output '400 {"fault_message":"An error occurred when deserializing the json body of a request: invalid type: string \"2\", expected u8 at line 1 column 17."}'
	run api PUT /machine-config '{"vcpu_count":2.5,"mem_size_mib":128}'
	assert_output --partial 'invalid type: floating point `2.5`, expected u8'
	run api PUT /machine-config '{"vcpu_count":-1,"mem_size_mib":128}'
	assert_output --partial 'invalid value: integer `-1`, expected u8'
	run api PUT /drives/a '{"drive_id":"a","is_root_device":"yes"}'
	assert_output --partial 'invalid type: string \"yes\", expected a boolean'
	run api PUT /actions '{"action_type":"Reboot"}'
	assert_output '400 {"fault_message":"An error occurred when deserializing the json body of a request: unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel` at line 1 column 24."}'
	run api PUT /actions '{"action_type":"InstanceStart"'
	assert_output --partial 'EOF while parsing an object at line 1 column 30.'
	run api PUT /actions '{"action_type":"InstanceStart"} x'
	assert_output --partial 'trailing characters at line 1 column 33.'
	run api PUT /actions '{"action_type":"InstanceStart","action_type":"InstanceStart"}'
	assert_output --partial 'duplicate field `action_type`'
	run api PUT /actions '[]'
	assert_output --partial 'invalid type: sequence, expected struct ActionBody'
	run api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"zz"}'
	assert_output --partial '400 {"fault_message":"An error occurred when deserializing the json body of a request:'
}

@test "bad requests: empty body, body on GET, unknown path or method, ids" {
	fc_start
	run api PUT /actions
	assert_output '400 {"fault_message":"Empty PUT request."}'
	run api PATCH /vm
	assert_output '400 {"fault_message":"Empty PATCH request."}'
	run api GET /machine-config '{}'
	assert_output '400 {"fault_message":"GET request cannot have a body."}'
	run api GET /nowhere
	assert_output '400 {"fault_message":"Invalid request method and/or path: GET nowhere."}'
	run api PATCH /boot-source '{}'
	assert_output '400 {"fault_message":"Invalid request method and/or path: PATCH boot-source."}'
	run api DELETE /drives/a
	assert_output --partial '400 { "error": "Unsupported HTTP method.'
	run api PUT /drives/a '{"drive_id":"b","is_root_device":false}'
	assert_output '400 {"fault_message":"The id from the path does not match the id from the body!"}'
	run api PUT /drives/a-b '{"drive_id":"a-b","is_root_device":false}'
	assert_output '400 {"fault_message":"API Resource IDs can only contain alphanumeric characters and underscores."}'
	run api PUT /drives '{"drive_id":"a","is_root_device":false}'
	assert_output '400 {"fault_message":"The ID cannot be empty."}'
	run api PUT /snapshot/other '{}'
	assert_output '400 {"fault_message":"Invalid request method and/or path: PUT /snapshot."}'
}

@test "boot-source: the kernel and initrd must be readable" {
	fc_start
	run api PUT /boot-source "{\"kernel_image_path\":\"$T/nope\"}"
	assert_output '400 {"fault_message":"Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)"}'
	run api PUT /boot-source "{\"kernel_image_path\":\"$T/vmlinux\",\"initrd_path\":\"$T/nope\"}"
	assert_output --partial 'Boot source error: The initrd file cannot be opened'
	run api PUT /boot-source "{\"kernel_image_path\":\"$T/vmlinux\"}"
	assert_output "204 "
}

@test "drives: the root device goes first, only one root, files must exist" {
	fc_start
	configure_basic
	run api PUT /drives/other "{\"drive_id\":\"other\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	assert_output '400 {"fault_message":"Drive config error: A root block device already exists!"}'
	run api PUT /drives/gone "{\"drive_id\":\"gone\",\"path_on_host\":\"$T/gone.img\",\"is_root_device\":false,\"is_read_only\":false}"
	assert_output --partial 'No such file or directory (os error 2)'
	run api PUT /drives/half "{\"drive_id\":\"half\",\"is_root_device\":false}"
	assert_output --partial '400 {"fault_message":"Drive config error: Unable to create the virtio block device'
	run api GET /vm/config
	assert_output --partial "\"drives\":[{\"drive_id\":\"base\",\"partuuid\":null,\"is_root_device\":true,\"cache_type\":\"Unsafe\",\"is_read_only\":true,\"path_on_host\":\"$T/base.img\",\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null},{\"drive_id\":\"disk\","
	# PATCH /drives is post-boot only
	run api PATCH /drives/disk "{\"drive_id\":\"disk\",\"path_on_host\":\"$T/disk.img\"}"
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
}

@test "GET /vm/config reports the whole configuration" {
	fc_start
	configure_basic
	run api GET /vm/config
	assert_success
	local json=${output#200 }
	[ "$(jq -r '.["boot-source"].kernel_image_path' <<<"$json")" = "$T/vmlinux" ]
	[ "$(jq -r '.["machine-config"].vcpu_count' <<<"$json")" = 2 ]
	[ "$(jq -c '[.drives[].drive_id]' <<<"$json")" = '["base","disk"]' ]
	[ "$(jq -c 'keys_unsorted' <<<"$json")" = '["balloon","drives","boot-source","cpu-config","logger","machine-config","metrics","mmds-config","network-interfaces","vsock","entropy"]' ]
}

@test "post-boot-only calls are refused before InstanceStart" {
	fc_start
	for body in '{"action_type":"SendCtrlAltDel"}' '{"action_type":"FlushMetrics"}'; do
		run api PUT /actions "$body"
		assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	done
	run api PATCH /vm '{"state":"Paused"}'
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output '400 {"fault_message":"Start microvm error: Cannot start microvm without kernel configuration."}'
}

@test "mmds: PUT, PATCH (merge patch), GET" {
	fc_start
	run api GET /mmds
	assert_output '200 {}'
	run api PATCH /mmds '{"a":1}'
	assert_output '400 {"fault_message":"MMDS error: The MMDS data store is not initialized."}'
	run api PUT /mmds '{"latest":{"meta-data":{"id":"x","drop":true}}}'
	assert_output "204 "
	run api PATCH /mmds '{"latest":{"meta-data":{"drop":null,"name":"n"}}}'
	assert_output "204 "
	run api GET /mmds
	assert_output '200 {"latest":{"meta-data":{"id":"x","name":"n"}}}'
	run api PUT /mmds/config '{"network_interfaces":[]}'
	assert_output --partial 'The list of network interface IDs that allow forwarding MMDS requests is empty.'
	run api PUT /mmds/config '{"network_interfaces":["eth9"]}'
	assert_output --partial 'does not correspond to any existing network interface.'
}

@test "logger, metrics, balloon, vsock, entropy, cpu-config are validated and kept" {
	fc_start
	: > "$T/api.log"; : > "$T/metrics"
	run api PUT /logger "{\"log_path\":\"$T/api.log\",\"level\":\"debug\",\"show_level\":true}"
	assert_output "204 "
	run api PUT /logger '{"level":"Loud"}'
	assert_output --partial 'Failed to parse string to level filter: Loud'
	run api PUT /logger "{\"log_path\":\"$T/absent.log\"}"
	assert_output --partial '400 {"fault_message":"Logger error:'
	run api PUT /metrics "{\"metrics_path\":\"$T/metrics\"}"
	assert_output "204 "
	run api PUT /metrics "{\"metrics_path\":\"$T/metrics\"}"
	assert_output '400 {"fault_message":"Metrics error: Reinitialization of metrics not allowed."}'
	run api GET /balloon
	assert_output '400 {"fault_message":"Balloon config error: No balloon device found."}'
	run api PUT /balloon '{"amount_mib":64,"deflate_on_oom":true}'
	assert_output "204 "
	run api GET /balloon
	assert_output '200 {"amount_mib":64,"deflate_on_oom":true,"stats_polling_interval_s":0}'
	run api PUT /balloon '{"amount_mib":64}'
	assert_output --partial 'missing field `deflate_on_oom`'
	run api PATCH /balloon '{"amount_mib":32}'
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	run api PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T/v.sock\"}"
	assert_output "204 "
	run api PUT /vsock '{"guest_cid":3}'
	assert_output --partial 'missing field `uds_path`'
	run api PUT /entropy '{}'
	assert_output "204 "
	run api PUT /entropy '{"rate_limiter":{"bandwidth":{"size":1}}}'
	assert_output --partial 'missing field `refill_time`'
	run api PUT /cpu-config '{"cpuid_modifiers":[],"msr_modifiers":[]}'
	assert_output "204 "
	run api PUT /snapshot/create "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/s\"}"
	assert_output --partial 'either `mem_backend` or `mem_file_path` is required'
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources."}'
	grep -q ':DEBUG\]\|:INFO\]' "$T/api.log"
}

@test "a body over the payload limit is refused" {
	fc_start --http-api-max-payload-size 100
	local body
	body="{\"k\":\"$(printf 'x%.0s' {1..200})\"}"
	run api PUT /mmds "$body"
	assert_output --partial "400 {\"fault_message\":\"Request payload with size ${#body} is larger than the limit of 100 allowed by server."
	run api PUT /mmds '{"k":1}'
	assert_output "204 "
}

# ---- network interfaces (inside a namespace made here) ----------------------

@test "network-interfaces: a tap in a namespace, duplicate MAC and tap refused" {
	NS=fcmt-fc-$$-$BATS_TEST_NUMBER
	netns_create "$NS"
	in_ns "$NS" ip tuntap add dev tapA mode tap
	in_ns "$NS" ip tuntap add dev tapB mode tap
	FC_PREFIX="ip netns exec $NS" fc_start
	run api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tapA","guest_mac":"06:00:AC:10:00:02"}'
	assert_output "204 "
	run api PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"tapB","guest_mac":"06:00:AC:10:00:02"}'
	assert_output '400 {"fault_message":"Network config error: The MAC address is already in use: 06:00:AC:10:00:02"}'
	run api PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"tapA"}'
	assert_output '400 {"fault_message":"Network config error: The host device name is already in use: tapA"}'
	run api PUT /network-interfaces/eth1 '{"iface_id":"eth1"}'
	assert_output --partial 'missing field `host_dev_name`'
	run api PUT /mmds/config '{"network_interfaces":["eth0"],"ipv4_address":"10.0.0.1"}'
	assert_output --partial 'The MMDS IPv4 address is not link local.'
	run api PUT /mmds/config '{"network_interfaces":["eth0"]}'
	assert_output "204 "
	run api GET /vm/config
	assert_output --partial '"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tapA","guest_mac":"06:00:AC:10:00:02","rx_rate_limiter":null,"tx_rate_limiter":null}]'
	assert_output --partial '"mmds-config":{"version":"V1","network_interfaces":["eth0"],"ipv4_address":"169.254.169.254"}'
}

# ---- InstanceStart and the QEMU it runs (fake QEMU) -------------------------

@test "InstanceStart runs QEMU microvm with the configured machine, drives and tap" {
	export FCM_TEST_QEMU=$FAKE FCM_TEST_NO_TAP_CHECK=1
	fc_start
	configure_basic
	run api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap_vm1","guest_mac":"06:00:AC:10:00:32"}'
	assert_output "204 "
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output "204 "
	local qmp
	qmp=$(grep -A1 '^-qmp$' "$FAKE_QEMU_ARGV" | tail -1)
	[[ $qmp == unix:*/qmp.sock,server=on,wait=off ]]
	cat > "$T/expected" <<EOF
-M
microvm,acpi=on
-accel
tcg,tb-size=32
-icount
shift=auto
-cpu
max
-smp
2
-m
256M
-nodefaults
-no-user-config
-display
none
-no-reboot
-kernel
$T/vmlinux
-initrd
$T/initrd
-append
console=ttyS0 reboot=k panic=1 root=/dev/vda ro
-drive
id=base,file=$T/base.img,format=raw,if=none,readonly=on
-device
virtio-blk-device,drive=base
-drive
id=disk,file=$T/disk.img,format=raw,if=none
-device
virtio-blk-device,drive=disk
-netdev
tap,id=eth0,ifname=tap_vm1,script=no,downscript=no
-device
virtio-net-device,netdev=eth0,mac=06:00:AC:10:00:32
-chardev
stdio,id=fc_serial,signal=off
-serial
chardev:fc_serial
-qmp
$qmp
-device
i8042
EOF
	diff -u "$T/expected" "$FAKE_QEMU_ARGV"
	run api GET /
	assert_output --partial '"state":"Running"'
	grep -q 'fake-qemu: guest booting' "$T/out"
	grep -q '"execute": "qmp_capabilities"' "$FAKE_QEMU_QMP"
}

@test "as Firecracker 1.7.0 the guest gets no ACPI: its devices only on the command line" {
	export FCM_TEST_QEMU=$FAKE FCM_TEST_NO_TAP_CHECK=1 FCM_TEST_FC_VERSION=1.7.0
	fc_start
	configure_basic
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output "204 "
	[ "$(grep -A1 '^-M$' "$FAKE_QEMU_ARGV" | tail -1)" = microvm,acpi=off,auto-kernel-cmdline=on ]
	run api GET /version
	assert_output '200 {"firecracker_version":"1.7.0"}'
}

@test "after boot: pre-boot calls refused, pause and resume through QMP" {
	start_with_fake
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output '400 {"fault_message":"The requested operation is not supported after starting the microVM."}'
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	assert_output '400 {"fault_message":"The requested operation is not supported after starting the microVM."}'
	run api PUT /drives/x "{\"drive_id\":\"x\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":false,\"is_read_only\":false}"
	assert_output '400 {"fault_message":"The requested operation is not supported after starting the microVM."}'
	run api PATCH /vm '{"state":"Paused"}'
	assert_output "204 "
	run api GET /
	assert_output --partial '"state":"Paused"'
	run api PATCH /vm '{"state":"Resumed"}'
	assert_output "204 "
	run api GET /
	assert_output --partial '"state":"Running"'
	run api PATCH /vm '{"state":"Stopped"}'
	assert_output --partial 'unknown variant `Stopped`, expected `Paused` or `Resumed`'
	grep -q '"execute": "stop"' "$FAKE_QEMU_QMP"
	grep -q '"execute": "cont"' "$FAKE_QEMU_QMP"
	run api PATCH /drives/disk "{\"drive_id\":\"disk\",\"path_on_host\":\"$T/disk.img\"}"
	assert_output "204 "
	run api PUT /actions '{"action_type":"FlushMetrics"}'
	assert_output "204 "
	run api PUT /snapshot/create "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running"}'
}

@test "snapshot/create: only when paused, Full only, into the given files; the VM stays paused" {
	start_with_fake
	run api PATCH /vm '{"state":"Paused"}'
	assert_output "204 "
	run api PUT /snapshot/create "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"The requested operation is not supported: Diff snapshots are not allowed on uVMs with dirty page tracking disabled."}'
	run api PUT /snapshot/create "{\"snapshot_path\":\"$T/no/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"Create snapshot error: Cannot perform open on the snapshot backing file: No such file or directory (os error 2)"}'
	run api PUT /snapshot/create "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output "204 "
	[ -s "$T/s" ] && [ -e "$T/m" ]
	grep -q '"execute": "getfd"' "$FAKE_QEMU_QMP"
	grep -q '"arguments": {"uri": "fd:fcsnap"}, "execute": "migrate"' "$FAKE_QEMU_QMP"
	run api GET /
	assert_output --partial '"state":"Paused"'
}

@test "snapshot/load: before any configuration; a bad or foreign snapshot is fatal (exit 1)" {
	export FCM_TEST_QEMU=$FAKE
	fc_start
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/none\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/m\"}}"
	assert_output '400 {"fault_message":"Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Failed to open snapshot file: No such file or directory (os error 2)"}'
	fc_wait_exit 10
	[ "$FC_STATUS" -eq 1 ]
	# a snapshot made by 1.8 (data format 2.0.0) does not load in 1.7 (1.0.0)
	rm -f "$SOCK"
	FCM_TEST_FC_VERSION=1.8.0 start_with_fake
	run api PATCH /vm '{"state":"Paused"}'
	run api PUT /snapshot/create "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output "204 "
	kill -KILL "$FC_PID"; wait "$FC_PID" 2>/dev/null || true; FC_PID=; rm -f "$SOCK"
	FCM_TEST_FC_VERSION=1.7.0 fc_start
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Failed to load snapshot state from file: Invalid data version: 2.0.0"}'
	fc_wait_exit 10
	[ "$FC_STATUS" -eq 1 ]
	# the same release loads it: the VM's configuration comes from the snapshot
	rm -f "$SOCK" "$FAKE_QEMU_ARGV"
	FCM_TEST_FC_VERSION=1.8.0 fc_start
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\",\"resume_vm\":true}"
	assert_output "204 "
	grep -qx -- '-incoming' "$FAKE_QEMU_ARGV"
	grep -qx -- "id=disk,file=$T/disk.img,format=raw,if=none" "$FAKE_QEMU_ARGV"
	grep -q '"arguments": {"uri": "fd:fcsnap"}, "execute": "migrate-incoming"' "$FAKE_QEMU_QMP"
	run api GET /
	assert_output --partial '"state":"Running"'
	run api GET /machine-config
	assert_output --partial '"mem_size_mib":256'
	run api PUT /snapshot/load "{\"snapshot_path\":\"$T/s\",\"mem_file_path\":\"$T/m\"}"
	assert_output '400 {"fault_message":"The requested operation is not supported after starting the microVM."}'
}

@test "SendCtrlAltDel reaches the guest over QMP; the guest powers off, the double exits 0" {
	start_with_fake
	run api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	assert_output "204 "
	grep -q '"arguments": {"keys": \[{"data": "ctrl", "type": "qcode"}, {"data": "alt", "type": "qcode"}, {"data": "delete", "type": "qcode"}\]}, "execute": "send-key"' "$FAKE_QEMU_QMP"
	fc_wait_exit 10
	[ "$FC_STATUS" -eq 0 ]
	grep -q 'powering off' "$T/out"
}

@test "SIGTERM kills QEMU too; SIGKILL of the double takes QEMU down (PDEATHSIG)" {
	start_with_fake
	local qemu
	qemu=$(pgrep -P "$FC_PID")
	[ -n "$qemu" ]
	kill -TERM "$FC_PID"
	fc_wait_exit 10
	[ "$FC_STATUS" -eq 143 ]
	run ! kill -0 "$qemu" 2>/dev/null
	rm -f "$SOCK"
	start_with_fake
	qemu=$(pgrep -P "$FC_PID")
	kill -KILL "$FC_PID"
	local n=0
	while kill -0 "$qemu" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	run ! kill -0 "$qemu" 2>/dev/null
}

@test "a QEMU that fails to start fails InstanceStart; the VM stays configurable" {
	export FCM_TEST_QEMU=$FAKE FAKE_QEMU_EXIT=1
	fc_start
	configure_basic
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output '400 {"fault_message":"Start microvm error: QEMU exited with status 1 during start"}'
	run api GET /
	assert_output --partial '"state":"Not started"'
	kill "$FC_PID"; fc_wait_exit 5; rm -f "$SOCK"
	FCM_TEST_QEMU=$T/no-such-qemu fc_start
	configure_basic
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output --partial 'Start microvm error: unable to run'
	assert_output --partial 'No such file or directory'
}

# ---- --config-file ----------------------------------------------------------

write_config() {
	cat > "$T/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$T/vmlinux", "boot_args": "console=ttyS0"},
  "drives": [
    {"drive_id": "disk", "path_on_host": "$T/disk.img", "is_root_device": false, "is_read_only": false},
    {"drive_id": "base", "path_on_host": "$T/base.img", "is_root_device": true, "is_read_only": true}
  ],
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}$1
}
EOF
}

@test "--config-file configures and starts the microVM at once" {
	export FCM_TEST_QEMU=$FAKE
	write_config
	fc_start --config-file "$T/vm.json"
	local n=0
	while [ ! -s "$FAKE_QEMU_ARGV" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	run api GET /
	assert_output --partial '"state":"Running"'
	grep -qx 'console=ttyS0 root=/dev/vda ro' "$FAKE_QEMU_ARGV"
	grep -qx 'id=base,file=.*readonly=on' "$FAKE_QEMU_ARGV"
	[ "$(grep -n '^id=' "$FAKE_QEMU_ARGV" | cut -d= -f2 | cut -d, -f1 | tr '\n' ' ')" = "base disk " ]
	grep -q 'Successfully started microvm that was configured from one single json' "$T/out"
}

@test "--no-api --config-file runs without a socket and exits with the guest" {
	export FCM_TEST_QEMU=$FAKE
	write_config
	"$FC" --api-sock "$SOCK" --no-api --config-file "$T/vm.json" </dev/null >"$T/out" 2>&1 &
	FC_PID=$!
	local n=0
	while [ ! -s "$FAKE_QEMU_ARGV" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	[ ! -e "$SOCK" ]
	local qmp
	qmp=$(grep -A1 '^-qmp$' "$FAKE_QEMU_ARGV" | tail -1 | sed 's/^unix://; s/,.*//')
	printf '{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]}}\n' |
		socat - "UNIX-CONNECT:$qmp" >/dev/null 2>&1 || true
	fc_wait_exit 10
	[ "$FC_STATUS" -eq 0 ]
}

@test "--config-file errors: bad JSON, unknown key, missing boot-source, bad drive (exit 152)" {
	echo '{"boot-source": {' > "$T/bad.json"
	run "$FC" --api-sock "$SOCK" --config-file "$T/bad.json"
	assert_failure 152
	assert_output --partial 'Configuration for VMM from one single json failed: Invalid JSON: EOF while parsing'
	rm -f "$SOCK"
	write_config ', "frobs": {}'
	run "$FC" --api-sock "$SOCK" --config-file "$T/vm.json"
	assert_failure 152
	assert_output --partial 'unknown field `frobs`, expected one of `balloon`, `drives`, `boot-source`'
	rm -f "$SOCK"
	echo '{"drives": []}' > "$T/nobs.json"
	run "$FC" --api-sock "$SOCK" --no-api --config-file "$T/nobs.json"
	assert_failure 152
	assert_output --partial 'missing field `boot-source`'
	write_config
	rm -f "$T/disk.img"
	run "$FC" --no-api --config-file "$T/vm.json"
	assert_failure 152
	assert_output --partial 'Drive config error'
	run "$FC" --no-api --config-file "$T/none.json"
	assert_failure
	assert_output --partial 'Unable to open or read from the configuration file'
}

# ---- a real guest under QEMU -------------------------------------------------

@test "real QEMU: the guest boots on the double's serial, Ctrl-Alt-Del powers it off" {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	local img=
	if [ -e "$FCM_ROOT/images/default/vmlinux" ]; then
		img=$FCM_ROOT/images/default
	else
		img=$(fcm_cached_image) || skip "no guest image (vmlinux, rootfs.ext4): run 'make image'"
	fi
	for f in vmlinux rootfs.ext4; do
		[ -e "$img/$f" ] || skip "guest image incomplete: no $img/$f"
	done
	mkdir -p "$T/seed/upper" "$T/seed/work"
	truncate -s 256M "$T/vm-disk.img"
	mkfs.ext4 -q -F -T default -E lazy_itable_init=1,lazy_journal_init=1 -L fcm-disk -d "$T/seed" "$T/vm-disk.img"
	unset FCM_TEST_QEMU
	fc_start --id real-guest
	# The fcm image: no initramfs; the base is the root device (vda, ro).
	run api PUT /boot-source "{\"kernel_image_path\":\"$img/vmlinux\",\"boot_args\":\"console=ttyS0 reboot=k panic=1 init=/usr/local/lib/fcm/boot\"}"
	assert_output "204 "
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":512}'
	assert_output "204 "
	run api PUT /drives/base "{\"drive_id\":\"base\",\"path_on_host\":\"$img/rootfs.ext4\",\"is_root_device\":true,\"is_read_only\":true}"
	assert_output "204 "
	run api PUT /drives/disk "{\"drive_id\":\"disk\",\"path_on_host\":\"$T/vm-disk.img\",\"is_root_device\":false,\"is_read_only\":false}"
	assert_output "204 "
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output "204 "
	# the kernel, then the guest's boot program, speak on the serial console (our stdout)
	local n=0
	until grep -q 'fcm-boot: base /dev/vda, disk /dev/vdb' "$T/out"; do
		n=$((n + 1))
		[ $n -lt 600 ] || { tail -30 "$T/out" >&2; false; }
		kill -0 "$FC_PID" || { tail -30 "$T/out" >&2; false; }
		sleep 0.2
	done
	grep -q 'Linux version' "$T/out"
	# the guest init handles Ctrl-Alt-Del once it has booted
	n=0
	until grep -q 'boot complete' "$T/out"; do
		n=$((n + 1))
		[ $n -lt 600 ] || { tail -30 "$T/out" >&2; false; }
		sleep 0.2
	done
	# "boot complete" is printed just before PID 1 traps SIGINT: give it a moment
	sleep 3
	run api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	assert_output "204 "
	fc_wait_exit 90 || { tail -30 "$T/out" >&2; false; }
	[ "$FC_STATUS" -eq 0 ]
	grep -q 'shutting down' "$T/out"
}

@test "a drive's rate_limiter is enforced: QEMU throttles the drive to its buckets' rates" {
	export FCM_TEST_QEMU=$FAKE
	fc_start
	configure_basic
	run api PUT /drives/disk "{\"drive_id\":\"disk\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":false,\"is_read_only\":false,\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,\"refill_time\":500},\"ops\":{\"size\":100,\"refill_time\":1000}}}"
	assert_output "204 "
	run api PUT /actions '{"action_type":"InstanceStart"}'
	assert_output "204 "
	grep -qx "id=disk,file=$T/disk.img,format=raw,if=none,throttling.bps-total=2097152,throttling.iops-total=100" "$FAKE_QEMU_ARGV"
	grep -qx "id=base,file=$T/base.img,format=raw,if=none,readonly=on" "$FAKE_QEMU_ARGV"
}
