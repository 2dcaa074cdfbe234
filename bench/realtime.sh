#!/usr/bin/env bash
# Realtime latency, end to end: the simulated clock emits a punch (an EF_ATTLOG realtime event on
# the ZK wire, over loopback TCP) -> the daemon's zk client -> store commit -> rules -> outbox
# commit -> publisher -> a real Mosquitto -> a subscriber receiving the late event. One punch at a
# time, N punches (default 1,000), p50/p99/max in ms. Goal (issue 4): p99 under 100 ms on loopback.
# Runs BenchmarkRealtimeLatency in cmd/punchd; Mosquitto is started by the test harness on a
# free loopback port. Output is also saved under bench/out/.
#   usage: bench/realtime.sh            (N=1000)
#          N=5000 bench/realtime.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "realtime: mosquitto is not installed (apt-get install -y mosquitto)" >&2
  exit 1
fi
n="${N:-1000}"
mkdir -p bench/out
out=bench/out/realtime.txt
go test -run '^$' -bench 'RealtimeLatency' -benchtime "${n}x" ./cmd/punchd/ | tee "$out"
# The last BenchmarkRealtimeLatency line is the run with b.N = n (go test runs b.N = 1 first).
awk -v n="$n" '/^BenchmarkRealtimeLatency/ { line = $0; for (i = 1; i <= NF; i++) {
       if ($i == "p50-ms") p50 = $(i-1); if ($i == "p99-ms") p99 = $(i-1); if ($i == "max-ms") mx = $(i-1) } }
     END { if (line == "") { print "realtime: no benchmark result" > "/dev/stderr"; exit 1 }
       printf "realtime latency over %d punches: p50 %s ms, p99 %s ms, max %s ms (goal p99 < 100 ms): %s\n",
         n, p50, p99, mx, (p99 + 0 < 100 ? "ok" : "OVER") }' "$out"
