#!/usr/bin/env python3
"""TCP listeners for the integration tests: accept and close at once.

usage: listen.py PORT ADDRESS...   (addresses in 127.0.0.0/8 only)
Prints "ready" once every address is bound, then serves until killed.
"""
import ipaddress
import selectors
import socket
import sys


def main():
    port = int(sys.argv[1])
    sel = selectors.DefaultSelector()
    for addr in sys.argv[2:]:
        if ipaddress.ip_address(addr) not in ipaddress.ip_network("127.0.0.0/8"):
            sys.exit("listen.py: only 127.0.0.0/8, not " + addr)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1024)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()
                conn.close()
            except OSError:
                pass


if __name__ == "__main__":
    main()
