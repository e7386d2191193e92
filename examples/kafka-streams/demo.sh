#!/usr/bin/env bash
# The README's "Run it" in one command: start a Kavka broker (unless given one), create the five topics,
# start OrderAnalytics (run.sh), feed it two users and a few orders, and print what it computed; then
# keep it all running until Ctrl-C (--once: stop and exit after printing).
#
#   examples/kafka-streams/demo.sh [--bootstrap-servers HOST:PORT] [--once]
#
# Without --bootstrap-servers it runs `kavka serve` on 127.0.0.1:$KAVKA_PORT (default 9092), console on
# $KAVKA_CONSOLE_PORT (default 8080), data and logs in a temp dir. `kavka` is $KAVKA if set (a command
# line, e.g. "python -m kavka"), else the one on PATH. Everything it started stops when it exits.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../demo-lib.sh
source "$HERE/../demo-lib.sh"
demo_init streams "$@"
demo_broker

for t in orders order-totals-windowed orders-enriched order-totals-by-region; do
    "${KAVKA[@]}" topics create "$t" --partitions 2 -b "$BOOTSTRAP"
done
"${KAVKA[@]}" topics create users --partitions 2 --config cleanup.policy=compact -b "$BOOTSTRAP"

echo "Building the application (Maven, once per source hash)..."
bash "$HERE/build.sh" >/dev/null
"$HERE/run.sh" --bootstrap-servers "$BOOTSTRAP" --state-dir "$RUN/state" >"$RUN/streams.log" 2>&1 &
PIDS+=($!)
wait_for 180 "Kafka Streams to run (log: $RUN/streams.log)" grep -qx "state RUNNING" "$RUN/streams.log"
echo "OrderAnalytics is RUNNING (log: $RUN/streams.log)"

printf 'u1:Ann,eu\nu2:Bo,us\n' | "${KAVKA[@]}" produce users -b "$BOOTSTRAP" \
    --property parse.key=true --property key.separator=:
printf 'u1:o1,u1,250\nu1:o2,u1,100\nu2:o3,u2,40\n' | "${KAVKA[@]}" produce orders -b "$BOOTSTRAP" \
    --property parse.key=true --property key.separator=:
echo "Sent users u1 (eu), u2 (us) and orders o1 (u1, 250), o2 (u1, 100), o3 (u2, 40). Totals by region:"
"${KAVKA[@]}" consume order-totals-by-region -b "$BOOTSTRAP" --from-beginning \
    --isolation-level read_committed --property print.key=true --timeout-ms 10000
if [ "$ONCE" -eq 0 ]; then
    echo "Everything keeps running: produce more orders (key userId, value orderId,userId,amount); Ctrl-C stops it."
    wait "${PIDS[-1]}"
fi
