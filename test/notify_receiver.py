#!/usr/bin/env python3
"""A webhook receiver for the notification tests (127.0.0.1 only).

usage: notify_receiver.py PORT LOG [--secret S] [--hang]

Answers every POST with 200 and appends one JSON line to LOG per request:
the time received, the path, the X-Camera-Health-* headers, whether the
X-Camera-Health-Signature header is the HMAC-SHA256 of the body keyed by S
(null without --secret), and the body.  With --hang it accepts the
connection, reads the request and never answers.  Prints "ready" once
listening.
"""
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    secret = None
    hang = "--hang" in sys.argv
    if "--secret" in sys.argv:
        secret = sys.argv[sys.argv.index("--secret") + 1].encode()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if 0 <= length <= 10 * 1024 * 1024 else b""
            sig = self.headers.get("X-Camera-Health-Signature")
            verified = None
            if secret is not None:
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                verified = sig is not None and hmac.compare_digest(sig, want)
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            entry = {
                "received": time.time(),
                "path": self.path,
                "notification": self.headers.get("X-Camera-Health-Notification"),
                "sequence": self.headers.get("X-Camera-Health-Sequence"),
                "signature": sig,
                "verified": verified,
                "content_type": self.headers.get("Content-Type"),
                "body": parsed,
            }
            with lock, open(log, "a") as f:
                f.write(json.dumps(entry) + "\n")
            if hang:
                time.sleep(3600)
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer.daemon_threads = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
