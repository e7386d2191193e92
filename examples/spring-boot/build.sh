#!/usr/bin/env bash
# Build the Spring Boot order service (this directory) once per source hash, and print the path of its
# executable jar: run it with
#   java -jar "$(bash examples/spring-boot/build.sh)" --spring.kafka.bootstrap-servers=127.0.0.1:9092
#
#   KAVKA_SPRING_CACHE=/dir  -> cache root (default: interop/.cache of this checkout, ignored by git)
#
# The key is a hash of pom.xml and every file under src/, so an unchanged checkout (or a copy of it, as
# .ci/run makes) reuses the build. Maven builds a private copy of the project (the source tree stays clean
# and two builds cannot collide), offline first (a warm ~/.m2 needs no network), online if that fails.
# Exits non-zero, with Maven's output, when the build fails.
set -euo pipefail

PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KAVKA_SPRING_CACHE:-$PROJECT/../../interop/.cache}"
HASH="$(cd "$PROJECT" && find pom.xml src -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)"
OUT="$CACHE/spring-boot-$HASH"

if [ ! -f "$OUT/.complete" ]; then
    command -v mvn >/dev/null || { echo "examples/spring-boot/build.sh: mvn (Maven) is not on PATH" >&2; exit 1; }
    mkdir -p "$CACHE"
    WORK="$(mktemp -d "$CACHE/spring-boot-build.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    cp -r "$PROJECT/pom.xml" "$PROJECT/src" "$WORK/"
    LOG="$WORK/maven.log"
    if ! mvn -q -B -o -f "$WORK/pom.xml" package >"$LOG" 2>&1; then
        if ! mvn -q -B -f "$WORK/pom.xml" package >>"$LOG" 2>&1; then
            cat "$LOG" >&2
            echo "examples/spring-boot/build.sh: building the Spring Boot order service with Maven failed" >&2
            exit 1
        fi
    fi
    mkdir -p "$WORK/out"
    mv "$WORK/target/order-service.jar" "$WORK/out/"
    touch "$WORK/out/.complete"
    # Another build of the same sources may have finished first: keep whichever landed.
    mv -T "$WORK/out" "$OUT" 2>/dev/null || true
fi
echo "$(cd "$OUT" && pwd)/order-service.jar"
