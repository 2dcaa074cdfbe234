#!/usr/bin/env bash
# The publisher's share of the punch-to-subscriber latency: 1,000 times, one event committed to
# the bbolt outbox, Notify(), and a subscriber on a real Mosquitto receiving it; p50/p99 in ms.
# (The end-to-end figure from the simulated clock is the daemon's benchmark.)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go test -run '^$' -bench 'NotifyLatency' -benchtime 1x ./sync/publish/ | tee bench/out/outbox_latency.txt
