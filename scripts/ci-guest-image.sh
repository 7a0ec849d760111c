#!/usr/bin/env bash
# Makes sure the guest image is in the cache before a CI job boots guests. Building it needs root
# (mmdebstrap creates root-owned files); runs use the cached image afterwards as any user.
#   root                  builds it (or finds it cached)
#   passwordless sudo     builds it as root into THIS user's cache, then hands the files back
#   otherwise             uses the cached image; when there is none, `image build` says how to
#                         build it (once, as root: see README, "CI and KVM runners")
set -euo pipefail
cd "$(dirname "$0")/.."
cache_home=${XDG_CACHE_HOME:-$HOME/.cache}
if [ "$(id -u)" -eq 0 ]; then
  exec node dist/src/cli/main.js image build
elif sudo -n true 2>/dev/null; then
  sudo -n env "PATH=$PATH" "XDG_CACHE_HOME=$cache_home" node dist/src/cli/main.js image build
  sudo -n chown -R "$(id -u):$(id -g)" "$cache_home/balloon-bench"
else
  exec node dist/src/cli/main.js image build
fi
