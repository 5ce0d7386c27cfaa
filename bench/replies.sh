#!/usr/bin/env bash
# Federated replies accepted by threadbridge's inbox on loopback, against the store's own rate of
# single-row committed inserts. See bench/README.md.
#
#   bench/replies.sh [options]
#
# Builds the release binary and the examples reply_load and insert_rate, measures the store's
# insert rate (the limit), starts threadbridge on a fresh database, then has examples/reply_load
# (remote actors on one loopback port, their keys fetched once by threadbridge) fire pre-signed
# Creates of reply Notes at POST /inbox, several rounds, each counted back from the thread. The
# insert rate is measured again at the end; the higher of the two runs is the limit. Everything
# runs on 127.0.0.1; every loop is bounded; temp files live in one temp dir that is removed at
# exit (KEEP_TMP=1 keeps it). Nothing is written into the repository except the build.
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
  --requests N            replies per round (default 4000)
  --concurrency C         connections of the load generator, one request in flight each
                          (default 16); the insert rate is measured at 1 and at C
  --rounds R              timed rounds, each on fresh articles (default 3); the median counts
  --articles K            articles per round the replies are spread over (default 1: one hot
                          thread)
  --reply-to WHAT         article (default): the replies answer the article; comment: they
                          answer a site comment on it (replies to replies)
  --actors A              remote actors sending them, in turn (default 1)
  --insert-seconds S      timed seconds of each insert-rate run (default 5)
  --wait-idle S           before each round and insert run, wait up to S s for the machine to be
                          quiet (under 15% busy; default 30; 0 does not wait)
  --inbox-rate R          THREADBRIDGE_INBOX_RATE of the server (default 0: off, so the
                          capacity is measured, not the per-server limit; every reply comes
                          from one server here)
  --perf                  record threadbridge with perf during the rounds; print its top symbols
  --port P                threadbridge port (default 18095)
  --actor-port P          the load generator's actors (default 19095)
  --no-build              use the binaries already built in the target dir
  --no-install            do not apt-get install missing tools (jq, curl, psql)
  -h, --help              this text

Environment: CARGO_TARGET_DIR (default: $ROOT/target), RUST_LOG (default "warn" for the
server), KEEP_TMP=1 keeps the temp dir.
EOF
}

PG_URL=""
REQUESTS=4000
CONC=16
ROUNDS=3
ARTICLES=1
REPLY_TO=article
ACTORS=1
INSERT_SECONDS=5
WAIT_IDLE=30
PERF=0
INBOX_RATE=0
PORT=18095
ACTOR_PORT=19095
BUILD=1
INSTALL=1
TOKEN=benchtoken

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --requests) REQUESTS=${2:?}; shift 2 ;;
        --concurrency) CONC=${2:?}; shift 2 ;;
        --rounds) ROUNDS=${2:?}; shift 2 ;;
        --articles) ARTICLES=${2:?}; shift 2 ;;
        --actors) ACTORS=${2:?}; shift 2 ;;
        --reply-to) REPLY_TO=${2:?}; shift 2 ;;
        --insert-seconds) INSERT_SECONDS=${2:?}; shift 2 ;;
        --wait-idle) WAIT_IDLE=${2:?}; shift 2 ;;
        --perf) PERF=1; shift ;;
        --inbox-rate) INBOX_RATE=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --actor-port) ACTOR_PORT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

for n in REQUESTS CONC ROUNDS ARTICLES ACTORS INSERT_SECONDS WAIT_IDLE INBOX_RATE PORT ACTOR_PORT; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
[[ "$REPLY_TO" == article || "$REPLY_TO" == comment ]] || die "--reply-to is article or comment, not '$REPLY_TO'"
((REQUESTS > 0 && CONC > 0 && ROUNDS > 0 && ARTICLES > 0 && ACTORS > 0 && INSERT_SECONDS > 0)) ||
    die "--requests, --concurrency, --rounds, --articles, --actors and --insert-seconds must be at least 1"

# ------------------------------------------------------------------ prerequisites
command -v python3 >/dev/null || die "python3 is required"
command -v cargo >/dev/null || ((BUILD == 0)) || die "cargo is required (or --no-build)"
tools=(jq:jq curl:curl)
[[ -z "$PG_URL" ]] || tools+=(psql:postgresql-client)
ensure_tools "${tools[@]}"
if ((PERF)); then
    command -v perf >/dev/null || die "--perf needs perf (linux-perf)"
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET_DIR/release/threadbridge"
LOAD="$TARGET_DIR/release/examples/reply_load"
INSERTS="$TARGET_DIR/release/examples/insert_rate"
if ((BUILD)); then
    say "cargo build --release --bin threadbridge --example reply_load --example insert_rate (target dir $TARGET_DIR)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin threadbridge --example reply_load \
        --example insert_rate) || die "the release build failed"
fi
for b in "$BIN" "$LOAD" "$INSERTS"; do
    [[ -x "$b" ]] || die "not built: $b"
done
# The source as the run starts (with --no-build, the binary may be older: its time is shown).
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -z "$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null)" ]] ||
    COMMIT+=" + uncommitted changes in src/"
((BUILD)) || COMMIT+=" (--no-build: binary of $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'))"

port_busy "$PORT" && die "127.0.0.1:$PORT is already in use (--port)"
port_busy "$ACTOR_PORT" && die "127.0.0.1:$ACTOR_PORT is already in use (--actor-port)"

# ------------------------------------------------------------------ temp dir + cleanup
TMP=$(mktemp -d -t threadbridge-replies.XXXXXX)
SERVER_PID=""
SAMPLER_PID=""
PERF_PID=""
PG_ADMIN_URL=""
PG_DB=""

cleanup() {
    local rc=$?
    set +e
    [[ -n "$SAMPLER_PID" ]] && touch "$TMP/stop-sampler" && stop_pid "$SAMPLER_PID" 2
    [[ -n "$PERF_PID" ]] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
    stop_pid "$SERVER_PID" 10
    if ((rc != 0)); then
        [[ -s "$TMP/server.log" ]] && { echo "--- last lines of the server log:" >&2; tail -n 20 "$TMP/server.log" >&2; }
        [[ -s "$TMP/load.err" ]] && { echo "--- load generator:" >&2; tail -n 10 "$TMP/load.err" >&2; }
    fi
    finish_cleanup "$rc"
}
trap_cleanup

# ------------------------------------------------------------------ database
choose_database threadbridge_replies
if [[ -n "$PG_URL" ]]; then
    INSERT_URL=$DB_URL # a scratch table in the benchmark's own database, dropped after each run
    PG_VERSION=$(psql "$DB_URL" -qAt -c "SHOW server_version" 2>/dev/null | awk '{ print $1 }')
    PG_SETTINGS=$(psql "$DB_URL" -qAt -F '=' -c "SELECT name, setting FROM pg_settings WHERE name IN
        ('synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'shared_buffers') ORDER BY name" | paste -sd ' ')
    DB_KIND="$DB_KIND, PostgreSQL $PG_VERSION"
else
    INSERT_URL="sqlite://$TMP/insert-rate.db" # beside the service's file: the same disk
fi

# ------------------------------------------------------------------ the limit: committed inserts
INSERT_RUNS=()
insert_limit() { # LABEL: appends one JSON line to $TMP/inserts.jsonl
    wait_idle "the insert rate ($1)"
    say "insert rate ($1): single-row committed INSERTs, concurrency 1 and $CONC, $INSERT_SECONDS s each"
    "$INSERTS" --database-url "$INSERT_URL" --concurrency "1,$CONC" --seconds "$INSERT_SECONDS" \
        >>"$TMP/inserts.jsonl" 2>"$TMP/inserts.err" || die "insert_rate failed: $(tail -n 5 "$TMP/inserts.err")"
    rm -f "$TMP"/insert-rate.db*
    INSERT_RUNS+=("$1")
}
: >"$TMP/inserts.jsonl"
insert_limit "before"

# ------------------------------------------------------------------ threadbridge
BASE="http://127.0.0.1:$PORT"
say "starting threadbridge on $BASE ($DB_KIND)"
env THREADBRIDGE_LISTEN="127.0.0.1:$PORT" THREADBRIDGE_PUBLIC_URL="$BASE" THREADBRIDGE_ADMIN_TOKEN="$TOKEN" \
    DATABASE_URL="$DB_URL" THREADBRIDGE_DEV=1 THREADBRIDGE_INBOX_RATE="$INBOX_RATE" RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN" serve >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!
python3 "$CLIENT" wait --url "$BASE/.well-known/nodeinfo" --timeout 120 --pid "$SERVER_PID" >/dev/null ||
    die "threadbridge did not become ready"
sleep 1
RSS_IDLE=$(proc_kb "$SERVER_PID" VmRSS)

# ------------------------------------------------------------------ the replies
LOAD_ARGS=(--target "$BASE" --token "$TOKEN" --actor-port "$ACTOR_PORT" --requests "$REQUESTS"
    --concurrency "$CONC" --rounds "$ROUNDS" --articles "$ARTICLES" --reply-to "$REPLY_TO" --actors "$ACTORS" --wait-idle "$WAIT_IDLE"
    --server-pid "$SERVER_PID" --clk-tck "$(getconf CLK_TCK)")
[[ -n "$PG_URL" ]] && LOAD_ARGS+=(--postgres-db "$PG_DB")
say "reply_load: $ROUNDS rounds of $REQUESTS signed replies to the $REPLY_TO, $CONC connections, $ARTICLES article(s), $ACTORS actor(s)"
if ((PERF)); then
    perf record -F 199 --call-graph dwarf,8192 -p "$SERVER_PID" -o "$TMP/perf.data" >"$TMP/perf.log" 2>&1 &
    PERF_PID=$!
fi
start_sampler 0.1
"$LOAD" "${LOAD_ARGS[@]}" >"$TMP/load.jsonl" 2> >(tee "$TMP/load.err" >&2) || die "reply_load failed"
RSS_MAX=$(stop_sampler)
if ((PERF)); then
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
fi
sleep 1
kill -0 "$SERVER_PID" 2>/dev/null || die "threadbridge died during the benchmark"
RSS_END=$(proc_kb "$SERVER_PID" VmRSS)
HWM_END=$(proc_kb "$SERVER_PID" VmHWM)

# What the store holds, read from the database itself.
STORE_SQL="SELECT 'federated replies (comments, origin remote)', COUNT(*) FROM comments WHERE origin = 'remote'
    UNION ALL SELECT 'remote_actors', COUNT(*) FROM remote_actors
    UNION ALL SELECT 'articles', COUNT(*) FROM articles"
if [[ -n "$PG_URL" ]]; then
    ROWS=$(psql "$DB_URL" -qAt -F $'\t' -c "$STORE_SQL")
    DB_SIZE=$(psql "$DB_URL" -qAt -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
else
    ROWS=$(python3 - "$TMP/bench.db" "$STORE_SQL" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for name, n in con.execute(sys.argv[2]):
    print(f"{name}\t{n}")
EOF
)
    DB_SIZE=$(sqlite_size "$TMP/bench.db")
fi

insert_limit "after"

# ------------------------------------------------------------------ summary
VERSION=$(timeout 5 "$BIN" --version 2>/dev/null | head -n 1 || true)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
TOTAL=$(jq -c 'select(.total)' "$TMP/load.jsonl")
LIMIT=$(jq -s '[.[].best] | max' "$TMP/inserts.jsonl")
MEDIAN=$(jq -s '[.[] | select(.round) | .rate] | sort | if length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end' "$TMP/load.jsonl")
ALL_STORED=$(jq -s --arg n "$REQUESTS" '[.[] | select(.round) | (.stored == ($n | tonumber) and .accepted == ($n | tonumber)
    and .stored_unexpected == 0 and .stored_duplicates == 0)] | all' "$TMP/load.jsonl")
row() { printf '  %-44s %s\n' "$1" "$2"; }
{
    echo
    line
    echo "threadbridge federated-replies benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    row "binary" "$BIN${VERSION:+ ($VERSION)}"
    row "source" "commit $COMMIT"
    row "database" "$DB_KIND"
    [[ -n "$PG_URL" ]] && row "PostgreSQL settings" "$PG_SETTINGS"
    row "machine" "$(nproc) cores, $CPU; threadbridge, the generator and the database share them"
    row "load" "$ROUNDS rounds of $REQUESTS replies to the $REPLY_TO, $CONC keep-alive connections, $ARTICLES article(s), $ACTORS actor(s)"
    row "signed before timing" "$(jq -r '"\(.signed) requests in \(.sign_seconds * 10 | round / 10) s"' <<<"$TOTAL")"
    row "actor documents fetched by threadbridge" "$(jq -r .key_fetches <<<"$TOTAL") (for $ACTORS actor(s): keys cached)"
    line
    echo "Replies accepted (202) per second, from the first request to the last answer; stored: the"
    echo "round's Notes found in its thread afterwards. CPU time per reply (us), from /proc: threadbridge"
    echo "(tb), the load generator (gen), PostgreSQL (pg: the server's own processes and the backends"
    echo "of the benchmark's database), the rest of the machine (other, other databases' backends too)."
    printf '  %5s %9s %8s %8s %7s %7s %7s %6s %6s %6s %6s %6s\n' round "replies/s" accepted stored "p50 ms" "p99 ms" "max ms" tb gen pg other "busy%"
    jq -r 'select(.round) | [.round, .rate, .accepted, .stored, .latency_ms.p50, .latency_ms.p99, .latency_ms.max,
        .cpu_us_per_reply.threadbridge, .cpu_us_per_reply.generator, .cpu_us_per_reply.postgres,
        .cpu_us_per_reply.other, .machine_busy_pct] | @tsv' "$TMP/load.jsonl" |
        while IFS=$'\t' read -r r rate acc st p50 p99 mx tb gen pg other busy; do
            printf '  %5s %9.0f %8s %8s %7.1f %7.1f %7.1f %6.0f %6.0f %6.0f %6.0f %6.0f\n' "$r" "$rate" "$acc" "$st" "$p50" "$p99" "$mx" "$tb" "$gen" "$pg" "$other" "$busy"
        done
    jq -r 'select(.round) | select((.statuses | keys) != ["202"] or (.errors | length) > 0)
        | "  round \(.round): statuses \(.statuses | tojson); \(.errors | join(" | "))"' "$TMP/load.jsonl"
    jq -r 'select(.round) | select(.stored_unexpected > 0 or .stored_duplicates > 0)
        | "  round \(.round): \(.stored_unexpected) unexpected and \(.stored_duplicates) duplicate replies stored"' "$TMP/load.jsonl"
    jq -r 'select(.round) | select(.busy_before_pct) | "  round \(.round): the machine was \(.busy_before_pct)% busy before it"' "$TMP/load.jsonl"
    row "every reply accepted and stored once" "$ALL_STORED"
    line
    echo "The limit: single-row committed INSERTs per second into a scratch table (a ~300-byte text"
    echo "column, a UNIQUE column, a second index), with the service's connection settings$([[ -z "$PG_URL" ]] && echo ";
SQLite WAL, synchronous=FULL, one writer connection, the file beside the service's")."
    i=0
    while read -r j; do
        row "insert rate, ${INSERT_RUNS[$i]} the load" "$(jq -r '[.runs[] | "\(.rate | round)/s at concurrency \(.concurrency)"] | join(", ")' <<<"$j")"
        i=$((i + 1))
    done <"$TMP/inserts.jsonl"
    row "limit (the best of those)" "$(printf '%.0f' "$LIMIT") inserts/s"
    row "replies/s, median of $ROUNDS rounds" "$(printf '%.0f' "$MEDIAN")"
    row "RATIO replies/s / limit" "$(awk -v a="$MEDIAN" -v b="$LIMIT" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
    ((BUSY_WARNINGS == 0)) || row "WARNING" "the machine was busy before $BUSY_WARNINGS insert run(s): see the log"
    line
    echo "The store at the end (warm-up replies included)"
    while IFS=$'\t' read -r name n; do
        [[ -n "$name" ]] && row "rows: $name" "$n"
    done <<<"$ROWS"
    row "database size" "$DB_SIZE"
    line
    echo "Memory of the threadbridge process (/proc/PID/status)"
    row "idle after start (VmRSS)" "$(mib "$RSS_IDLE")"
    row "VmRSS at the end of each round" "$(jq -rs '[.[] | select(.round) | .server_rss_kb / 1024 * 10 | round / 10 | tostring + " MiB"] | join(", ")' "$TMP/load.jsonl")"
    row "max VmRSS during the run (0.1 s samples)" "$(mib "$RSS_MAX")"
    echo "  (the run includes reading each round's thread back, whose rendering the cache keeps)"
    row "at the end: VmRSS / VmHWM" "$(mib "$RSS_END") / $(mib "$HWM_END")"
    line
    if ((PERF)) && [[ -s "$TMP/perf.data" ]]; then
        echo "perf: threadbridge from the first warm-up to the end of the last round; self time by"
        echo "binary, then the top symbols, then the top callers (children) inside threadbridge"
        perf report -i "$TMP/perf.data" --no-children --sort dso --stdio -g none >"$TMP/perf-dso.txt" 2>/dev/null || true
        perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio -g none >"$TMP/perf-sym.txt" 2>/dev/null || true
        perf report -i "$TMP/perf.data" --children --sort symbol --stdio -g none --dsos threadbridge \
            >"$TMP/perf-children.txt" 2>/dev/null || true
        awk '/^ +[0-9]/ && n < 6 { printf "  %s %s\n", $1, $2; n++ }' "$TMP/perf-dso.txt"
        for f in perf-sym perf-children; do
            awk '/^ +[0-9]/ && n < 30 { sub(/([ \t]+-)*[ \t]*$/, ""); print "  " substr($0, 1, 110); n++ }' "$TMP/$f.txt"
        done
        line
    fi
}
