#!/usr/bin/env python3
"""A minimal SMTP receiver for the notification tests (127.0.0.1 only).

usage: smtp_receiver.py PORT LOG

Speaks just enough SMTP (EHLO/HELO, AUTH PLAIN/LOGIN accepted, MAIL, RCPT,
DATA, RSET, NOOP, QUIT) and appends one JSON line per message to LOG: the
envelope sender and recipients, the login if any, and the message (dot
transparency undone).  Prints "ready" once listening.
"""
import base64
import json
import socketserver
import sys
import threading

LOCK = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 camera-health-test ESMTP")
        mail_from, rcpt, login = None, [], None
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-camera-health-test")
                self.reply("250-AUTH PLAIN LOGIN")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 camera-health-test")
            elif verb == "AUTH":
                parts = line.split(" ")
                if len(parts) >= 3 and parts[1].upper() == "PLAIN":
                    login = base64.b64decode(parts[2]).split(b"\0")[1].decode()
                elif len(parts) >= 2 and parts[1].upper() == "PLAIN":
                    self.reply("334 ")
                    login = base64.b64decode(self.rfile.readline().strip()).split(b"\0")[1].decode()
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    login = base64.b64decode(self.rfile.readline().strip()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    self.rfile.readline()
                self.reply("235 2.7.0 accepted")
            elif verb == "MAIL":
                mail_from, rcpt = line.split(":", 1)[1].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpt.append(line.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    d = self.rfile.readline(1 << 20)
                    if not d or d in (b".\r\n", b".\n"):
                        break
                    if d.startswith(b".."):
                        d = d[1:]
                    lines.append(d.decode("utf-8", "replace"))
                with LOCK, open(sys.argv[2], "a") as f:
                    f.write(json.dumps({"from": mail_from, "rcpt": rcpt, "login": login,
                                        "message": "".join(lines)}) + "\n")
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


def main():
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
