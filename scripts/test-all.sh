#!/usr/bin/env bash
# The whole test suite as CI runs it: typecheck, lint and format checks, then every mocha test
# (unit and integration against real QEMU). The reporter prints "N passed, N failed" last.
set -uo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
# As root, the normal users the main job and doctor are tested as (test/integration/normal-user).
if [ "$(id -u)" -eq 0 ]; then bash scripts/ci-users.sh; fi
exec ./node_modules/.bin/mocha --forbid-only "$@"
