#!/usr/bin/env bash
# Build the Kafka Streams example (examples/kafka-streams) once per source hash, and print the directory
# that holds kavka-streams-example.jar and lib/ (its dependencies): run it with
#   java -cp "$DIR/kavka-streams-example.jar:$DIR/lib/*" dev.kavka.examples.streams.OrderAnalytics \
#       --bootstrap-servers 127.0.0.1:9092
#
#   KAVKA_STREAMS_EXAMPLE_CACHE=/dir  -> cache root; else $KAVKA_GUIDE_CACHE (which .ci/run points at the
#                                        checkout's interop/.cache, so its throw-away copy reuses a build);
#                                        else interop/.cache of this checkout (ignored by git)
#
# The key is a hash of pom.xml and every file under src/, so an unchanged checkout (or a copy of it) reuses
# the build. Maven builds a private copy of the project (the source tree stays clean and two builds cannot
# collide), offline first (a warm ~/.m2 needs no network), online if that fails. Exits non-zero, with
# Maven's output, when the build fails.
set -euo pipefail

PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KAVKA_STREAMS_EXAMPLE_CACHE:-${KAVKA_GUIDE_CACHE:-$(cd "$PROJECT/../.." && pwd)/interop/.cache}}"
HASH="$(cd "$PROJECT" && find pom.xml src -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)"
OUT="$CACHE/kafka-streams-example-$HASH"

if [ ! -f "$OUT/.complete" ]; then
    command -v mvn >/dev/null || { echo "examples/kafka-streams/build.sh: mvn (Maven) is not on PATH" >&2; exit 1; }
    mkdir -p "$CACHE"
    WORK="$(mktemp -d "$CACHE/kafka-streams-example-build.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    cp -r "$PROJECT/pom.xml" "$PROJECT/src" "$WORK/"
    LOG="$WORK/maven.log"
    if ! mvn -q -B -o -f "$WORK/pom.xml" package >"$LOG" 2>&1; then
        if ! mvn -q -B -f "$WORK/pom.xml" package >>"$LOG" 2>&1; then
            cat "$LOG" >&2
            echo "examples/kafka-streams/build.sh: building the Kafka Streams example with Maven failed" >&2
            exit 1
        fi
    fi
    mkdir -p "$WORK/out"
    mv "$WORK/target/kavka-streams-example.jar" "$WORK/target/lib" "$WORK/out/"
    touch "$WORK/out/.complete"
    # Another build of the same sources may have finished first: keep whichever landed.
    mv -T "$WORK/out" "$OUT" 2>/dev/null || true
fi
echo "$OUT"
