#!/bin/bash
# probe_vs_fping.sh: ICMP sweep throughput of the netprobe engine against fping,
# measured in the same run on the same loopback hosts; then our TCP sweep.
#
#   bench/probe_vs_fping.sh [N [ROUNDS]]     (defaults: 2000 hosts, 5 rounds)
#
# Hosts are 127.1.x.y, and nothing else is ever probed.  Each round runs fping
# and netprobe_bench once each, alternating which goes first; both are timed
# the same way, process start included.  fping gets its tightest interval
# (-i 0 as root, else -i 1) and no retries (-r 0), with a 1000 ms timeout;
# netprobe_bench probes every host once, with the same timeout.
# The TCP sweep connects to a port nobody listens on (answered by RST):
# fping has no TCP mode, so it only shows our own throughput.
#
# ICMP from netprobe needs net.ipv4.ping_group_range to include our group: the
# script widens it to "0 2147483647" for the run if needed (root) and puts
# the old value back on exit.
#
# Environment: NETPROBE_BENCH (default bench/netprobe_bench), FPING (fping).

set -u

N=${1:-2000}
ROUNDS=${2:-5}
TIMEOUT_MS=1000
RANGE_PATH=/proc/sys/net/ipv4/ping_group_range

root=$(cd "$(dirname "$0")/.." && pwd)
bench=${NETPROBE_BENCH:-$root/bench/netprobe_bench}
fping=${FPING:-fping}

die() { echo "probe_vs_fping: $*" >&2; exit 1; }

if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 1 || N > 63750 )); then
	die "N must be 1..63750"
fi
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || (( ROUNDS < 1 )); then
	die "ROUNDS must be positive"
fi
if [[ ! -x $bench ]]; then
	make -C "$root" -s bench/netprobe_bench >/dev/null 2>&1
	[[ -x $bench ]] || die "$bench is missing: build it first (make bench/netprobe_bench)"
fi
command -v "$fping" >/dev/null || die "fping not found"

workdir=$(mktemp -d /tmp/probe_vs_fping.XXXXXX)
old_range=""

restore() {
	if [[ -n $old_range ]]; then
		printf '%s\n' "$old_range" > "$RANGE_PATH" ||
			echo "probe_vs_fping: could not restore $RANGE_PATH to '$old_range'" >&2
	fi
	rm -rf "$workdir"
}
trap restore EXIT
trap 'exit 130' INT TERM

# ---- ICMP permission ------------------------------------------------------

range_covers_us() {
	local lo hi g
	read -r lo hi < "$RANGE_PATH" || return 1
	for g in $(id -G); do
		(( g >= lo && g <= hi )) || return 1
	done
}

if ! range_covers_us; then
	current=$(cat "$RANGE_PATH")
	if printf '0 2147483647\n' > "$RANGE_PATH" 2>/dev/null; then
		old_range=$current
		echo "note: net.ipv4.ping_group_range set to '0 2147483647' for the run (was '$current')"
	else
		echo "note: net.ipv4.ping_group_range ('$current') excludes us and cannot be changed: netprobe ICMP will fail"
	fi
fi

# ---- hosts ------------------------------------------------------------------

hosts=$workdir/hosts
for (( i = 0; i < N; i++ )); do
	echo "127.1.$(( i / 250 )).$(( i % 250 + 1 ))"
done > "$hosts"

# fping's tightest interval: 0 is allowed to root only
interval=1
if "$fping" -q -r 0 -t 200 -i 0 127.0.0.1 >/dev/null 2>&1; then
	interval=0
fi

# A TCP port nobody listens on, on any address (a wildcard listener would
# answer on 127.1.x.y too).
tcp_port=""
for p in 9 19 47 4 6 8 10 12 14 16 18 20; do
	if ! ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; then
		tcp_port=$p
		break
	fi
done

# ---- measuring ----------------------------------------------------------------

now() { echo "${EPOCHREALTIME/,/.}"; }

# Run a command: $elapsed seconds, $last_rc, its output in $workdir/out.
timed() {
	local t0 t1
	t0=$(now)
	"$@" > "$workdir/out" 2> "$workdir/err"
	last_rc=$?
	t1=$(now)
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rate() { awk -v n="$N" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }

fping_rates=()
our_rates=()
ratios=()
warnings=0

run_fping() {
	timed "$fping" -q -r 0 -t "$TIMEOUT_MS" -i "$interval" -f "$hosts"
	if (( last_rc != 0 )); then
		echo "  warning: fping exit status $last_rc (some hosts unreachable?) $(head -c 200 "$workdir/err")"
		warnings=$((warnings + 1))
	fi
	fping_s=$elapsed
}

run_ours() {
	local up
	timed "$bench" --icmp --timeout "$TIMEOUT_MS" -f "$hosts"
	up=$(sed -n 's/.*: UP \([0-9]*\),.*/\1/p' "$workdir/out")
	if [[ $last_rc != 0 || $up != "$N" ]]; then
		echo "  warning: netprobe_bench: $(cat "$workdir/out" "$workdir/err" | head -c 300)"
		warnings=$((warnings + 1))
	fi
	our_s=$elapsed
}

echo "probe_vs_fping: $N hosts 127.1.0.1..$(tail -1 "$hosts"), $ROUNDS rounds, timeout $TIMEOUT_MS ms"
echo "  fping: $("$fping" --version 2>&1 | head -1), -q -r 0 -t $TIMEOUT_MS -i $interval -f HOSTS"
echo "  ours:  netprobe_bench --icmp --timeout $TIMEOUT_MS -f HOSTS"
echo

for (( r = 1; r <= ROUNDS; r++ )); do
	if (( r % 2 )); then
		run_fping
		run_ours
	else
		run_ours
		run_fping
	fi
	fr=$(rate "$fping_s")
	orr=$(rate "$our_s")
	ratio=$(awk -v a="$fping_s" -v b="$our_s" 'BEGIN { printf "%.2f", a / b }')
	fping_rates+=("$fr")
	our_rates+=("$orr")
	ratios+=("$ratio")
	printf 'round %d: fping %.4f s (%s hosts/s), netprobe %.4f s (%s hosts/s), ours/fping %s\n' \
		"$r" "$fping_s" "$fr" "$our_s" "$orr" "$ratio"
done

echo
printf 'ICMP: fping %s hosts/s, netprobe %s hosts/s (medians); ratio ours/fping %s (median of rounds)\n' \
	"$(printf '%s\n' "${fping_rates[@]}" | median)" \
	"$(printf '%s\n' "${our_rates[@]}" | median)" \
	"$(printf '%s\n' "${ratios[@]}" | median)"

# ---- TCP ----------------------------------------------------------------------

if [[ -z $tcp_port ]]; then
	echo "TCP: skipped, no closed port found"
else
	tcp_rates=()
	for (( r = 1; r <= ROUNDS; r++ )); do
		timed "$bench" --tcp-port "$tcp_port" --timeout "$TIMEOUT_MS" -f "$hosts"
		refused=$(sed -n 's/.*REFUSED \([0-9]*\),.*/\1/p' "$workdir/out")
		if [[ $last_rc != 0 || $refused != "$N" ]]; then
			echo "  warning: netprobe_bench TCP: $(cat "$workdir/out" "$workdir/err" | head -c 300)"
			warnings=$((warnings + 1))
		fi
		tcp_rates+=("$(rate "$elapsed")")
	done
	printf 'TCP (connect to closed port %s, RST): netprobe %s hosts/s (median of %d rounds; fping has no TCP mode)\n' \
		"$tcp_port" "$(printf '%s\n' "${tcp_rates[@]}" | median)" "$ROUNDS"
fi

(( warnings == 0 )) || echo "probe_vs_fping: $warnings warnings above: figures may not compare like with like"
