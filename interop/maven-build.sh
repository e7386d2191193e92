#!/usr/bin/env bash
# Build a Maven project once per source hash and print the directory holding what the build made:
#   bash interop/maven-build.sh NAME PROJECT_DIR ARTIFACT...
# ARTIFACTs are paths under the project's target/ (a jar, or a directory such as lib/) moved into
# $CACHE/NAME-<hash>/, which is printed on the last line of stdout.
#
#   KAVKA_MAVEN_CACHE=/dir  -> cache root (default: interop/.cache of this checkout, ignored by git)
#
# The key is a hash of pom.xml and every file under src/, so an unchanged checkout (or a copy of it, as
# .ci/run makes) reuses the build. Maven builds a private copy of the project (the source tree stays clean
# and two builds cannot collide), offline first (a warm ~/.m2 needs no network), online if that fails.
# Exits non-zero, with Maven's output, when the build fails.
set -euo pipefail

[ "$#" -ge 3 ] || { echo "usage: interop/maven-build.sh NAME PROJECT_DIR ARTIFACT..." >&2; exit 2; }
NAME="$1"; PROJECT="$(cd "$2" && pwd)"; shift 2
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KAVKA_MAVEN_CACHE:-$HERE/.cache}"
HASH="$(cd "$PROJECT" && find pom.xml src -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)"
OUT="$CACHE/$NAME-$HASH"

if [ ! -f "$OUT/.complete" ]; then
    command -v mvn >/dev/null || { echo "interop/maven-build.sh: mvn (Maven) is not on PATH" >&2; exit 1; }
    mkdir -p "$CACHE"
    WORK="$(mktemp -d "$CACHE/$NAME-build.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    cp -r "$PROJECT/pom.xml" "$PROJECT/src" "$WORK/"
    LOG="$WORK/maven.log"
    if ! mvn -q -B -o -f "$WORK/pom.xml" package >"$LOG" 2>&1; then
        if ! mvn -q -B -f "$WORK/pom.xml" package >>"$LOG" 2>&1; then
            cat "$LOG" >&2
            echo "interop/maven-build.sh: building $NAME ($PROJECT) with Maven failed" >&2
            exit 1
        fi
    fi
    mkdir -p "$WORK/out"
    for artifact in "$@"; do
        mv "$WORK/target/$artifact" "$WORK/out/"
    done
    touch "$WORK/out/.complete"
    # Another build of the same sources may have finished first: keep whichever landed.
    mv -T "$WORK/out" "$OUT" 2>/dev/null || true
fi
echo "$(cd "$OUT" && pwd)"
