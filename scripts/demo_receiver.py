#!/usr/bin/env python3
"""`make run`'s webhook receiver: listens on 127.0.0.1:PORT and prints one
line per notification delivered to it (what happened and the cameras it
names), answering 200.  Usage: demo_receiver.py PORT"""
import http.server
import json
import sys


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            note = json.loads(body)
        except ValueError:
            print(f">>> webhook: {len(body)} bytes that are not JSON", flush=True)
            return
        alerts = note.get("alerts") or []
        names = ", ".join(f"{a.get('camera_name') or a.get('camera_id')} ({a.get('type')})" for a in alerts[:6])
        more = f" and {len(alerts) - 6} more" if len(alerts) > 6 else ""
        summary = note.get("summary") or note.get("text") or ""
        print(f">>> webhook #{note.get('sequence', '?')} {note.get('event', '?')}: {summary} [{names}{more}]",
              flush=True)

    def log_message(self, *args):
        pass


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
