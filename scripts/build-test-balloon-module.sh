#!/usr/bin/env bash
# Builds the TEST virtio_balloon.ko of test/fixtures/device-init: Debian bookworm's own
# drivers/virtio/virtio_balloon.c (package linux-source-6.1) with
# test/fixtures/device-init/virtio-balloon/0001-virtio_balloon-negotiate-device-init-bits.patch,
# built out of tree against linux-headers-$KVER, so that it loads into Debian's stock kernel
# linux-image-$KVER (what `run` boots as `debian:amd64`):
#
#   ko=$(bash scripts/build-test-balloon-module.sh | tail -n1)
#   node dist/src/cli/main.js run --balloon-module "$ko" --features 5,6,7 ...
#
# Nothing is installed on the host: the .debs are fetched with `apt-get download` and unpacked
# with dpkg-deb -x. Needs apt package lists (apt-get update), gcc-12 and make (the headers'
# Makefile asks for gcc-12, bookworm's compiler), patch, xz.
#
# Idempotent: the result is cached in OUTDIR/KEY/virtio_balloon.ko, KEY being a hash of the
# package versions, the patch and this script; a second call with the same inputs only prints
# the path. The .debs are kept in OUTDIR/debs. The .ko path is the last line printed.
#
# Usage: bash scripts/build-test-balloon-module.sh [OUTDIR]
#   OUTDIR           default: ${XDG_CACHE_HOME:-~/.cache}/balloon-bench/test-module
#   BB_MODULE_KVER   kernel ABI to build for (default 6.1.0-57-amd64)
set -euo pipefail

if [ $# -gt 1 ]; then
  echo "usage: $0 [OUTDIR]" >&2
  exit 2
fi
outdir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/balloon-bench/test-module}
here=$(cd "$(dirname "$0")" && pwd)
script="$here/$(basename "$0")"
patch_file="$here/../test/fixtures/device-init/virtio-balloon/0001-virtio_balloon-negotiate-device-init-bits.patch"
kver=${BB_MODULE_KVER:-6.1.0-57-amd64}
series=${kver%%.0-*}                      # 6.1
abi=${kver%-*}                            # 6.1.0-57
pkg_headers="linux-headers-$kver"
pkg_common="linux-headers-$abi-common"
pkg_kbuild="linux-kbuild-$series"
pkg_source="linux-source-$series"

die() { echo "build-test-balloon-module: error: $*" >&2; exit 1; }
log() { echo "build-test-balloon-module: $*" >&2; }

for tool in apt-cache apt-get dpkg-deb make gcc-12 patch xz sha256sum flock awk find; do
  command -v "$tool" >/dev/null || die "'$tool' not found (bookworm: apt-get install gcc-12 make patch xz-utils)"
done
[ -f "$patch_file" ] || die "patch not found: $patch_file"

# One apt-cache call (it is slow on a loaded machine): candidate versions, and every version
# apt knows of the source package.
policy=$(apt-cache policy "$pkg_headers" "$pkg_common" "$pkg_kbuild" "$pkg_source" 2>/dev/null)
candidate() {
  awk -v p="$1:" '$0 == p { on = 1; next } /^[^ ]/ { on = 0 } on && $1 == "Candidate:" && $2 != "(none)" { print $2 }' \
    <<<"$policy"
}
has_version() { # PACKAGE VERSION
  awk -v p="$1:" -v v="$2" '$0 == p { on = 1; next } /^[^ ]/ { on = 0 }
    on && ($1 == v || ($1 == "***" && $2 == v)) { found = 1 } END { exit !found }' <<<"$policy"
}
hver=$(candidate "$pkg_headers")
[ -n "$hver" ] ||
  die "apt knows no package $pkg_headers (run apt-get update; is $kver still in bookworm?)"
cver=$(candidate "$pkg_common")
[ -n "$cver" ] || die "apt knows no package $pkg_common"
kbver=$(candidate "$pkg_kbuild")
[ -n "$kbver" ] || die "apt knows no package $pkg_kbuild"
# The driver source should be the headers' own version; fall back to the candidate.
if has_version "$pkg_source" "$hver"; then
  sver=$hver
else
  sver=$(candidate "$pkg_source")
  [ -n "$sver" ] || die "apt knows no package $pkg_source"
  log "warning: $pkg_source $hver is not available, using $sver"
fi

key=$(
  {
    printf '%s=%s\n' "$pkg_headers" "$hver" "$pkg_common" "$cver" "$pkg_kbuild" "$kbver" \
      "$pkg_source" "$sver"
    sha256sum <"$patch_file"
    sha256sum <"$script"
  } | sha256sum | cut -c1-16
)

mkdir -p "$outdir"
out=$(cd "$outdir" && pwd)
result="$out/$key/virtio_balloon.ko"
exec 9>"$out/.lock"
flock 9
if [ -f "$result" ]; then
  log "cached ($pkg_headers $hver, $pkg_source $sver)"
  echo "$result"
  exit 0
fi

debs="$out/debs"
mkdir -p "$debs"
fetch() { # PACKAGE VERSION
  local name="$1" version="$2" file
  file=$(find "$debs" -maxdepth 1 -name "${name}_${version//:/%3a}_*.deb" | head -n1)
  if [ -z "$file" ]; then
    log "downloading $name=$version"
    (cd "$debs" && apt-get download -q "$name=$version" >&2)
    file=$(find "$debs" -maxdepth 1 -name "${name}_${version//:/%3a}_*.deb" | head -n1)
    [ -n "$file" ] || die "apt-get download left no ${name}_${version}_*.deb in $debs"
  fi
  echo "$file"
}
deb_headers=$(fetch "$pkg_headers" "$hver")
deb_common=$(fetch "$pkg_common" "$cver")
deb_kbuild=$(fetch "$pkg_kbuild" "$kbver")
deb_source=$(fetch "$pkg_source" "$sver")

work="$out/$key.build"
rm -rf "$work"
mkdir -p "$work/root" "$work/src"
log "unpacking headers"
for deb in "$deb_headers" "$deb_common" "$deb_kbuild"; do dpkg-deb -x "$deb" "$work/root"; done
kdir="$work/root/usr/src/linux-headers-$kver"
[ -f "$kdir/Makefile" ] || die "no $kdir/Makefile in $pkg_headers"
# The flavour's Makefile includes the common one by its installed path: point it at ours.
sed -i "s|^include /usr/src/|include $work/root/usr/src/|" "$kdir/Makefile"

log "extracting drivers/virtio/virtio_balloon.c from $pkg_source $sver"
member="linux-source-$series/drivers/virtio/virtio_balloon.c"
dpkg-deb --fsys-tarfile "$deb_source" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
  xz -dc | tar -x -C "$work/src" --strip-components=1 "$member"
log "applying $(basename "$patch_file")"
patch -d "$work/src" -p1 --batch --quiet <"$patch_file"

mkdir -p "$work/mod"
cp "$work/src/drivers/virtio/virtio_balloon.c" "$work/mod/"
echo 'obj-m := virtio_balloon.o' >"$work/mod/Kbuild"
log "building against $pkg_headers $hver"
# The map keeps the work path out of the debug info: same inputs, same bytes.
make -s -C "$kdir" M="$work/mod" KCFLAGS="-ffile-prefix-map=$work=/bb-build" modules >&2

ko="$work/mod/virtio_balloon.ko"
[ -f "$ko" ] || die "make produced no virtio_balloon.ko"
vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || strings "$ko" | sed -n 's/^vermagic=//p')
case "$vermagic" in
  "$kver "*) ;;
  *) die "built module has vermagic '$vermagic', expected $kver" ;;
esac

mkdir -p "$out/$key.tmp"
cp "$ko" "$out/$key.tmp/virtio_balloon.ko"
cp "$patch_file" "$out/$key.tmp/"
printf '%s=%s\n' "$pkg_headers" "$hver" "$pkg_common" "$cver" "$pkg_kbuild" "$kbver" \
  "$pkg_source" "$sver" >"$out/$key.tmp/inputs.txt"
rm -rf "${out:?}/$key"
mv "$out/$key.tmp" "$out/$key"
rm -rf "$work"
log "built (vermagic: $vermagic)"
echo "$result"
