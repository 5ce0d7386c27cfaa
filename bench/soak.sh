#!/usr/bin/env bash
# A soak: threadbridge under a busy site's mixed traffic for N minutes, its memory, descriptors
# and latencies printed every 10 seconds, everything accepted checked back. See bench/README.md,
# "Soak".
#
#   bench/soak.sh [options]
#
# Builds the release binary and the examples soak and delivery_sink, starts threadbridge on a
# fresh database, six followers on two loopback "servers" (examples/delivery_sink, which checks
# every delivery's signature) that follow the site, then examples/soak for --minutes: signed
# replies, edits, deletions, likes and unlikes into the inbox, site comments through the admin
# API (delivered to the six followers), public GETs of articles and replies collections. The
# server's memory settings are printed with the run, beside the ceiling README's "Memory" gives
# for them. Everything runs on 127.0.0.1; every loop is bounded; temp files live in one temp dir
# removed at exit (KEEP_TMP=1 keeps it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/common.sh
source "$HERE/common.sh"
ROOT=$(dirname "$HERE")
CLIENT="$HERE/bench_client.py"

usage() {
    cat <<EOF
usage: $0 [options]

  --postgres URL       use PostgreSQL instead of SQLite; URL of the server, e.g.
                       postgres://postgres@127.0.0.1:5432 (a fresh database is created with
                       psql and dropped at the end; any database name in URL is ignored)
  --minutes M          how long (default 10)
  --rate R             requests started per second, all kinds together (default 40)
  --article-seconds S  a new article every S seconds (default 120)
  --cache-mb N         THREADBRIDGE_CACHE_MB of the server (default 64)
  --sqlite-cache-mb N  THREADBRIDGE_SQLITE_CACHE_MB of the server (default 32)
  --port P             threadbridge port (default 18097)
  --actor-port P       the soak's remote actors (default 19097)
  --sink-port P        the followers' two ports start here (default 19200)
  --no-build           use the binaries already built in the target dir
  --no-install         do not apt-get install missing tools (psql, curl)
  -h, --help           this text

Environment: CARGO_TARGET_DIR (default: $ROOT/target), RUST_LOG (default "warn" for the
server), KEEP_TMP=1 keeps the temp dir.
EOF
}

PG_URL=""
MINUTES=10
RATE=40
ARTICLE_SECONDS=120
CACHE_MB=64
SQLITE_CACHE_MB=32
PORT=18097
ACTOR_PORT=19097
SINK_PORT=19200
BUILD=1
INSTALL=1
TOKEN=benchtoken

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --minutes) MINUTES=${2:?}; shift 2 ;;
        --rate) RATE=${2:?}; shift 2 ;;
        --article-seconds) ARTICLE_SECONDS=${2:?}; shift 2 ;;
        --cache-mb) CACHE_MB=${2:?}; shift 2 ;;
        --sqlite-cache-mb) SQLITE_CACHE_MB=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --actor-port) ACTOR_PORT=${2:?}; shift 2 ;;
        --sink-port) SINK_PORT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

tools=(curl:curl)
[[ -z "$PG_URL" ]] || tools+=(psql:postgresql-client)
ensure_tools "${tools[@]}"
for p in "$PORT" "$ACTOR_PORT" "$SINK_PORT" "$((SINK_PORT + 1))"; do
    port_busy "$p" && die "127.0.0.1:$p is already in use"
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET_DIR/release/threadbridge"
SINK="$TARGET_DIR/release/examples/delivery_sink"
SOAK="$TARGET_DIR/release/examples/soak"
if ((BUILD)); then
    say "cargo build --release --bin threadbridge --example soak --example delivery_sink"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin threadbridge --example soak \
        --example delivery_sink) || die "build failed"
fi
for b in "$BIN" "$SINK" "$SOAK"; do [[ -x "$b" ]] || die "not built: $b"; done

TMP=$(mktemp -d -t threadbridge-soak.XXXXXX)
SERVER_PID=""
SINK_PID=""
PG_ADMIN_URL=""
PG_DB=""

cleanup() {
    local rc=$?
    set +e
    stop_pid "$SINK_PID" 5
    stop_pid "$SERVER_PID" 10
    if ((rc != 0)) && [[ -s "$TMP/server.log" ]]; then
        echo "--- last lines of the threadbridge log:" >&2
        tail -n 30 "$TMP/server.log" >&2
    fi
    finish_cleanup "$rc"
}
trap_cleanup

choose_database threadbridge_soak
say "starting threadbridge ($DB_KIND, THREADBRIDGE_CACHE_MB=$CACHE_MB, THREADBRIDGE_SQLITE_CACHE_MB=$SQLITE_CACHE_MB)"
start_threadbridge THREADBRIDGE_CACHE_MB="$CACHE_MB" THREADBRIDGE_SQLITE_CACHE_MB="$SQLITE_CACHE_MB" THREADBRIDGE_INBOX_RATE=0
RSS_IDLE=$(proc_kb "$SERVER_PID" VmRSS)

SINK_BASE="http://127.0.0.1:$SINK_PORT"
say "six followers on 127.0.0.1:$SINK_PORT and :$((SINK_PORT + 1)) follow the site"
"$SINK" --target "$BASE" --base-port "$SINK_PORT" --ports 2 --followers 6 >"$TMP/sink.log" 2>&1 </dev/null &
SINK_PID=$!
python3 "$CLIENT" wait --url "$SINK_BASE/control/stats" --timeout 60 --pid "$SINK_PID" >/dev/null ||
    die "the sink did not start"
curl -sS --fail-with-body --max-time 120 -X POST "$SINK_BASE/control/follow?concurrency=6" >"$TMP/follow.json" ||
    die "following failed: $(cat "$TMP/follow.json")"
curl -sS --fail --max-time 70 "$SINK_BASE/control/wait?type=Accept&count=6&timeout=60" >"$TMP/accepts.json" ||
    die "the followers were not accepted"

say "soak: $MINUTES min at $RATE requests/s (release build, $(nproc) cores shared by server, load and sink)"
echo "threadbridge idle after start: VmRSS $(mib "$RSS_IDLE"); memory budget: THREADBRIDGE_CACHE_MB=$CACHE_MB," \
    "THREADBRIDGE_SQLITE_CACHE_MB=$SQLITE_CACHE_MB (README, \"Memory\", gives the ceiling)"
set +e
"$SOAK" --target "$BASE" --token "$TOKEN" --actor-port "$ACTOR_PORT" --minutes "$MINUTES" --rate "$RATE" \
    --article-seconds "$ARTICLE_SECONDS" --server-pid "$SERVER_PID" --sink "$SINK_BASE" --followers 6
rc=$?
set -e
echo "threadbridge at the end: VmRSS $(mib "$(proc_kb "$SERVER_PID" VmRSS)"), VmHWM $(mib "$(proc_kb "$SERVER_PID" VmHWM)")"
if [[ -n "$PG_URL" ]]; then
    echo "database: $(psql "$DB_URL" -qAt -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
else
    echo "database: $(sqlite_size "$TMP/bench.db")"
fi
((rc == 0)) || die "the soak found lost, duplicated or failed requests (see its last line)"
