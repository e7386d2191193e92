#!/usr/bin/env bash
# Resolve Apache Kafka's jars (pinned in interop/java/pom.xml) into one directory, once, and print it.
#
#   interop/kafka.sh            -> prints the lib directory (resolving it first when missing)
#   KAVKA_KAFKA_CACHE=/dir ...  -> cache root (default: interop/.cache, ignored by git)
#
# Maven's own repository is the user's (~/.m2/repository), so a second checkout resolves from it without
# the network. The lib directory is complete only once its .complete marker exists: a resolve that fails
# part-way leaves no marker and is redone next time. Exits non-zero, with Maven's output, on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$HERE/java/pom.xml"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
CACHE="${KAVKA_KAFKA_CACHE:-$HERE/.cache}"
LIB="$CACHE/kafka-$VERSION/lib"

if [ ! -f "$LIB/.complete" ] || [ "$POM" -nt "$LIB/.complete" ]; then
    command -v mvn >/dev/null || { echo "interop/kafka.sh: mvn (Maven) is not on PATH" >&2; exit 1; }
    rm -rf "$LIB"
    mkdir -p "$LIB"
    LOG="$(mktemp)"
    trap 'rm -f "$LOG"' EXIT
    if ! mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$LIB" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "interop/kafka.sh: resolving Apache Kafka $VERSION with Maven failed" >&2
        exit 1
    fi
    ls "$LIB"/kafka_2.13-"$VERSION".jar >/dev/null
    touch "$LIB/.complete"
fi
echo "$LIB"
