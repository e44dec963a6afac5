#!/usr/bin/env python3
"""A slow link to the real redis-server, for the integration tests.

usage: slow_redis.py LISTEN_PORT REDIS_PORT HOLD_S MARKER

Forwards every connection on 127.0.0.1:LISTEN_PORT to the redis-server on
127.0.0.1:REDIS_PORT, byte for byte, except that a chunk from a client that
holds a SET of a reference:{id} key is held for HOLD_S seconds before it
goes on (the rest of that connection waits behind it).  While a chunk is
held the file MARKER exists and holds the connection's count of held
chunks; it is removed when the chunk is sent.  Prints "ready" once
listening, then serves until killed.
"""
import asyncio
import os
import re
import sys

REFERENCE_SET = re.compile(rb"\$3\r\nSET\r\n\$\d+\r\n[^\r]*reference:\d+\r\n", re.IGNORECASE)


async def pipe(reader, writer, hold_s=None, marker=None):
    held = 0
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if hold_s is not None and REFERENCE_SET.search(data):
                held += 1
                with open(marker + ".tmp", "w") as f:
                    f.write(str(held))
                os.rename(marker + ".tmp", marker)
                await asyncio.sleep(hold_s)
                os.unlink(marker)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    listen_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    hold_s, marker = float(sys.argv[3]), sys.argv[4]

    async def serve(client_reader, client_writer):
        try:
            redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", redis_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, redis_writer, hold_s, marker),
                             pipe(redis_reader, client_writer))

    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
