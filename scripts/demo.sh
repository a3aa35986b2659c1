#!/usr/bin/env bash
# The seed article's topology built with ctnet, inside the sandbox (scripts/sandbox.sh runs this):
# two containers on a bridge with a gateway, and a way out to an "internet" namespace through
# masquerade. Every ping below really crosses the veths, the bridge and the NAT.
set -euo pipefail
cd "$(dirname "$0")/.."
ctnet() { node bin/ctnet.js "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$@"; "$@"; }

# "The internet": a namespace behind an uplink veth, with a server address from a documentation range.
ip netns add world
ip link add uplink0 type veth peer name eth0 netns world
ip addr add 198.51.100.2/24 dev uplink0 && ip link set uplink0 up
ip -n world addr add 198.51.100.1/24 dev eth0 && ip -n world link set eth0 up && ip -n world link set lo up
ip -n world addr add 203.0.113.10/32 dev lo
ip route add default via 198.51.100.1

run ctnet netns add net1
run ctnet netns add net2
run ctnet network create mynet --subnet 10.68.0.0/24 --bridge mybridge
run ctnet connect mynet net1 --ip 10.68.0.101
run ctnet connect mynet net2 --ip 10.68.0.102
run ctnet ls
run ctnet network inspect mynet
say "container -> container"; ctnet exec net1 -- ping -c 2 -W 1 10.68.0.102
say "container -> gateway"; ctnet exec net1 -- ping -c 2 -W 1 10.68.0.1
say "host -> container"; ping -c 2 -W 1 10.68.0.101
say "container -> internet (203.0.113.10, masqueraded as 198.51.100.2)"; ctnet exec net2 -- ping -c 2 -W 1 203.0.113.10
run ctnet exec net1 -- ip route
run nft list table inet ctnet
run ctnet disconnect mynet net1
run ctnet disconnect mynet net2
run ctnet network rm mynet
run ctnet netns del net1
run ctnet netns del net2
echo
echo "demo finished: everything above ran in a private network namespace and is gone now"
