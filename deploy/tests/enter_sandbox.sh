#!/usr/bin/env bash
# Run inside `unshare -m`: the file-system and privilege part of afp_exporter.service
# without systemd, then exec COMMAND.
#
#   enter_sandbox.sh UID COMMAND...
#
# - ProtectSystem=strict + ProtectHome=read-only: every mount remounted read-only, as a
#   bind mount of itself (the host keeps its own mounts writable);
# - DynamicUser=yes: UID/GID UID, no supplementary groups;
# - NoNewPrivileges=yes, CapabilityBoundingSet= (empty), UMask=0077.
# Not emulated: the seccomp filter (syscalls.sh checks it), PrivateTmp/PrivateDevices and
# the kernel protections (the exporter writes nothing and opens no device).
set -euo pipefail
uid=$1
shift

# /proc, /sys and /dev keep their own protections (ProtectKernelTunables and friends).
while read -r mount_point; do
  mount_point=$(printf '%b' "$mount_point")  # \040 etc. as the kernel escapes them
  case "$mount_point" in
    /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
  esac
  mount -o remount,bind,ro "$mount_point" 2>/dev/null || true
done < <(awk '{ print $5 }' /proc/self/mountinfo)

if touch /.afp-sandbox-write-test 2>/dev/null; then
  rm -f /.afp-sandbox-write-test
  echo "enter_sandbox: / is still writable: the read-only remount did not take" >&2
  exit 1
fi

umask 0077
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs \
  --inh-caps=-all --bounding-set=-all -- "$@"
