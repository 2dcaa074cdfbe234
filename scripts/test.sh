#!/usr/bin/env bash
# The test command of the README. It installs what the tests need where it is missing (Debian/Ubuntu,
# as root: mosquitto for the MQTT tests, man-db to render the man pages, prometheus for promtool, npm for the node-zklib witness, chromium
# and fonts-noto-cjk for the web console's browser test), then
# runs vet, staticcheck and the whole test suite with the race detector. Every test that needs a broker
# starts its own Mosquitto on a free loopback port; nothing here talks to anything but loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The man pages are rendered with man -l (cmd/punchd TestGenMan, scripts/test-packages.sh).
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v zip >/dev/null 2>&1 || need+=(zip)     # the Windows zip of scripts/dist.sh
command -v unzip >/dev/null 2>&1 || need+=(unzip) # and its check in scripts/test-packages.sh
# The web console's browser test (cmd/punchd TestConsoleInBrowser): headless Chromium, and CJK fonts
# so that its screenshots show Chinese.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto | grep -q CJK || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test dependencies: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing test dependencies: ${need[*]} (install them, or run as root on Debian)" >&2
    exit 1
  fi
fi

go vet ./...
# staticcheck at a pinned version, fetched through the Go module proxy like any module; the tree is kept
# clean of its findings (unused code included).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
# Every platform punchd is built for compiles: 32-bit ARM (ARMv7) and 386 catch int32 fields of syscall
# structs, windows the service and the local socket's files.
for target in linux/amd64 linux/arm64 linux/arm linux/386 linux/loong64 windows/amd64; do
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build ./... || { echo "cross-compiling for $target failed" >&2; exit 1; }
done
# and every package's tests compile for windows too (Linux-only bits sit in _linux_test.go files).
CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go vet ./... || { echo "go vet for windows/amd64 failed" >&2; exit 1; }
# The pure packages' tests for windows/amd64 under Wine, and punchd.exe + punchctl.exe over the
# named pipe (it installs wine64 where missing; skips, saying why, only when it cannot).
bash scripts/wine-test.sh
# The .deb built with nfpm, inspected with dpkg-deb and installed into a throwaway root (needs root for
# the chroot the maintainer scripts run in); then the whole test suite.
if [ "$(id -u)" = 0 ]; then
  bash scripts/test-packages.sh
else
  echo "skipping scripts/test-packages.sh (needs root)"
fi
go test -race -count=1 -timeout 20m ./...
