#!/usr/bin/env bash
# The whole test suite as CI runs it: typecheck, lint and format checks, then every mocha test
# (unit and integration against real QEMU). The reporter prints "N passed, N failed" last.
set -uo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
exec ./node_modules/.bin/mocha --forbid-only "$@"
