#!/usr/bin/env python3
"""`make run`'s alert feed: reads psql's output while it LISTENs on
camera_health_alerts and prints each alert event on one line, with the
camera's name.  psql prints a notification as

  Asynchronous notification "camera_health_alerts" with payload "{...}" received from server process with PID 123.

Anything else psql says is passed through.
"""
import json
import re
import sys

NOTE = re.compile(r'^Asynchronous notification "camera_health_alerts" with payload "(.*)" '
                  r'received from server process with PID \d+\.$')


def describe(event: dict) -> str:
    what = event.get("event") or event.get("status") or "event"
    name = event.get("camera_name") or f"camera {event.get('camera_id')}"
    site = f", site {event['site']}" if event.get("site") else ""
    kind = event.get("type") or event.get("alert_type") or "?"
    severity = event.get("severity", "")
    message = event.get("message")
    line = f">>> alert {what}: {name} (camera {event.get('camera_id')}{site}): {kind} {severity}".rstrip()
    return f"{line}: {message}" if message else line


def main() -> int:
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        m = NOTE.match(line)
        if not m:
            if line.strip():
                print(line, flush=True)
            continue
        try:
            # psql prints the payload as it is: no escaping to undo
            print(describe(json.loads(m.group(1))), flush=True)
        except (ValueError, AttributeError):
            print(f">>> alert event: {m.group(1)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
