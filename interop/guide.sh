#!/usr/bin/env bash
# Build the guide's Java examples (interop/java/guide) once per source hash, and print the directory that
# holds kavka-guide.jar and lib/ (its dependencies): run a program with
#   java -cp "$DIR/kavka-guide.jar:$DIR/lib/*" OrderProducer 127.0.0.1:9092 orders
# The build and its cache (KAVKA_MAVEN_CACHE) are interop/maven-build.sh's.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/maven-build.sh" guide "$HERE/java/guide" kavka-guide.jar lib
