"""fcm placeholder page: served on $PORT (8000) until an app is deployed."""
import html
import http.server
import os
import socket

PORT = int(os.environ.get("PORT", "8000"))
NAME = socket.gethostname()

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{name}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>{name}</h1>
<p>This fcm VM is running, but nothing has been deployed to it yet.</p>
<p>To deploy, add the VM's git remote and push:</p>
<pre>git remote add fcm root@YOUR-SERVER:{name}.git
git push fcm main</pre>
<p>A <code>Procfile</code> with a <code>web:</code> line tells fcm how to start
your app; it must listen on the port in <code>$PORT</code> (8000).</p>
</body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGE.format(name=html.escape(NAME)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


if __name__ == "__main__":
    print(f"placeholder: serving {NAME} on port {PORT}", flush=True)
    try:
        server = Server(("::", PORT), Handler)
    except OSError:  # no IPv6 in this kernel
        Server.address_family = socket.AF_INET
        Server.server_bind = http.server.ThreadingHTTPServer.server_bind
        server = Server(("0.0.0.0", PORT), Handler)
    server.serve_forever()
