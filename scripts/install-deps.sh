#!/usr/bin/env bash
# Installs the system packages balloon-bench needs on Debian 12 / Ubuntu 22.04+ (safe to re-run).
set -euo pipefail

PACKAGES=(
  qemu-system-x86   # the emulator (KVM and TCG)
  qemu-utils        # qemu-img: copy-on-write overlays of the guest image
  util-linux        # setpriv: QEMU dies with the tool, even on SIGKILL
  procps            # pgrep/ps for the no-orphan checks
  mmdebstrap        # guest root filesystem from Debian packages
  uidmap            # newuidmap: mmdebstrap --mode=unshare builds the image as a normal user
  fakeroot          # keeps the image's root ownership through tar and mke2fs -d, without root
  e2fsprogs         # mke2fs -d: ext4 image without a loop mount
  busybox-static    # the per-kernel initramfs
  cpio              # packs that initramfs
  zstd xz-utils lz4 # decompress kernel payloads for PVH boot
  kmod              # depmod/modinfo for the guest's modules tree
  openssh-client    # ssh-keygen for the image's pinned keys
  gcc libc6-dev     # builds alloc_once static
  linux-perf        # perf on the host (reads perf.data from `profile`)
  shellcheck        # the workflow lint test checks every `run:` script of .github/workflows
  iproute2          # ss, for the port-binding test
  tmux              # a real pseudo-terminal for the `shell` test
  chromium          # the test that renders the HTML report in a real browser
  qemu-system-data  # firmware: SeaBIOS, and qboot for fast PVH boot
  # kernel builds from a source tree (src/machine/kernel-build): kbuild's tools and headers
  make bc bison flex libelf-dev libssl-dev git ccache
  ca-certificates
  # The device-init test fixtures (scripts/build-test-qemu.sh, scripts/build-test-balloon-module.sh)
  # and `balloon-bench qemu build`: a QEMU 10 build and an out-of-tree virtio_balloon.ko
  ninja-build pkg-config python3-venv libglib2.0-dev libpixman-1-dev libslirp-dev zlib1g-dev
  dpkg-dev patch make gcc-12 debian-archive-keyring
)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

# `run` fetches Debian's stock kernel with apt-get download: it needs package lists.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  echo "install-deps: no apt package lists yet; running apt-get update"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  updated=1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  [ -n "${updated:-}" ] || "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all system packages present"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: error: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none)); install Node 20 or newer first" >&2
  exit 1
fi
