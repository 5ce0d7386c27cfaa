#!/usr/bin/env bash
# Interop with fediverse-pasture (the fediverse's own test software, built on bovine):
# pasture's signing actor sends threadbridge replies in every payload variant of
# fediverse-pasture-inputs, and pasture's verify_actor app checks the site actor.
# See tests/peers/pasture/README.md. Exit 0 only when every check passed.
#
#   bash tests/peers/pasture.sh                       # uses target/debug/threadbridge
#   THREADBRIDGE_BIN=/path/to/threadbridge bash tests/peers/pasture.sh
#   PASTURE_KEEP=1 ...                                # keep the temporary folder (logs, reports)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/peers/pasture
VENV=$ROOT/tests/peers/.venv-pasture
REQS=$HERE/requirements.txt

die() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! pasture.sh: %s\n' "$*" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
  exit 1
}

# --- 1. the pinned venv -----------------------------------------------------------------
PYTHON=""
for candidate in python3 python3.11 python3.12 python3.13; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    PYTHON=$(command -v "$candidate")
    break
  fi
done
[ -n "$PYTHON" ] || die "fediverse-pasture needs Python >= 3.11 with the venv module; none found"

# The venv is reused only when it was built from these very pins by this Python.
STAMP="$(sha256sum "$REQS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.pins" 2>/dev/null)" = "$STAMP" ] &&
  "$VENV/bin/python" -c 'import fediverse_pasture, fediverse_pasture_inputs' 2>/dev/null; then
  echo "pasture: reusing $VENV"
else
  echo "pasture: installing the pinned fediverse-pasture into $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "cannot create the venv $VENV with $PYTHON"
  if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install --quiet --no-input -r "$REQS"; then
    rm -rf "$VENV"
    die "installing fediverse-pasture (pins in $REQS) FAILED: the interop test cannot run"
  fi
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" check || {
    rm -rf "$VENV"
    die "the pinned packages of $REQS do not fit together (pip check)"
  }
  echo "$STAMP" >"$VENV/.pins"
fi
PY=$VENV/bin/python
"$PY" -c 'import fediverse_pasture.version as v, importlib.metadata as m;
print("pasture: fediverse-pasture", v.__version__, "/ fediverse-pasture-inputs", m.version("fediverse-pasture-inputs"), "/ bovine", m.version("bovine"))'

# --- 2. threadbridge and pasture's servers ------------------------------------------------
BIN=${THREADBRIDGE_BIN:-target/debug/threadbridge}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
[ -x "$BIN" ] || die "no threadbridge binary at $BIN (build it: cargo build --bin threadbridge)"

START=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tb-pasture.XXXXXX")
PIDS=()
STATUS=1
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$STATUS" -ne 0 ]; then
    for log in "$TMP"/*.log; do
      [ -f "$log" ] || continue
      printf '\n----- last lines of %s -----\n' "$log" >&2
      tail -n 40 "$log" >&2
    done
    printf '\npasture: FAILED; logs and reports kept in %s\n' "$TMP" >&2
  elif [ -n "${PASTURE_KEEP:-}" ]; then
    echo "pasture: logs and reports kept in $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r TB_PORT ONE_PORT VERIFY_PORT < <("$PY" "$HERE/common.py" free-ports 3)
TB=http://127.0.0.1:$TB_PORT
TOKEN=pasture-$RANDOM$RANDOM

THREADBRIDGE_DEV=1 \
  THREADBRIDGE_LISTEN=127.0.0.1:$TB_PORT \
  THREADBRIDGE_PUBLIC_URL=$TB \
  DATABASE_URL="sqlite://$TMP/tb.db?mode=rwc" \
  THREADBRIDGE_ADMIN_TOKEN=$TOKEN \
  THREADBRIDGE_RETRY_BASE_SECONDS=1 \
  RUST_LOG=${RUST_LOG:-info} \
  "$BIN" serve >"$TMP/threadbridge.log" 2>&1 &
PIDS+=($!)

# pasture's one_actor (the signing actor of the replies) and verify_actor apps, each in its
# own folder: they keep their generated keys in ./data.toml.
mkdir -p "$TMP/one_actor" "$TMP/verify_actor"
(cd "$TMP/one_actor" && exec "$PY" -m fediverse_pasture.one_actor --port "$ONE_PORT") >"$TMP/one_actor.log" 2>&1 &
PIDS+=($!)
(cd "$TMP/verify_actor" &&
  exec "$PY" -m fediverse_pasture.verify_actor --port "$VERIFY_PORT" --domain "127.0.0.1:$VERIFY_PORT" --timeout 10) \
  >"$TMP/verify_actor.log" 2>&1 &
PIDS+=($!)

"$PY" "$HERE/common.py" wait 60 \
  "$TB/.well-known/nodeinfo" \
  "http://127.0.0.1:$ONE_PORT/actor" \
  "http://127.0.0.1:$VERIFY_PORT/alice" ||
  die "threadbridge or pasture did not start (see the logs below)"
for pid in "${PIDS[@]}"; do
  kill -0 "$pid" 2>/dev/null || die "a server exited at start-up (see the logs below)"
done

# --- 3. and 4. the checks (and 5: threadbridge delivering to pasture) ---------------------------------------------------------------------
# (run from the temporary folder: bovine leaves a JSON-LD cache file in the working directory)
FAILED=0
(cd "$TMP" && "$PY" "$HERE/replies.py" --threadbridge "$TB" --token "$TOKEN" \
  --one-actor "http://127.0.0.1:$ONE_PORT" --one-actor-dir "$TMP/one_actor" --out "$TMP") || FAILED=1
(cd "$TMP" && "$PY" "$HERE/verify_actor.py" --threadbridge "$TB" \
  --verify-actor "http://127.0.0.1:$VERIFY_PORT" --out "$TMP") || FAILED=1
(cd "$TMP" && "$PY" "$HERE/delivery.py" --threadbridge "$TB" --token "$TOKEN" \
  --verify-actor "http://127.0.0.1:$VERIFY_PORT" --verify-actor-dir "$TMP/verify_actor") || FAILED=1

echo "pasture: run took $(($(date +%s) - START)) s after installing"
if [ "$FAILED" -ne 0 ]; then
  die "fediverse-pasture interop checks FAILED (tables above)"
fi
STATUS=0
echo "pasture: every check passed"
