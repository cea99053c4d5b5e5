#!/usr/bin/env bash
# Runs the C unit tests (TAP producers) under prove, with the sanitizer
# runtime they were built with: any report fails the run.
set -euo pipefail
[ $# -gt 0 ] || { echo "unit: no tests" >&2; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec prove --exec '' "$@"
