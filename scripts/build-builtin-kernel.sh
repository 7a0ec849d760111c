#!/usr/bin/env bash
# Builds an x86_64 bzImage with every driver a balloon-bench guest needs BUILT IN (=y):
# virtio-pci, virtio-blk, virtio-net, virtio-balloon (with free page reporting), ext4, the
# 8250 serial console, devtmpfs, PVH entry, THP, hugetlbfs and perf events. Such a kernel
# boots straight from the ext4 root disk with no initramfs and no modules tree: it is the
# third kind of kernel the tool must boot, next to Debian's stock kernel (drivers as
# modules, fetched with apt) and a kernel passed with `modules=DIR`. Tests and manual runs use
# it as:
#
#   balloon-bench run --kernel builtin=OUTDIR/bzImage-builtin
#
# Source: Debian's linux-source-6.1 package (the only source reachable from our machines),
# configured from x86_64_defconfig + kvm_guest.config, debug info off, LOCALVERSION
# "-bb-builtin". Only the bzImage is built; no modules are built or installed.
#
# Usage: bash scripts/build-builtin-kernel.sh [OUTDIR]
#   OUTDIR defaults to ~/.cache/balloon-bench-test-kernels; it receives bzImage-builtin and
#   config-builtin (the .config it was built from). If OUTDIR/bzImage-builtin already exists,
#   nothing is done (delete it to rebuild). The build tree is kept in $BB_KBUILD_DIR
#   (default ~/kbuild), so a rebuild after a config change is incremental.
#
# Time on a 2-core machine: about 20-25 min for the compile (measured: 25 min wall, 36 CPU-min,
# with a test suite sharing the CPU), plus ~1 min for apt and unpacking the 140 MB source
# tarball. Re-running with an existing build tree and OUTDIR empty takes ~15 s. Needs about
# 2.5 GB of disk for the build tree. Installs packages with apt-get (sudo when not root).
set -euo pipefail

OUTDIR=${1:-"$HOME/.cache/balloon-bench-test-kernels"}
KBUILD_DIR=${BB_KBUILD_DIR:-"$HOME/kbuild"}
SERIES=6.1
TARBALL=/usr/src/linux-source-$SERIES.tar.xz
SRC=$KBUILD_DIR/linux-source-$SERIES
JOBS=${BB_KBUILD_JOBS:-$(nproc)}

if [ -e "$OUTDIR/bzImage-builtin" ]; then
  echo "build-builtin-kernel: $OUTDIR/bzImage-builtin already exists; nothing to do"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

PACKAGES=(
  "linux-source-$SERIES" # Debian's kernel source tarball
  build-essential bc bison flex libelf-dev libssl-dev cpio python3 xz-utils
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-builtin-kernel: installing ${missing[*]}"
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ ! -f "$SRC/Makefile" ]; then
  echo "build-builtin-kernel: unpacking $TARBALL into $KBUILD_DIR"
  mkdir -p "$KBUILD_DIR"
  rm -rf "$SRC.partial"
  mkdir -p "$SRC.partial"
  tar -xJf "$TARBALL" -C "$SRC.partial"
  mv "$SRC.partial/linux-source-$SERIES" "$SRC"
  rmdir "$SRC.partial"
fi

cd "$SRC"

# Everything a guest needs to reach its virtio-blk ext4 root and virtio-net, and to run the
# bench (balloon with page reporting, THP, hugetlbfs, perf), must be =y.
REQUIRED_Y=(
  VIRTIO VIRTIO_MENU VIRTIO_PCI VIRTIO_BLK VIRTIO_NET VIRTIO_BALLOON VIRTIO_CONSOLE
  HW_RANDOM_VIRTIO PAGE_REPORTING MEMORY_BALLOON BALLOON_COMPACTION
  EXT4_FS BLK_DEV NET_CORE
  HYPERVISOR_GUEST PARAVIRT KVM_GUEST PVH
  TRANSPARENT_HUGEPAGE HUGETLBFS PERF_EVENTS
  DEVTMPFS DEVTMPFS_MOUNT TMPFS UNIX INET
  SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD
)

echo "build-builtin-kernel: configuring (x86_64_defconfig + kvm_guest.config)"
make -s x86_64_defconfig
make -s kvm_guest.config
config_args=()
for option in "${REQUIRED_Y[@]}"; do config_args+=(--enable "$option"); done
# No debug info: it doubles the build time and we never need it (pahole is then not needed).
config_args+=(
  --disable DEBUG_INFO --disable DEBUG_INFO_BTF --disable DEBUG_INFO_DWARF4
  --disable DEBUG_INFO_DWARF5 --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT
  --enable DEBUG_INFO_NONE
  --set-str LOCALVERSION "-bb-builtin" --disable LOCALVERSION_AUTO
)
scripts/config "${config_args[@]}"
make -s olddefconfig

bad=()
for option in "${REQUIRED_Y[@]}"; do
  state=$(scripts/config --state "$option")
  [ "$state" = y ] || bad+=("$option=$state")
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "build-builtin-kernel: error: these options are not =y after olddefconfig: ${bad[*]}" >&2
  exit 1
fi

echo "build-builtin-kernel: make -j$JOBS bzImage (log: $SRC/build-bzImage.log)"
start=$SECONDS
if ! make -j"$JOBS" bzImage >"$SRC/build-bzImage.log" 2>&1; then
  tail -n 30 "$SRC/build-bzImage.log" >&2
  echo "build-builtin-kernel: error: the kernel build failed (full log: $SRC/build-bzImage.log)" >&2
  exit 1
fi
echo "build-builtin-kernel: built in $(((SECONDS - start) / 60)) min"

mkdir -p "$OUTDIR"
cp .config "$OUTDIR/config-builtin"
cp arch/x86/boot/bzImage "$OUTDIR/bzImage-builtin.tmp"
mv "$OUTDIR/bzImage-builtin.tmp" "$OUTDIR/bzImage-builtin"
echo "build-builtin-kernel: wrote $OUTDIR/bzImage-builtin ($(make -s kernelrelease))"
