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
# shellcheck source=../demo-lib.sh
source "$HERE/../demo-lib.sh"
APP_PORT="${APP_PORT:-8081}"
demo_init spring "$@"
demo_broker --override group.initial.rebalance.delay.ms=0

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
