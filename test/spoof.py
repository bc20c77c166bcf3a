#!/usr/bin/env python3
"""spoof.py — forged frames from a VM, for test/net.bats and test/isolation.bats.

    spoof.py IFACE KIND VICTIM_IP VICTIM_MAC GATEWAY_IP [COUNT]

Sends COUNT (default 3) frames of one KIND out of IFACE through a raw packet
socket, as a hostile guest would:

    garp      gratuitous ARP (request and reply) claiming VICTIM_IP for our MAC
    arp-reply ARP reply to the gateway: VICTIM_IP is at our MAC
    mac       an ARP reply and an IPv4/UDP packet with VICTIM_MAC as source MAC
    ip-victim IPv4/UDP from VICTIM_IP (our MAC) to the gateway
    ip-gw     IPv4/UDP from GATEWAY_IP (our MAC) to the victim
    ipv6      an IPv6 packet (fcm's network is IPv4 only)

Every forged frame carries the marker "fcm-spoof" in its payload where it has
one, so that a capture can find it.  Needs CAP_NET_RAW (root in the guest)."""
import socket
import struct
import sys
import time

MARK = b"fcm-spoof"


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_bytes(s):
    return socket.inet_aton(s)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def eth(dst, src, etype, payload):
    frame = dst + src + struct.pack("!H", etype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa + MARK


def udp4(src, dst):
    body = MARK
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(body), 0) + body
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__.split("\n\n")[1])
    iface, kind, vip, vmac, gw = sys.argv[1:6]
    count = int(sys.argv[6]) if len(sys.argv) == 7 else 3
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    me = s.getsockname()[4][:6]
    bcast = b"\xff" * 6
    victim_ip, victim_mac, gw_ip = ip_bytes(vip), mac_bytes(vmac), ip_bytes(gw)
    frames = []
    if kind == "garp":
        frames.append(eth(bcast, me, 0x0806, arp(1, me, victim_ip, b"\0" * 6, victim_ip)))
        frames.append(eth(bcast, me, 0x0806, arp(2, me, victim_ip, bcast, victim_ip)))
    elif kind == "arp-reply":
        frames.append(eth(bcast, me, 0x0806, arp(2, me, victim_ip, bcast, gw_ip)))
    elif kind == "mac":
        frames.append(eth(bcast, victim_mac, 0x0806, arp(2, victim_mac, victim_ip, bcast, gw_ip)))
        frames.append(eth(bcast, victim_mac, 0x0800, udp4(victim_ip, gw_ip)))
    elif kind == "ip-victim":
        frames.append(eth(bcast, me, 0x0800, udp4(victim_ip, gw_ip)))
    elif kind == "ip-gw":
        frames.append(eth(bcast, me, 0x0800, udp4(gw_ip, victim_ip)))
    elif kind == "ipv6":
        payload = struct.pack("!IHBB", 0x60000000, len(MARK), 59, 64) + b"\xfe\x80" + b"\0" * 14 + \
            b"\xff\x02" + b"\0" * 13 + b"\x01" + MARK
        frames.append(eth(b"\x33\x33\0\0\0\x01", me, 0x86DD, payload))
    else:
        sys.exit("spoof.py: unknown kind %r" % kind)
    for _ in range(count):
        for f in frames:
            s.send(f)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
