#!/usr/bin/env bash
# Build the Spring Boot order service (this directory) once per source hash, and print the path of its
# executable jar: run it with
#   java -jar "$(bash examples/spring-boot/build.sh)" --spring.kafka.bootstrap-servers=127.0.0.1:9092
# The build and its cache (KAVKA_MAVEN_CACHE, default interop/.cache) are interop/maven-build.sh's.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(bash "$HERE/../../interop/maven-build.sh" spring-boot "$HERE" order-service.jar | tail -n1)"
echo "$OUT/order-service.jar"
