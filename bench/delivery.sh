#!/usr/bin/env bash
# Fan-out delivery benchmark of threadbridge on loopback. See bench/README.md.
#
#   bench/delivery.sh [options]
#
# Builds the release binary and the sink example, starts threadbridge on a fresh database and
# examples/delivery_sink (many loopback "servers" of followers that verify every signature),
# has every follower follow the site, then publishes articles and times how long the site
# takes to deliver each one's Create to every follower's inbox. Everything runs on 127.0.0.1;
# every loop is bounded; temp files live in one temp dir that is removed at exit (KEEP_TMP=1
# keeps it). Nothing is written into the repository except the build in CARGO_TARGET_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/common.sh
source "$HERE/common.sh"
ROOT=$(dirname "$HERE")
CLIENT="$HERE/bench_client.py"

usage() {
    cat <<EOF
usage: $0 [options]

  --postgres URL          use PostgreSQL instead of SQLite; URL of the server, e.g.
                          postgres://postgres@127.0.0.1:5432 (a fresh database is created
                          with psql and dropped at the end; any database name in URL is ignored)
  --followers N           followers, each with its own inbox (default 2000)
  --ports N               sink ports, i.e. follower servers (default 50)
  --articles N            articles published and timed, one after another (default 3)
  --concurrency N         THREADBRIDGE_DELIVERY_CONCURRENCY (default: threadbridge's own)
  --per-server N          THREADBRIDGE_DELIVERY_PER_SERVER (default: threadbridge's own)
  --sweep "C:P C:P ..."   run the articles once per (concurrency:per-server) pair, restarting
                          threadbridge on the same database (the followers stay); a side of
                          a pair may be empty for threadbridge's default, e.g. ":" or "128:"
  --follow-concurrency N  Follows in flight at once while subscribing (default 16)
  --sink-workers N        tokio worker threads of the sink (default 1)
  --openssl-seconds S     duration of each openssl speed test (default 5; 0 skips it); it
                          runs before and after the articles, and the higher rate is the limit
  --wait-idle S           before each measurement, wait up to S s for the machine to be quiet
                          (under 15% busy over 1 s; default 60; 0 does not wait)
  --port P                threadbridge port (default 18090)
  --sink-port P           first sink port (default 19100; the sink uses P .. P+ports-1)
  --no-build              use the binaries already built in the target dir
  --no-install            do not apt-get install missing tools (jq, curl, psql)
  -h, --help              this text

Environment: CARGO_TARGET_DIR (default: $ROOT/target), RUST_LOG (default "warn" for the
server), KEEP_TMP=1 keeps the temp dir.
EOF
}

PG_URL=""
FOLLOWERS=2000
PORTS=50
ARTICLES=3
CONCURRENCY=""
PER_SERVER=""
SWEEP=""
FOLLOW_CONC=16
SINK_WORKERS=1
OPENSSL_SECONDS=5
WAIT_IDLE=60
PORT=18090
SINK_PORT=19100
BUILD=1
INSTALL=1
TOKEN=benchtoken

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --followers) FOLLOWERS=${2:?}; shift 2 ;;
        --ports) PORTS=${2:?}; shift 2 ;;
        --articles) ARTICLES=${2:?}; shift 2 ;;
        --concurrency) CONCURRENCY=${2:?}; shift 2 ;;
        --per-server) PER_SERVER=${2:?}; shift 2 ;;
        --sweep) SWEEP=${2:?}; shift 2 ;;
        --follow-concurrency) FOLLOW_CONC=${2:?}; shift 2 ;;
        --sink-workers) SINK_WORKERS=${2:?}; shift 2 ;;
        --openssl-seconds) OPENSSL_SECONDS=${2:?}; shift 2 ;;
        --wait-idle) WAIT_IDLE=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --sink-port) SINK_PORT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done


for n in FOLLOWERS PORTS ARTICLES FOLLOW_CONC SINK_WORKERS OPENSSL_SECONDS WAIT_IDLE PORT SINK_PORT; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
((FOLLOWERS > 0 && PORTS > 0 && ARTICLES > 0)) || die "--followers, --ports and --articles must be at least 1"
if [[ -z "$SWEEP" ]]; then
    SWEEP="$CONCURRENCY:$PER_SERVER"
fi
for pair in $SWEEP; do
    [[ "$pair" =~ ^[0-9]*:[0-9]*$ ]] || die "--sweep takes CONCURRENCY:PER_SERVER pairs, not '$pair'"
done

# ------------------------------------------------------------------ prerequisites
command -v python3 >/dev/null || die "python3 is required"
command -v cargo >/dev/null || ((BUILD == 0)) || die "cargo is required (or --no-build)"
tools=(jq:jq curl:curl)
((OPENSSL_SECONDS == 0)) || tools+=(openssl:openssl)
[[ -z "$PG_URL" ]] || tools+=(psql:postgresql-client)
ensure_tools "${tools[@]}"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET_DIR/release/threadbridge"
SINK="$TARGET_DIR/release/examples/delivery_sink"
if ((BUILD)); then
    say "cargo build --release --bin threadbridge --example delivery_sink (target dir $TARGET_DIR)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin threadbridge --example delivery_sink) ||
        die "the release build failed"
fi
[[ -x "$BIN" ]] || die "not built: $BIN"
[[ -x "$SINK" ]] || die "not built: $SINK"

port_busy "$PORT" && die "127.0.0.1:$PORT is already in use (--port)"
for ((p = SINK_PORT; p < SINK_PORT + PORTS; p++)); do
    port_busy "$p" && die "127.0.0.1:$p is already in use (--sink-port)"
done

# ------------------------------------------------------------------ temp dir + cleanup
TMP=$(mktemp -d -t threadbridge-delivery.XXXXXX)
SERVER_PID=""
SINK_PID=""
SAMPLER_PID=""
PG_ADMIN_URL=""
PG_DB=""


cleanup() {
    local rc=$?
    set +e
    [[ -n "$SAMPLER_PID" ]] && touch "$TMP/stop-sampler" && stop_pid "$SAMPLER_PID" 2
    stop_pid "$SINK_PID" 5
    stop_pid "$SERVER_PID" 10
    if ((rc != 0)); then
        for f in "$TMP"/server*.log; do
            [[ -s "$f" ]] && { echo "--- last lines of $(basename "$f"):" >&2; tail -n 20 "$f" >&2; }
        done
        [[ -s "$TMP/sink.log" ]] && { echo "--- sink log:" >&2; tail -n 10 "$TMP/sink.log" >&2; }
    fi
    finish_cleanup "$rc"
}
trap_cleanup

# ------------------------------------------------------------------ helpers
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of a process, in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_ticks() { # CPU ticks of all PostgreSQL server processes on this machine (0 without --postgres)
    [[ -n "$PG_URL" ]] || { echo 0; return; }
    local pid total=0 t
    for pid in $(pgrep -x postgres 2>/dev/null); do
        t=$(cpu_ticks "$pid")
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
now_ns() { local t=$EPOCHREALTIME; echo "${t%[.,]*}${t#*[.,]}000"; }


admin() { # METHOD PATH [curl args...] -> body on stdout; fails on a non-2xx
    local method=$1 path=$2
    shift 2
    curl -sS --fail-with-body --max-time 60 -X "$method" -H "Authorization: Bearer $TOKEN" "$@" "$BASE$path"
}
outbox() { admin GET /api/admin/outbox; }

# Waits (at most $1 s) until the outbox has no pending delivery; prints the last counts.
wait_outbox_drained() {
    local deadline=$((SECONDS + $1)) counts
    while :; do
        counts=$(outbox) || die "GET /api/admin/outbox failed"
        [[ "$(jq -r .deliveries.pending <<<"$counts")" == 0 ]] && { echo "$counts"; return 0; }
        ((SECONDS < deadline)) || { echo "$counts"; return 1; }
        sleep 0.2
    done
}

db_rows() { # one line per table: name count
    local sql="SELECT 'followers', COUNT(*) FROM followers UNION ALL SELECT 'remote_actors', COUNT(*) FROM remote_actors
        UNION ALL SELECT 'activities', COUNT(*) FROM activities
        UNION ALL SELECT 'deliveries ' || state, COUNT(*) FROM deliveries GROUP BY state
        UNION ALL SELECT 'instances', COUNT(*) FROM instances"
    if [[ -n "$PG_URL" ]]; then
        psql "$DB_URL" -qAt -F ' ' -c "$sql"
    else
        python3 - "$TMP/bench.db" "$sql" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for name, n in con.execute(sys.argv[2]):
    print(name, n)
EOF
    fi
}
db_size() {
    if [[ -n "$PG_URL" ]]; then
        psql "$DB_URL" -qAt -F ' ' -c "SELECT pg_size_pretty(pg_database_size(current_database())),
            pg_size_pretty(pg_total_relation_size('deliveries'))" 2>/dev/null |
            awk '{ print $1 " " $2 " (the deliveries table with its indexes: " $3 " " $4 ")" }' || echo n/a
        return
    fi
    # The SQLite file plus its -wal/-shm files.
    local f total=0 parts=""
    for f in "$TMP"/bench.db*; do
        [[ -e "$f" ]] || continue
        local b
        b=$(stat -c %s "$f")
        total=$((total + b))
        parts+="${parts:+, }${f##*/} $(awk -v b="$b" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
    done
    echo "$(awk -v b="$total" 'BEGIN { printf "%.1f MiB", b / 1048576 }') ($parts)"
}

# ------------------------------------------------------------------ the limit: RSA-2048 signing
SIGN_RATES=()
openssl_limit() { # appends one sign/s figure to SIGN_RATES
    ((OPENSSL_SECONDS > 0)) || return 0
    wait_idle "openssl speed"
    say "openssl speed -multi 2 -seconds $OPENSSL_SECONDS rsa2048"
    openssl speed -multi 2 -seconds "$OPENSSL_SECONDS" rsa2048 >"$TMP/openssl.txt" 2>&1 ||
        die "openssl speed failed: $(tail -n 3 "$TMP/openssl.txt")"
    # The -multi summary line: "rsa 2048 bits <s/sign> <s/verify> <sign/s> <verify/s>".
    local rate
    rate=$(awk '/^rsa *2048 bits/ { v = $(NF - 1) } END { print v }' "$TMP/openssl.txt")
    [[ "$rate" =~ ^[0-9.]+$ ]] || die "could not read sign/s from openssl speed: $(tail -n 3 "$TMP/openssl.txt")"
    say "openssl: $rate RSA-2048 signs/s on 2 processes"
    SIGN_RATES+=("$rate")
}
openssl_limit

# ------------------------------------------------------------------ database
choose_database threadbridge_delivery

# ------------------------------------------------------------------ threadbridge
BASE="http://127.0.0.1:$PORT"
RUN_NO=0
start_server() { # CONCURRENCY PER_SERVER (either may be empty: the default)
    RUN_NO=$((RUN_NO + 1))
    local env=(THREADBRIDGE_LISTEN="127.0.0.1:$PORT" THREADBRIDGE_PUBLIC_URL="$BASE" THREADBRIDGE_ADMIN_TOKEN="$TOKEN"
        DATABASE_URL="$DB_URL" THREADBRIDGE_DEV=1 RUST_LOG="${RUST_LOG:-warn}"
        # Every follower's server is on 127.0.0.1: the per-server inbox rate would refuse most
        # of their Follows as one server's.
        THREADBRIDGE_INBOX_RATE=0)
    [[ -n "$1" ]] && env+=(THREADBRIDGE_DELIVERY_CONCURRENCY="$1")
    [[ -n "$2" ]] && env+=(THREADBRIDGE_DELIVERY_PER_SERVER="$2")
    env "${env[@]}" "$BIN" serve >"$TMP/server$RUN_NO.log" 2>&1 </dev/null &
    SERVER_PID=$!
    python3 "$CLIENT" wait --url "$BASE/.well-known/nodeinfo" --timeout 120 --pid "$SERVER_PID" >/dev/null ||
        die "threadbridge did not become ready"
}

say "starting threadbridge on $BASE ($DB_KIND)"
first_pair=${SWEEP%% *}
start_server "${first_pair%%:*}" "${first_pair#*:}"
sleep 1
RSS_IDLE=$(proc_kb "$SERVER_PID" VmRSS)

# ------------------------------------------------------------------ the sink
SINK_BASE="http://127.0.0.1:$SINK_PORT"
say "starting the sink: $FOLLOWERS followers on 127.0.0.1:$SINK_PORT-$((SINK_PORT + PORTS - 1))"
"$SINK" --target "$BASE" --base-port "$SINK_PORT" --ports "$PORTS" --followers "$FOLLOWERS" \
    --workers "$SINK_WORKERS" >"$TMP/sink.log" 2>&1 </dev/null &
SINK_PID=$!
python3 "$CLIENT" wait --url "$SINK_BASE/control/stats" --timeout 60 --pid "$SINK_PID" >/dev/null ||
    die "the sink did not start"

# ------------------------------------------------------------------ followers
say "$FOLLOWERS followers follow the site ($FOLLOW_CONC at a time)"
curl -sS --fail-with-body --max-time 600 -X POST "$SINK_BASE/control/follow?concurrency=$FOLLOW_CONC" >"$TMP/follow.json" ||
    die "following failed: $(cat "$TMP/follow.json")"
FOLLOW_S=$(jq -r '.seconds' "$TMP/follow.json")
FOLLOW_OK=$(jq -r '[.statuses | to_entries[] | select(.key | test("^2")) | .value] | add // 0' "$TMP/follow.json")
((FOLLOW_OK == FOLLOWERS)) || die "only $FOLLOW_OK of $FOLLOWERS Follows were accepted: $(jq -c '.statuses, .errors' "$TMP/follow.json")"
say "$FOLLOW_OK Follows answered 2xx in $(printf '%.1f' "$FOLLOW_S") s; waiting for the Accepts"
curl -sS --fail --max-time 330 "$SINK_BASE/control/wait?type=Accept&count=$FOLLOWERS&timeout=300" >"$TMP/accepts.json" ||
    die "waiting for the Accepts failed"
[[ "$(jq -r .reached "$TMP/accepts.json")" == true ]] ||
    die "the sink got $(jq -r .verified "$TMP/accepts.json") of $FOLLOWERS Accepts in 300 s: $(curl -s "$SINK_BASE/control/stats" | jq -c .errors)"
wait_outbox_drained 120 >"$TMP/outbox-accepts.json" || die "deliveries still pending after the Accepts: $(cat "$TMP/outbox-accepts.json")"
ACCEPT_S=$(jq -r '((.last_ns | tonumber) - (.first_ns | tonumber)) / 1e9' "$TMP/accepts.json")
FOLLOWERS_STORED=$(admin GET "/api/admin/followers?per_page=1" | jq -r .total)
[[ "$FOLLOWERS_STORED" == "$FOLLOWERS" ]] || die "threadbridge stores $FOLLOWERS_STORED followers, not $FOLLOWERS"
say "$(jq -r .verified "$TMP/accepts.json") Accepts verified by the sink; outbox $(jq -c .deliveries "$TMP/outbox-accepts.json")"
RSS_FOLLOWED=$(proc_kb "$SERVER_PID" VmRSS)

# ------------------------------------------------------------------ fan-out
# publish SETTING_LABEL N: PUT one article, wait for its Create at every inbox; one result line
ARTICLE_NO=0
publish() {
    ARTICLE_NO=$((ARTICLE_NO + 1))
    local label=$1 key="fanout-$ARTICLE_NO" body t0 wait_json tb0 sk0 tb1 sk1 mb0 mb1 pg0 pg1
    body=$(jq -n --arg k "$key" '{
        title: ("Fan-out benchmark " + $k + ": the council approves the new tram line"),
        url: ("https://news.example/2026/11/" + $k),
        content: "<p>The city council voted on Tuesday to approve the long-debated tram line.</p><p>Construction starts in spring; the line should open in three years.</p>",
        summary: "The council approves the tram line.",
        author: { username: "news desk", name: "News Desk" },
        tags: ["city", "transport"],
        published: "2026-11-27T09:00:00+03:00",
        language: "en" }')
    wait_idle "$key"
    read -r mb0 _ < <(machine_ticks)
    pg0=$(pg_ticks)
    tb0=$(cpu_ticks "$SERVER_PID")
    sk0=$(cpu_ticks "$SINK_PID")
    t0=$(now_ns)
    admin PUT "/api/admin/articles/$key" -H 'Content-Type: application/json' --data-binary "$body" >/dev/null ||
        die "PUT /api/admin/articles/$key failed"
    wait_json=$(curl -sS --fail --max-time 200 -G "$SINK_BASE/control/wait" --data-urlencode "type=Create" \
        --data-urlencode "object=$BASE/articles/$key" --data-urlencode "count=$FOLLOWERS" --data-urlencode "timeout=180") ||
        die "waiting for the Create of $key failed"
    tb1=$(cpu_ticks "$SERVER_PID")
    sk1=$(cpu_ticks "$SINK_PID")
    pg1=$(pg_ticks)
    read -r mb1 _ < <(machine_ticks)
    [[ "$(jq -r .reached <<<"$wait_json")" == true ]] ||
        die "the sink verified $(jq -r .verified <<<"$wait_json") of $FOLLOWERS Creates of $key in 180 s: $(curl -s "$SINK_BASE/control/stats" | jq -c .errors)"
    jq -r --arg t0 "$t0" --arg n "$FOLLOWERS" --arg setting "$label" --arg key "$key" \
        --arg tb "$((tb1 - tb0))" --arg sk "$((sk1 - sk0))" --arg hz "$CLK_TCK" \
        --arg pg "$((pg1 - pg0))" --arg other "$((mb1 - mb0 - (tb1 - tb0) - (sk1 - sk0) - (pg1 - pg0)))" '
        (((.last_ns | tonumber) - ($t0 | tonumber)) / 1e9) as $total
        | (((.last_ns | tonumber) - (.first_ns | tonumber)) / 1e9) as $spread
        | (((.first_ns | tonumber) - ($t0 | tonumber)) / 1e9) as $first
        | [$setting, $key, ($n | tonumber) / $total, $total, $first, (if $spread > 0 then (($n | tonumber) - 1) / $spread else 0 end),
           .verified, .duplicates, .failed,
           ($tb | tonumber) / ($hz | tonumber) * 1e6 / ($n | tonumber), ($sk | tonumber) / ($hz | tonumber) * 1e6 / ($n | tonumber),
           ($pg | tonumber) / ($hz | tonumber) * 1e6 / ($n | tonumber),
           ([($other | tonumber), 0] | max) / ($hz | tonumber) * 1e6 / ($n | tonumber),
           .max_gap_ms, .gaps_over_5ms_ms]
        | @tsv' <<<"$wait_json" >>"$TMP/results.tsv"
    IFS=$'\t' read -r _ _ rate total first _ verified dup failed tbcpu skcpu pgcpu otcpu maxgap stalled < <(tail -n 1 "$TMP/results.tsv")
    say "$key [$label]: $verified verified in $(printf '%.3f' "$total") s = $(printf '%.0f' "$rate") deliveries/s (first after $(printf '%.3f' "$first") s; duplicates $dup, failed $failed; CPU/delivery: threadbridge $(printf '%.0f' "$tbcpu") us, sink $(printf '%.0f' "$skcpu") us, PostgreSQL $(printf '%.0f' "$pgcpu") us, other programs $(printf '%.0f' "$otcpu") us; longest gap $(printf '%.1f' "$maxgap") ms, gaps over 5 ms $(printf '%.0f' "$stalled") ms)"
    wait_outbox_drained 120 >"$TMP/outbox-last.json" || die "deliveries still pending after $key: $(cat "$TMP/outbox-last.json")"
    sleep 1
}

: >"$TMP/results.tsv"
RSS_MAX=0
pair_no=0
for pair in $SWEEP; do
    pair_no=$((pair_no + 1))
    conc=${pair%%:*}
    per=${pair#*:}
    label="concurrency ${conc:-default} / per-server ${per:-default}"
    if ((pair_no > 1)); then
        say "restarting threadbridge with $label"
        stop_pid "$SERVER_PID" 10
        SERVER_PID=""
        start_server "$conc" "$per"
        sleep 1
    fi
    start_sampler 0.1
    for ((a = 1; a <= ARTICLES; a++)); do
        publish "$label"
    done
    m=$(stop_sampler)
    ((m > RSS_MAX)) && RSS_MAX=$m
done

sleep 1
kill -0 "$SERVER_PID" 2>/dev/null || die "threadbridge died during the benchmark"
RSS_END=$(proc_kb "$SERVER_PID" VmRSS)
HWM_END=$(proc_kb "$SERVER_PID" VmHWM)
OUTBOX_END=$(outbox)
ROWS=$(db_rows)
DB_SIZE=$(db_size)
SINK_STATS=$(curl -sS --max-time 10 "$SINK_BASE/control/stats")
SINK_HWM=$(proc_kb "$SINK_PID" VmHWM)
openssl_limit
SIGN_RATE=""
for r in "${SIGN_RATES[@]}"; do
    SIGN_RATE=$(awk -v a="$r" -v b="${SIGN_RATE:-0}" 'BEGIN { print (a > b) ? a : b }')
done

# ------------------------------------------------------------------ summary
VERSION=$(timeout 5 "$BIN" --version 2>/dev/null | head -n 1 || true)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -z "$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null)" ]] ||
    COMMIT+=" + uncommitted changes in src/"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
row() { printf '  %-40s %s\n' "$1" "$2"; }
{
    echo
    line
    echo "threadbridge fan-out delivery benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    row "binary" "$BIN${VERSION:+ ($VERSION)}"
    row "source" "commit $COMMIT"
    row "database" "$DB_KIND"
    row "machine" "$(nproc) cores, $CPU; threadbridge and the sink share them"
    row "followers" "$FOLLOWERS, each its own inbox, on $PORTS sink ports (no sharedInbox)"
    line
    row "subscribing: $FOLLOWERS signed Follows" "$(printf '%.1f s (%.0f/s, %s at a time)' "$FOLLOW_S" "$(awk -v n="$FOLLOWERS" -v s="$FOLLOW_S" 'BEGIN { print n / s }')" "$FOLLOW_CONC")"
    row "their Accepts, first to last" "$(printf '%.1f s' "$ACCEPT_S")"
    line
    echo "Publishing one article -> its Create at every inbox, verified by the sink."
    echo "Time from the PUT to the last inbox's verified delivery. CPU time per delivery (us) over"
    echo "that time: threadbridge (tb), the sink, PostgreSQL's processes (pg), and the rest (other"
    echo "programs, and the kernel's loopback network work that no process is charged for)."
    echo "Stalls at the sink: the longest gap between two deliveries, and the sum of gaps over 5 ms."
    printf '  %-42s %-10s %8s %7s %7s %8s %4s %4s %5s %5s %5s %5s %7s %7s\n' setting article "deliv/s" "total s" "first s" verified dup fail tb sink pg other "gap ms" "stalls"
    while IFS=$'\t' read -r label key rate total first _ verified dup failed tbcpu skcpu pgcpu otcpu maxgap stalled; do
        printf '  %-42s %-10s %8.0f %7.3f %7.3f %8s %4s %4s %5.0f %5.0f %5.0f %5.0f %7.1f %7.0f\n' "$label" "$key" "$rate" "$total" "$first" "$verified" "$dup" "$failed" "$tbcpu" "$skcpu" "$pgcpu" "$otcpu" "$maxgap" "$stalled"
    done <"$TMP/results.tsv"
    line
    awk -F'\t' -v limit="$SIGN_RATE" '
        { n[$1]++; r[$1, n[$1]] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
        END {
            for (i = 1; i <= k; i++) {
                s = order[i]; m = n[s]
                for (a = 1; a <= m; a++) v[a] = r[s, a]
                for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
                med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
                line = sprintf("median %.0f deliveries/s (min %.0f, max %.0f, n=%d)", med, v[1], v[m], m)
                if (limit > 0) line = line sprintf("; ratio to the limit %.2f", med / limit)
                printf "  %-42s %s\n", s, line
            }
        }' "$TMP/results.tsv"
    if [[ -n "$SIGN_RATE" ]]; then
        row "limit: openssl speed -multi 2 rsa2048" "$(printf '%.0f' "$SIGN_RATE") signs/s (the higher of: ${SIGN_RATES[*]})"
    fi
    ((BUSY_WARNINGS == 0)) || row "WARNING" "the machine was busy before $BUSY_WARNINGS measurement(s): see the log"
    line
    echo "The store at the end"
    row "GET /api/admin/outbox" "$(jq -c . <<<"$OUTBOX_END")"
    while read -r entry; do
        [[ -n "$entry" ]] && row "rows: ${entry% *}" "${entry##* }"
    done <<<"$ROWS"
    row "database size" "$DB_SIZE"
    line
    echo "Memory of the threadbridge process (/proc/PID/status)"
    row "idle after start (VmRSS)" "$(mib "$RSS_IDLE")"
    row "after $FOLLOWERS follows + Accepts (VmRSS)" "$(mib "$RSS_FOLLOWED")"
    row "max VmRSS while publishing (0.1 s samples)" "$(mib "$RSS_MAX")"
    row "at the end: VmRSS / VmHWM" "$(mib "$RSS_END") / $(mib "$HWM_END")"
    ((pair_no > 1)) && echo "  (VmHWM is the last threadbridge process's: the sweep restarted it)"
    row "sink peak (VmHWM)" "$(mib "$SINK_HWM")"
    line
    row "sink: key fetches" "$(jq -r .key_fetches <<<"$SINK_STATS")"
    row "sink: verified deliveries by type" "$(jq -c '.by_type | map_values(.verified)' <<<"$SINK_STATS")"
    row "sink: failed / duplicates" "$(jq -c '[.by_type[] | .failed] | add' <<<"$SINK_STATS") / $(jq -c '[.by_type[] | .duplicates] | add' <<<"$SINK_STATS")"
    errs=$(jq -r '.errors[]?' <<<"$SINK_STATS")
    [[ -z "$errs" ]] || { echo "  sink errors:"; sed 's/^/    /' <<<"$errs"; }
    line
}
