#!/usr/bin/env bash
# Reading one big thread with many deleted comments: the replies collections, the context
# collection and the admin thread, uncached and cached, on SQLite or PostgreSQL. See
# bench/README.md, "A big thread with deleted comments".
#
#   bench/thread.sh [BINARY] [options]
#
# Seeds a thread of --comments comments (the shape of bench/http.sh's: nested up to depth 4, a
# few sub-threads drawing most replies) through the admin API, deletes --deleted percent of them
# at random (deleted comments with replies stay as placeholders), prints the query plan of the
# replies count on that database, then times sequential keep-alive GETs of each document: first
# with the document cache off (THREADBRIDGE_CACHE_MB=0: every request reads the store and
# renders), then, after a restart on the same database, with the cache on. GET /health on the
# same connection is the load generator's own floor. Everything runs on 127.0.0.1; every loop is
# bounded; temp files live in one temp dir removed at exit (KEEP_TMP=1 keeps it).
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
  --comments N           comments in the thread (default 10000)
  --deleted P            percent of them deleted (default 20)
  --requests N           sequential GETs per document (default 200, each run capped at 60 s)
  --port P               threadbridge port (default 18096)
  --no-install           do not apt-get install missing tools (sqlite3, psql)
  -h, --help             this text

Environment: RUST_LOG (default "warn" for the server), KEEP_TMP=1 keeps the temp dir.
EOF
}

BIN="$ROOT/target/release/threadbridge"
PG_URL=""
COMMENTS=10000
DELETED=20
REQUESTS=200
PORT=18096
INSTALL=1
TOKEN=benchtoken
KEY=bench-thread

while (($#)); do
    case "$1" in
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --comments) COMMENTS=${2:?}; shift 2 ;;
        --deleted) DELETED=${2:?}; shift 2 ;;
        --requests) REQUESTS=${2:?}; shift 2 ;;
        --port) PORT=${2:?}; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) BIN=$1; shift ;;
    esac
done

[[ -x "$BIN" ]] || die "threadbridge binary not found or not executable: $BIN (build it: cargo build --release)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
command -v python3 >/dev/null || die "python3 is required"
if [[ -n "$PG_URL" ]]; then ensure_tools psql:postgresql-client; else ensure_tools sqlite3:sqlite3; fi
port_busy "$PORT" && die "127.0.0.1:$PORT is already in use (--port)"

TMP=$(mktemp -d -t threadbridge-thread.XXXXXX)
SERVER_PID=""
PG_ADMIN_URL=""
PG_DB=""

cleanup() {
    local rc=$?
    set +e
    stop_pid "$SERVER_PID" 10
    if ((rc != 0)) && [[ -s "$TMP/server.log" ]]; then
        echo "--- last lines of the threadbridge log:" >&2
        tail -n 30 "$TMP/server.log" >&2
    fi
    finish_cleanup "$rc"
}
trap_cleanup


choose_database threadbridge_thread

start_server() { # cache megabytes
    say "starting threadbridge (THREADBRIDGE_CACHE_MB=$1, $DB_KIND)"
    start_threadbridge THREADBRIDGE_CACHE_MB="$1"
}

# ------------------------------------------------------------------ the thread
start_server 0
python3 "$CLIENT" put-article --base "$BASE" --token "$TOKEN" --key "$KEY" >/dev/null
say "seeding $COMMENTS comments"
python3 "$CLIENT" seed --base "$BASE" --token "$TOKEN" --article "$KEY" --count "$COMMENTS" \
    --max-seconds 900 >"$TMP/seed.kv" || die "seeding failed"
say "deleting $DELETED% of them"
python3 "$CLIENT" delete --base "$BASE" --token "$TOKEN" --article "$KEY" --count "$COMMENTS" \
    --fraction "$(awk -v p="$DELETED" 'BEGIN { print p / 100 }')" >"$TMP/delete.kv" || die "deleting failed"

# The comment with the most direct replies: its replies collection is the busiest one.
python3 "$CLIENT" fetch --url "$BASE/api/admin/articles/$KEY/thread" --token "$TOKEN" --out "$TMP/thread.json" >/dev/null
read -r HOT HOT_REPLIES SHOWN PLACEHOLDERS < <(python3 - "$TMP/thread.json" <<'EOF'
import collections, json, sys
comments = json.load(open(sys.argv[1]))["comments"]
children = collections.Counter(c.get("parent") for c in comments if c.get("parent"))
hot, n = children.most_common(1)[0]
print(hot, n, len(comments), sum(1 for c in comments if c.get("status") == "deleted"))
EOF
)
say "admin thread: $SHOWN comments, $PLACEHOLDERS of them deleted; busiest comment $HOT ($HOT_REPLIES replies)"

# ------------------------------------------------------------------ the query plan
ARTICLE_ID_SQL="SELECT id FROM articles WHERE key = '$KEY'"
COUNT_SQL="SELECT COUNT(*) FROM comments c WHERE c.article_id = ($ARTICLE_ID_SQL) AND c.parent_id IS NULL AND (c.status = 'visible' OR (c.status = 'deleted' AND EXISTS (SELECT 1 FROM comments k WHERE k.parent_id = c.id AND (k.status = 'visible' OR (k.status = 'deleted' AND EXISTS (SELECT 1 FROM comments g WHERE g.parent_id = k.id AND g.status = 'visible'))))))"
if [[ -n "$PG_URL" ]]; then
    psql "$DB_URL" -qAt -c "ANALYZE" >/dev/null
    psql "$DB_URL" -qAt -c "EXPLAIN (ANALYZE, COSTS OFF) $COUNT_SQL" >"$TMP/plan.txt"
else
    sqlite3 "$TMP/bench.db" "EXPLAIN QUERY PLAN $COUNT_SQL" >"$TMP/plan.txt"
fi

# ------------------------------------------------------------------ timings
DOCS=(
    "health|/health|application/json"
    "article|/articles/$KEY|application/activity+json"
    "replies|/articles/$KEY/replies|application/activity+json"
    "replies-p1|/articles/$KEY/replies?page=1|application/activity+json"
    "hot-replies-p1|/articles/$KEY/comments/$HOT/replies?page=1|application/activity+json"
    "context|/articles/$KEY/context|application/activity+json"
    "context-p1|/articles/$KEY/context?page=1|application/activity+json"
    "admin-thread|/api/admin/articles/$KEY/thread|application/json"
    "public-thread|/api/public/articles/$KEY/thread|application/json"
    "public-p1|/api/public/articles/$KEY/thread?page=1|application/json"
)
measure() { # label
    local doc name path accept
    for doc in "${DOCS[@]}"; do
        IFS='|' read -r name path accept <<<"$doc"
        python3 "$CLIENT" latency --url "$BASE$path" --token "$TOKEN" --accept "$accept" \
            --requests "$REQUESTS" --max-seconds 60 >"$TMP/$1-$name.kv" || die "GET $path failed"
    done
}
say "timing, cache off"
measure uncached
stop_pid "$SERVER_PID" 10
start_server 64
say "timing, cache on"
measure cached
RSS=$(proc_kb "$SERVER_PID" VmRSS)

# ------------------------------------------------------------------ summary
BUILD="release"
[[ "$BIN" == */debug/* ]] && BUILD="DEBUG build: figures are NOT representative"
row() { printf '  %-44s %s\n' "$1" "$2"; }
figures() { # label name
    local f="$TMP/$1-$2.kv"
    printf 'first %6s  p50 %6s  p99 %6s ms (n=%s, %s bytes)' "$(kv "$f" FIRST_MS)" "$(kv "$f" P50_MS)" \
        "$(kv "$f" P99_MS)" "$(kv "$f" N)" "$(kv "$f" BYTES)"
}
echo
line
echo "threadbridge, one big thread with deleted comments, $(date -u '+%Y-%m-%d %H:%M UTC')"
row "binary" "$BIN ($BUILD)"
row "database" "$DB_KIND"
row "machine" "$(nproc) cores; client and server share them"
row "thread" "$(kv "$TMP/seed.kv" SEEDED) comments, $(kv "$TMP/delete.kv" DELETED) deleted (admin thread: $SHOWN, $PLACEHOLDERS deleted)"
row "busiest comment" "$HOT, $HOT_REPLIES direct replies"
line
echo "Query plan of the article's reply count:"
sed 's/^/    /' "$TMP/plan.txt"
line
echo "Sequential keep-alive GETs; the target for a replies collection is p99 < 150 ms."
for label in uncached cached; do
    echo "$label:"
    for doc in "${DOCS[@]}"; do
        IFS='|' read -r name path _ <<<"$doc"
        [[ $name == health ]] && name_shown="GET /health (the client's floor)" || name_shown="GET ${path/$KEY/KEY}"
        row "${name_shown/$HOT/HOT}" "$(figures "$label" "$name")"
    done
done
row "threadbridge VmRSS at the end" "$(mib "$RSS")"
line
