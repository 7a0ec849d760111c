#!/usr/bin/env bash
# All set-up from a fresh clone: system packages, npm dependencies, build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
