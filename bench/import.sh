#!/usr/bin/env bash
# Importing a big site export with `threadbridge import`: a WordPress WXR and a Disqus XML file
# of --comments comments over --articles articles (written by bench/import_file.py), each into a
# fresh database, then the same file again (everything unchanged). Prints the time, items per
# second and peak memory (GNU time's maximum RSS) of each run beside the issue's limits (60 s for
# 100,000 comments over 5,000 articles on SQLite; 200 MB), and the time `cat` takes to read the
# file, the floor of any import of it. See bench/README.md, "Importing an export".
#
#   bench/import.sh [BINARY] [--articles N] [--comments N] [--postgres URL]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/common.sh
source "$HERE/common.sh"
ROOT=$(dirname "$HERE")

usage() {
    cat <<USAGE
usage: $0 [BINARY] [options]

  BINARY            threadbridge binary (default: $ROOT/target/release/threadbridge)
  --articles N      articles in each file (default 5000)
  --comments N      comments in each file, in all (default 100000)
  --postgres URL    import into PostgreSQL instead of SQLite (a fresh database per run on
                    that server, dropped at the end)
  --formats LIST    which exports, comma-separated (default wxr,disqus)
  -h, --help        this text

Environment: KEEP_TMP=1 keeps the temp dir (the generated files and databases).
USAGE
}

BIN="$ROOT/target/release/threadbridge"
ARTICLES=5000
COMMENTS=100000
PG_URL=""
FORMATS="wxr,disqus"
while (($#)); do
    case "$1" in
        --articles) ARTICLES=${2:?}; shift 2 ;;
        --comments) COMMENTS=${2:?}; shift 2 ;;
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --formats) FORMATS=${2:?}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) BIN=$1; shift ;;
    esac
done

[[ -x "$BIN" ]] || die "threadbridge binary not found or not executable: $BIN (build it: cargo build --release)"
[[ -x /usr/bin/time ]] || die "GNU time is required (apt-get install time)"
command -v python3 >/dev/null || die "python3 is required"
[[ -n "$PG_URL" ]] && { command -v psql >/dev/null || die "psql is required for --postgres"; }

TMP=$(mktemp -d -t threadbridge-import.XXXXXX)
PG_ADMIN_URL=""
PG_DB=""
DROP=()
cleanup() {
    local rc=$? db
    set +e
    for db in "${DROP[@]}"; do
        psql "$PG_ADMIN_URL" -qAt -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
    finish_cleanup "$rc"
}
trap_cleanup

# One import of $2 into $1 with GNU time: sets RUN_SECONDS, RUN_RSS_KB, RUN_SUMMARY.
import_once() {
    local db=$1 file=$2
    /usr/bin/time -f "%e %M" -o "$TMP/time" env DATABASE_URL="$db" THREADBRIDGE_PUBLIC_URL=https://bridge.example \
        RUST_LOG=warn "$BIN" import "$file" >"$TMP/out" 2>"$TMP/err" || {
        cat "$TMP/err" >&2
        die "the import of $file failed"
    }
    read -r RUN_SECONDS RUN_RSS_KB <"$TMP/time"
    RUN_SUMMARY=$(tail -n 1 "$TMP/out")
}

fresh_db() {
    if [[ -n "$PG_URL" ]]; then
        choose_database threadbridge_import
        DROP+=("$PG_DB")
        PG_DB=""
    else
        DB_URL="sqlite://$TMP/$1.db"
        DB_KIND="SQLite (temp file)"
    fi
}

say "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); binary: $BIN"
printf '%-7s %9s %9s %-9s %8s %10s %10s %9s\n' export size items run seconds items/s "peak RSS" "cat file"
line
IFS=, read -r -a formats <<<"$FORMATS"
for format in "${formats[@]}"; do
    file="$TMP/export-$format.xml"
    say "writing a $format export: $ARTICLES articles, $COMMENTS comments"
    python3 "$HERE/import_file.py" --format "$format" --articles "$ARTICLES" --comments "$COMMENTS" "$file"
    size=$(stat -c %s "$file")
    cat "$file" >/dev/null # warm the page cache: every run reads it from memory
    start=$(date +%s.%N)
    cat "$file" >/dev/null
    cat_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    fresh_db "$format"
    items=$((ARTICLES + COMMENTS))
    for run in first again; do
        import_once "$DB_URL" "$file"
        rate=$(awk -v n="$items" -v s="$RUN_SECONDS" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 0.01) }')
        printf '%-7s %6.0f MiB %9d %-9s %8s %10s %10s %8ss\n' "$format" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" \
            "$items" "$run" "$RUN_SECONDS" "$rate" "$(mib "$RUN_RSS_KB")" "$cat_seconds"
        echo "        $RUN_SUMMARY"
    done
done
line
echo "limits: 100,000 comments over 5,000 articles in under 60 s on SQLite; peak RSS under 200 MB (190.7 MiB)"
echo "store: ${DB_KIND:-SQLite}; items = articles + comments in the file (spam and the like included)"
