#!/usr/bin/env bash
# Steady-state memory and idle CPU of the real punchd binary with four clocks.
#
# Builds punchd and zkclock, starts on loopback only: a Mosquitto (config file, listener bound to
# 127.0.0.1), four simulated clocks (zkclock over TCP, 60 people x 30 days each, ~5,000 records
# apiece, the log a real office clock holds after a month) and punchd with four [[clock]] entries
# (poll_interval 1m, realtime on). After STEADY seconds (default 60) it reads VmRSS and VmHWM from
# /proc/PID/status, then measures CPU (utime+stime from /proc/PID/stat) over an IDLE-second window
# (default 30) as a % of one core. The idle window is what the daemon does on a quiet day: the
# realtime links' heartbeats and, with poll_interval 1m, one full pull of each clock. Go heap
# figures from /metrics are printed alongside to tell heap from runtime overhead.
# Goal (issue 4): RSS under 30 MB. Everything it starts is stopped on exit (trap).
# It also prints the first start: CPU used and VmHWM by the time every clock's first (whole) pull
# is committed.
#   usage: bench/rss.sh
#          STEADY=120 IDLE=60 GOGC=50 bench/rss.sh     (GOGC/GOMEMLIMIT are passed to punchd)
#          PEOPLE=200 DAYS=90 bench/rss.sh              (a bigger office / a longer log)
#          RECORDS=60000 bench/rss.sh                   (exactly this many records a clock)
#          CLOCKS=50 PACING=20ms REPLY_DELAY=3ms IDLE=120 GOAL_MB=60 bench/rss.sh
#                                                       (50 clocks paced like real ones: issue 12)
#          GODEBUG=gctrace=1 KEEP_LOGS=/tmp/rss bench/rss.sh   (keep punchd's log: the GC trace)
set -euo pipefail
cd "$(dirname "$0")/.."
steady="${STEADY:-60}"
idle="${IDLE:-30}"
people="${PEOPLE:-60}"
days="${DAYS:-30}"
records="${RECORDS:-0}"
clocks="${CLOCKS:-4}"
pacing="${PACING:-0s}"
reply_delay="${REPLY_DELAY:-0s}"
goal_mb="${GOAL_MB:-30}"

mosq="$(command -v mosquitto || true)"
[ -z "$mosq" ] && [ -x /usr/sbin/mosquitto ] && mosq=/usr/sbin/mosquitto
if [ -z "$mosq" ]; then
  echo "rss: mosquitto is not installed (apt-get install -y mosquitto)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/punchd-rss.XXXXXX")"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$work"/*.toml "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port nobody listens on (checked with ss; the caller binds it soon).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Hltn "sport = :$p" | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  echo "rss: no free port found" >&2
  return 1
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds or the time is up.
wait_until() {
  local secs=$1 what=$2
  shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then
      echo "rss: timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

echo "building punchd and zkclock..."
env -u GODEBUG go build -o "$work/punchd" ./cmd/punchd   # a GODEBUG for punchd (gctrace) is not the compiler's
env -u GODEBUG go build -o "$work/zkclock" ./cmd/zkclock

# Mosquitto, loopback only.
mport="$(free_port)"
cat >"$work/mosquitto.conf" <<EOF
listener $mport 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
EOF
"$mosq" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
pids+=($!)
wait_until 10 "mosquitto on 127.0.0.1:$mport" bash -c "ss -Hltn 'sport = :$mport' | grep -q ."

# The simulated clocks, all in one zkclock process; it prints "tcp 127.0.0.1:PORT" for each.
out="$work/zkclock.out"
"$work/zkclock" --tcp 127.0.0.1:0 --udp "" --clocks "$clocks" --people "$people" --days "$days" --records "$records" \
  --seed 1 --serial-number RSSBENCH0001 --pacing "$pacing" --reply-delay "$reply_delay" --log-level warn \
  >"$out" 2>"$work/zkclock.err" &
pids+=($!)
wait_until 120 "zkclock with $clocks clocks" grep -q '^ready$' "$out"
clock_toml=""
i=0
for addr in $(awk '/^tcp /{print $2}' "$out"); do
  i=$((i + 1))
  clock_toml+="
[[clock]]
name = \"clock$i\"
url = \"zk+tcp://$addr\"
poll_interval = \"1m\"
realtime = true
"
done

hport="$(free_port)"
cat >"$work/punchd.toml" <<EOF
[site]
name = "rss"
timezone = "Asia/Shanghai"
roster = ""

[store]
path = "$work/punchd.db"
$clock_toml
[mqtt]
broker = "tcp://127.0.0.1:$mport"
client_id = "punchd-rss"
topic_prefix = "punchd/rss"

[http]
listen = "127.0.0.1:$hport"

[api]
socket = "$work/punchd.sock"

[reports]
dir = "$work/reports"

[log]
level = "warn"
EOF

"$work/punchd" --config "$work/punchd.toml" 2>"$work/punchd.log" &
pid=$!
pids+=($pid)
metrics="http://127.0.0.1:$hport/metrics"
# The first start's peak anonymous and file-backed resident memory (the store's map, the
# executable), sampled every 0.2 s until every clock is read: VmHWM alone does not say which.
(
  pa=0 pf=0
  while [ ! -e "$work/first.done" ] && kill -0 "$pid" 2>/dev/null; do
    read -r a f < <(awk '$1 == "RssAnon:" {a = $2} $1 == "RssFile:" {f = $2} END {print a + 0, f + 0}' "/proc/$pid/status" 2>/dev/null || echo 0 0)
    [ "${a:-0}" -gt "$pa" ] && pa=$a
    [ "${f:-0}" -gt "$pf" ] && pf=$f
    echo "$pa $pf" >"$work/first.peak"
    echo "$SECONDS $a $f" >>"$work/first-rss.log" # kept by KEEP_LOGS: the first start over time
    sleep 0.2
  done
) &
pids+=($!)
# Up and read: every clock's first (whole) pull committed.
clocks_up() { [ "$(curl -fsS "$metrics" | grep '^punchd_clock_last_successful_pull_timestamp_seconds{' | grep -vc ' 0$')" -eq "$clocks" ]; }
if ! wait_until 900 "punchd with $clocks clocks read" clocks_up; then
  tail -n 20 "$work/punchd.log" >&2
  exit 1
fi
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
cpu_ticks() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'; }
hz=$(getconf CLK_TCK)
first_cpu=$(cpu_ticks)
first_hwm=$(status_kb VmHWM)
first_wall=$(($(date +%s) - $(stat -c %Y "/proc/$pid")))
touch "$work/first.done"
read -r first_anon first_file <"$work/first.peak"
echo "punchd pid $pid: $clocks clocks up and read; steady state for ${steady}s (VmRSS every 10 s):"
start=$SECONDS
line=""
while [ $((SECONDS - start)) -lt "$steady" ]; do
  line+=" $((SECONDS - start))s:$(status_kb VmRSS | awk '{printf "%.1f", $1 / 1024}')"
  sleep $((steady - (SECONDS - start) < 10 ? steady - (SECONDS - start) : 10))
done
echo " VmRSS MB by time since all clocks were up:$line"
kill -0 "$pid" 2>/dev/null || { echo "rss: punchd exited" >&2; tail -n 20 "$work/punchd.log" >&2; exit 1; }
rss=$(status_kb VmRSS)
hwm=$(status_kb VmHWM)
anon=$(status_kb RssAnon)
file=$(status_kb RssFile)

# CPU over the idle window: fields 14 and 15 of /proc/PID/stat (after the ")" of the command name).
pulls_now() { curl -fsS "$metrics" | awk '/^punchd_clock_pull_duration_seconds_count\{.*result="success"/{s += $2} END {print s + 0}'; }
p0=$(pulls_now)
t0=$(cpu_ticks)
w0=$(date +%s.%N)
sleep "$idle"
t1=$(cpu_ticks)
w1=$(date +%s.%N)
p1=$(pulls_now)
rss_end=$(status_kb VmRSS)
hwm_end=$(status_kb VmHWM)

m="$(curl -fsS "$metrics")"
records="$(echo "$m" | awk '/^punchd_clock_records\{/{s += $2} END {print s + 0}')"
# Where the resident pages are: the executable's own mappings, the bbolt file's mmap, anonymous
# memory (the Go heap, stacks and runtime), from /proc/PID/smaps.
smaps="$(awk -v exe="$(readlink "/proc/$pid/exe")" -v db="$work/punchd.db" '
  /^[0-9a-f]+-[0-9a-f]+ / { path = (NF >= 6 ? $6 : ""); next }
  $1 == "Rss:" { if (path == exe) b += $2; else if (path == db) d += $2; else if (path == "" || path ~ /^\[/) a += $2; else o += $2 }
  END { printf "executable %.1f MB, store mmap %.1f MB, anonymous %.1f MB, other files %.1f MB", b / 1024, d / 1024, a / 1024, o / 1024 }' "/proc/$pid/smaps")"
dbsize="$(du -k "$work/punchd.db" | awk '{printf "%.1f", $1 / 1024}')"
exesize="$(du -k "$work/punchd" | awk '{printf "%.1f", $1 / 1024}')"
gm() { echo "$m" | awk -v n="$1" '$1 == n {printf "%.1f", $2 / 1048576}'; }
ingested="$(echo "$m" | awk '/^punchd_punches_ingested_total\{/{s += $2} END {print s + 0}')"
pulls="$(echo "$m" | awk '/^punchd_clock_pull_duration_seconds_count\{.*result="success"/{s += $2} END {print s + 0}')"

echo
echo "== punchd, $clocks clocks x ~$((records / clocks)) records, $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "punches stored: $ingested; successful pulls: $pulls; record bytes moved: $(echo "$m" | awk '/^punchd_clock_read_bytes_total\{/{s += $2} END {print s + 0}')"
awk -v c="$first_cpu" -v hz="$hz" -v h="$first_hwm" -v w="$first_wall" -v a="$first_anon" -v f="$first_file" 'BEGIN {
  printf "first start (every clock read whole and committed, ~%d s): %.1f s of CPU, VmHWM %.1f MB (peaks: anon %.1f MB, file %.1f MB)\n", w, c / hz, h / 1024, a / 1024, f / 1024 }'
awk -v r="$rss" -v h="$hwm" -v a="$anon" -v f="$file" -v re="$rss_end" -v he="$hwm_end" 'BEGIN {
  printf "RSS after %ss steady state: VmRSS %.1f MB (anon %.1f, file %.1f), VmHWM %.1f MB (goal < %s MB): %s\n",
    '"$steady"', r / 1024, a / 1024, f / 1024, h / 1024, '"$goal_mb"', (r / 1024 < '"$goal_mb"' ? "ok" : "OVER");
  printf "RSS after the idle window: VmRSS %.1f MB, VmHWM %.1f MB\n", re / 1024, he / 1024 }'
echo "resident after the idle window: $smaps (store file $dbsize MB, executable $exesize MB)"
echo "Go heap: heap_inuse $(gm go_memstats_heap_inuse_bytes) MB, heap_idle $(gm go_memstats_heap_idle_bytes) MB, heap_released $(gm go_memstats_heap_released_bytes) MB, stack_inuse $(gm go_memstats_stack_inuse_bytes) MB, sys $(gm go_memstats_sys_bytes) MB, goroutines $(echo "$m" | awk '$1 == "go_goroutines" {print $2}')"
awk -v t0="$t0" -v t1="$t1" -v w0="$w0" -v w1="$w1" -v hz="$hz" 'BEGIN {
  cpu = (t1 - t0) / hz; wall = w1 - w0;
  printf "idle CPU over %.1f s: %.2f s of CPU = %.2f%% of one core (%d clock pulls in the window)\n", wall, cpu, 100 * cpu / wall, '"$((p1 - p0))"' }'
