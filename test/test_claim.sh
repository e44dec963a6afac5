#!/usr/bin/env bash
# The scheduler's claim script (taken from bgworker/scheduler.c, as the
# scheduler sends it): two schedulers claiming the same wheel at once never
# hand out the same due check twice, and the next due time is the previous
# one plus the interval (no drift; missed slots skipped, not replayed).
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
script=$(sed -n '/^static const char \*claim_script =/,/;$/p' "$ROOT/bgworker/scheduler.c" |
	sed -e '1d' -e 's/^"//' -e 's/\\n";$//' -e 's/\\n"$//')
[ -n "$script" ] || fail "claim script not found in bgworker/scheduler.c"
key="test:claim:$$"
trap 'rcli DEL "$key" >/dev/null' EXIT

claim() { # now limit -> member score lines
	rcli EVAL "$script" 1 "$key" "$1" "$2"
}

# drift: due at 10000 with a 1000 ms interval, claimed late at 10400 -> next due 11000
rcli ZADD "$key" 10000 "7:1000" >/dev/null
claim 10400 10 >/dev/null
assert_eq "$(rcli ZSCORE "$key" "7:1000")" "11000" "next due after a late claim"
# claimed 3.5 intervals late: the missed slots are skipped, the grid is kept
claim 14500 10 >/dev/null
assert_eq "$(rcli ZSCORE "$key" "7:1000")" "15000" "next due after missed slots"
assert_eq "$(claim 14999 10 | grep -c : || true)" "0" "claims before the due time"
rcli DEL "$key" >/dev/null
note "next due = previous due + interval; missed slots skipped"

# 5000 checks due; two claimers race in batches of 50 until nothing is left
n=5000
for i in $(seq 1 $n); do echo "ZADD $key 1000 $i:60000"; done | rcli >/dev/null
race() {
	local got
	while :; do
		got=$(claim 2000 50)
		[ -n "$got" ] || break
		echo "$got" | paste - - | cut -f1
	done
}
race >"$STACK_DIR/claim.a" &
race >"$STACK_DIR/claim.b" &
wait
total=$(cat "$STACK_DIR/claim.a" "$STACK_DIR/claim.b" | wc -l)
distinct=$(cat "$STACK_DIR/claim.a" "$STACK_DIR/claim.b" | sort -u | wc -l)
assert_eq "$total $distinct" "$n $n" "checks handed out (total, distinct)"
note "two concurrent claimers: $(wc -l <"$STACK_DIR/claim.a") + $(wc -l <"$STACK_DIR/claim.b") = $n checks, each once"
