"""A tiny web app for fcm: answers every GET with a page.

fcm runs the Procfile's web: command with PORT set (8000); the app must
listen on 0.0.0.0:$PORT.  Only the standard library is used, so it deploys
without a package index; add dependencies to requirements.txt as usual.
"""
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8000"))
MESSAGE = "Hello from fcm!"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (
            "<!doctype html><title>fcm</title>\n"
            f"<h1>{MESSAGE}</h1>\n"
            f"<p>Python app running on {socket.gethostname()}.</p>\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    print(f"listening on 0.0.0.0:{PORT}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
