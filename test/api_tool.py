#!/usr/bin/env python3
"""test/api_tool.py — raw HTTP and WebSocket clients for test/api.bats:
what curl cannot do (slow clients, header floods, hand-made frames).
Loopback only: every command takes a port on 127.0.0.1.

  api_tool.py slow PORT N SECONDS     N connections sending half a request
  api_tool.py flood PORT HEADERS      one request with HEADERS headers
  api_tool.py raw PORT                send stdin as is, print the reply
  api_tool.py ws PORT PATH TOKEN STEP...  a WebSocket session, STEPs:
      send:TEXT        binary frame (TEXT with \\n escapes)
      text:JSON        text frame
      expect:TEXT      read until the terminal output holds TEXT (10 s)
      ping             ping, expect the pong
      unmasked         send an unmasked frame: expect a 1002 close
      big              send a frame over the limit: expect a 1009 close
      close            close 1000, expect the close back
      msgs             print every text message received so far
"""
import base64
import hashlib
import os
import resource
import select
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


def connect(port, rcvbuf=0):
    if not rcvbuf:
        return socket.create_connection((HOST, int(port)), timeout=10)
    # a small receive window, set before the handshake, so that what the
    # client does not read stays with the server
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((HOST, int(port)))
    return s


def slow(port, n, secs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
    socks, refused = [], 0
    for _ in range(n):
        try:
            s = connect(port)
            s.sendall(b"GET /v1/vms HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            refused += 1
    print("open", len(socks), "refused", refused, flush=True)
    deadline = time.time() + secs
    closed = set()
    while time.time() < deadline and len(closed) < len(socks):
        live = [s for s in socks if s.fileno() not in closed]
        r, _, _ = select.select(live[:1000], [], [], 0.2)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed.add(s.fileno())
    print("closed-by-server", len(closed), flush=True)
    for s in socks:
        s.close()


def flood(port, headers):
    s = connect(port)
    req = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
    try:
        s.sendall(req)
        for i in range(headers):
            s.sendall(b"X-Flood-%d: %s\r\n" % (i, b"a" * 40))
        s.sendall(b"\r\n")
    except OSError:
        pass
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    print(data.split(b"\r\n")[0].decode() if data else "closed")


def raw(port):
    s = connect(port)
    s.sendall(sys.stdin.buffer.read())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    sys.stdout.write(out.decode("latin-1"))


class WS:
    def __init__(self, port, path, token):
        self.s = connect(port, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n"
               % (path, HOST, port, key, token))
        self.s.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.s.recv(1)
            if not d:
                raise SystemExit("closed before the handshake: " + head.decode("latin-1"))
            head += d
        status = head.split(b"\r\n")[0].decode()
        print(status, flush=True)
        if " 101 " not in status + " ":
            rest = self.s.recv(65536)
            print(rest.decode("latin-1"), flush=True)
            raise SystemExit(1)
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if ("sec-websocket-accept: " + want).lower() not in head.decode().lower():
            raise SystemExit("bad Sec-WebSocket-Accept")
        self.buf = b""
        self.term = b""
        self.texts = []
        self.closed = None

    def send(self, op, payload, mask=True):
        hdr = bytes([0x80 | op])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            hdr += bytes([m | n])
        elif n <= 0xffff:
            hdr += bytes([m | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            k = os.urandom(4)
            hdr += k
            payload = bytes(b ^ k[i % 4] for i, b in enumerate(payload))
        try:
            self.s.sendall(hdr + payload)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the server closed first: its close frame is still to read

    def frame(self, timeout):
        """One frame (op, payload) or None on timeout/EOF."""
        end = time.time() + timeout
        while True:
            if len(self.buf) >= 2:
                op, n = self.buf[0] & 15, self.buf[1] & 127
                if self.buf[1] & 0x80:
                    raise SystemExit("server frame masked")
                off = 2
                if n == 126:
                    off, n = 4, struct.unpack(">H", self.buf[2:4])[0] if len(self.buf) >= 4 else None
                elif n == 127:
                    off, n = 10, struct.unpack(">Q", self.buf[2:10])[0] if len(self.buf) >= 10 else None
                if n is not None and len(self.buf) >= off + n:
                    p = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return op, p
            left = end - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d

    def pump(self, until, timeout=10):
        end = time.time() + timeout
        while not until():
            f = self.frame(max(0.01, end - time.time()))
            if f is None:
                return until()
            op, p = f
            if op == 2:
                self.term += p
            elif op == 1:
                self.texts.append(p.decode())
            elif op == 8:
                self.closed = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
                return until()
            elif op == 10:
                self.texts.append("<pong:%s>" % p.decode())
        return True


def ws(port, path, token, steps):
    c = WS(port, path, token)
    for st in steps:
        what, _, arg = st.partition(":")
        if what == "send":
            c.send(2, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif what == "text":
            c.send(1, arg.encode())
        elif what == "expect":
            if not c.pump(lambda: arg.encode() in c.term):
                print("terminal so far:", repr(c.term[-500:]))
                raise SystemExit("did not see %r" % arg)
            print("saw", arg, flush=True)
        elif what == "ping":
            c.send(9, b"hi")
            if not c.pump(lambda: "<pong:hi>" in c.texts):
                raise SystemExit("no pong")
            print("pong", flush=True)
        elif what == "unmasked":
            c.send(2, b"x", mask=False)
            c.pump(lambda: c.closed is not None)
            print("close", c.closed, flush=True)
            return
        elif what == "big":
            c.send(2, b"y" * (1024 * 1024 + 1))
            c.pump(lambda: c.closed is not None)
            print("close", c.closed, flush=True)
            return
        elif what == "close":
            c.send(8, struct.pack(">H", 1000))
            c.pump(lambda: c.closed is not None)
            print("close", c.closed, flush=True)
            return
        elif what == "waitclose":
            c.pump(lambda: c.closed is not None, timeout=float(arg or 10))
            print("close", c.closed, flush=True)
        elif what == "stall":
            # a client that reads nothing (a small receive buffer, so the
            # kernel holds little for it) for arg seconds
            time.sleep(float(arg))
        elif what == "drain":
            # then read to the end: "eof after N bytes", or "still open"
            n, end = len(c.buf), time.time() + float(arg or 30)
            c.buf = b""
            while time.time() < end:
                r, _, _ = select.select([c.s], [], [], max(0.01, end - time.time()))
                if not r:
                    continue
                try:
                    d = c.s.recv(65536)
                except ConnectionResetError:
                    d = b""
                if not d:
                    print("eof after", n, "bytes", flush=True)
                    return
                n += len(d)
            print("still open after", n, "bytes", flush=True)
            return
        elif what == "msgs":
            c.pump(lambda: False, timeout=0.5)
            for t in c.texts:
                print("msg", t, flush=True)
        else:
            raise SystemExit("unknown step " + st)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "slow":
        slow(args[0], int(args[1]), float(args[2]))
    elif cmd == "flood":
        flood(args[0], int(args[1]))
    elif cmd == "raw":
        raw(args[0])
    elif cmd == "ws":
        ws(args[0], args[1], args[2], args[3:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
