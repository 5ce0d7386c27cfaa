#!/usr/bin/env bash
# Real fediverse software against threadbridge, on loopback, in dev mode: fediverse-pasture
# (PyPI, bovine) and a peer written on Fedify (npm). Each script installs its pinned peer into a
# git-ignored folder (failing loudly when it cannot), starts threadbridge on a fresh SQLite
# database, and checks both sides. The two-threadbridge case is in `cargo test`
# (tests/api/two_sites.rs).
#
#   tests/peers/run.sh            # builds the debug binary (a no-op after `cargo test`)
#   THREADBRIDGE_BIN=target/release/threadbridge tests/peers/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${THREADBRIDGE_BIN:-}" ]; then
  cargo build --locked --bin threadbridge
  export THREADBRIDGE_BIN=target/debug/threadbridge
fi
failed=()
for peer in pasture fedify; do
  echo "=== $peer: starting"
  start=$(date +%s)
  if bash "tests/peers/$peer.sh"; then
    echo "=== $peer: passed in $(($(date +%s) - start)) s"
  else
    echo "=== $peer: FAILED after $(($(date +%s) - start)) s"
    failed+=("$peer")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "peers failed: ${failed[*]}" >&2
  exit 1
fi
echo "all peers passed"
