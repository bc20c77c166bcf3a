#!/usr/bin/env bats
# Every VMM confined by Firecracker's jailer (doc/security.md): a uid per VM,
# the chroot, its own PID namespace, cgroup limits, rate limiters, a tap only
# its uid may open.  Real guests, booted through the jailer double
# (test/jailer/) and the Firecracker double, inside a network namespace this
# file creates and deletes.
load test_helper

setup_file() {
	require_image_file
	export NS=fcmt-jail-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_JAILER=$FCM_SRC/test/jailer/jailer
	# uids of their own, away from other suites running at the same time
	local first=$((910000 + ($$ % 500) * 100))
	export FCM_JAIL_UIDS="$first-$((first + 99))"
	export FCM_PROXY=off
	export FCM_PUBLIC_IP=203.0.113.10
	export FCM_STOP_TIMEOUT=30
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	fcm_install_image
	# Paths to $FCM_ROOT searchable by every uid (daemon_start), as
	# /var/lib/firecracker is: what keeps another uid out must be the files'
	# own modes.  The daemon keeps the host's cgroups (--net-only).
	daemon_start --net-only
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

fcmns() { nsenter --net="/run/netns/$NS" fcm "$@"; }
vm_field() { fcm-ls --json "$1" | jq -r ".$2"; }
jail_of() { echo "$FCM_ROOT/jailer/firecracker/$1"; }
# The jailed VMM's pid (host namespace), from the jailer's pid file.
vmm_pid() { cat "$(jail_of "$1")/root/firecracker.pid"; }
# Wait until the VM's VMM runs again under a pid other than $2.
wait_new_vmm() {
	local i p
	for i in $(seq 600); do
		p=$(cat "$(jail_of "$1")/root/firecracker.pid" 2>/dev/null || true)
		[ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
# Open a file, a unix socket or a tap as uid:gid; prints "ok" or the error.
as_uid() {
	in_ns "$NS" env TUN="${TUN:-}" setpriv --reuid "$1" --regid "$2" --clear-groups /usr/bin/python3 -c '
import fcntl, os, socket, struct, sys
kind, what = sys.argv[1], sys.argv[2]
try:
    if kind == "file":
        os.close(os.open(what, os.O_RDWR))
    elif kind == "sock":
        s = socket.socket(socket.AF_UNIX); s.connect(what)
    else:
        fd = os.open(os.environ["TUN"] + "/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", what.encode(), 0x0002 | 0x1000))
    print("ok")
except OSError as e:
    print(os.strerror(e.errno))
' "$3" "$4"
}

@test "the VMM runs as the VM's uid and gid, chrooted in its jail, in its own PID namespace" {
	run fcmns create --name jail-one --json
	assert_success
	id=$(echo "$output" | jq -r .id)
	ip=$(echo "$output" | jq -r .ip)
	run vm_ssh "$ip" hostname
	assert_success
	assert_output jail-one
	[ "$(vm_field jail-one confined)" = true ]
	uid=$(vm_field jail-one uid)
	gid=$(vm_field jail-one gid)
	[ "$uid" -ge "${FCM_JAIL_UIDS%-*}" ] && [ "$uid" -le "${FCM_JAIL_UIDS#*-}" ]
	[ "$gid" = "$uid" ]
	pid=$(vmm_pid "$id")
	# its uid and gid, not 0, no other group
	run ps -o uid=,gid=,args= -p "$pid"
	assert_output --regexp "^ *$uid +$uid /firecracker --id $id "
	grep -q "^Groups:[[:space:]]*$" "/proc/$pid/status"
	# its root directory is the jail's root
	[ "$(stat -L -c %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$(jail_of "$id")/root")" ]
	[ -S "/proc/$pid/root/run/firecracker.socket" ]
	# pid 1 of a PID namespace of its own
	run grep NSpid "/proc/$pid/status"
	assert_output --regexp "^NSpid:[[:space:]]+$pid[[:space:]]+1$"
	# the jail holds links to the image (never copies) and the VM's disk, its uid's alone
	image=$(vm_field jail-one image)
	[ "$(stat -c %i "$(jail_of "$id")/root/rootfs.ext4")" = "$(stat -c %i "$FCM_ROOT/images/$image/rootfs.ext4")" ]
	[ "$(stat -c %u "$FCM_ROOT/images/$image/rootfs.ext4")" = 0 ]
	[ $(( 0$(stat -c %a "$FCM_ROOT/images/$image/rootfs.ext4") & 022 )) = 0 ]
	[ "$(stat -c %i "$(jail_of "$id")/root/disk.img")" = "$(stat -c %i "$FCM_ROOT/vms/$id/disk.img")" ]
	[ "$(stat -c %u:%g:%a "$FCM_ROOT/vms/$id/disk.img")" = "$uid:$uid:600" ]
	# the tap is its uid's
	[ "$(in_ns "$NS" cat "/sys/class/net/tap_$id/owner")" = "$uid" ]
	[ "$(in_ns "$NS" cat "/sys/class/net/tap_$id/group")" = "$uid" ]
	# rlimits the jailer set
	grep -Eq '^Max open files +2048 +2048' "/proc/$pid/limits"
	size=$(stat -c %s "$FCM_ROOT/vms/$id/disk.img")
	grep -Eq "^Max file size +$size +$size" "/proc/$pid/limits"
}

@test "the VMM's cgroup holds the VM's CPU and memory limits" {
	id=$(vm_field jail-one id)
	pid=$(vmm_pid "$id")
	grep -q ":cpu:/fcm/$id\$" "/proc/$pid/cgroup"
	grep -q ":memory:/fcm/$id\$" "/proc/$pid/cgroup"
	[ "$(cat "/sys/fs/cgroup/cpu/fcm/$id/cpu.cfs_period_us")" = 100000 ]
	[ "$(cat "/sys/fs/cgroup/cpu/fcm/$id/cpu.cfs_quota_us")" = $(( $(vm_field jail-one cpus) * 100000 )) ]
	[ "$(cat "/sys/fs/cgroup/memory/fcm/$id/memory.limit_in_bytes")" = $(( ($(vm_field jail-one memory) + 128) * 1048576 )) ]
}

@test "the rate limits are in the VMM's configuration (GET /vm/config)" {
	id=$(vm_field jail-one id)
	[ "$(fcm-ls --json jail-one | jq -c '[.disk_rate, .disk_iops, .net_rate, .net_pps]')" = '[200,10000,1000,100000]' ]
	run curl -sf --unix-socket "$FCM_ROOT/vms/$id/firecracker.socket" http://localhost/vm/config
	assert_success
	echo "$output" | jq -e '.drives[] | select(.drive_id=="disk") | .rate_limiter.bandwidth == {"size":209715200,"one_time_burst":null,"refill_time":1000}' ||
		echo "$output" | jq -e '.drives[] | select(.drive_id=="disk") | .rate_limiter.bandwidth.size == 209715200 and .rate_limiter.bandwidth.refill_time == 1000'
	echo "$output" | jq -e '.drives[] | select(.drive_id=="disk") | .rate_limiter.ops.size == 10000'
	echo "$output" | jq -e '.["network-interfaces"][0].rx_rate_limiter.bandwidth.size == 125000000'
	echo "$output" | jq -e '.["network-interfaces"][0].tx_rate_limiter.ops.size == 100000'
	echo "$output" | jq -e '.drives[] | select(.drive_id=="disk") | .path_on_host == "/disk.img"'
}

@test "as another VM's uid, this VM's disk, API socket and tap cannot be opened" {
	id=$(vm_field jail-one id)
	uid=$(vm_field jail-one uid)
	other=$((uid + 1))
	run as_uid "$other" "$other" file "$FCM_ROOT/vms/$id/disk.img"
	assert_output "Permission denied"
	run as_uid "$other" "$other" file "$(jail_of "$id")/root/disk.img"
	assert_output "Permission denied"
	run as_uid "$other" "$other" sock "$(jail_of "$id")/root/run/firecracker.socket"
	assert_output "Permission denied"
	run as_uid "$other" "$other" sock "$FCM_ROOT/vms/$id/firecracker.socket"
	assert_output "Permission denied"
	# the tap: stopped, so that nothing holds it — refused to another uid, not
	# to its own (through a /dev/net/tun any uid may open, as in a jail)
	export TUN=$(mktemp -d /tmp/fcm-tun.XXXXXX)
	chmod 755 "$TUN"
	mknod -m 666 "$TUN/tun" c 10 200
	run fcmns stop jail-one
	assert_success
	run as_uid "$other" "$other" tap "tap_$id"
	assert_output "Operation not permitted"
	run as_uid "$uid" "$uid" tap "tap_$id"
	assert_output ok
	rm -rf "$TUN"
	# the disk is the VM's uid's; outside the jail the way to it is root's
	# alone (vms/<id> is 0700, doc/isolation.md): its VMM opens it in the jail
	[ "$(stat -c %u:%g:%a "$FCM_ROOT/vms/$id/disk.img")" = "$uid:$uid:600" ]
	[ "$(stat -c %u:%a "$FCM_ROOT/vms/$id")" = 0:700 ]
}

@test "stop releases the jail and the cgroup; start jails it again with the same uid" {
	id=$(vm_field jail-one id)
	uid=$(vm_field jail-one uid)
	[ "$(vm_field jail-one state)" = stopped ]
	[ ! -e "$(jail_of "$id")" ]
	[ ! -e "/sys/fs/cgroup/cpu/fcm/$id" ]
	[ ! -e "/sys/fs/cgroup/memory/fcm/$id" ]
	run fcmns start jail-one
	assert_success
	run vm_ssh "$(vm_field jail-one ip)" hostname
	assert_output jail-one
	[ "$(vm_field jail-one uid)" = "$uid" ]
	run ps -o uid= -p "$(vmm_pid "$id")"
	assert_output --regexp "^ *$uid$"
}

@test "kill -9 of the VMM: s6 runs it again, jailed again" {
	id=$(vm_field jail-one id)
	uid=$(vm_field jail-one uid)
	old=$(vmm_pid "$id")
	kill -9 "$old"
	wait_new_vmm "$id" "$old"
	new=$(vmm_pid "$id")
	s6-svwait -U -t 300000 "$FCM_ROOT/vms/$id/service"
	run ps -o uid= -p "$new"
	assert_output --regexp "^ *$uid$"
	[ "$(stat -L -c %d:%i "/proc/$new/root")" = "$(stat -c %d:%i "$(jail_of "$id")/root")" ]
	run vm_ssh "$(vm_field jail-one ip)" hostname
	assert_output jail-one
	# logs and the serial console go through the jail's paths too
	run fcm-logs jail-one --console
	assert_success
	assert_output --partial "guest is ready"
	run fcm-tty status "$FCM_ROOT/vms/$id/console.sock"
	assert_success
	held=$(echo "$output" | jq .pid)
	run ps -o args= -p "$held"
	assert_output --partial "fcm-fc vmm $(jail_of "$id")/root/firecracker.pid -- $FCM_JAILER --id $id"
}

@test "a git push deploys into the jailed VM and its app answers" {
	ip=$(vm_field jail-one ip)
	app=$BATS_TEST_TMPDIR/app
	mkdir -p "$app"
	echo 'web: python3 -m http.server $PORT' > "$app/Procfile"
	echo "jailed and deployed" > "$app/index.html"
	git -C "$app" init -q -b main
	git -C "$app" add -A
	git -C "$app" -c user.email=t@example.org -c user.name=t commit -qm app
	# a push on the host runs the repo's hook, which deploys over ssh into the guest
	FCM_DEPLOY_TIMEOUT=600 run nsenter --net="/run/netns/$NS" git -C "$app" push "$FCM_ROOT/git/jail-one.git" main
	assert_success
	assert_output --partial "Deploy successful"
	run in_ns "$NS" curl -fsS --max-time 30 "http://$ip:8000/"
	assert_success
	assert_output --partial "jailed and deployed"
}

@test "suspend and resume of a jailed VM: the snapshot is made in the jail, kept root's outside it" {
	id=$(vm_field jail-one id)
	uid=$(vm_field jail-one uid)
	ip=$(vm_field jail-one ip)
	vm_ssh "$ip" 'echo jailed-memory > /run/mem-marker'
	run fcmns suspend jail-one --json
	assert_success
	[ "$(echo "$output" | jq -r .state)" = suspended ]
	[ ! -e "$(jail_of "$id")" ]
	[ "$(stat -c '%a %u' "$FCM_ROOT/vms/$id/snapshot/memory")" = "600 0" ]
	run fcmns resume jail-one --json
	assert_success
	[ "$(echo "$output" | jq -r .resumed.from)" = snapshot ]
	run ps -o uid= -p "$(vmm_pid "$id")"
	assert_output --regexp "^ *$uid$"
	[ ! -e "$FCM_ROOT/vms/$id/snapshot" ]
	[ -z "$(ls -A "$(jail_of "$id")/root/snapshot")" ]
	run vm_ssh "$ip" cat /run/mem-marker
	assert_output jailed-memory
	run in_ns "$NS" curl -fsS --max-time 30 "http://$ip:8000/"
	assert_output --partial "jailed and deployed"
}

@test "destroy leaves no jail, cgroup, uid or tap" {
	id=$(vm_field jail-one id)
	uid=$(vm_field jail-one uid)
	run fcmns destroy jail-one
	assert_success
	[ ! -e "$(jail_of "$id")" ]
	[ ! -e "/sys/fs/cgroup/cpu/fcm/$id" ]
	[ ! -e "/sys/fs/cgroup/memory/fcm/$id" ]
	run in_ns "$NS" ip link show "tap_$id"
	assert_failure
	run grep -rl "\"uid\":$uid" "$FCM_ROOT/vms"
	assert_failure
	# releasing again is fine (idempotent)
	run fcm-fc release id="$id"
	assert_success
}

@test "fcm-fc release refuses a bad id and changes nothing" {
	run fcm-fc release id=../x
	assert_failure 100
	assert_output --partial "is not a VM id"
}

@test "fcm create --disk-rate and friends: out of range is a usage error, nothing made" {
	before=$(ls "$FCM_ROOT/vms" | sort)
	for bad in "--disk-rate -1" "--disk-rate 100001" "--disk-iops x" "--net-rate 1.5" "--net-pps -3"; do
		run fcmns create --name jail-bad $bad --no-dotfile
		assert_failure 100
		assert_output --partial "must be a whole number"
	done
	[ "$(ls "$FCM_ROOT/vms" | sort)" = "$before" ]
}
