# Shell helpers the benchmark scripts share; sourced by every bench/*.sh.

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pid() { # pid, seconds to wait before SIGKILL
    local pid=$1 i
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

line() { printf '%s\n' "------------------------------------------------------------------------------"; }

# The peak VmRSS of $SERVER_PID, sampled every $1 s (6,000 samples at most) into $TMP/rss-max.
start_sampler() {
    local interval=$1
    rm -f "$TMP/stop-sampler"
    echo 0 >"$TMP/rss-max"
    (
        max=0
        for ((i = 0; i < 6000; i++)); do
            [[ -e "$TMP/stop-sampler" ]] && break
            v=0
            while read -r k val _; do
                [[ "$k" == VmRSS: ]] && { v=$val; break; }
            done <"/proc/$SERVER_PID/status" 2>/dev/null || break
            ((v > max)) && { max=$v; echo "$max" >"$TMP/rss-max"; }
            sleep "$interval"
        done
    ) &
    SAMPLER_PID=$!
}
stop_sampler() { # prints max sampled VmRSS in kB
    touch "$TMP/stop-sampler"
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    cat "$TMP/rss-max"
}

# Sets DB_URL and DB_KIND: a fresh PostgreSQL database named $1_<time>_<pid> on the server of
# $PG_URL when it is set (PG_ADMIN_URL and PG_DB let the caller drop it), else a SQLite file in
# $TMP.
choose_database() {
    local prefix=$1 scheme rest authority
    if [[ -n "$PG_URL" ]]; then
        scheme=${PG_URL%%://*}
        rest=${PG_URL#*://}
        authority=${rest%%/*}
        authority=${authority%%\?*}
        PG_ADMIN_URL="$scheme://$authority/postgres"
        PG_DB="${prefix}_$(date +%s)_$$"
        say "creating PostgreSQL database $PG_DB"
        psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
            { PG_DB=""; die "could not create a database through $PG_ADMIN_URL"; }
        DB_URL="$scheme://$authority/$PG_DB"
        DB_KIND="PostgreSQL ($authority)"
    else
        DB_URL="sqlite://$TMP/bench.db"
        DB_KIND="SQLite (temp file)"
    fi
}

# VmRSS / VmHWM (field $2) of process $1, in kB; 0 when it is gone.
proc_kb() {
    local k v _
    while read -r k v _; do
        [[ "$k" == "$2:" ]] && { echo "$v"; return; }
    done <"/proc/$1/status" 2>/dev/null
    echo 0
}

# Installs the Debian packages named that are missing, with apt-get (as root or sudo -n), unless
# $INSTALL is 0. Each argument is "command:package".
ensure_tools() {
    local pair missing=() sudo=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    ((${INSTALL:-1})) || die "missing: ${missing[*]} (run without --no-install, or apt-get install them)"
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "missing ${missing[*]} and not root; install them first"
        sudo=(sudo -n)
    fi
    say "installing ${missing[*]} with apt-get"
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
        die "apt-get install ${missing[*]} failed"
}

# Size of a SQLite database: the file plus its -wal/-shm files ($1 is the file's path).
sqlite_size() {
    local f b total=0 parts=""
    for f in "$1" "$1-wal" "$1-shm"; do
        [[ -e "$f" ]] || continue
        b=$(stat -c %s "$f")
        total=$((total + b))
        parts+="${parts:+, }${f##*/} $(awk -v b="$b" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
    done
    echo "$(awk -v b="$total" 'BEGIN { printf "%.1f MiB", b / 1048576 }') ($parts)"
}

# "busy total" clock ticks of all cores, from /proc/stat.
machine_ticks() {
    local _ u n s i w q sq st
    read -r _ u n s i w q sq st _ </proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# Share of all cores busy over $1 s, in percent.
busy_pct() {
    local b0 t0 b1 t1
    read -r b0 t0 < <(machine_ticks)
    sleep "$1"
    read -r b1 t1 < <(machine_ticks)
    echo $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

# LABEL: waits (at most $WAIT_IDLE s) until other programs leave the cores alone; counts the
# times it gave up in BUSY_WARNINGS.
BUSY_WARNINGS=0
wait_idle() {
    ((WAIT_IDLE > 0)) || return 0
    local deadline=$((SECONDS + WAIT_IDLE)) b
    while :; do
        b=$(busy_pct 1)
        ((b <= 15)) && return 0
        if ((SECONDS >= deadline)); then
            say "WARNING: the machine is still ${b}% busy before $1: its figures are disturbed"
            BUSY_WARNINGS=$((BUSY_WARNINGS + 1))
            return 0
        fi
    done
}

# The end of every script's `cleanup`: drops the PostgreSQL database made for the run (see
# choose_database), removes $TMP (kept with KEEP_TMP=1) and exits with status $1.
finish_cleanup() {
    if [[ -n "$PG_DB" ]]; then
        psql "$PG_ADMIN_URL" -qAt -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
            echo "warning: could not drop database $PG_DB" >&2
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        echo "temp dir kept: $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$1"
}

# Runs the script's `cleanup` at exit, and turns INT and TERM into exits so it runs then too.
trap_cleanup() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# The value of KEY in a file of KEY=VALUE lines (the last one): kv FILE KEY.
kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# Starts "$BIN serve" on 127.0.0.1:$PORT in dev mode, on $DB_URL, with the admin token $TOKEN and
# the further VAR=value settings given; appends its log to $TMP/server.log, sets SERVER_PID and
# BASE, and returns once it answers (dies if it does not within 120 s).
start_threadbridge() {
    BASE="http://127.0.0.1:$PORT"
    env THREADBRIDGE_LISTEN="127.0.0.1:$PORT" THREADBRIDGE_PUBLIC_URL="$BASE" THREADBRIDGE_ADMIN_TOKEN="$TOKEN" \
        DATABASE_URL="$DB_URL" THREADBRIDGE_DEV=1 RUST_LOG="${RUST_LOG:-warn}" "$@" \
        "$BIN" serve >>"$TMP/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    python3 "$HERE/bench_client.py" wait --url "$BASE/.well-known/nodeinfo" --timeout 120 --pid "$SERVER_PID" >/dev/null ||
        die "threadbridge did not become ready"
}
