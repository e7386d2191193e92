#!/usr/bin/env bash
# Build the Kafka Streams example (this directory) once per source hash, and print the directory that
# holds kavka-streams-example.jar and lib/ (its dependencies): run it with
#   java -cp "$DIR/kavka-streams-example.jar:$DIR/lib/*" dev.kavka.examples.streams.OrderAnalytics \
#       --bootstrap-servers 127.0.0.1:9092
# (run.sh does both). The build and its cache (KAVKA_MAVEN_CACHE, default interop/.cache) are
# interop/maven-build.sh's.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../interop/maven-build.sh" kafka-streams-example "$HERE" kavka-streams-example.jar lib
