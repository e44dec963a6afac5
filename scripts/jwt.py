#!/usr/bin/env python3
"""HS256 JSON Web Tokens for PostgREST, with Python's standard library only.

  jwt.py secret FILE            write a new random secret (base64 of 48 bytes)
                                to FILE, readable by its owner only
  jwt.py sign FILE ROLE [SECS]  print a token for ROLE signed with the secret
                                in FILE, expiring in SECS seconds (default
                                86400; 0 for none, negative for one that has
                                expired already)

PostgREST takes the role to switch to from the token's "role" claim.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_secret(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(48)).decode("ascii"))


def sign(path: str, role: str, seconds: int) -> str:
    with open(path) as f:
        secret = f.read().strip().encode("ascii")
    claims = {"role": role}
    if seconds != 0:
        claims["exp"] = int(time.time()) + seconds
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def main(argv: list) -> int:
    if len(argv) == 3 and argv[1] == "secret":
        new_secret(argv[2])
        return 0
    if len(argv) in (4, 5) and argv[1] == "sign":
        print(sign(argv[2], argv[3], int(argv[4]) if len(argv) == 5 else 86400))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
