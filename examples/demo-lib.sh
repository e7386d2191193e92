# Sourced by examples/*/demo.sh: what every example's one-command run needs. After
# `demo_init NAME "$@"`: BOOTSTRAP (from --bootstrap-servers/-b, else empty), ONCE (1 with --once),
# RUN (a temp dir for data and logs), PIDS (append what you start: it is stopped on exit, newest first,
# with SIGTERM, and waited for), KAVKA (an array: $KAVKA if set, e.g. "python -m kavka", else kavka).
# `demo_broker [kavka serve options...]` starts `kavka serve` on 127.0.0.1:$KAVKA_PORT (default 9092),
# console on $KAVKA_CONSOLE_PORT (default 8080), when no broker was given. `wait_for SECONDS WHAT CMD...`
# retries CMD until it succeeds, or exits with a line naming WHAT.

demo_init() {
    local name="$1"; shift
    read -r -a KAVKA <<< "${KAVKA:-kavka}"
    BOOTSTRAP="" ONCE=0
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --bootstrap-servers|-b) BOOTSTRAP="$2"; shift 2 ;;
            --once) ONCE=1; shift ;;
            *) echo "demo.sh: unknown argument $1 (use --bootstrap-servers HOST:PORT, --once)" >&2; exit 2 ;;
        esac
    done
    RUN="$(mktemp -d "${TMPDIR:-/tmp}/kavka-$name-demo.XXXXXX")"
    PIDS=()
    trap demo_cleanup EXIT
    trap 'exit 0' INT TERM
}

# SIGTERM to what was started (the applications and kavka serve close cleanly on it), newest first.
demo_cleanup() {
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
    echo "Stopped. Logs in $RUN"
}

wait_for() {
    local deadline=$((SECONDS + $1)) what="$2"; shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then echo "demo.sh: timed out waiting for $what" >&2; exit 1; fi
        sleep 0.2
    done
}

demo_broker() {
    [ -z "$BOOTSTRAP" ] || return 0
    local port="${KAVKA_PORT:-9092}"
    BOOTSTRAP="127.0.0.1:$port"
    "${KAVKA[@]}" serve --port "$port" --console-port "${KAVKA_CONSOLE_PORT:-8080}" \
        --override "log.dirs=$RUN/kavka-data" "$@" >"$RUN/broker.log" 2>&1 &
    PIDS+=($!)
    wait_for 60 "kavka serve on $BOOTSTRAP (log: $RUN/broker.log)" "${KAVKA[@]}" topics list -b "$BOOTSTRAP" --timeout 2
    echo "Started kavka serve on $BOOTSTRAP (console http://127.0.0.1:${KAVKA_CONSOLE_PORT:-8080})"
}
