#!/usr/bin/env bash
# Build the example if its sources changed (build.sh, cached per source hash) and run OrderAnalytics with
# the given arguments, e.g.
#   examples/kafka-streams/run.sh --bootstrap-servers localhost:9092 [--application-id ID] [--state-dir DIR]
# It runs until Ctrl-C (SIGTERM/SIGINT close Kafka Streams cleanly).
set -euo pipefail
DIR="$(bash "$(dirname "${BASH_SOURCE[0]}")/build.sh")"
exec "${JAVA:-java}" -Xmx256m -cp "$DIR/kavka-streams-example.jar:$DIR/lib/*" \
    dev.kavka.examples.streams.OrderAnalytics "$@"
