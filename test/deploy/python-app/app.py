"""The deploy tests' Python app: a page made of message.txt and a greeting
from fcmgreet, a package pip installs from the namespace's own index."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fcmgreet

PORT = int(os.environ["PORT"])
MESSAGE = open("message.txt").read().strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{MESSAGE}\n{fcmgreet.greet('fcm')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
