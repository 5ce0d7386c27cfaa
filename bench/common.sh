# Shell helpers the benchmark scripts share; sourced by bench/http.sh and bench/delivery.sh.

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
