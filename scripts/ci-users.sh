#!/usr/bin/env bash
# CI machine set-up, as root only: two normal users the suite runs the README's main command
# and `doctor` as (test/integration/normal-user.test.ts). bb-user cannot open /dev/kvm;
# bb-kvm-user is in group kvm, which owns /dev/kvm rw as Debian's udev rule sets it up.
# Safe to re-run; does nothing when not root (the suite then runs those tests as you).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exit 0

for user in bb-user bb-kvm-user; do
  if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh "$user"
  fi
  # Subordinate ids for mmdebstrap's user namespace (useradd adds them where login.defs says).
  if ! grep -q "^$user:" /etc/subuid 2>/dev/null; then
    start=$((200000 + 65536 * $(id -u "$user") % 400000000))
    usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"
  fi
done

getent group kvm >/dev/null || groupadd --system kvm
usermod --append --groups kvm bb-kvm-user
if [ -c /dev/kvm ]; then
  chgrp kvm /dev/kvm
  chmod 0660 /dev/kvm
fi
echo "ci-users: bb-user (no /dev/kvm) and bb-kvm-user (group kvm) ready"
