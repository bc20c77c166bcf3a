#!/usr/bin/env bats
# The test double of Firecracker's jailer (test/jailer/): its command line,
# refusals and messages, and the jail it builds — as Firecracker 1.7's
# docs/jailer.md and sources describe.  No network, no guest.
load test_helper

J=$FCM_SRC/test/jailer/jailer
FC=$FCM_SRC/test/firecracker/firecracker

setup() {
	BASE=$BATS_TEST_TMPDIR/srv
	mkdir -p "$BASE"
}

teardown() {
	local p
	p=$(cat "$BASE/firecracker/t1/root/firecracker.pid" 2>/dev/null || true)
	[ -z "$p" ] || kill -9 "$p" 2>/dev/null || true
	local cg=/sys/fs/cgroup/cpu/fcmt-jailer-$$ i
	[ -d "$cg" ] || return 0
	for i in $(seq 50); do rmdir "$cg/t1" 2>/dev/null || [ ! -d "$cg/t1" ] && break; sleep 0.1; done
	rmdir "$cg" 2>/dev/null || true
}

# jail ARGS...: the jailer with the required arguments and ARGS.
jail() { "$J" --id t1 --exec-file "$FC" --uid 54321 --gid 54322 --chroot-base-dir "$BASE" "$@"; }

@test "--version and --help" {
	run "$J" --version
	assert_success
	assert_output "Jailer v1.7.0"
	run "$J" --help
	assert_success
	assert_line --index 0 "Jailer v1.7.0"
	assert_output --partial "--exec-file <exec-file>"
	assert_output --partial "Any arguments after the -- separator will be supplied to the jailed binary."
}

@test "argument errors: the parser's message, exit 1" {
	run "$J" --id t1 --uid 1 --gid 1
	assert_failure 1
	assert_line --index 0 "Failed to parse arguments: Argument 'exec-file' required, but not found."
	assert_line --index 1 'Error: ArgumentParsing(MissingArgument("exec-file"))'
	run jail --bogus
	assert_failure 1
	assert_line --index 0 "Failed to parse arguments: Found argument 'bogus' which wasn't expected, or isn't valid in this context."
	run jail --uid 2
	assert_failure 1
	assert_line --index 0 "Failed to parse arguments: The argument 'uid' was provided more than once."
	run "$J" --id t1 --exec-file "$FC" --uid 1 --gid
	assert_failure 1
	assert_line --index 0 "Failed to parse arguments: The argument 'gid' requires a value, but none was supplied."
}

# refused ARGS... -- MESSAGE: a panic "Jailer error: MESSAGE" and an abort, nothing made.
refused() {
	local msg=${*: -1}
	run "${@:1:$#-1}"
	[ "$status" -eq 134 ] || fail "status $status, not 134 (SIGABRT): $output"
	assert_line "Jailer error: $msg"
	[ ! -e "$BASE/firecracker" ] || fail "the jail was made: $(ls -R "$BASE")"
}

@test "refusals: id, exec file, chroot base, uid, gid, cgroups, resource limits" {
	refused "$J" --id a_b --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$BASE" \
		"Invalid instance ID: Invalid char (_) at position 1"
	refused "$J" --id "$(printf 'a%.0s' $(seq 65))" --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$BASE" \
		"Invalid instance ID: Invalid len (65);  the length must be between 1 and 64"
	refused "$J" --id t1 --exec-file /bin/true --uid 1 --gid 1 --chroot-base-dir "$BASE" \
		'Invalid filename. The filename of `--exec-file` option must contain "firecracker": true'
	refused "$J" --id t1 --exec-file /nonexistent/firecracker --uid 1 --gid 1 --chroot-base-dir "$BASE" \
		"Failed to canonicalize path /nonexistent/firecracker: No such file or directory (os error 2)"
	refused "$J" --id t1 --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$BASE/none" \
		"Failed to canonicalize path $BASE/none: No such file or directory (os error 2)"
	refused "$J" --id t1 --exec-file "$FC" --uid x --gid 1 --chroot-base-dir "$BASE" "Invalid uid: x"
	refused "$J" --id t1 --exec-file "$FC" --uid 1 --gid -1 --chroot-base-dir "$BASE" "Invalid gid: -1"
	refused jail --cgroup-version 3 --cgroup cpu.shares=2 "3 is an invalid cgroup version specifier"
	refused jail --cgroup cpu.shares "Invalid format for cgroups: cpu.shares"
	refused jail --cgroup ../cpu.shares=2 "Cgroup invalid file: ../cpu.shares=2"
	refused jail --cgroup nosuch.file=1 "Controller nosuch is unavailable"
	refused jail --parent-cgroup ../x --cgroup cpu.shares=2 \
		"Parent cgroup path is invalid. Path should not be absolute or contain '..' or '.'"
	refused jail --resource-limit fsize "Invalid format for resources limits: fsize"
	refused jail --resource-limit fsize=x "Invalid limit value for resource: x: invalid digit found in string"
	refused jail --resource-limit cores=1 "Invalid resource argument: cores"
}

@test "the jail: layout, owners, device nodes, pid file, uid drop, exec with the arguments after --" {
	run jail -- --version
	assert_success
	# the jailer clears the environment: the double in the jail emulates its default release
	assert_output --partial "Firecracker v1.8.0"
	root=$BASE/firecracker/t1/root
	[ "$(stat -c %u:%g:%a "$root")" = 54321:54322:700 ]
	[ "$(stat -c %u:%g:%a "$root/run")" = 54321:54322:700 ]
	[ "$(stat -c %u:%g:%a "$root/dev/net")" = 54321:54322:700 ]
	[ "$(stat -c '%F %t:%T %u:%g %a' "$root/dev/net/tun")" = "character special file a:c8 54321:54322 600" ]
	[ "$(stat -c '%F %t:%T %u:%g %a' "$root/dev/kvm")" = "character special file a:e8 54321:54322 600" ]
	[ "$(stat -c '%F %t:%T' "$root/dev/urandom")" = "character special file 1:9" ]
	# a copy of the exec file, not a link
	cmp "$FC" "$root/firecracker"
	[ "$(stat -c %i "$FC")" != "$(stat -c %i "$root/firecracker")" ]
	[[ "$(cat "$root/firecracker.pid")" =~ ^[0-9]+$ ]]
	# the id exists already: mknod refuses, as the real jailer does
	rm "$root/firecracker.pid"
	run jail -- --version
	assert_failure 134
	assert_line "Jailer error: Failed to create /dev/net/tun via mknod inside the jail: File exists (os error 17)"
}

@test "--new-pid-ns, --cgroup, --resource-limit: the VMM is pid 1 of its namespace, in its cgroup, as uid:gid" {
	# (output to a file: the VMM keeps running with the jailer's stdout)
	jail --new-pid-ns --parent-cgroup "fcmt-jailer-$$" --cgroup cpu.cfs_quota_us=50000 \
		--resource-limit no-file=512 --resource-limit fsize=1048576 -- --api-sock /run/firecracker.socket \
		</dev/null >"$BATS_TEST_TMPDIR/out" 2>&1	# the jailer's parent exits at once, 0
	root=$BASE/firecracker/t1/root
	for i in $(seq 100); do [ -S "$root/run/firecracker.socket" ] && break; sleep 0.1; done
	pid=$(cat "$root/firecracker.pid")
	run ps -o uid=,gid=,args= -p "$pid"
	assert_output --regexp '^ *54321 +54322 /firecracker --id t1 --start-time-us [0-9]+ --start-time-cpu-us [0-9]+ --parent-cpu-time-us [0-9]+ --api-sock /run/firecracker.socket$'
	grep -Eq "^NSpid:[[:space:]]+$pid[[:space:]]+1$" "/proc/$pid/status"
	grep -q ":cpu:/fcmt-jailer-$$/t1\$" "/proc/$pid/cgroup"
	[ "$(cat "/sys/fs/cgroup/cpu/fcmt-jailer-$$/t1/cpu.cfs_quota_us")" = 50000 ]
	grep -Eq '^Max open files +512 +512' "/proc/$pid/limits"
	grep -Eq '^Max file size +1048576 +1048576' "/proc/$pid/limits"
	# its environment is empty, its root the jail
	[ ! -s "/proc/$pid/environ" ]
	[ "$(stat -L -c %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$root")" ]
	run curl -s --unix-socket "$root/run/firecracker.socket" http://localhost/
	assert_output --partial '"id":"t1"'
	kill -9 "$pid"
}
