#!/usr/bin/env python3
"""A camera whose RTSP server accepts and then hangs.

usage: rtsp_hang.py PORT
Listens on 127.0.0.1:PORT and prints "ready". Accepts every connection, reads
and discards whatever the client sends, never replies, and keeps the
connection open until the client closes it. Serves until killed.
"""
import selectors
import socket
import sys


def main():
    port = int(sys.argv[1])
    sel = selectors.DefaultSelector()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if sock is listener:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # the client closed (or reset) the connection
                sel.unregister(sock)
                sock.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
