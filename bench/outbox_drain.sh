#!/usr/bin/env bash
# Outbox drain rate: 10,000 queued events published to a real Mosquitto (started by the test
# harness on a free loopback port) and acknowledged, the outbox emptied entry by entry.
#   BenchmarkDrain10k       in-memory outbox: the MQTT path alone
#   BenchmarkDrain10kStore  the bbolt outbox with fsync on: what the daemon does
# Goal (issue 4): under 2 s per 10,000 events. Output is also saved under bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "outbox_drain: mosquitto is not installed (apt-get install -y mosquitto)" >&2
  exit 1
fi
mkdir -p bench/out
count="${COUNT:-5}"
go test -run '^$' -bench 'Drain10k' -benchtime "${count}x" ./sync/publish/ | tee bench/out/outbox_drain.txt
awk '/^BenchmarkDrain10k/ { for (i = 1; i <= NF; i++) if ($i == "s/10k") s = $(i-1);
     printf "%-28s %s s per 10,000 events (goal < 2 s): %s\n", $1, s, (s < 2 ? "ok" : "OVER") }' bench/out/outbox_drain.txt
