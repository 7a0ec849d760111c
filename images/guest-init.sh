#!/bin/sh
# balloon-bench guest PID 1 (POSIX sh; installed as /sbin/init in the rootfs,
# with images/fstab as /etc/fstab).
#
# No systemd, no udev. Mounts the API filesystems, configures QEMU user-net
# statically, mounts the kernel's modules tree, starts sshd in the foreground
# and then only reaps children. Everything else (ssh host key, authorized_keys,
# sshd_config) is generated when the image is built, not here.
# Under TCG every exec costs 50-100 ms, so this script uses shell builtins
# wherever it can and batches the rest (one `mount -a`, one `ip -batch`).
#
# Kernel command line parameters understood (all optional):
#   bb.hostname=NAME         hostname (default: balloon-bench)
#   bb.ip=ADDR/PREFIX        eth0 address (default: 10.0.2.15/24)
#   bb.gw=ADDR               default gateway (default: 10.0.2.2)
#   bb.modules=DEV           block device holding the modules tree, mounted
#                            read-only on /lib/modules; its top level is
#                            <kernel-release>/... with depmod already run
#                            (default: /dev/vdb if it exists; "none" to skip;
#                            LABEL=xxx also works but costs a blkid scan)
#   bb.modprobe=a,b,c        modules to modprobe before sshd starts (default: none)
#
# Console lines meant for the host all start with "balloon-bench: ".
# "balloon-bench: sshd ready" is printed once sshd listens and the network,
# the modules tree and bb.modprobe modules are set up.
#
# To power the guest off from inside: `echo o > /proc/sysrq-trigger`
# (there is no poweroff command); SIGTERM to PID 1 does the same.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

say() { echo "balloon-bench: $*"; }

# /proc, /sys and /dev are normally moved over by the initramfs; `mount -a`
# skips what is already mounted and mounts the rest of /etc/fstab.
[ -r /proc/cmdline ] || mount -t proc -o nosuid,nodev,noexec proc /proc
mkdir -p /dev/pts /dev/shm 2>/dev/null || true
mount -a || say "warning: mount -a failed"

read -r cmdline </proc/cmdline
read -r release </proc/sys/kernel/osrelease

hostname=balloon-bench
ip=10.0.2.15/24
gw=10.0.2.2
modules=
modprobe_list=
for arg in $cmdline; do
    case "$arg" in
        bb.hostname=*) hostname=${arg#bb.hostname=} ;;
        bb.ip=*) ip=${arg#bb.ip=} ;;
        bb.gw=*) gw=${arg#bb.gw=} ;;
        bb.modules=*) modules=${arg#bb.modules=} ;;
        bb.modprobe=*) modprobe_list=${arg#bb.modprobe=} ;;
    esac
done

echo "$hostname" >/proc/sys/kernel/hostname

# PID 1 ignores signals it has no handler for; make TERM/INT power off.
trap 'say "powering off"; sync; echo o >/proc/sysrq-trigger' TERM INT USR2

# Start sshd first: it binds 0.0.0.0:22, which needs no configured eth0, and
# its start-up (dynamic linking under TCG, ~0.5 s) overlaps with the rest.
# Its log (-e: stderr) goes through a FIFO that this script reads, so the
# ready marker is printed only once sshd listens AND the guest is set up.
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
rm -f /run/bb-sshd.log
mkfifo -m 0600 /run/bb-sshd.log
# -r: no re-exec per connection (saves ~0.25 s per login under TCG;
# OpenSSH 9.2 as in bookworm).
/usr/sbin/sshd -D -e -r 2>/run/bb-sshd.log </dev/null &
sshd_job=$!
exec 3</run/bb-sshd.log
rm -f /run/bb-sshd.log

# Root may have been mounted read-only (ro on the kernel command line).
case " $cmdline " in
    *" ro "*) mount -o remount,rw / || say "warning: cannot remount / rw" ;;
esac

# Modules tree of the running kernel (a read-only ext4 disk built on the host).
if [ -z "$modules" ] && [ -b /dev/vdb ]; then
    modules=/dev/vdb
fi
if [ -n "$modules" ] && [ "$modules" != none ] && ! [ -d "/lib/modules/$release/kernel" ]; then
    mount -t ext4 -o ro,noload "$modules" /lib/modules ||
        say "warning: cannot mount $modules on /lib/modules"
    if [ -d "/lib/modules/$release/kernel" ]; then
        say "modules tree mounted for $release"
    else
        say "warning: no modules tree for $release on $modules"
    fi
fi

# Network: QEMU user-mode networking, static addressing, no DHCP.
[ -e /sys/class/net/eth0 ] || modprobe virtio_net || true
if [ -e /sys/class/net/eth0 ]; then
    {
        echo "link set lo up"
        echo "addr add $ip dev eth0"
        echo "link set eth0 up"
        [ -n "$gw" ] && echo "route add default via $gw dev eth0"
    } | ip -batch - || say "warning: network setup failed"
else
    ip link set lo up
    say "warning: no eth0"
fi

if [ -n "$modprobe_list" ]; then
    oldifs=$IFS
    IFS=,
    # shellcheck disable=SC2086 # split on commas on purpose
    set -- $modprobe_list
    IFS=$oldifs
    for m in "$@"; do
        [ -n "$m" ] && { modprobe "$m" || say "warning: modprobe $m failed"; }
    done
fi

# Copy sshd's log to the console (sshd -e logs each login there) and print
# the ready marker when it says it listens. A subshell: no exec.
copy_log() {
    while IFS= read -r line; do
        echo "$line"
        case "$line" in
            "Server listening on "*) say "sshd ready" ;;
        esac
    done
}

ready=
while IFS= read -r line <&3; do
    echo "$line"
    case "$line" in
        "Server listening on "*) ready=1; break ;;
    esac
done
if [ -n "$ready" ]; then
    say "sshd ready"
else
    say "warning: sshd exited before listening"
fi
copy_log <&3 &
exec 3<&-

start_sshd() {
    /usr/sbin/sshd -D -e -r 2>&1 </dev/null | copy_log &
    sshd_job=$!
}

# Reap every child: orphans are re-parented to PID 1, and dash's wait
# collects any child while it waits. Restart sshd if it ever exits.
while :; do
    wait "$sshd_job"
    if ! kill -0 "$sshd_job" 2>/dev/null; then
        say "sshd exited; restarting"
        sleep 1
        start_sshd
    fi
done
