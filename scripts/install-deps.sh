#!/usr/bin/env bash
# Installs everything ctnet needs to build and test on Debian 12: system packages, npm packages, the
# native addon and the compiled TypeScript. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != "0" ]; then
  echo "install-deps.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  nftables iproute2 iputils-ping util-linux procps g++ make python3 \
  podman containernetworking-plugins netavark busybox-static >/dev/null
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "install-deps.sh: ctnet needs Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
npm ci --no-audit --no-fund
npm run build
