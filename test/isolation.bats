#!/usr/bin/env bats
# Tenant isolation with real guests (doc/isolation.md): two VMs, A and B.
# From A: forged ARP, MAC and IPv4 sources — the host still sends B's
# traffic to B, and nothing forged gets past the bridge; egress from a guest
# reaches the internet stand-in only; B's host key, once changed, is refused
# by deploy and console.
#
# NETWORK SAFETY: three namespaces made here and deleted in teardown_file:
#   $NS   fcm (bridge 172.16.0.1/24, taps, guests), the daemon;
#   $WAN  "the internet": 198.51.100.2, one veth from $NS;
#   $LAN  "the host's other private network": 10.99.0.2, and the "cloud
#         metadata service" 169.254.169.254, one veth from $NS.
# No link leads out of them.
load test_helper

setup_file() {
	require_image_file
	export NS=fcmt-iso-$$ WAN=fcmt-isowan-$$ LAN=fcmt-isolan-$$
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	export FCM_FIRECRACKER=$FCM_SRC/test/firecracker/firecracker
	export FCM_PROXY=off FCM_PUBLIC_IP=203.0.113.10
	export FCM_BOOT_TIMEOUT=${FCM_BOOT_TIMEOUT:-600}
	mkdir -p "$FCM_ROOT"
	netns_create "$NS"
	netns_create "$WAN"
	netns_create "$LAN"
	ip link add up0 netns "$NS" type veth peer name eth0 netns "$WAN"
	ip -n "$NS" addr add 198.51.100.1/24 dev up0
	ip -n "$NS" link set up0 up
	ip -n "$NS" route add default via 198.51.100.2
	ip -n "$WAN" addr add 198.51.100.2/24 dev eth0
	ip -n "$WAN" link set eth0 up
	netns_private_net "$NS" "$LAN"
	# something to reach on each: one line, "hello from <where>"
	local D=$BATS_FILE_TMPDIR
	in_ns "$WAN" socat TCP-LISTEN:8080,bind=198.51.100.2,reuseaddr,fork SYSTEM:'echo hello from wan' >"$D/wan.log" 2>&1 3>&- &
	in_ns "$LAN" socat TCP-LISTEN:8080,bind=10.99.0.2,reuseaddr,fork SYSTEM:'echo hello from lan' >"$D/lan.log" 2>&1 3>&- &
	in_ns "$LAN" socat TCP-LISTEN:80,bind=169.254.169.254,reuseaddr,fork SYSTEM:'echo hello from metadata' >"$D/md.log" 2>&1 3>&- &
	# the host's own services (sshd, API, Caddy admin stand-ins) on every address
	for port in 22 2019 7777; do
		in_ns "$NS" socat "TCP-LISTEN:$port,reuseaddr,fork" SYSTEM:"echo hello from host $port" >"$D/host$port.log" 2>&1 3>&- &
	done
	fcm_install_image
	daemon_start
	cd "$D"
	in_ns "$NS" fcm create --name iso-a --no-dotfile --json >"$D/a.json"
	in_ns "$NS" fcm create --name iso-b --no-dotfile --json >"$D/b.json"
}

teardown_file() {
	[ -n "${NS:-}" ] || return 0
	daemon_stop
	netns_delete "$WAN"
	netns_delete "$LAN"
	netns_delete "$NS"
}

setup() {
	export FCM_ROOT=$BATS_FILE_TMPDIR/root
	D=$BATS_FILE_TMPDIR
	A_ID=$(jq -r .id "$D/a.json") A_IP=$(jq -r .ip "$D/a.json") A_MAC=$(jq -r .mac "$D/a.json")
	B_ID=$(jq -r .id "$D/b.json") B_IP=$(jq -r .ip "$D/b.json") B_MAC=$(jq -r .mac "$D/b.json")
	cd "$BATS_TEST_TMPDIR"
}

# ssh into a VM as fcm does: the host's key, the VM's recorded host key, strictly.
vm_ssh() {
	local id=$1 ip=$2; shift 2
	in_ns "$NS" ssh -F /dev/null -i "$FCM_ROOT/ssh/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$FCM_ROOT/vms/$id/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias="fcm-$id" -o LogLevel=ERROR \
		-o ConnectTimeout=60 "root@$ip" "$@"
}
a_ssh() { vm_ssh "$A_ID" "$A_IP" "$@"; }
b_ssh() { vm_ssh "$B_ID" "$B_IP" "$@"; }

# capture NAME IFACE: tcpdump in $NS, printing payloads, until capture_stop.
capture() {
	in_ns "$NS" tcpdump -i "$2" -n -l -A >"$BATS_TEST_TMPDIR/$1" 2>"$BATS_TEST_TMPDIR/$1.err" &
	eval "CAP_$1=$!"
	for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/$1.err" && return 0; sleep 0.1; done
	return 1
}
capture_stop() { local v="CAP_$1"; sleep 0.5; kill "${!v}"; wait "${!v}" || true; }

# A TCP connection from a guest: its first line, or a failure.
from_guest() { a_ssh "timeout 5 bash -c 'exec 3<>/dev/tcp/$1/$2 && head -n 1 <&3'"; }

@test "create records each VM's host key (0600) and the host's ssh trusts it strictly" {
	for v in A B; do
		id_var=${v}_ID ip_var=${v}_IP
		id=${!id_var}
		kh=$FCM_ROOT/vms/$id/known_hosts
		[ "$(stat -c %a "$kh")" = 600 ]
		# -T 60: ssh-keyscan gives up after 5 s, less than a guest on a
		# loaded machine may take to answer
		guest_key=$(in_ns "$NS" ssh-keyscan -T 60 -t ed25519 "${!ip_var}" 2>/dev/null | cut -d' ' -f2,3)
		[ -n "$guest_key" ]
		assert_equal "$(cut -d' ' -f1-3 "$kh")" "fcm-$id $guest_key"
	done
	run a_ssh hostname
	assert_success
	assert_output iso-a
	run in_ns "$NS" fcm ssh iso-b hostname
	assert_success
	assert_output iso-b
}

@test "from VM A: forged ARP, MAC and IPv4 sources change nothing; none gets past the bridge" {
	a_ssh 'cat > /tmp/spoof.py' <"$FCM_SRC/test/spoof.py"
	capture br fcm0
	capture tapb "tap_$B_ID"
	for kind in garp arp-reply mac ip-victim ip-gw ipv6; do
		run a_ssh python3 /tmp/spoof.py eth0 "$kind" "$B_IP" "$B_MAC" 172.16.0.1 5
		assert_success
	done
	# the host still reaches B, B answers (its pinned host key says it is B)
	run b_ssh hostname
	assert_success
	assert_output iso-b
	run in_ns "$NS" ip neigh show "$B_IP" dev fcm0
	assert_output --regexp "^$B_IP lladdr $B_MAC PERMANENT *\$"
	run in_ns "$NS" bridge fdb show br fcm0
	refute_output --partial "$B_MAC dev tap_$A_ID"
	capture_stop br
	capture_stop tapb
	run grep -c fcm-spoof "$BATS_TEST_TMPDIR/br" "$BATS_TEST_TMPDIR/tapb"
	assert_output "$BATS_TEST_TMPDIR/br:0
$BATS_TEST_TMPDIR/tapb:0"
	# the captures did see traffic: A's ssh session and the host's to B
	grep -q "$A_IP.22 >" "$BATS_TEST_TMPDIR/br"
	grep -q "> $B_IP.22:" "$BATS_TEST_TMPDIR/tapb"
	# A itself still works, from its own address
	run from_guest 198.51.100.2 8080
	assert_output "hello from wan"
}

@test "egress from a guest: the internet yes; link-local, the host's other network and its own services no" {
	run from_guest 198.51.100.2 8080
	assert_success
	assert_output "hello from wan"
	# every forbidden destination tried at once from one ssh session (a
	# dropped connect takes the whole 5 s): one line each, "<dst> <status>
	# <first line read>"
	local dsts="169.254.169.254:80 10.99.0.2:8080" ip port
	for ip in 172.16.0.1 10.99.0.1 198.51.100.1; do
		for port in 22 2019 7777; do dsts+=" $ip:$port"; done
	done
	run a_ssh "for d in $dsts; do (l=\$(timeout 5 bash -c \"exec 3<>/dev/tcp/\${d%:*}/\${d#*:} && head -n 1 <&3\" 2>/dev/null); echo \"\$d \$? \$l\") & done; wait"
	assert_success
	echo "$output"
	[ "$(wc -l <<<"$output")" = 11 ]
	for d in $dsts; do
		assert_line --regexp "^$d [1-9][0-9]* ?$"	# not reached: no status 0, nothing read
	done
	# controls: each is there for the host
	in_ns "$NS" timeout 5 socat -T2 - TCP:169.254.169.254:80 | grep -q "hello from metadata"
	in_ns "$NS" timeout 5 socat -T2 - TCP:10.99.0.2:8080 | grep -q "hello from lan"
	in_ns "$NS" timeout 5 socat -T2 - TCP:172.16.0.1:22 | grep -q "hello from host 22"
}

@test "a guest whose host key changed is refused by deploy and console, with a clear message" {
	# B gets another host key (as a swapped disk would bring), sshd rereads it
	b_ssh 'ssh-keygen -q -t ed25519 -N "" -f /tmp/newkey && cp /tmp/newkey /etc/ssh/ssh_host_ed25519_key &&
		cp /tmp/newkey.pub /etc/ssh/ssh_host_ed25519_key.pub && kill -HUP $(cat /run/sshd.pid)'
	sleep 2
	msg="VM 'iso-b' answered with an ssh host key other than the one recorded when it was created ($FCM_ROOT/vms/$B_ID/known_hosts): refusing to connect"
	run in_ns "$NS" fcm console iso-b </dev/null
	assert_failure
	assert_output --partial "$msg"
	# a deploy of something pushed to B's repo
	cp -r "$FCM_SRC/examples/python-app" app
	git -C app init -q -b main
	git -C app add -A
	git -C app -c user.name=t -c user.email=t@t commit -qm one
	git -C app push -q "$FCM_ROOT/git/iso-b.git" main:feature
	run in_ns "$NS" fcm-deploy iso-b feature
	assert_failure
	assert_output --partial "$msg"
	refute_output --partial "Deploy successful"
	# ssh itself, with the pin, refuses the new key
	run b_ssh true
	assert_failure
	assert_output --partial "REMOTE HOST IDENTIFICATION HAS CHANGED"
}
