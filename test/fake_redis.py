#!/usr/bin/env python3
"""A hostile Redis for robustness tests: speaks RESP on 127.0.0.1 and
answers the camera_health workers' commands with replies of the wrong
shape: nils, errors, integers where arrays belong, arrays of the wrong
length or nesting, more entries than asked, huge bulk strings, entries
with odd field counts, non-numeric ids and ports, protocol garbage.

Each command has a list of scenarios, served in turn (one per call), so a
run of a few seconds goes through all of them.  Usage:

    fake_redis.py PORT STATS_FILE

prints "ready" once listening; STATS_FILE gets, every half second, a JSON
object {command: [calls, scenarios]}.
"""
import functools
import json
import os
import socket
import socketserver
import sys
import threading
import time

HUGE_BULK = 20 * 1024 * 1024  # more than a worker's reader takes


def bulk(s):
    if isinstance(s, str):
        s = s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def arr(items):
    return b"*%d\r\n" % len(items) + b"".join(
        i if isinstance(i, bytes) and i[:1] in b"*$:+-" else bulk(i) for i in items)


def integer(n):
    return b":%d\r\n" % n


NIL = b"$-1\r\n"
NIL_ARRAY = b"*-1\r\n"
OK = b"+OK\r\n"


def err(msg):
    return b"-" + msg.encode() + b"\r\n"


def deep(n):
    return b"*1\r\n" * n + integer(1)


def task_fields(**over):
    f = {"camera_id": "1", "check": "port", "ip": "127.0.0.1", "port": "9",
         "due_ms": str(int(time.time() * 1000)), "interval_ms": "10000"}
    f.update(over)
    out = []
    for k, v in f.items():
        out += [k, v]
    return out


# entry ids below any real one: a worker that took them for new results
# would write them; it must see they are old (or malformed)
def entries_for(stream, count):
    """Plausible stream entries with hostile contents."""
    bad_tasks = [
        task_fields(port="70000"), task_fields(port="-1"), task_fields(port="554abc"),
        task_fields(port="99999999999999999999"), task_fields(port=""),
        task_fields(camera_id="abc"), task_fields(camera_id="0"),
        task_fields(due_ms="soon"), task_fields(interval_ms="0"),
        task_fields(check="icmp"), task_fields(ip=""), task_fields(ip="x" * 200),
    ]
    out = []
    for i in range(count):
        fields = bad_tasks[i % len(bad_tasks)] + ["r", "{\"camera_id\": \"x\"}"]
        out.append(arr([bulk("1-%d" % i), arr(fields)]))
    return out


@functools.lru_cache(maxsize=None)
def xreadgroup_scenarios(keys, count):
    k = keys[0] if keys else "results:network"
    few = entries_for(k, 3)
    return [
        NIL,
        NIL_ARRAY,
        err("ERR hostile"),
        integer(5),
        OK,
        bulk("not an array"),
        arr([]),
        arr([bulk(k)]),                                  # stream without entries
        arr([arr([bulk(k), integer(3)])]),               # entries an integer
        arr([arr([bulk(k), NIL])]),
        arr([arr([bulk(k), arr([integer(1), integer(2)])])]),
        arr([arr([bulk(k), arr([arr([bulk("1-1")])])])]),          # entry of one element
        arr([arr([bulk(k), arr([arr([integer(1), arr([])])])])]),  # id an integer
        arr([arr([bulk(k), arr([arr([bulk("1-1"), arr([bulk("a"), bulk("b"), bulk("c")])])])])]),
        arr([arr([bulk(k), arr([arr([bulk("1-2"), NIL_ARRAY])])])]),               # trimmed
        arr([arr([bulk(k), arr([arr([bulk("1-3"), arr([integer(1), bulk("x")])])])])]),
        arr([arr([bulk(k), arr([arr([bulk("abc-def"), arr([])]),
                                arr([bulk("1-" + "9" * 60), arr([])]),
                                arr([bulk("-5-1"), arr([])])])])]),
        arr([arr([bulk(k), arr([arr([bulk("99999999999999-0"),
                                     arr(["r", '{"camera_id":1,"check_type":"ip","status":"ok"}'])])])])]),
        arr([arr([integer(7), arr(few)])]),              # stream name an integer
        arr([arr([bulk("other:stream"), arr(few)])]),    # a stream not asked for
        arr([arr([bulk(k), arr(few)])] * 3),             # more streams than asked
        arr([arr([bulk(k), arr(few), bulk("extra")])]),  # stream of three elements
        arr([arr([bulk(k), arr(few)])]),                 # plausible, hostile fields
        arr([arr([bulk(k), arr(entries_for(k, count + 500))])]),  # more than COUNT
        arr([arr([bulk(k), arr([arr([bulk("1-4"), arr(["r", "x" * HUGE_BULK])])])])]),
        b"*2000000000\r\n",                              # an array too big to allocate
        deep(12),                                        # nesting hiredis refuses
        b"?garbage\r\n",
        arr([arr([bulk(k), arr([arr([bulk("1-5"), arr([b"$4\r\nr\x00\x00x\r\n", "y"])])])])]),
        b"*2\r\n$5\r\nab",                               # cut off: the connection closes
    ]


@functools.lru_cache(maxsize=None)
def claim_scenarios():
    return [
        NIL, err("ERR hostile"), integer(1), OK, arr([bulk("1:1000")]),  # odd count
        arr([integer(1), integer(2)]), arr([arr([]), arr([])]), arr([NIL, NIL]),
        arr(["abc", "1"]), arr(["1:abc", "1"]), arr(["99999999999999999999:1000", "1"]),
        arr(["1:1000", "x"]), arr(["1:1000", "1e400"]), arr(["1:1000", "-5"]),
        arr(["1:1000"] * 5000), arr(["x" * 100000, "1"]), deep(12),
        arr([bulk("1:1000\x00"), bulk("1")]), b"*2\r\n$6\r\n1:1000\r\n$",
        arr(["1:1000", "1"]),
    ]


@functools.lru_cache(maxsize=None)
def zrange_scenarios():
    # the scheduler reads three schedules in a row and goes on only when all
    # three are arrays: those are next to each other, and the list is not a
    # multiple of three long, so that each is reached
    return [
        arr([NIL, integer(1), arr([])]),
        arr(["abc", "1:", ":1", "1:1000:5", "-1:1000", "0:0", "x" * 5000]),
        arr(["%d:bad" % i for i in range(5000)]),
        arr([bulk(b"1:1\x00000")]),
        arr([]),
        arr([]),
        NIL, integer(3), err("ERR hostile"), OK,
        b"*3\r\n$1\r\na\r\n", arr([bulk("x" * HUGE_BULK)]), NIL_ARRAY,
    ]


@functools.lru_cache(maxsize=None)
def exists_scenarios():
    return [OK, bulk("1"), arr([integer(1)]), NIL, integer(5), integer(-1), err("ERR x"),
            integer(1), integer(0)]


@functools.lru_cache(maxsize=None)
def xautoclaim_scenarios():
    return [
        arr([bulk("0-0")]), arr([bulk("0-0"), integer(1)]), NIL,
        arr([bulk("0-0"), arr([NIL, arr([bulk("1-1")]), integer(3)])]),
        arr([bulk("0-0"), arr([arr([bulk("1-6"), arr(task_fields(port="65536"))])]), arr([])]),
        arr([bulk("0-0"), arr(entries_for("queue:network", 2000)), arr([])]),
        err("ERR hostile"),
    ]


@functools.lru_cache(maxsize=None)
def other_scenarios(name):
    # pipelined commands: the scheduler goes on only when none failed, so
    # errors are rare here (one command of the pipeline, XADD, has them)
    sc = [OK, integer(1), NIL, NIL_ARRAY, arr([integer(1), integer(2)]), bulk("x"), arr([arr([])]),
          integer(0)]
    if name == "XADD":
        sc.append(err("ERR hostile"))
    return sc


class State:
    lock = threading.Lock()
    calls = {}

    @classmethod
    def next(cls, name, n):
        with cls.lock:
            c = cls.calls.setdefault(name, [0, n])
            c[0] += 1
            c[1] = n
            return (c[0] - 1) % n


def reply_for(args):
    name = args[0].upper() if args else b""
    name = name.decode("latin-1")
    if name in ("PING", "AUTH", "SELECT", "CLIENT", "HELLO"):
        return OK, False
    if name == "XREADGROUP":
        up = [a.upper() for a in args]
        count = 1000
        if b"COUNT" in up:
            try:
                count = int(args[up.index(b"COUNT") + 1])
            except ValueError:
                pass
        keys = []
        if b"STREAMS" in up:
            rest = args[up.index(b"STREAMS") + 1:]
            keys = [k.decode("latin-1") for k in rest[:len(rest) // 2]]
        sc = xreadgroup_scenarios(tuple(keys), count)
    elif name == "EVAL":
        sc = claim_scenarios()
    elif name == "ZRANGE":
        sc = zrange_scenarios()
    elif name == "EXISTS":
        sc = exists_scenarios()
    elif name == "XAUTOCLAIM":
        sc = xautoclaim_scenarios()
    else:
        sc = other_scenarios(name)
    r = sc[State.next(name, len(sc))]
    # a reply cut off mid-way: send it, then close the connection
    cut = r.endswith(b"ab") or r.endswith(b"$") or r == b"*3\r\n$1\r\na\r\n"
    return r, cut


def read_command(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()  # inline command
    n = int(line[1:])
    args = []
    for _ in range(n):
        h = f.readline()
        if not h.startswith(b"$"):
            return None
        ln = int(h[1:])
        args.append(f.read(ln + 2)[:ln])
    return args


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            while True:
                args = read_command(self.rfile)
                if args is None:
                    return
                r, cut = reply_for(args)
                self.wfile.write(r)
                self.wfile.flush()
                if cut:
                    return
        except (ConnectionError, ValueError, OSError):
            return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def dump_stats(path):
    while True:
        with State.lock:
            data = json.dumps(State.calls)
        with open(path + ".tmp", "w") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        time.sleep(0.5)


def main():
    port = int(sys.argv[1])
    srv = Server(("127.0.0.1", port), Handler)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    threading.Thread(target=dump_stats, args=(sys.argv[2],), daemon=True).start()
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
