#!/usr/bin/env bash
# Installs the Debian packages camera_health needs to build, test and run.
# Installs only what is missing; needs root or sudo when something is.
set -euo pipefail

packages=(
	# build
	build-essential pkg-config
	postgresql-15 postgresql-client-15 postgresql-server-dev-15
	libhiredis-dev libcurl4-openssl-dev libjson-c-dev
	libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
	# run and test
	redis-server redis-tools ffmpeg fping iproute2 iptables procps python3 util-linux bc opencv-doc
	libgstrtspserver-1.0-dev libgstreamer1.0-dev
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
	gstreamer1.0-plugins-ugly gstreamer1.0-libav
	# TAP tests (test/t/, PostgreSQL::Test::Cluster)
	libipc-run-perl
	# make test's checks: gcc's ASan/UBSan runtimes (make sanitizecheck),
	# clang with its libFuzzer/sanitizer runtime and llvm-symbolizer
	# (make fuzzcheck), shellcheck (make shellcheck)
	libasan8 libubsan1 clang clang-14 libclang-rt-14-dev llvm-14 shellcheck
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
