"""The app-runtime tests' web process: its config var GREETING, and how
many times the release command has run (migrate.py counts them)."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ["PORT"])
VERSION = open("version.txt").read().strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            runs = len(open("/app/migrations.log").read().splitlines())
        except FileNotFoundError:
            runs = 0
        greeting = os.environ.get("GREETING", "no greeting")
        body = f"{VERSION}\ngreeting: {greeting}\nmigrations: {runs}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("web:", fmt % args, flush=True)


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
