#!/usr/bin/env bash
# What a reader waits for: the public thread of a 10,000-comment article when it has not
# changed, and the embed's first page shown in Chromium. See bench/README.md, "The embed".
#
#   bench/embed.sh [BINARY] [options]
#
# Seeds the thread of bench/http.sh (10,000 comments) through the admin API, then times
# sequential GETs of the public thread (whole, and its first page) beside GET /health on the
# same connection (the client's floor), and has headless Chromium (bench/embed_render.py) load a
# site page with the embed's script line, the framed page, and a page with no embed (the
# browser's floor). Everything runs on 127.0.0.1; temp files live in one temp dir removed at
# exit (KEEP_TMP=1 keeps it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/common.sh
source "$HERE/common.sh"
ROOT=$(dirname "$HERE")
CLIENT="$HERE/bench_client.py"

BIN="$ROOT/target/release/threadbridge"
PG_URL=""
COMMENTS=10000
RUNS=20
PORT=18098
INSTALL=1
TOKEN=benchtoken
KEY=bench-embed

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --comments) COMMENTS=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) sed -n '2,12p' "$0"; echo "options: [BINARY] --postgres URL --comments N --runs N --port P --no-install"; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) BIN=$1; shift ;;
    esac
done

[[ -x "$BIN" ]] || die "threadbridge binary not found: $BIN (cargo build --release)"
tools=(chromedriver:chromium-driver chromium:chromium)
[[ -z "$PG_URL" ]] || tools+=(psql:postgresql-client)
ensure_tools "${tools[@]}"
port_busy "$PORT" && die "127.0.0.1:$PORT is already in use (--port)"

TMP=$(mktemp -d -t threadbridge-embed.XXXXXX)
SERVER_PID=""
PG_ADMIN_URL=""
PG_DB=""
cleanup() {
    local rc=$?
    set +e
    stop_pid "$SERVER_PID" 10
    finish_cleanup "$rc"
}
trap_cleanup

choose_database threadbridge_embed
start_threadbridge
python3 "$CLIENT" put-article --base "$BASE" --token "$TOKEN" --key "$KEY" >/dev/null
say "seeding $COMMENTS comments"
python3 "$CLIENT" seed --base "$BASE" --token "$TOKEN" --article "$KEY" --count "$COMMENTS" --max-seconds 900 \
    >"$TMP/seed.kv" || die "seeding failed"

say "timing the public thread"
for doc in "health|/health" "public|/api/public/articles/$KEY/thread" "public-p1|/api/public/articles/$KEY/thread?page=1"; do
    IFS='|' read -r name path <<<"$doc"
    python3 "$CLIENT" latency --url "$BASE$path" --requests 200 --max-seconds 60 >"$TMP/$name.kv" ||
        die "GET $path failed"
done
say "timing the embed in Chromium ($RUNS loads each)"
python3 "$HERE/embed_render.py" --bridge "$BASE" --key "$KEY" --runs "$RUNS" >"$TMP/render.kv" ||
    die "the browser run failed"

row() { printf '  %-52s %s\n' "$1" "$2"; }
lat() { printf 'first %6s  p50 %6s  p99 %6s ms (%s bytes)' "$(kv "$1" FIRST_MS)" "$(kv "$1" P50_MS)" "$(kv "$1" P99_MS)" "$(kv "$1" BYTES)"; }
render() { printf 'first %5s  p50 %5s  p90 %5s  max %5s ms' "$(kv "$TMP/render.kv" "$1_FIRST_MS")" \
    "$(kv "$TMP/render.kv" "$1_P50_MS")" "$(kv "$TMP/render.kv" "$1_P90_MS")" "$(kv "$TMP/render.kv" "$1_MAX_MS")"; }
echo
line
echo "threadbridge embed, $(date -u '+%Y-%m-%d %H:%M UTC'), $DB_KIND, $(kv "$TMP/seed.kv" SEEDED) comments"
row "binary" "$BIN"
row "machine" "$(nproc) cores; server, client and browser share them; $(chromium --version 2>/dev/null | head -n 1)"
line
echo "Public thread, unchanged (served from the cache); the aim is p50 < 20 ms:"
row "GET /health (the client's floor)" "$(lat "$TMP/health.kv")"
row "GET /api/public/articles/KEY/thread (all)" "$(lat "$TMP/public.kv")"
row "GET /api/public/articles/KEY/thread?page=1" "$(lat "$TMP/public-p1.kv")"
echo "First page of the embed shown in headless Chromium, from navigation start; the aim is < 1 s:"
row "a page with no embed (the browser's floor)" "$(render PLAIN)"
row "the script line (first comment in the page)" "$(render EMBED)"
row "the framed page (the iframe's load event)" "$(render FRAMED)"
line
