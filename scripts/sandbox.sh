#!/usr/bin/env bash
# Runs a command inside a private network + mount + pid namespace with its own /run/netns and state
# directory, so nothing it does to interfaces, routes, sysctls, nftables or named namespaces reaches
# the real host, and everything vanishes with the command (even when it is killed).
set -euo pipefail

if [ "${CTNET_SANDBOX:-}" != "1" ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "sandbox.sh: must run as root (it creates network namespaces)" >&2
    exit 1
  fi
  # A pid namespace too: when the sandbox ends or is killed, every process started in it (an agent,
  # podman's conmon, containerd and its shims) goes with it, and pid 1 inside is never the host's init.
  exec unshare --net --mount --pid --fork --mount-proc --propagation private -- env CTNET_SANDBOX=1 "$0" "$@"
fi

mkdir -p /run/netns
mount -t tmpfs -o mode=0755 ctnet-netns /run/netns
state=$(mktemp -d /tmp/ctnet-sandbox.XXXXXX)
mount -t tmpfs -o mode=0700 ctnet-state "$state"
export CTNET_STATE_DIR="$state"
# Children never inherit a CA bundle hint that slows every Node start-up.
unset NODE_EXTRA_CA_CERTS
ip link set lo up
status=0
"$@" || status=$?
umount -l "$state" 2>/dev/null || true
rmdir "$state" 2>/dev/null || true
exit "$status"
