#!/usr/bin/env bash
# Interop with a real LDK 0.2.7 node (`ldk_peer_cli` from ../shared/ldk-reference),
# both directions, through several of LDK's ping ticks. Runnable by hand:
#
#   (cd ../shared/ldk-reference && CARGO_TARGET_DIR=/tmp/ldkref cargo build --release --locked)
#   cargo build --release --example peer
#   interop/ldk_interop.sh /tmp/ldkref/release/ldk_peer_cli target/release/examples/peer
#
# Passes when each side prints `connected <other>` and LDK has received at
# least 4 pongs (it pings once per 1 s tick and drops a peer that misses one).
set -u
LDK=${1:?path to ldk_peer_cli}
PEER=${2:-target/release/examples/peer}
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
fail=0

check() { # name listener_out dialer_out ldk_out
  local name=$1 a=$2 b=$3 l=$4
  local pongs; pongs=$(grep -c '^received pong$' "$l")
  if grep -q '^connected ' "$a" && grep -q '^connected ' "$b" && [ "$pongs" -ge 4 ] \
     && ! grep -q '^disconnected ' "$a" && ! grep -q '^disconnected ' "$b"; then
    echo "ok $name: connected, LDK got $pongs pongs, still connected"
  else
    echo "FAIL $name"; echo "--- listener"; cat "$a"; echo "--- dialer"; cat "$b"; fail=1
  fi
}

# 1. LDK listens, lnkit dials.
"$LDK" listen 127.0.0.1:19801 --node-secret "$(printf '33%.0s' $(seq 32))" --tick-ms 1000 >"$TMP/l1" 2>/dev/null & pids+=($!)
sleep 1; LID=$(awk '/^node_id/{print $2}' "$TMP/l1")
"$PEER" connect "$LID@127.0.0.1:19801" --node-secret "$(printf '44%.0s' $(seq 32))" --tick-ms 1000 >"$TMP/d1" 2>/dev/null & pids+=($!)
sleep 6
check "lnkit -> ldk" "$TMP/l1" "$TMP/d1" "$TMP/l1"

# 2. lnkit listens, LDK dials.
"$PEER" listen 127.0.0.1:19802 --node-secret "$(printf '55%.0s' $(seq 32))" --tick-ms 1000 >"$TMP/l2" 2>/dev/null & pids+=($!)
sleep 1; NID=$(awk '/^node_id/{print $2}' "$TMP/l2")
"$LDK" connect "$NID@127.0.0.1:19802" --node-secret "$(printf '66%.0s' $(seq 32))" --tick-ms 1000 >"$TMP/d2" 2>/dev/null & pids+=($!)
sleep 6
check "ldk -> lnkit" "$TMP/l2" "$TMP/d2" "$TMP/d2"
exit $fail
