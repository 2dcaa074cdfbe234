#!/usr/bin/env bash
# The Windows half of the test command: the pure packages' tests built for windows/amd64 and run
# under Wine (Debian's wine64), then punchd.exe --demo with punchctl.exe status over the named pipe.
# scripts/test.sh runs it; alone: bash scripts/wine-test.sh. It installs wine64 where it is missing
# (Debian/Ubuntu, as root) and skips, saying why, only when that cannot be done.
#
# Debian 12's Wine 8.0 lacks three things Go 1.26 programs use. What this script does about each is
# for Wine only; nothing shipped changes:
#  - bcryptprimitives.dll!ProcessPrng, which the Go runtime loads before main: scripts/wineprng
#    writes a DLL forwarding it to advapi32's RtlGenRandom into the prefix;
#  - FileDispositionInformationEx (answered STATUS_NOT_IMPLEMENTED, which Go does not take as "fall
#    back"), so os.RemoveAll — t.TempDir's clean-up — fails: the test binaries that use t.TempDir
#    are built with an -overlay setting Go's own TestDeleteatFallback switch, the path Go takes on
#    older Windows;
#  - the SIO_UDP_NETRESET ioctl (WSAEOPNOTSUPP), so no UDP socket opens: the same overlay lets
#    net ignore that one error, as Windows before 10 1703 would not have it either.
# punchd.exe and punchctl.exe for the end-to-end run are built without the overlay, as shipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pure packages, and the API whose named pipe is the Windows transport. Those that need the
# overlay (t.TempDir, UDP) are built with it; the others share the build cache of test.sh's
# windows/amd64 cross-compile.
plain=(internal/rules internal/calendar internal/report)
patched=(device/zk internal/store internal/api)
packages=("${plain[@]}" "${patched[@]}")

find_wine() { command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; }; }
if ! wine=$(find_wine); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing wine64 for the Windows tests"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends wine64 >/dev/null; }; then
      echo "SKIPPED the Windows tests under Wine: apt-get could not install wine64" >&2
      exit 0
    fi
    wine=$(find_wine)
  else
    echo "SKIPPED the Windows tests under Wine: wine64 is not installed (apt-get install wine64, or run as root on Debian)" >&2
    exit 0
  fi
fi
wineserver=$(command -v wineserver || echo "$(dirname "$wine")/wineserver")

work=$(mktemp -d)
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
cleanup() {
  "$wineserver" -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The prefix, and the ProcessPrng forwarder in its system32 (where Go's runtime looks).
t0=$SECONDS
"$wine" wineboot --init >/dev/null 2>&1 || true
"$wineserver" -w
echo "wine prefix made in $((SECONDS - t0))s"
go run ./scripts/wineprng "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

# The overlay for the test binaries (see the top of this file).
goroot=$(go env GOROOT)
mkdir -p "$work/overlay"
cat >"$work/overlay/zz_wine.go" <<'EOF'
package windows

// Wine: FileDispositionInformationEx is not implemented; delete the way older Windows does.
func init() { TestDeleteatFallback = true }
EOF
sed 's/^\(\t\terr = syscall.WSAIoctl(fd.pfd.Sysfd, windows.SIO_UDP_NETRESET, .*)\)$/\1\n\t\tif err == syscall.Errno(10045) { err = nil } \/\/ Wine: WSAEOPNOTSUPP/' \
  "$goroot/src/net/fd_windows.go" >"$work/overlay/fd_windows.go"
if ! grep -q 'Wine: WSAEOPNOTSUPP' "$work/overlay/fd_windows.go"; then
  echo "scripts/wine-test.sh: the UDP patch no longer applies to $goroot/src/net/fd_windows.go ($(go version)); update it" >&2
  exit 1
fi
printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' \
  "$goroot/src/internal/syscall/windows/zz_wine.go" "$work/overlay/zz_wine.go" \
  "$goroot/src/net/fd_windows.go" "$work/overlay/fd_windows.go" >"$work/overlay.json"

export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
mkdir -p "$work/bin"
t0=$SECONDS
go test -c -o "$work/bin/" "${plain[@]/#/./}"
go test -c -overlay "$work/overlay.json" -o "$work/bin/" "${patched[@]/#/./}"
echo "test binaries built in $((SECONDS - t0))s"

# The test binaries run side by side (they mostly wait: on timeouts, on loopback peers); each
# from its package's directory, as go test runs one: the tests read testdata/.
t0=$SECONDS
pids=()
for pkg in "${packages[@]}"; do
  exe="$work/bin/$(basename "$pkg").test.exe"
  out="$work/$(basename "$pkg").out"
  (cd "$pkg" && "$wine" "$exe" -test.v -test.count=1 -test.timeout=10m >"$out" 2>&1; echo $? >"$out.rc") &
  pids+=($!)
done
wait "${pids[@]}"
failed=()
for pkg in "${packages[@]}"; do
  out="$work/$(basename "$pkg").out"
  if [ "$(cat "$out.rc")" = 0 ]; then
    echo "ok    $pkg (windows/amd64 under Wine: $(grep -c -- '--- PASS' "$out" || true) tests and subtests passed, $(grep -c -- '--- SKIP' "$out" || true) skipped)"
  else
    cat "$out"
    echo "FAIL  $pkg (windows/amd64 under Wine)"
    failed+=("$pkg")
  fi
done
echo "the six test binaries ran in $((SECONDS - t0))s"

# End to end: punchd.exe --demo serves its API on a named pipe; punchctl.exe status finds it there
# through the demo's config (exit 0, or 1 while the demo's clock is not up yet), and says "daemon not running" (exit 3) for a config whose
# daemon and store are not there.
t0=$SECONDS
go build -o "$work/bin/" ./cmd/punchd ./cmd/punchctl
unset GOOS GOARCH
"$wine" "$work/bin/punchd.exe" --demo --demo-for 2m --demo-people 5 >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
for _ in $(seq 600); do
  grep -q '^  status ' "$work/demo.out" 2>/dev/null && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.1
done
conf=$(sed -n 's/^  status .*--config \(.*\) status$/\1/p' "$work/demo.out")
e2e=ok
if [ -z "$conf" ]; then
  cat "$work/demo.out" "$work/demo.err"
  e2e="punchd.exe --demo did not start"
else
  code=0
  "$wine" "$work/bin/punchctl.exe" --config "$conf" status >"$work/status.out" 2>&1 || code=$?
  status_code=$code
  # 0 all well, 1 degraded (the demo's clock or broker not up yet): either way the daemon answered.
  if [ $code -gt 1 ] || ! grep -q '^daemon: running' "$work/status.out" || ! grep -qF '\\.\pipe\punchd-' "$work/status.out"; then
    cat "$work/status.out"
    e2e="punchctl.exe status with punchd.exe running: exit $code"
  fi
fi
kill $demo 2>/dev/null || true
wait $demo 2>/dev/null || true
printf "[store]\npath = 'C:\\\\punchd-nowhere\\\\punchd.db'\n" >"$WINEPREFIX/drive_c/none.toml"
code=0
"$wine" "$work/bin/punchctl.exe" --config 'C:\none.toml' status >"$work/status.out" 2>&1 || code=$?
if [ $code != 3 ] || ! grep -q '^status: daemon NOT RUNNING' "$work/status.out" || ! grep -qF '\\.\pipe\punchd-' "$work/status.out"; then
  cat "$work/status.out"
  e2e="punchctl.exe status without a daemon: exit $code, want 3"
fi
if [ "$e2e" = ok ]; then
  echo "ok    punchd.exe --demo + punchctl.exe status over the named pipe (exit $status_code), and without a daemon (exit 3) ($((SECONDS - t0))s with the build)"
else
  echo "FAIL  $e2e"
  failed+=(e2e)
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "under Wine, failed: ${failed[*]}" >&2
  exit 1
fi
