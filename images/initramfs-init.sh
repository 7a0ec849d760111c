#!/bin/sh
# balloon-bench initramfs /init (POSIX sh, run by busybox-static).
#
# Layout expected inside the initramfs (built by the host side):
#   /bin/busybox            busybox-static, plus symlinks for the applets below
#   /init                   this script
#   /lib/modules/*.ko       the .ko files to load (flat directory)
#   /etc/modules.load       one line per module, in load (dependency) order:
#                             <file.ko> [module parameters...]
#                           blank lines and lines starting with '#' are ignored;
#                           a line starting with '?' (e.g. '?crc32c-intel.ko')
#                           is optional: failure to load it is not fatal.
#                           An empty or missing file is fine (all built in).
#
# Kernel command line parameters understood:
#   root=/dev/vda  rootfstype=ext4  rootflags=...  ro|rw  init=/sbin/init
#   bb.rootwait=SECONDS   how long to wait for the root device (default 10)
#
# On any error it prints a line starting with "balloon-bench: initramfs error:"
# and exits, which panics the kernel; with panic=-1 and QEMU -no-reboot the
# VM then stops at once instead of hanging.

PATH=/bin:/sbin
export PATH

fail() {
    echo "balloon-bench: initramfs error: $*" >/dev/console 2>&1 ||
        echo "balloon-bench: initramfs error: $*"
    exit 1
}

mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
# If the cpio had no /dev/console node (e.g. built without root), the kernel
# could not open one for us: stdin/stdout/stderr are closed until this line.
exec </dev/console >/dev/console 2>&1

root=/dev/vda
rootfstype=ext4
rootflags=
rootmode=rw
init=/sbin/init
rootwait=10

read -r cmdline </proc/cmdline
for arg in $cmdline; do
    case "$arg" in
        root=*) root=${arg#root=} ;;
        rootfstype=*) rootfstype=${arg#rootfstype=} ;;
        rootflags=*) rootflags=${arg#rootflags=} ;;
        init=*) init=${arg#init=} ;;
        ro) rootmode=ro ;;
        rw) rootmode=rw ;;
        bb.rootwait=*) rootwait=${arg#bb.rootwait=} ;;
    esac
done

if [ -f /etc/modules.load ]; then
    while read -r mod params; do
        case "$mod" in
            '' | '#'*) continue ;;
        esac
        optional=
        case "$mod" in
            '?'*) optional=1; mod=${mod#?} ;;
        esac
        # shellcheck disable=SC2086 # params are intentionally split
        if ! insmod "/lib/modules/$mod" $params; then
            [ -n "$optional" ] || fail "insmod $mod failed"
        fi
    done </etc/modules.load
fi

# virtio-blk probes synchronously on driver load, but allow for a late device.
tries=$((rootwait * 20))
while [ ! -b "$root" ]; do
    [ "$tries" -gt 0 ] || fail "root device $root not found"
    tries=$((tries - 1))
    usleep 50000
done

opts=$rootmode
[ -n "$rootflags" ] && opts="$opts,$rootflags"
mount -t "$rootfstype" -o "$opts" "$root" /newroot ||
    fail "mount -t $rootfstype -o $opts $root"
[ -x "/newroot$init" ] || [ -L "/newroot$init" ] || fail "no $init on $root"

# Hand /dev, /proc and /sys over to the real root instead of remounting them.
for d in dev proc sys; do
    mkdir -p "/newroot/$d" 2>/dev/null
    mount --move "/$d" "/newroot/$d" || umount "/$d"
done

# shellcheck disable=SC2093 # only reached if exec fails
exec switch_root /newroot "$init"
fail "switch_root failed"
