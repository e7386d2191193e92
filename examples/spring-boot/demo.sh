#!/usr/bin/env bash
# The README's "Run it" in one command: start a Kavka broker (unless given one), build and start the order
# service, send it five orders (one it declines), and show what it did: each order's partition and
# offset, the processed-orders metric, and the declined order in orders.DLT. Then keep it all running
# until Ctrl-C (--once: stop and exit after that).
#
#   examples/spring-boot/demo.sh [--bootstrap-servers HOST:PORT] [--once]
#
# Without --bootstrap-servers it runs `kavka serve` on 127.0.0.1:$KAVKA_PORT (default 9092), console on
# $KAVKA_CONSOLE_PORT (default 8080), data and logs in a temp dir. The service listens on $APP_PORT
# (default 8081). `kavka` is $KAVKA if set (a command line, e.g. "python -m kavka"), else the one on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -r -a KAVKA <<< "${KAVKA:-kavka}"
APP_PORT="${APP_PORT:-8081}"
BOOTSTRAP="" ONCE=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --bootstrap-servers|-b) BOOTSTRAP="$2"; shift 2 ;;
        --once) ONCE=1; shift ;;
        *) echo "demo.sh: unknown argument $1 (use --bootstrap-servers HOST:PORT, --once)" >&2; exit 2 ;;
    esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/kavka-spring-demo.XXXXXX")"
PIDS=()
# SIGTERM to what we started (Spring and kavka serve shut down cleanly on it), newest first, then wait.
cleanup() {
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
    echo "Stopped. Logs in $RUN"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
    local deadline=$((SECONDS + $1)) what="$2"; shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then echo "demo.sh: timed out waiting for $what" >&2; exit 1; fi
        sleep 0.2
    done
}

if [ -z "$BOOTSTRAP" ]; then
    PORT="${KAVKA_PORT:-9092}"
    BOOTSTRAP="127.0.0.1:$PORT"
    "${KAVKA[@]}" serve --port "$PORT" --console-port "${KAVKA_CONSOLE_PORT:-8080}" \
        --override "log.dirs=$RUN/kavka-data" --override group.initial.rebalance.delay.ms=0 \
        >"$RUN/broker.log" 2>&1 &
    PIDS+=($!)
    wait_for 60 "kavka serve on $BOOTSTRAP (log: $RUN/broker.log)" "${KAVKA[@]}" topics list -b "$BOOTSTRAP" --timeout 2
    echo "Started kavka serve on $BOOTSTRAP (console http://127.0.0.1:${KAVKA_CONSOLE_PORT:-8080})"
fi

echo "Building the order service (Maven, once per source hash)..."
JAR="$(bash "$HERE/build.sh")"
"${JAVA:-java}" -jar "$JAR" --spring.kafka.bootstrap-servers="$BOOTSTRAP" --server.port="$APP_PORT" \
    >"$RUN/order-service.log" 2>&1 &
PIDS+=($!)
# Started, and the listener's three consumers own one partition each (no rebalance under the orders)
assigned() { [ "$(grep -c 'partitions assigned: \[orders-[0-9]\]' "$RUN/order-service.log")" -ge 3 ]; }
wait_for 180 "the order service (log: $RUN/order-service.log)" assigned
echo "The order service is up on http://127.0.0.1:$APP_PORT (log: $RUN/order-service.log)"

for order in 'o-1 alice 12.5' 'o-2 bob 20' 'o-3 alice 7' 'o-4 carol -5' 'o-5 bob 3'; do
    read -r id user amount <<< "$order"
    printf 'POST /orders %s (user %s, amount %s): ' "$id" "$user" "$amount"
    curl -sS -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$APP_PORT/orders" \
        -d "{\"id\":\"$id\",\"userId\":\"$user\",\"amount\":$amount}"
    echo
done
metric() { curl -sS "http://127.0.0.1:$APP_PORT/actuator/metrics/kafka.orders.processed"; }
wait_for 60 "four orders processed" bash -c "curl -sS http://127.0.0.1:$APP_PORT/actuator/metrics/kafka.orders.processed | grep -q '\"value\":4.0'"
echo "kafka.orders.processed: $(metric)"
echo "orders.DLT (o-4's amount is negative: declined, retried twice, then dead-lettered):"
"${KAVKA[@]}" consume orders.DLT -b "$BOOTSTRAP" --from-beginning --timeout-ms 3000 --max-messages 1 \
    --property print.key=true 2>/dev/null
if [ "$ONCE" -eq 0 ]; then
    echo "Everything keeps running: POST more orders to http://127.0.0.1:$APP_PORT/orders; Ctrl-C stops it."
    wait "${PIDS[-1]}"
fi
