#!/usr/bin/env bash
# Makes sure the guest image is in the cache before a CI job boots guests: builds it when missing
# (as root, or as a normal user in a user namespace; see README, `image build`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node dist/src/cli/main.js image build
