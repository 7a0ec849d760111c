#!/usr/bin/env bash
# Builds the TEST QEMU of test/fixtures/device-init: Debian 13's QEMU source (apt-get source qemu
# against trixie, unpacked with dpkg-source -x so Debian's own patches apply) with our fixture
# patch test/fixtures/device-init/qemu/0001-virtio-balloon-device-init-bits.patch, built by
# `balloon-bench qemu build`. It offers balloon bits 6 and 7. Prints the binary's path last:
#
#   qemu=$(bash scripts/build-test-qemu.sh | tail -n1)
#   npx balloon-bench probe --qemu "$qemu"
#
# Nothing is installed on the host and the host's apt sources are left alone: trixie's source
# package and its meson (QEMU 10 needs meson >= 1.5; bookworm has 1.0) are fetched through an apt
# configuration of their own into $CACHE/test-qemu, and meson is unpacked there and put on
# PYTHONPATH for the build. Needs the host packages of `qemu build` (gcc, ninja-build, pkg-config,
# python3-venv, libglib2.0-dev, libpixman-1-dev, libslirp-dev, zlib1g-dev) and dpkg-dev, patch.
#
# Cached: the patched tree is kept per (source version, patch) and `qemu build` caches the
# build by the tree's content, so a second call only prints the path.
#   BB_TEST_QEMU_JOBS   ninja jobs (default: qemu build's, the CPU count)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
patch_file="$repo/test/fixtures/device-init/qemu/0001-virtio-balloon-device-init-bits.patch"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/balloon-bench/test-qemu"
die() { echo "build-test-qemu: error: $*" >&2; exit 1; }
log() { echo "build-test-qemu: $*" >&2; }

for tool in apt-get dpkg-source dpkg-deb patch sha256sum flock node; do
  command -v "$tool" >/dev/null || die "'$tool' not found (bookworm: apt-get install dpkg-dev patch)"
done
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/src"
exec 9>"$cache/.lock"
flock 9

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
printf '%s\n' \
  "deb [signed-by=$keyring] http://deb.debian.org/debian trixie main" \
  "deb-src [signed-by=$keyring] http://deb.debian.org/debian trixie main" \
  >"$cache/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -q)

dsc=$(find "$cache/src" -maxdepth 1 -name 'qemu_*.dsc' | sort | tail -n1)
meson_deb=$(find "$cache/src" -maxdepth 1 -name 'meson_*_all.deb' | sort | tail -n1)
if [ -z "$dsc" ] || [ -z "$meson_deb" ]; then
  log "fetching trixie's qemu source and meson (own apt configuration)"
  apt-get "${apt_opts[@]}" update >&2
  (cd "$cache/src" && apt-get "${apt_opts[@]}" source --download-only qemu >&2 &&
    apt-get "${apt_opts[@]}" download meson >&2)
  dsc=$(find "$cache/src" -maxdepth 1 -name 'qemu_*.dsc' | sort | tail -n1)
  meson_deb=$(find "$cache/src" -maxdepth 1 -name 'meson_*_all.deb' | sort | tail -n1)
  [ -n "$dsc" ] || die "apt-get source left no qemu_*.dsc in $cache/src"
  [ -n "$meson_deb" ] || die "apt-get download left no meson_*_all.deb in $cache/src"
fi

meson_dir="$cache/meson/$(basename "$meson_deb" .deb)"
if [ ! -d "$meson_dir/usr/lib/python3/dist-packages/mesonbuild" ]; then
  rm -rf "$meson_dir" && mkdir -p "$meson_dir.tmp"
  dpkg-deb -x "$meson_deb" "$meson_dir.tmp" && mv "$meson_dir.tmp" "$meson_dir"
fi

key=$({ basename "$dsc"; sha256sum <"$patch_file"; } | sha256sum | cut -c1-16)
tree="$cache/trees/$key/qemu"
if [ ! -f "$cache/trees/$key/done" ]; then
  log "unpacking $(basename "$dsc") (Debian patches applied) and applying the fixture patch"
  rm -rf "$cache/trees/$key" && mkdir -p "$cache/trees/$key"
  dpkg-source --no-check -x "$dsc" "$tree" >&2
  patch -d "$tree" -p1 --batch --quiet <"$patch_file"
  touch "$cache/trees/$key/done"
fi

jobs=()
[ -n "${BB_TEST_QEMU_JOBS:-}" ] && jobs=(--jobs "$BB_TEST_QEMU_JOBS")
export PYTHONPATH="$meson_dir/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
cd "$repo" && node --import tsx src/cli/main.ts qemu build --tree "$tree" "${jobs[@]}"
