#!/usr/bin/env bash
# Installs missing packages, builds everything, and installs the extension
# into a private copy of the PostgreSQL server under .pginst/ (see
# scripts/pgprefix.sh): `make test` and `make run` never write into the
# system's PostgreSQL, and two checkouts can test side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -s
. scripts/pgprefix.sh
pgprefix_prepare
make -s install DESTDIR="$PG_PREFIX" >/dev/null
