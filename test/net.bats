#!/usr/bin/env bats
# fcm-net: bridge, taps, leases, NAT and isolation.
#
# NETWORK SAFETY: everything that makes links, addresses, routes or nftables
# rules runs inside namespaces made here (fcmt-net-<pid>-<test>-*), deleted in
# teardown even on failure.  None is linked to the machine's own namespace
# and none has a route out: the "internet" is one more namespace.
load test_helper

setup() {
	NSP="fcmt-net-$$-$BATS_TEST_NUMBER"
	NS="$NSP-host"
	netns_create "$NS"
}

teardown() {
	local ns
	for ns in $(ip netns list | awk '{print $1}' | grep -F -- "$NSP-"); do
		netns_delete "$ns"
	done
}

# fcm-net inside the test's "host" namespace.
net() { in_ns "$NS" fcm-net "$@"; }

# The state of the namespace: addresses, links, ruleset (handles aside).
ns_state() {
	in_ns "$NS" ip -4 -o addr
	in_ns "$NS" ip -o link | sed 's/^[0-9]*: //'
	in_ns "$NS" nft list ruleset
}

# vm NAME ID IP: a namespace "VM" joined to the bridge by a veth whose host
# end is named like the VM's tap, attached by fcm-net tap-add, with the
# address (IP, checked) and MAC of the lease fcm-net alloc gives ID.
vm() {
	local name=$NSP-$1 id=$2 ip=$3 lease
	lease=$(net alloc "id=$id") || return 1
	[ "$(jq -r .ip <<<"$lease")" = "$ip" ] || { echo "the lease of $id is not $ip: $lease" >&2; return 1; }
	netns_create "$name"
	in_ns "$NS" ip link add "tap_$id" type veth peer name eth0 netns "$name"
	ip -n "$name" link set eth0 address "$(jq -r .mac <<<"$lease")"
	ip -n "$name" addr add "$ip/24" dev eth0
	ip -n "$name" link set eth0 up
	ip -n "$name" route add default via 172.16.0.1
	in_ns "$name" sysctl -qw net.ipv4.conf.all.accept_redirects=0
	net tap-add "id=$id" >/dev/null
}

# The "internet": a namespace behind uplink up0 (198.51.100.1 here,
# 198.51.100.2 there, a documentation range standing in for a public one),
# the host namespace's default route pointing into it.
wan() {
	WAN=$NSP-wan
	netns_create "$WAN"
	in_ns "$NS" ip link add up0 type veth peer name eth0 netns "$WAN"
	ip -n "$NS" addr add 198.51.100.1/24 dev up0
	ip -n "$NS" link set up0 up
	ip -n "$NS" route add default via 198.51.100.2
	ip -n "$WAN" addr add 198.51.100.2/24 dev eth0
	ip -n "$WAN" link set eth0 up
}

# The host's other private network: lan0 (10.99.0.1 here, 10.99.0.2 there),
# where the "cloud metadata service" 169.254.169.254 lives too.
lan() {
	LAN=$NSP-lan
	netns_create "$LAN"
	netns_private_net "$NS" "$LAN"
}

pings() { in_ns "$NSP-$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
# A positive control: the path may need a moment (ARP, a port coming up).
pings_eventually() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do pings "$@" && return 0; sleep 0.5; done
	return 1
}

# --- setup -------------------------------------------------------------------

@test "setup: the bridge is up with the gateway address, forwarding on, the tables loaded" {
	run net setup
	assert_success
	[ "$(echo "$output" | jq -r '.ok, .bridge, .gateway, .subnet' | tr '\n' ' ')" = "true fcm0 172.16.0.1 172.16.0.0/24 " ]
	run in_ns "$NS" ip -4 -o addr show dev fcm0
	assert_output --partial "inet 172.16.0.1/24 brd 172.16.0.255"
	in_ns "$NS" ip -d link show fcm0 | grep -q 'bridge'
	in_ns "$NS" ip link show fcm0 | grep -q '[<,]UP[,>]'
	[ "$(in_ns "$NS" cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	run in_ns "$NS" nft list ruleset
	assert_output --partial 'ip saddr 172.16.0.0/24 oifname != "fcm0" masquerade'
	assert_output --partial 'iifname "fcm0" oifname "fcm0" drop'
	assert_output --partial 'oifname "fcm0" ct state established,related accept'
	assert_output --partial 'iifname "tap_*" drop'
	assert_output --partial 'oifname "tap_*" drop'
	assert_output --partial 'iifname "fcm0" ip daddr 172.16.0.1 icmp type echo-request accept'
	jq -e '.subnet == "172.16.0.0/24" and .bridge == "fcm0" and .gateway == "172.16.0.1"' \
		"$FCM_ROOT/net/config.json"
}

@test "setup twice changes nothing" {
	net setup >/dev/null
	before=$(ns_state)
	snap=$(tree_snapshot "$FCM_ROOT")
	run net setup
	assert_success
	[ "$(ns_state)" = "$before" ]
	[ "$(tree_snapshot "$FCM_ROOT")" = "$snap" ]
}

@test "setup takes a subnet, a bridge name, allowed ports and networks" {
	run net setup subnet=10.20.0.0/16 bridge=vmbr allow_tcp:='[8053]' allow_udp:='[53]' \
		allow_nets:='["10.5.0.0/16","192.168.1.7"]'
	assert_success
	[ "$(echo "$output" | jq -c '[.gateway, .prefix, .pool.first, .pool.size, .allow_tcp, .allow_udp, .allow_nets]')" = \
		'["10.20.0.1",16,"10.20.0.50",65485,[8053],[53],["10.5.0.0/16","192.168.1.7/32"]]' ]
	in_ns "$NS" ip -4 -o addr show dev vmbr | grep -q '10.20.0.1/16'
	run in_ns "$NS" nft list ruleset
	assert_output --partial 'tcp dport 8053 accept'
	assert_output --partial 'udp dport 53 accept'
	assert_output --partial 'iifname "vmbr" ip saddr 10.20.0.0/16 ip daddr 10.5.0.0/16 accept'
	assert_output --partial 'iifname "vmbr" ip saddr 10.20.0.0/16 ip daddr 192.168.1.7 accept'
	assert_output --partial 'iifname "vmbr" ip daddr 169.254.0.0/16 drop'
	# a re-run without the fields keeps them
	run net setup
	[ "$(echo "$output" | jq -c '[.subnet, .bridge, .allow_tcp]')" = '["10.20.0.0/16","vmbr",[8053]]' ]
}

@test "the subnet cannot move under leases or a live bridge" {
	net setup >/dev/null
	net alloc id=aaaaaaa1 >/dev/null
	run net setup subnet=10.1.0.0/24
	assert_failure 100
	assert_output --partial "with 1 lease: free them before changing the subnet"
	net free id=aaaaaaa1 >/dev/null
	run net setup subnet=10.1.0.0/24
	assert_failure 100
	assert_output --partial "run 'fcm-net teardown' before changing"
	net teardown >/dev/null
	run net setup subnet=10.1.0.0/24
	assert_success
	in_ns "$NS" ip -4 -o addr show dev fcm0 | grep -q '10.1.0.1/24'
}

# --- leases --------------------------------------------------------------------

@test "alloc: the lowest free address from .50, its MAC and tap; the same id gets the same lease" {
	net setup >/dev/null
	run net alloc id=8i5agfx2
	assert_success
	assert_output '{"ok":true,"id":"8i5agfx2","ip":"172.16.0.50","prefix":24,"netmask":"255.255.255.0","gateway":"172.16.0.1","mac":"06:00:ac:10:00:32","tap":"tap_8i5agfx2","bridge":"fcm0"}'
	[ "$(cat "$FCM_ROOT/net/leases/172.16.0.50")" = 8i5agfx2 ]
	run net alloc id=8i5agfx2
	assert_output --partial '"ip":"172.16.0.50"'
	run net alloc id=zzzzzzz9
	assert_output --partial '"ip":"172.16.0.51","prefix":24,"netmask":"255.255.255.0","gateway":"172.16.0.1","mac":"06:00:ac:10:00:33"'
	run net ls
	[ "$(echo "$output" | jq -c '[.leases[] | [.id, .ip]]')" = '[["8i5agfx2","172.16.0.50"],["zzzzzzz9","172.16.0.51"]]' ]
}

@test "50 allocations in parallel give 50 distinct addresses, MACs and taps" {
	net setup >/dev/null
	for i in $(seq 1 50); do
		fcm-net alloc "id=$(printf 'p%07d' "$i")" > "$BATS_TEST_TMPDIR/a.$i" &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/a.* > "$BATS_TEST_TMPDIR/all"
	[ "$(jq -r 'select(.ok) | .id' "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" -eq 50 ]
	[ "$(jq -r .ip "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" -eq 50 ]
	[ "$(jq -r .mac "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" -eq 50 ]
	[ "$(jq -r .tap "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" -eq 50 ]
	# exactly .50 to .99, one lease file each
	[ "$(jq -r .ip "$BATS_TEST_TMPDIR/all" | sort -t. -k4 -n | sed -n '1p;$p' | tr '\n' ' ')" = "172.16.0.50 172.16.0.99 " ]
	[ "$(ls "$FCM_ROOT/net/leases" | wc -l)" -eq 50 ]
}

@test "free releases the address, the next alloc reuses it; free is idempotent" {
	net setup >/dev/null
	for id in aaaaaaa1 aaaaaaa2 aaaaaaa3; do net alloc "id=$id" >/dev/null; done
	run net free id=aaaaaaa2
	assert_success
	assert_output '{"ok":true,"id":"aaaaaaa2","freed":"172.16.0.51"}'
	run net free id=aaaaaaa2
	assert_success
	assert_output '{"ok":true,"id":"aaaaaaa2","freed":null}'
	run net alloc id=bbbbbbb4
	assert_output --partial '"ip":"172.16.0.51"'
	run net alloc id=bbbbbbb5
	assert_output --partial '"ip":"172.16.0.53"'
}

@test "a full subnet is a clear error and allocates nothing" {
	net setup subnet=172.16.0.48/28 >/dev/null
	for i in $(seq 1 13); do net alloc "id=$(printf 'f%07d' "$i")" >/dev/null; done
	[ "$(ls "$FCM_ROOT/net/leases" | sort -t. -k4 -n | sed -n '1p;$p' | tr '\n' ' ')" = "172.16.0.50 172.16.0.62 " ]
	snap=$(tree_snapshot "$FCM_ROOT")
	run --separate-stderr net alloc id=full0014
	assert_failure 111
	assert_output '{"ok":false,"kind":"unavailable","error":"subnet 172.16.0.48/28 is full (13 addresses from .50): free one or set a larger subnet"}'
	[ "$stderr" = "fcm-net: fatal: subnet 172.16.0.48/28 is full (13 addresses from .50): free one or set a larger subnet" ]
	[ "$(tree_snapshot "$FCM_ROOT")" = "$snap" ]
	net free id=f0000007 >/dev/null
	run net alloc id=full0014
	assert_success
	assert_output --partial '"ip":"172.16.0.56"'
}

@test "alloc before setup says to run setup and creates nothing" {
	snap=$(tree_snapshot "$FCM_ROOT")
	run fcm-net alloc id=aaaaaaa1
	assert_failure 100
	assert_output --partial "the network is not set up: run 'fcm-net setup' first"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$snap" ]
}

# --- taps ------------------------------------------------------------------------

@test "tap-add makes a persistent tap on the bridge, isolated and up; tap-del removes it; both idempotent" {
	net setup >/dev/null
	run net tap-add id=8i5agfx2
	assert_success
	assert_output '{"ok":true,"tap":"tap_8i5agfx2","bridge":"fcm0","created":true}'
	run in_ns "$NS" ip -d link show tap_8i5agfx2
	assert_output --partial "master fcm0"
	assert_output --partial "tun type tap pi off"
	assert_output --partial "persist on"
	assert_output --partial "isolated on"
	echo "$output" | head -1 | grep -q '[<,]UP[,>]'
	run net tap-add id=8i5agfx2
	assert_success
	assert_output --partial '"created":false'
	run net status
	[ "$(echo "$output" | jq -c '.taps')" = '[{"name":"tap_8i5agfx2","up":true,"attached":true}]' ]
	run net tap-del id=8i5agfx2
	assert_output '{"ok":true,"tap":"tap_8i5agfx2","deleted":true}'
	run in_ns "$NS" ip link show tap_8i5agfx2
	assert_failure
	run net tap-del id=8i5agfx2
	assert_success
	assert_output '{"ok":true,"tap":"tap_8i5agfx2","deleted":false}'
}

@test "tap-add uid= gid= gives the tap to them (TUNSETOWNER/TUNSETGROUP), also an existing one" {
	net setup >/dev/null
	run net tap-add id=8i5agfx2 uid:=901234 gid:=901235
	assert_success
	assert_output '{"ok":true,"tap":"tap_8i5agfx2","bridge":"fcm0","created":true,"uid":901234,"gid":901235}'
	[ "$(in_ns "$NS" cat /sys/class/net/tap_8i5agfx2/owner)" = 901234 ]
	[ "$(in_ns "$NS" cat /sys/class/net/tap_8i5agfx2/group)" = 901235 ]
	run net tap-add id=8i5agfx2 uid:=901236 gid:=901236
	assert_success
	assert_output --partial '"created":false'
	[ "$(in_ns "$NS" cat /sys/class/net/tap_8i5agfx2/owner)" = 901236 ]
	run in_ns "$NS" ip -d link show tap_8i5agfx2
	assert_output --partial "isolated on"
}

@test "tap-add refuses a uid without a gid, or 0, and makes no tap" {
	net setup >/dev/null
	for bad in "uid:=901234" "uid:=0 gid:=0" "uid:=-5 gid:=1" 'uid:="x" gid:=1' "uid:=1.5 gid:=2"; do
		run net tap-add id=8i5agfx2 $bad
		assert_failure 100
		assert_output --partial '"ok":false'
		assert_output --partial '"kind":"usage"'
		run in_ns "$NS" ip link show tap_8i5agfx2
		assert_failure
	done
}

@test "tap-add without the bridge fails and leaves no tap" {
	net setup >/dev/null
	net teardown >/dev/null
	run net tap-add id=8i5agfx2
	assert_failure 111
	assert_output --partial "bridge fcm0 is missing: run 'fcm-net setup'"
	run in_ns "$NS" ip link show tap_8i5agfx2
	assert_failure
}

@test "a system failure is exit 111 naming the object" {
	# root without CAP_NET_ADMIN
	run in_ns "$NS" setpriv --bounding-set=-net_admin fcm-net setup
	assert_failure 111
	assert_output --partial "unable to create bridge fcm0: Operation not permitted"
	[ ! -e "$FCM_ROOT/net/config.json" ]
}

# --- teardown and status -------------------------------------------------------------

@test "teardown leaves no link, address or nftables object; twice is fine" {
	net setup >/dev/null
	net alloc id=aaaaaaa1 >/dev/null
	net tap-add id=aaaaaaa1 >/dev/null
	net tap-add id=aaaaaaa2 >/dev/null
	run net teardown
	assert_success
	[ "$(echo "$output" | jq -c '[.bridge_deleted, .taps_deleted]')" = '[true,["tap_aaaaaaa1","tap_aaaaaaa2"]]' ]
	[ "$(in_ns "$NS" ip -o link | wc -l)" -eq 1 ]	# lo
	[ "$(in_ns "$NS" ip -4 -o addr | grep -vc ' lo ')" -eq 0 ]
	[ -z "$(in_ns "$NS" nft list ruleset)" ]
	run net teardown
	assert_success
	assert_output --partial '"bridge_deleted":false,"taps_deleted":[]'
	run net status
	[ "$(echo "$output" | jq -c '[.bridge.exists, .tables.inet, .tables.bridge, .leases]')" = '[false,false,false,1]' ]
}

@test "status reports bridge, addresses, tables and leases" {
	run net status
	assert_success
	[ "$(echo "$output" | jq -c '[.configured, .bridge.exists, .tables.inet, .leases]')" = '[false,false,false,0]' ]
	net setup >/dev/null
	net alloc id=aaaaaaa1 >/dev/null
	run net status
	[ "$(echo "$output" | jq -c '[.configured, .bridge.exists, .bridge.up, .bridge.addrs, .tables, .ip_forward, .leases]')" = \
		'[true,true,true,["172.16.0.1/24"],{"inet":true,"bridge":true},true,1]' ]
}

# --- bad input -------------------------------------------------------------------------

@test "bad input: a JSON error, exit 100, nothing changed" {
	net setup >/dev/null
	net alloc id=aaaaaaa1 >/dev/null
	snap=$(tree_snapshot "$FCM_ROOT")
	state=$(ns_state)
	while IFS= read -r args; do
		eval "set -- $args"
		run --separate-stderr in_ns "$NS" fcm-net "$@"
		echo "fcm-net $args -> [$status] $output"
		assert_failure 100
		[ "$(echo "$output" | jq -r .ok)" = false ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == "fcm-net: fatal: "* ]]
	done <<-'LIST'
		bogus
		alloc
		alloc id=ABCDEFGH
		alloc id=abc
		alloc id=abcdefgh0123456
		alloc id=aaaaaaa1 color=red
		alloc id:=12345678
		tap-add id=toolongfortap_x
		tap-del id=../../etc
		free id=
		setup subnet=300.1.2.3/24
		setup subnet=172.16.0.0/33
		setup subnet=172.16.0.0/7
		setup subnet=172.16.0.64/26
		setup subnet=172.16.0.0/28
		setup subnet=172.16.0.5/24
		setup subnet=172.16.0.0
		setup subnet=172.016.0.0/24
		setup bridge=averyverylongbridge
		setup bridge=tap_bridge
		setup bridge=Br0
		setup allow_tcp:='[70000]'
		setup allow_udp:='["53"]'
		setup allow_nets:='["10.0.0.1/8"]'
		setup allow_nets:='["10.0.0.0/33"]'
		setup allow_nets:='[10]'
		setup allow_nets:='"10.0.0.0/8"'
		setup subnet:=24
		teardown now=yes
		status verbose=1
	LIST
	[ "$(tree_snapshot "$FCM_ROOT")" = "$snap" ]
	[ "$(ns_state)" = "$state" ]
}

@test "bad input on stdin: one error per line, exit 100, the good lines served" {
	net setup >/dev/null
	snap=$(tree_snapshot "$FCM_ROOT")
	run --separate-stderr in_ns "$NS" fcm-net <<-'IN'
		{"op":"alloc"}
		not json
		{"op":"setup","subnet":"300.1.2.3/24"}
		{"op":"ls"}
	IN
	assert_failure 100
	[ "${#lines[@]}" -eq 4 ]
	[ "$(echo "$output" | jq -r .ok | tr '\n' ' ')" = "false false false true " ]
	echo "${lines[0]}" | grep -q "missing field 'id'"
	echo "${lines[2]}" | grep -q "subnet '300.1.2.3/24' is not an IPv4 network"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$snap" ]
}

# --- packets ---------------------------------------------------------------------------

@test "packets: VMs reach the gateway but not each other, at L2 or through the gateway" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	vm vm2 aaaaaaa2 172.16.0.51
	pings_eventually vm1 172.16.0.1
	pings_eventually vm2 172.16.0.1
	run pings vm1 172.16.0.51
	assert_failure
	run pings vm2 172.16.0.50
	assert_failure
	# through the gateway (a /32 route on both sides): the inet forward rule
	ip -n "$NSP-vm1" route add 172.16.0.51/32 via 172.16.0.1
	ip -n "$NSP-vm2" route add 172.16.0.50/32 via 172.16.0.1
	run pings vm1 172.16.0.51
	assert_failure
	# control: without fcm's forward chain the routed path works, so the
	# failure above is the rule's doing
	in_ns "$NS" nft flush chain inet fcm forward
	pings_eventually vm1 172.16.0.51
}

@test "packets: the bridge rule alone stops VM-to-VM frames (port isolation off)" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	vm vm2 aaaaaaa2 172.16.0.51
	ip -n "$NS" link set tap_aaaaaaa1 type bridge_slave isolated off
	ip -n "$NS" link set tap_aaaaaaa2 type bridge_slave isolated off
	# (with br_netfilter loaded, bridged IPv4 also meets the inet forward
	# chain, whose fcm0-to-fcm0 rule drops it too: take that away here)
	in_ns "$NS" nft flush chain inet fcm forward
	run pings vm1 172.16.0.51
	assert_failure
	# control: with neither rule nor isolation, they do reach each other
	in_ns "$NS" nft flush table bridge fcm
	pings_eventually vm1 172.16.0.51
}

@test "packets: port isolation alone stops VM-to-VM frames (bridge rule off)" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	vm vm2 aaaaaaa2 172.16.0.51
	in_ns "$NS" nft flush table bridge fcm
	in_ns "$NS" nft flush chain inet fcm forward
	run pings vm1 172.16.0.51
	assert_failure
	pings_eventually vm1 172.16.0.1
}

@test "packets: traffic to the uplink leaves masqueraded as the uplink's address" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	wan
	in_ns "$WAN" tcpdump -i eth0 -n -l icmp >"$BATS_TEST_TMPDIR/cap" 2>"$BATS_TEST_TMPDIR/tcpdump.err" &
	tcpdump=$!
	for _ in $(seq 50); do grep -q listening "$BATS_TEST_TMPDIR/tcpdump.err" && break; sleep 0.1; done
	pings_eventually vm1 198.51.100.2	# and the reply comes back (established)
	sleep 0.3
	kill "$tcpdump"; wait "$tcpdump" || true
	run cat "$BATS_TEST_TMPDIR/cap"
	assert_output --partial "IP 198.51.100.1 > 198.51.100.2: ICMP echo request"
	assert_output --partial "IP 198.51.100.2 > 198.51.100.1: ICMP echo reply"
	refute_output --partial "172.16.0"
}

@test "packets: nothing new comes in from outside, and VMs reach no other host service" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	wan
	ip -n "$WAN" route add 172.16.0.0/24 via 198.51.100.1
	run in_ns "$WAN" ping -c 1 -W 1 172.16.0.50
	assert_failure
	# the host's uplink address is not the gateway
	run pings vm1 198.51.100.1
	assert_failure
	# a host service on the gateway address: closed unless allowed
	in_ns "$NS" socat TCP-LISTEN:8080,bind=172.16.0.1,reuseaddr,fork SYSTEM:'echo hello' &
	socat=$!
	for _ in $(seq 50); do in_ns "$NS" ss -ltn | grep -q 172.16.0.1:8080 && break; sleep 0.1; done
	run in_ns "$NSP-vm1" timeout 3 socat -T2 - TCP:172.16.0.1:8080,connect-timeout=1
	assert_failure
	net setup allow_tcp:='[8080]' >/dev/null
	run in_ns "$NSP-vm1" timeout 3 socat -T2 - TCP:172.16.0.1:8080,connect-timeout=1
	assert_success
	assert_output hello
	kill "$socat" || true
}

@test "packets: a VM emits only its own MAC, ARP for its own address and IPv4 from it" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	vm vm2 aaaaaaa2 172.16.0.51
	pings_eventually vm1 172.16.0.1
	pings_eventually vm2 172.16.0.1
	in_ns "$NS" ping -c 1 -W 1 172.16.0.51 >/dev/null
	in_ns "$NS" tcpdump -i fcm0 -n -l -A >"$BATS_TEST_TMPDIR/br" 2>"$BATS_TEST_TMPDIR/br.err" &
	cap1=$!
	in_ns "$NSP-vm2" tcpdump -i eth0 -n -l -A >"$BATS_TEST_TMPDIR/vm2" 2>"$BATS_TEST_TMPDIR/vm2.err" &
	cap2=$!
	for _ in $(seq 50); do grep -q listening "$BATS_TEST_TMPDIR/br.err" && grep -q listening "$BATS_TEST_TMPDIR/vm2.err" && break; sleep 0.1; done
	for kind in garp arp-reply mac ip-victim ip-gw ipv6; do
		in_ns "$NSP-vm1" python3 "$FCM_SRC/test/spoof.py" eth0 "$kind" 172.16.0.51 06:00:ac:10:00:33 172.16.0.1
	done
	# the host still sends vm2's traffic to vm2: a static entry, the FDB
	# entry of vm2's MAC on vm2's port, and vm2 answers
	run in_ns "$NS" ip neigh show 172.16.0.51 dev fcm0
	assert_output --regexp '^172\.16\.0\.51 lladdr 06:00:ac:10:00:33 PERMANENT *$'
	in_ns "$NS" ping -c 1 -W 1 172.16.0.51 >/dev/null
	run in_ns "$NS" bridge fdb show br fcm0
	refute_output --partial "06:00:ac:10:00:33 dev tap_aaaaaaa1"
	sleep 0.3
	kill "$cap1" "$cap2"; wait "$cap1" "$cap2" || true
	# nothing forged reached the host or vm2; vm2 saw the host's ping
	run grep -c fcm-spoof "$BATS_TEST_TMPDIR/br" "$BATS_TEST_TMPDIR/vm2"
	assert_output "$BATS_TEST_TMPDIR/br:0
$BATS_TEST_TMPDIR/vm2:0"
	grep -q "172.16.0.1 > 172.16.0.51: ICMP echo request" "$BATS_TEST_TMPDIR/vm2"
	# control: without the guard the same frames get in and take vm2's MAC
	in_ns "$NS" nft flush chain bridge fcm prerouting
	in_ns "$NS" tcpdump -i fcm0 -n -l -A >"$BATS_TEST_TMPDIR/br2" 2>"$BATS_TEST_TMPDIR/br2.err" &
	cap1=$!
	for _ in $(seq 50); do grep -q listening "$BATS_TEST_TMPDIR/br2.err" && break; sleep 0.1; done
	# (vm2's own next frame moves its MAC back to its port: look right after
	# each forged one, a few times)
	local taken=
	for _ in 1 2 3 4 5; do
		in_ns "$NSP-vm1" python3 "$FCM_SRC/test/spoof.py" eth0 mac 172.16.0.51 06:00:ac:10:00:33 172.16.0.1
		if in_ns "$NS" bridge fdb show br fcm0 | grep -q "06:00:ac:10:00:33 dev tap_aaaaaaa1"; then
			taken=1
			break
		fi
	done
	sleep 0.3
	kill "$cap1"; wait "$cap1" || true
	grep -q fcm-spoof "$BATS_TEST_TMPDIR/br2"
	[ -n "$taken" ]
}

@test "packets: a tap without a lease sends nothing; tap-del takes the VM's rules and entry away" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	pings_eventually vm1 172.16.0.1
	net free id=aaaaaaa1 >/dev/null
	net tap-add id=aaaaaaa1 >/dev/null	# the guard follows the leases
	run pings vm1 172.16.0.1
	assert_failure
	run net tap-del id=aaaaaaa1
	assert_success
	run in_ns "$NS" nft list chain bridge fcm prerouting
	refute_output --partial tap_aaaaaaa1
	vm vm2 aaaaaaa2 172.16.0.50
	pings_eventually vm2 172.16.0.1
	net tap-del id=aaaaaaa2 >/dev/null
	run in_ns "$NS" ip neigh show 172.16.0.50 dev fcm0
	assert_output ""
	run in_ns "$NS" nft list chain bridge fcm prerouting
	refute_output --partial tap_aaaaaaa2
}

@test "the bridge's MAC is pinned: a port with a lower MAC joining changes neither it nor the VMs' entries" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	run in_ns "$NS" cat /sys/class/net/fcm0/address
	assert_output 06:00:ac:10:00:01
	# a bridge whose address the kernel chose would take this port's
	# (the lowest), and flush every neighbour entry on it, the VMs' too
	in_ns "$NS" ip link add fcmt-low type veth peer name fcmt-low1
	in_ns "$NS" ip link set fcmt-low address 02:00:00:00:00:01
	in_ns "$NS" ip link set fcmt-low master fcm0 up
	in_ns "$NS" ip link set fcmt-low1 up
	run in_ns "$NS" cat /sys/class/net/fcm0/address
	assert_output 06:00:ac:10:00:01
	run in_ns "$NS" ip neigh show 172.16.0.50 dev fcm0
	assert_output --regexp '^172\.16\.0\.50 lladdr 06:00:ac:10:00:32 PERMANENT *$'
	pings_eventually vm1 172.16.0.1
	in_ns "$NS" ip link del fcmt-low
	run in_ns "$NS" ip neigh show 172.16.0.50 dev fcm0
	assert_output --regexp 'PERMANENT'
}

@test "a bridge made before (its address the kernel's): setup pins the address it has" {
	in_ns "$NS" ip link add fcm0 type bridge
	in_ns "$NS" ip link add fcmt-p type veth peer name fcmt-p1
	in_ns "$NS" ip link set fcmt-p address 02:00:00:00:00:09
	in_ns "$NS" ip link set fcmt-p master fcm0 up
	# (the control: unpinned, it follows its lowest port)
	run in_ns "$NS" cat /sys/class/net/fcm0/address
	assert_output 02:00:00:00:00:09
	net setup >/dev/null
	run in_ns "$NS" cat /sys/class/net/fcm0/address
	assert_output 02:00:00:00:00:09
	run in_ns "$NS" cat /sys/class/net/fcm0/addr_assign_type
	assert_output 3
	vm vm1 aaaaaaa1 172.16.0.50
	in_ns "$NS" ip link add fcmt-q type veth peer name fcmt-q1
	in_ns "$NS" ip link set fcmt-q address 02:00:00:00:00:02
	in_ns "$NS" ip link set fcmt-q master fcm0 up
	run in_ns "$NS" cat /sys/class/net/fcm0/address
	assert_output 02:00:00:00:00:09
	run in_ns "$NS" ip neigh show 172.16.0.50 dev fcm0
	assert_output --regexp 'lladdr 06:00:ac:10:00:32 PERMANENT'
}

@test "the guard is one element per lease in a set: tap-add adds it, tap-del and free take it out, the rules stay three" {
	net setup >/dev/null
	for id in aaaaaaa1 aaaaaaa2 aaaaaaa3; do
		net alloc "id=$id" >/dev/null
		net tap-add "id=$id" >/dev/null
	done
	run in_ns "$NS" nft list set bridge fcm guard
	assert_success
	assert_output --partial '"tap_aaaaaaa1" . 06:00:ac:10:00:32 . 172.16.0.50'
	assert_output --partial '"tap_aaaaaaa2" . 06:00:ac:10:00:33 . 172.16.0.51'
	assert_output --partial '"tap_aaaaaaa3" . 06:00:ac:10:00:34 . 172.16.0.52'
	# the chain does not grow with the VMs: two lookups and the drop
	run in_ns "$NS" nft list chain bridge fcm prerouting
	[ "$(grep -c '@guard accept$\|^[[:space:]]*iifname "tap_\*" drop$' <<<"$output")" -eq 3 ]
	refute_output --partial aaaaaaa
	net tap-del id=aaaaaaa2 >/dev/null
	net free id=aaaaaaa3 >/dev/null
	run in_ns "$NS" nft list set bridge fcm guard
	assert_output --partial '"tap_aaaaaaa1" . 06:00:ac:10:00:32 . 172.16.0.50'
	refute_output --partial tap_aaaaaaa2
	refute_output --partial tap_aaaaaaa3
	# the index (net/ids) follows: the freed address goes to the next VM,
	# and setup makes the same set and index anew from the leases
	run net alloc id=bbbbbbb4
	assert_output --partial '"ip":"172.16.0.52"'
	[ "$(readlink "$FCM_ROOT/net/ids/bbbbbbb4")" = ../leases/172.16.0.52 ]
	[ ! -e "$FCM_ROOT/net/ids/aaaaaaa3" ]
	rm -r "$FCM_ROOT/net/ids"
	net setup >/dev/null
	[ "$(readlink "$FCM_ROOT/net/ids/aaaaaaa2")" = ../leases/172.16.0.51 ]
	run in_ns "$NS" nft list set bridge fcm guard
	assert_output --partial '"tap_aaaaaaa2" . 06:00:ac:10:00:33 . 172.16.0.51'
	assert_output --partial '"tap_bbbbbbb4" . 06:00:ac:10:00:34 . 172.16.0.52'
	run net alloc id=bbbbbbb5
	assert_output --partial '"ip":"172.16.0.53"'
}

@test "packets: egress reaches the internet only, not link-local, other private networks or the host" {
	net setup >/dev/null
	vm vm1 aaaaaaa1 172.16.0.50
	wan
	lan
	# controls: the host reaches all of them
	in_ns "$NS" ping -c 1 -W 1 10.99.0.2 >/dev/null
	in_ns "$NS" ping -c 1 -W 1 169.254.169.254 >/dev/null
	pings_eventually vm1 198.51.100.2
	for dst in 169.254.169.254 10.99.0.2 10.99.0.1 198.51.100.1; do
		run pings vm1 "$dst"
		[ "$status" -ne 0 ] || fail "vm1 reached $dst"
	done
	# the host's own services on any of its addresses
	in_ns "$NS" socat TCP-LISTEN:2222,reuseaddr,fork SYSTEM:'echo hello' &
	socat=$!
	for _ in $(seq 50); do in_ns "$NS" ss -ltn | grep -q ':2222 ' && break; sleep 0.1; done
	for dst in 172.16.0.1 10.99.0.1 198.51.100.1 127.0.0.1; do
		run in_ns "$NSP-vm1" timeout 3 socat -T2 - "TCP:$dst:2222,connect-timeout=1"
		[ "$status" -ne 0 ] || fail "vm1 reached the host's port 2222 at $dst"
	done
	in_ns "$NS" timeout 3 socat -T2 - TCP:10.99.0.1:2222,connect-timeout=1 | grep -q hello
	kill "$socat" || true
	# the documented setting opens a network, never the host's own address
	net setup allow_nets:='["10.99.0.0/24"]' >/dev/null
	pings_eventually vm1 10.99.0.2
	run pings vm1 10.99.0.1
	assert_failure
	run pings vm1 169.254.169.254
	assert_failure
	# control: the path is there, the rules are what stop it
	in_ns "$NS" nft flush chain inet fcm forward
	pings_eventually vm1 169.254.169.254
}

@test "the machine's own namespace holds nothing of fcm-net's" {
	run ip -o link
	refute_output --regexp ' (fcm0|tap_[a-z0-9]{8})[:@]'
	run nft list tables
	refute_output --partial "fcm"
	run bash -c "ip netns list | grep -F 'fcmt-net-$$-' | grep -vF '$NS'"
	assert_output ""
}
