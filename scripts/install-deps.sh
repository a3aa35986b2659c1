#!/usr/bin/env bash
# Installs everything ctnet needs to build and test on Debian 12 (system packages, npm packages, the
# native addon, the compiled TypeScript), then installs ctnet itself: `ctnet` and `ctnet-cni` on
# PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != "0" ]; then
  echo "install-deps.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  nftables iptables iproute2 iputils-ping util-linux procps g++ make python3 \
  podman containerd containernetworking-plugins netavark busybox-static >/dev/null
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "install-deps.sh: ctnet needs Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
npm ci --no-audit --no-fund
npm run build

# ctnet is installed the way npm installs any package, from the tarball `npm pack` makes of this
# checkout: what lands on PATH is exactly what the package ships, and a file missing from it fails
# here rather than for someone installing it later. The build above is fresh, so pack skips its
# prepack rebuild. --allow-scripts lets npm's script policy run the two native builds (ctnet's
# addon, better-sqlite3).
pack_dir=$(mktemp -d)
trap 'rm -rf "$pack_dir"' EXIT
npm pack --ignore-scripts --silent --pack-destination "$pack_dir" >/dev/null
tarball=$(echo "$pack_dir"/ctnet-*.tgz)
npm install -g --no-audit --no-fund --allow-scripts="$tarball,better-sqlite3" "$tarball"
if ! command -v ctnet >/dev/null; then
  echo "install-deps.sh: npm installed ctnet into $(npm prefix -g)/bin, which is not on PATH" >&2
  exit 1
fi
echo "install-deps.sh: ctnet $(ctnet --version) installed as $(command -v ctnet) and $(command -v ctnet-cni)"
