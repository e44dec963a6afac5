#!/usr/bin/env bash
# Installs missing packages, builds everything and installs the extension.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -s
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo make -s install >/dev/null
