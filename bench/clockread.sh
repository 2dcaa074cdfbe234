#!/usr/bin/env bash
# bench/clockread.sh: how fast the clock's attendance log is read.
#
#   1. zkclock with 100,000 40-byte records and no pacing, read by our client
#      (punchctl clock dump) and by node-zklib in the same run: records/s, MB/s and the ratio;
#      plus the simulator's own ceiling (raw reader) and the loopback floor (the same bytes over
#      a loopback TCP socket), from the Go benchmarks in device/zk/zksim.
#   2. The same log with a real clock's timing (20 ms per data packet, 3 ms reply delay): each
#      client's time and its overhead above the clock's floor (packets × pacing).
#
# Usage: bench/clockread.sh            (N=100000 PACED=1; the paced part takes ~3 minutes)
#        N=20000 PACED=0 bench/clockread.sh
# Needs go; node and npm for the node-zklib column (skipped with a note when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
PACED=${PACED:-1}
PACING=${PACING:-20ms}
REPLY_DELAY=${REPLY_DELAY:-3ms}
RUNS=${RUNS:-3}
TZ_CLOCK=Asia/Shanghai

tmp=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/zkclock" ./cmd/zkclock
go build -o "$tmp/punchctl" ./cmd/punchctl

have_node=0
if command -v node >/dev/null && command -v npm >/dev/null; then
	have_node=1
	if [ ! -f witness/zklib/node_modules/node-zklib/package.json ]; then
		(cd witness/zklib && npm ci --no-audit --no-fund >/dev/null)
	fi
fi

now() { date +%s.%N; }

# start_clock ARGS...: starts zkclock on a free loopback port; sets PID and PORT.
start_clock() {
	"$tmp/zkclock" --tcp 127.0.0.1:0 --udp "" --records "$N" --people 200 --log-level warn "$@" \
		>"$tmp/clock.out" 2>"$tmp/clock.err" &
	PID=$!
	for _ in $(seq 1 200); do
		grep -q '^ready$' "$tmp/clock.out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^ready$' "$tmp/clock.out" || { echo "zkclock did not start:"; cat "$tmp/clock.err"; exit 1; }
	PORT=$(awk '/^tcp /{n=split($2,a,":"); print a[n]}' "$tmp/clock.out")
}
stop_clock() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# ours: one timed `punchctl clock dump`; prints seconds, checks the record count.
ours() {
	local t0 t1 n
	t0=$(now)
	"$tmp/punchctl" clock dump --clock "zk+tcp://127.0.0.1:$PORT" --tz "$TZ_CLOCK" --json --timeout 30s >"$tmp/dump.jsonl"
	t1=$(now)
	n=$(wc -l <"$tmp/dump.jsonl")
	if [ "$n" -ne "$N" ]; then echo "punchctl clock dump returned $n records, want $N" >&2; exit 1; fi
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}'
}

# node_read: node-zklib's getAttendances; prints its JSON line.
node_read() {
	(cd witness/zklib && TZ=$TZ_CLOCK node bench.js --port "$PORT" --timeout 20000)
}
jget() { node -e 'const o=JSON.parse(process.argv[1]); const v=o[process.argv[2]]; console.log(v===null||v===undefined?"":v)' "$1" "$2"; }

bytes=$((N * 40 + 4))
rate() { awk -v n="$N" -v b="$bytes" -v s="$1" 'BEGIN{printf "%10.0f records/s %8.2f MB/s", n/s, b/s/1e6}'; }

echo "== 1. $N records of 40 bytes, no pacing (host: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)) =="
start_clock
best=
for i in $(seq 1 "$RUNS"); do
	s=$(ours)
	if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; fi
done
echo "ours (punchctl clock dump, best of $RUNS): ${best}s  $(rate "$best")"
node_ok=0
if [ "$have_node" = 1 ]; then
	nj=$(node_read)
	nrec=$(jget "$nj" records)
	nsec=$(jget "$nj" seconds)
	nerr=$(jget "$nj" error)
	if [ "$nrec" = "$N" ] && [ -z "$nerr" ]; then
		node_ok=1
		echo "node-zklib:                       ${nsec}s  $(rate "$nsec")"
		awk -v a="$nsec" -v b="$best" 'BEGIN{printf "ratio node-zklib time / ours: %.1fx\n", a/b}'
	else
		echo "node-zklib:                       FAILED after ${nsec}s: $nrec of $N records, error: ${nerr:-none}"
		echo "ratio: node-zklib cannot read an unpaced clock (merged TCP frames); see the paced run"
	fi
else
	echo "node-zklib: skipped (node/npm not installed)"
fi
stop_clock

echo "-- Go benchmarks (device/zk/zksim): simulator ceiling with a raw reader, and the loopback floor"
go test -run '^$' -bench 'SimServe100k|LoopbackFloor' -benchtime 5x ./device/zk/zksim |
	awk '/^Benchmark/{printf "%-28s %8.1f ms/op %8.2f MB/s %12.0f records/s\n", $1, $3/1e6, $5, $7}'
floor_ms=$(go test -run '^$' -bench 'LoopbackFloor' -benchtime 10x ./device/zk/zksim | awk '/^Benchmark/{print $3/1e6}')
awk -v o="$best" -v f="$floor_ms" 'BEGIN{printf "punchctl vs loopback floor (%.1f ms): %.1fx (process start, connect and JSON output included)\n", f, o*1000/f}'
# Our client in process (device/zk's benchmark against zksim): the read itself, without punchctl around it.
client_ms=$(go test -run '^$' -bench 'ReadAttLog100k$' -benchtime 10x ./device/zk 2>/dev/null | awk '/^BenchmarkReadAttLog100k/{print $3/1e6}')
if [ -n "$client_ms" ]; then
	awk -v c="$client_ms" -v f="$floor_ms" -v n="$N" 'BEGIN{printf "device/zk client in process, 100000 records: %.1f ms (%.0f records/s), %.1fx the loopback floor\n", c, 100000/(c/1000), c/f}'
	if [ "$node_ok" = 1 ]; then awk -v a="$nsec" -v c="$client_ms" 'BEGIN{printf "ratio node-zklib / device/zk client: %.0fx\n", a*1000/c}'; fi
fi

if [ "$PACED" = 1 ]; then
	echo
	echo "== 2. the same log with a real clock's timing: pacing $PACING per data packet, reply delay $REPLY_DELAY =="
	start_clock --pacing "$PACING" --reply-delay "$REPLY_DELAY"
	pace_s=$(awk -v p="$PACING" 'BEGIN{sub(/ms$/,"",p); print p/1000}')
	# The clock sleeps before each data packet and before the final ACK of each 65472-byte chunk.
	floor=$(awk -v b="$bytes" -v p="$pace_s" 'BEGIN{s=0; for(o=0;o<b;o+=65472){l=(b-o<65472)?b-o:65472; s+=int((l+1007)/1008)+1}; printf "%.3f", s*p}')
	rd_s=$(awk -v p="$REPLY_DELAY" 'BEGIN{sub(/ms$/,"",p); print p/1000}')
	chunks=$(( (bytes + 65471) / 65472 ))
	echo "clock floor (packets x pacing): ${floor}s, plus $chunks READ_BUFFER replies x $REPLY_DELAY = $(awk -v c="$chunks" -v r="$rd_s" 'BEGIN{printf "%.3f", c*r}')s"
	floor=$(awk -v f="$floor" -v c="$chunks" -v r="$rd_s" 'BEGIN{printf "%.3f", f+c*r}')
	s=$(ours)
	awk -v s="$s" -v f="$floor" 'BEGIN{printf "ours:       %8.3fs  overhead above the floor %.3fs (%.2f%%)\n", s, s-f, 100*(s-f)/f}'
	if [ "$have_node" = 1 ]; then
		nj=$(node_read)
		nrec=$(jget "$nj" records)
		nsec=$(jget "$nj" seconds)
		nerr=$(jget "$nj" error)
		awk -v s="$nsec" -v f="$floor" -v n="$nrec" -v e="$nerr" 'BEGIN{printf "node-zklib: %8.3fs  overhead above the floor %.3fs (%.2f%%), %d records%s\n", s, s-f, 100*(s-f)/f, n, (e==""?"":", error: " e)}'
		awk -v a="$nsec" -v b="$s" 'BEGIN{printf "ratio node-zklib time / ours (paced): %.3fx\n", a/b}'
	fi
	stop_clock
fi
