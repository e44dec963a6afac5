#!/usr/bin/env python3
"""Helpers of test/test_vision_hostile.sh (Python stdlib only).

  vision_hostile.py images DIR            good.png (a textured colour scene),
                                          big.png (16000x16000 grey, ~250 KB) and
                                          rgba8k.png (8000x8000 RGBA) in DIR
  vision_hostile.py serve PORT DIR        HTTP server on 127.0.0.1:PORT serving
                                          DIR; prints "ready"
  vision_hostile.py result PORT PASSWORD TASK TIMEOUT_S
                                          waits for the result of vision task
                                          TASK in results:vision and prints
                                          "status stage has_ref error"
  vision_hostile.py hangup PORT            a "Redis" on 127.0.0.1:PORT that reads
                                          each client's first bytes, then closes
                                          the connection; prints "ready"
  vision_hostile.py grey PORT PASSWORD KEY
                                          prints "WxH" when KEY holds a well-formed
                                          GREY reference, else "malformed" / "none"
"""
import functools
import http.server
import json
import random
import socket
import struct
import sys
import time
import zlib


def png(width, height, rows, colour_type=0):
    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)

    z = zlib.compressobj(9)
    data = b''.join(z.compress(r) for r in rows) + z.flush()
    ihdr = struct.pack('>IIBBBBB', width, height, 8, colour_type, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', data) + chunk(b'IEND', b'')


def good_rows(width, height):
    """Blocks of random levels, in colour (a grey picture would be an
    infrared one, with a reference key of its own): bright enough,
    detailed everywhere."""
    rnd = random.Random(8)
    block = 16
    levels = [[rnd.randint(40, 210) for _ in range(width // block + 1)]
              for _ in range(height // block + 1)]
    for y in range(height):
        row = levels[y // block]
        yield b'\0' + b''.join(bytes((row[x // block], max(row[x // block] - 30, 0),
                                       min(row[x // block] + 40, 255))) for x in range(width))


def big_rows(side, channels=1):
    row = b'\0' * (side * channels + 1)
    for _ in range(side):
        yield row


def images(directory):
    with open(f'{directory}/good.png', 'wb') as f:
        f.write(png(640, 480, good_rows(640, 480), colour_type=2))
    with open(f'{directory}/big.png', 'wb') as f:
        f.write(png(16000, 16000, big_rows(16000)))
    # 8000x8000 RGBA: 256 MB once decoded
    with open(f'{directory}/rgba8k.png', 'wb') as f:
        f.write(png(8000, 8000, big_rows(8000, 4), colour_type=6))


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write('http: ' + fmt % args + '\n')


def serve(port, directory):
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', port), functools.partial(Handler, directory=directory))
    print('ready', flush=True)
    server.serve_forever()


def hangup(port):
    srv = socket.create_server(('127.0.0.1', port))
    print('ready', flush=True)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(5)
        try:
            conn.recv(65536)
        except OSError:
            pass
        conn.close()


class Redis:
    """The smallest RESP client: commands as lists of str/bytes."""

    def __init__(self, port, password):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.buf = self.sock.makefile('rb')
        if password:
            self.cmd('AUTH', password)

    def cmd(self, *args):
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        self.sock.sendall(b''.join(out))
        return self.read()

    def read(self):
        line = self.buf.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b'+':
            return rest
        if kind == b'-':
            raise RuntimeError(rest.decode())
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            data = self.buf.read(n + 2)
            return data[:-2]
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f'bad reply {line!r}')


def grey_size(data):
    """WxH of a well-formed GREY image (as common/grey_format.c checks it), else None."""
    if data is None or not data.startswith(b'GREY '):
        return None
    head, sep, pixels = data.partition(b'\n')
    parts = head.split(b' ')
    if not sep or len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
        return None
    w, h = int(parts[1]), int(parts[2])
    if w <= 0 or h <= 0 or len(pixels) < w * h:
        return None
    # an optional focus map: "FOCUS sw sh gx gy\n" and gx*gy 4-byte tiles
    focus = pixels[w * h:]
    if focus:
        head, sep, tiles = focus.partition(b'\n')
        parts = head.split(b' ')
        if (not sep or len(parts) != 5 or parts[0] != b'FOCUS' or not all(p.isdigit() for p in parts[1:])
                or len(tiles) != int(parts[3]) * int(parts[4]) * 4):
            return None
    return f'{w}x{h}'


def result(port, password, task, timeout):
    r = Redis(port, password)
    deadline = time.time() + timeout
    while True:
        for _, fields in r.cmd('XRANGE', 'results:vision', '-', '+') or []:
            f = dict(zip(fields[::2], fields[1::2]))
            res = json.loads(f[b'r'])
            meta = res.get('metadata', {})
            if meta.get('task_id') == task:
                ref = grey_size(f.get(b'ref')) or ('malformed' if b'ref' in f else '-')
                print(res['status'], meta.get('stage', '-'), ref, meta.get('error', '-'))
                return
        if time.time() >= deadline:
            break
        time.sleep(0.1)
    print('none')


def grey(port, password, key):
    data = Redis(port, password).cmd('GET', key)
    print('none' if data is None else grey_size(data) or 'malformed')


def main():
    cmd = sys.argv[1]
    if cmd == 'images':
        images(sys.argv[2])
    elif cmd == 'serve':
        serve(int(sys.argv[2]), sys.argv[3])
    elif cmd == 'result':
        result(int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]))
    elif cmd == 'hangup':
        hangup(int(sys.argv[2]))
    elif cmd == 'grey':
        grey(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main()
