#!/usr/bin/env bash
# HTTP benchmark of threadbridge on loopback. See bench/README.md.
#
#   bench/http.sh [BINARY] [options]
#
# BINARY defaults to target/release/threadbridge (relative to the repository root).
# Everything runs on 127.0.0.1; every loop is bounded; temp files live in one temp dir
# that is removed at exit (KEEP_TMP=1 keeps it). Nothing is written into the repository.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/common.sh
source "$HERE/common.sh"
ROOT=$(dirname "$HERE")
CLIENT="$HERE/bench_client.py"

usage() {
    cat <<EOF
usage: $0 [BINARY] [options]

  BINARY                 threadbridge binary (default: $ROOT/target/release/threadbridge)
  --postgres URL         use PostgreSQL instead of SQLite; URL of the server, e.g.
                         postgres://postgres@127.0.0.1:5432 (a fresh database is created
                         with psql and dropped at the end; any database name in URL is ignored)
  --duration D           wrk duration of each measured run (default 10s)
  --threads N            wrk threads (default 2)
  --connections N        wrk connections for the article run (default 32)
  --thread-connections N wrk connections for the admin thread run (default 4)
  --wrk-timeout T        wrk per-request timeout (default 30s)
  --comments N           comments to seed on the thread article (default 10000)
  --authors N            distinct comment authors (default 500)
  --seed-threads N       parallel seeding connections (default 4)
  --latency-requests N   sequential thread requests for p50/p90/p99 (default 200, capped at 90 s)
  --port P               threadbridge port (default 18080)
  --nginx-port P         nginx port (default 18081)
  --no-install           do not apt-get install missing wrk/nginx
  -h, --help             this text

Environment: RUST_LOG (default "warn" for the server), KEEP_TMP=1 keeps the temp dir.
EOF
}

BIN="$ROOT/target/release/threadbridge"
PG_URL=""
DURATION=10s
WRK_THREADS=2
WRK_CONNS=32
THREAD_CONNS=4
WRK_TIMEOUT=30s
COMMENTS=10000
AUTHORS=500
SEED_THREADS=4
LAT_REQUESTS=200
PORT=18080
NGINX_PORT=18081
INSTALL=1
TOKEN=benchtoken
AP_KEY=bench-article
THREAD_KEY=bench-thread

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --duration) DURATION=${2:?}; shift 2 ;;
        --threads) WRK_THREADS=${2:?}; shift 2 ;;
        --connections) WRK_CONNS=${2:?}; shift 2 ;;
        --thread-connections) THREAD_CONNS=${2:?}; shift 2 ;;
        --wrk-timeout) WRK_TIMEOUT=${2:?}; shift 2 ;;
        --comments) COMMENTS=${2:?}; shift 2 ;;
        --authors) AUTHORS=${2:?}; shift 2 ;;
        --seed-threads) SEED_THREADS=${2:?}; shift 2 ;;
        --latency-requests) LAT_REQUESTS=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --nginx-port) NGINX_PORT=${2:?}; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) BIN=$1; shift ;;
    esac
done


# ------------------------------------------------------------------ prerequisites
[[ -x "$BIN" ]] || die "threadbridge binary not found or not executable: $BIN (build it: cargo build --release)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
command -v python3 >/dev/null || die "python3 is required"

tools=(wrk:wrk)
[[ -x /usr/sbin/nginx ]] || tools+=(nginx:nginx-light)
[[ -z "$PG_URL" ]] || tools+=(psql:postgresql-client)
ensure_tools "${tools[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

port_busy "$PORT" && die "127.0.0.1:$PORT is already in use (--port)"
port_busy "$NGINX_PORT" && die "127.0.0.1:$NGINX_PORT is already in use (--nginx-port)"

# ------------------------------------------------------------------ temp dir + cleanup
TMP=$(mktemp -d -t threadbridge-bench.XXXXXX)
SERVER_PID=""
NGINX_PID=""
SAMPLER_PID=""
PG_ADMIN_URL=""
PG_DB=""


cleanup() {
    local rc=$?
    set +e
    [[ -n "$SAMPLER_PID" ]] && touch "$TMP/stop-sampler" && stop_pid "$SAMPLER_PID" 2
    stop_pid "$NGINX_PID" 5
    stop_pid "$SERVER_PID" 10
    if ((rc != 0)); then
        [[ -s "$TMP/server.log" ]] && { echo "--- last lines of the threadbridge log:" >&2; tail -n 30 "$TMP/server.log" >&2; }
        [[ -s "$TMP/nginx/error.log" ]] && { echo "--- nginx error log:" >&2; tail -n 10 "$TMP/nginx/error.log" >&2; }
    fi
    finish_cleanup "$rc"
}
trap_cleanup

# ------------------------------------------------------------------ helpers



to_ms() { # wrk duration (123.45us / 1.23ms / 1.02s / 2.00m) -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
        else printf "%s", (v == "" ? "n/a" : v) }'
}

# run_wrk NAME URL CONNS [extra wrk args...]: 2 s warm-up, then the measured run; parsed
# figures go to $TMP/wrk-NAME.kv, the raw output to $TMP/wrk-NAME.txt
run_wrk() {
    local name=$1 url=$2 conns=$3
    shift 3
    # --timeout: wrk's default of 2 s would drop slow (debug-build, big-thread) responses from the stats
    wrk -t"$WRK_THREADS" -c"$conns" -d2s --timeout "$WRK_TIMEOUT" "$@" "$url" >/dev/null 2>&1 || true
    wrk -t"$WRK_THREADS" -c"$conns" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency "$@" "$url" >"$TMP/wrk-$name.txt" 2>&1 ||
        die "wrk failed: $(cat "$TMP/wrk-$name.txt")"
    local f=$TMP/wrk-$name.txt
    {
        echo "RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$f")"
        echo "REQS=$(awk '/requests in/ { print $1 }' "$f")"
        echo "NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")"
        echo "SOCKERR=$(sed -n 's/^ *Socket errors: *//p' "$f")"
        echo "P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")"
        echo "P90=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$f")")"
        echo "P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")"
    } >"$TMP/wrk-$name.kv"
    local bad
    bad=$(kv "$TMP/wrk-$name.kv" NON2XX)
    [[ -z "$bad" ]] || say "WARNING: $name: $bad non-2xx/3xx responses; its rate is not meaningful"
    bad=$(kv "$TMP/wrk-$name.kv" SOCKERR)
    [[ -z "$bad" ]] || say "WARNING: $name: socket errors: $bad"
}

# ------------------------------------------------------------------ database
choose_database threadbridge_bench

# ------------------------------------------------------------------ start threadbridge
BASE="http://127.0.0.1:$PORT"
say "starting $BIN serve on 127.0.0.1:$PORT ($DB_KIND)"
THREADBRIDGE_LISTEN="127.0.0.1:$PORT" \
    THREADBRIDGE_PUBLIC_URL="$BASE" \
    THREADBRIDGE_ADMIN_TOKEN="$TOKEN" \
    DATABASE_URL="$DB_URL" \
    THREADBRIDGE_DEV=1 \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN" serve >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!

python3 "$CLIENT" wait --url "$BASE/.well-known/nodeinfo" --timeout 120 --pid "$SERVER_PID" >"$TMP/wait.kv" ||
    die "threadbridge did not become ready"
say "ready after $(kv "$TMP/wait.kv" READY_AFTER_S) s (pid $SERVER_PID)"
sleep 2
RSS_IDLE=$(proc_kb "$SERVER_PID" VmRSS)
HWM_IDLE=$(proc_kb "$SERVER_PID" VmHWM)

# ------------------------------------------------------------------ seed
say "creating articles $AP_KEY and $THREAD_KEY"
python3 "$CLIENT" put-article --base "$BASE" --token "$TOKEN" --key "$AP_KEY" >/dev/null
python3 "$CLIENT" put-article --base "$BASE" --token "$TOKEN" --key "$THREAD_KEY" >/dev/null

say "seeding $COMMENTS comments on $THREAD_KEY ($AUTHORS authors, $SEED_THREADS connections)"
python3 "$CLIENT" seed --base "$BASE" --token "$TOKEN" --article "$THREAD_KEY" \
    --count "$COMMENTS" --authors "$AUTHORS" --threads "$SEED_THREADS" --max-seconds 900 >"$TMP/seed.kv" ||
    die "seeding failed"
say "seeded $(kv "$TMP/seed.kv" SEEDED) comments in $(kv "$TMP/seed.kv" SEED_SECONDS) s"
sleep 2
RSS_SEEDED=$(proc_kb "$SERVER_PID" VmRSS)
if [[ -n "$PG_URL" ]]; then
    DB_SIZE=$(psql "$PG_ADMIN_URL" -qAt -c "SELECT pg_size_pretty(pg_database_size('$PG_DB'))" 2>/dev/null || echo n/a)
else # the SQLite file plus its -wal/-shm files
    DB_SIZE=$(du -ch "$TMP"/bench.db* 2>/dev/null | awk 'END { print $1 }')
fi

# ------------------------------------------------------------------ 1. article, threadbridge vs nginx
AP_PATH="/articles/$AP_KEY"
mkdir -p "$TMP/www" "$TMP/nginx"
python3 "$CLIENT" fetch --url "$BASE$AP_PATH" --accept application/activity+json \
    --expect-type activity+json --out "$TMP/www/article.json" >"$TMP/fetch.kv" ||
    die "GET $AP_PATH (activity+json) failed"
AP_BYTES=$(kv "$TMP/fetch.kv" BYTES)
say "GET $AP_PATH -> $(kv "$TMP/fetch.kv" CONTENT_TYPE), $AP_BYTES bytes"

# nginx workers may run as "nobody": let them reach the one file (the temp dir itself stays unlistable)
chmod 711 "$TMP"
chmod 755 "$TMP/www"
chmod 644 "$TMP/www/article.json"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    default_type application/activity+json;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location / { try_files /article.json =404; }
    }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" </dev/null &
NGINX_PID=$!
python3 "$CLIENT" wait --url "http://127.0.0.1:$NGINX_PORT$AP_PATH" --timeout 20 --pid "$NGINX_PID" >/dev/null ||
    die "nginx did not start"
python3 "$CLIENT" fetch --url "http://127.0.0.1:$NGINX_PORT$AP_PATH" --out "$TMP/nginx-body.json" >"$TMP/fetch-nginx.kv"
[[ "$(kv "$TMP/fetch-nginx.kv" BYTES)" == "$AP_BYTES" ]] || die "nginx body size differs from threadbridge's"

say "wrk $AP_PATH on threadbridge (-t$WRK_THREADS -c$WRK_CONNS -d$DURATION)"
start_sampler 0.2
run_wrk tb "$BASE$AP_PATH" "$WRK_CONNS" -H "Accept: application/activity+json"
RSS_AP_LOAD=$(stop_sampler)

say "wrk $AP_PATH on nginx, same $AP_BYTES-byte body (-t$WRK_THREADS -c$WRK_CONNS -d$DURATION)"
run_wrk nginx "http://127.0.0.1:$NGINX_PORT$AP_PATH" "$WRK_CONNS" -H "Accept: application/activity+json"
stop_pid "$NGINX_PID" 5
NGINX_PID=""

TB_RPS=$(kv "$TMP/wrk-tb.kv" RPS)
NG_RPS=$(kv "$TMP/wrk-nginx.kv" RPS)
RATIO=$(awk -v a="$TB_RPS" -v b="$NG_RPS" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')

# ------------------------------------------------------------------ 2. thread latency
THREAD_PATH="/api/admin/articles/$THREAD_KEY/thread"
say "sequential GET $THREAD_PATH (up to $LAT_REQUESTS requests / 90 s)"
start_sampler 0.2
python3 "$CLIENT" latency --url "$BASE$THREAD_PATH" --token "$TOKEN" --requests "$LAT_REQUESTS" \
    --max-seconds 90 --expect-comments "$COMMENTS" >"$TMP/lat.kv" || die "thread latency run failed"
RSS_THREAD_SEQ=$(stop_sampler)
start_sampler 0.2
say "wrk $THREAD_PATH (-t$WRK_THREADS -c$THREAD_CONNS -d$DURATION)"
run_wrk thread "$BASE$THREAD_PATH" "$THREAD_CONNS" -H "Authorization: Bearer $TOKEN"
RSS_THREAD_WRK=$(stop_sampler)
sleep 1
RSS_END=$(proc_kb "$SERVER_PID" VmRSS)
HWM_END=$(proc_kb "$SERVER_PID" VmHWM)
kill -0 "$SERVER_PID" 2>/dev/null || die "threadbridge died during the benchmark"

# ------------------------------------------------------------------ summary
BUILD="release"
[[ "$BIN" == */debug/* ]] && BUILD="DEBUG build: figures are NOT representative"
VERSION=$(timeout 5 "$BIN" --version 2>/dev/null | head -n 1 || true)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
THREAD_BYTES=$(kv "$TMP/lat.kv" BYTES)

row() { printf '  %-38s %s\n' "$1" "$2"; }
{
    echo
    line
    echo "threadbridge HTTP benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    row "binary" "$BIN${VERSION:+ ($VERSION)}"
    row "build" "$BUILD"
    row "database" "$DB_KIND"
    row "machine" "$(nproc) cores, $CPU; wrk, server and nginx share them"
    line
    echo "1. GET $AP_PATH  (Accept: application/activity+json), body $AP_BYTES bytes"
    echo "   wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION (after 2 s warm-up), loopback"
    row "threadbridge" "$(printf '%10.0f req/s   p50 %s ms  p90 %s ms  p99 %s ms' "$TB_RPS" \
        "$(kv "$TMP/wrk-tb.kv" P50)" "$(kv "$TMP/wrk-tb.kv" P90)" "$(kv "$TMP/wrk-tb.kv" P99)")"
    row "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), static file, same size" "$(printf '%10.0f req/s   p50 %s ms  p90 %s ms  p99 %s ms' "$NG_RPS" \
        "$(kv "$TMP/wrk-nginx.kv" P50)" "$(kv "$TMP/wrk-nginx.kv" P90)" "$(kv "$TMP/wrk-nginx.kv" P99)")"
    row "ratio threadbridge / nginx" "$RATIO"
    for n in tb nginx; do
        bad=$(kv "$TMP/wrk-$n.kv" NON2XX)
        [[ -z "$bad" ]] || row "WARNING $n" "$bad non-2xx/3xx responses"
    done
    line
    echo "2. GET $THREAD_PATH  (admin token)"
    echo "   $(kv "$TMP/lat.kv" COMMENTS) comments, body $THREAD_BYTES bytes ($(awk -v b="$THREAD_BYTES" 'BEGIN { printf "%.2f MiB", b / 1048576 }'))"
    row "seeding through the admin API" "$(kv "$TMP/seed.kv" SEEDED) comments in $(kv "$TMP/seed.kv" SEED_SECONDS) s ($(kv "$TMP/seed.kv" SEED_RATE)/s, $SEED_THREADS conns)"
    row "thread shape" "$(kv "$TMP/seed.kv" AUTHORS) authors; per depth 0..4: $(kv "$TMP/seed.kv" DEPTHS)"
    row "database size after seeding" "$DB_SIZE"
    row "first request (cold)" "$(kv "$TMP/lat.kv" FIRST_MS) ms"
    row "sequential, n=$(kv "$TMP/lat.kv" N), keep-alive" "p50 $(kv "$TMP/lat.kv" P50_MS) ms  p90 $(kv "$TMP/lat.kv" P90_MS) ms  p99 $(kv "$TMP/lat.kv" P99_MS) ms  (min $(kv "$TMP/lat.kv" MIN_MS), max $(kv "$TMP/lat.kv" MAX_MS))"
    row "wrk -t$WRK_THREADS -c$THREAD_CONNS -d$DURATION, n=$(kv "$TMP/wrk-thread.kv" REQS)" "$(printf '%.1f req/s   p50 %s ms  p90 %s ms  p99 %s ms' "$(kv "$TMP/wrk-thread.kv" RPS)" \
        "$(kv "$TMP/wrk-thread.kv" P50)" "$(kv "$TMP/wrk-thread.kv" P90)" "$(kv "$TMP/wrk-thread.kv" P99)")"
    bad=$(kv "$TMP/wrk-thread.kv" NON2XX)
    [[ -z "$bad" ]] || row "WARNING thread" "$bad non-2xx/3xx responses"
    line
    echo "3. Memory of the threadbridge process (from /proc/$SERVER_PID/status)"
    row "idle after start (VmRSS)" "$(mib "$RSS_IDLE")  (VmHWM $(mib "$HWM_IDLE"))"
    row "after seeding $COMMENTS comments (VmRSS)" "$(mib "$RSS_SEEDED")"
    row "max VmRSS under article load" "$(mib "$RSS_AP_LOAD")"
    row "max VmRSS, sequential thread requests" "$(mib "$RSS_THREAD_SEQ")"
    row "max VmRSS, thread under wrk -c$THREAD_CONNS" "$(mib "$RSS_THREAD_WRK")"
    row "peak (VmHWM at the end)" "$(mib "$HWM_END")"
    row "after the load (VmRSS)" "$(mib "$RSS_END")"
    line
    warned=0
    for n in tb nginx thread; do
        bad=$(kv "$TMP/wrk-$n.kv" SOCKERR)
        [[ -z "$bad" ]] || { row "WARNING: wrk socket errors ($n)" "$bad"; warned=1; }
    done
    ((warned == 0)) || line
}
