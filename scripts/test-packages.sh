#!/usr/bin/env bash
# Build the amd64 .deb (and .rpm) with scripts/dist.sh, inspect them, and install the .deb into a
# throwaway root with the real dpkg, maintainer scripts included, then run the installed binaries.
# The Windows zip is built too and its entries checked (step 8).
#
#   scripts/test-packages.sh            # build, then test
#   SKIP_DIST=1 scripts/test-packages.sh   # test the newest packages already in $DIST
#
# How the install is faked, and why it is still a real test: `dpkg --root=DIR -i` unpacks into DIR,
# registers the conffile and runs postinst/prerm/postrm chrooted into DIR. DIR gets a /bin/sh (the
# host's dash and its libraries) and stand-ins for systemd-sysusers, systemd-tmpfiles and systemctl
# that record how they were called: the test checks what the scripts ask systemd to do (create the
# user and directories, daemon-reload, never start on a fresh install, try-restart on an upgrade,
# disable on removal, and nothing at all when systemd is not running). The real sysusers and tmpfiles
# files are applied for real by `go test ./systemd`. Finally the installed punchd runs with the installed
# example configuration, edited as docs/operations.md says, against the simulated clock, and the clock's
# status is read from its metrics (SKIP_RUN=1 leaves this out). Needs root (chroot), dpkg and curl; rpm
# checks run when rpm is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-dist}

fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg --root runs the maintainer scripts in a chroot)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found"

if [ "${SKIP_DIST:-}" != 1 ]; then
  bash scripts/dist.sh amd64 windows-amd64 || fail "scripts/dist.sh amd64 windows-amd64 failed"
fi
deb=$(ls -t "$DIST"/punchd_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no amd64 .deb in $DIST"
echo "testing $deb"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Contents: paths, modes, owners.
dpkg-deb -c "$deb" > "$work/contents"
for f in usr/bin/punchd usr/bin/punchctl usr/lib/systemd/system/punchd.service \
         usr/lib/sysusers.d/punchd.conf usr/lib/tmpfiles.d/punchd.conf usr/lib/modules-load.d/punchd.conf \
         etc/punchd/punchd.toml usr/share/doc/punchd/operations.md \
         usr/share/doc/punchd/examples/punchd-alerts.yml usr/share/doc/punchd/examples/grafana-punchd.json \
         usr/share/doc/punchd/events.md usr/share/doc/punchd/rules.md usr/share/doc/punchd/copyright \
         usr/share/man/man1/punchctl.1.gz usr/share/man/man8/punchd.8.gz usr/share/bash-completion/completions/punchctl; do
  grep -q " \./$f\$" "$work/contents" || fail "$f missing from the package"
done
for b in punchd punchctl; do
  grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/'"$b"'$' "$work/contents" || fail "/usr/bin/$b is not 0755 root:root"
done
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/man/man1/punchctl.1.gz | gzip -dc | grep -q '^\.SS "punchctl clock dump' \
  || fail "the packaged man page does not describe punchctl clock dump"
# Both pages render: man -l (or groff when man-db is absent) on the packaged files.
for page in man1/punchctl.1.gz man8/punchd.8.gz; do
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/share/man/$page" > "$work/page.gz"
  if command -v man >/dev/null; then
    MANPAGER=cat MANWIDTH=100 LANG=C.UTF-8 man -l "$work/page.gz" > "$work/page.txt" 2> "$work/page.err" || fail "man -l $page: $(cat "$work/page.err")"
  else
    gzip -dc "$work/page.gz" | groff -k -Tutf8 -man > "$work/page.txt" 2> "$work/page.err" || fail "groff $page: $(cat "$work/page.err")"
  fi
  [ ! -s "$work/page.err" ] || fail "rendering $page warned: $(cat "$work/page.err")"
done
grep -q 'SIGHUP' "$work/page.txt" || fail "the rendered punchd(8) does not describe SIGHUP"
ok "contents (man pages punchctl(1) and punchd(8) render, completion, copyright, docs included)"

# 2. Control data: fields, conffile, maintainer scripts.
info=$(dpkg-deb -I "$deb")
grep -q '^ Package: punchd$' <<<"$info" || fail "Package field"
grep -q '^ Architecture: amd64$' <<<"$info" || fail "Architecture field"
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/punchd/punchd.toml "$work/control/conffiles" || fail "/etc/punchd/punchd.toml is not a conffile"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "$s missing or not executable"
  sh -n "$work/control/$s" || fail "$s: syntax error"
done
grep -q 'systemd-sysusers' "$work/control/postinst" || fail "postinst does not run systemd-sysusers"
grep -q 'systemd-tmpfiles --create' "$work/control/postinst" || fail "postinst does not run systemd-tmpfiles"
grep -q '/run/systemd/system' "$work/control/postinst" || fail "postinst calls systemctl without checking systemd runs"
ok "control: fields, conffiles, maintainer scripts"

# 3. A throwaway root dpkg can install into and chroot to.
# make_root DIR: an empty root a package manager can install into and chroot to, with /bin/sh, cat,
# /dev/null and the systemd stand-ins.
make_root() {
  local r=$1
  mkdir -p "$r"/{bin,usr/bin,usr/sbin,etc,tmp,var/log,dev}
  mknod -m 0666 "$r/dev/null" c 1 3 || fail "mknod $r/dev/null"
  copy_bin /bin/dash "$r" /bin/sh
  copy_bin "$(command -v cat)" "$r" /bin/cat
  for tool in systemd-sysusers systemd-tmpfiles systemctl getent useradd install; do
    printf '#!/bin/sh\necho "%s $*" >> /var/log/calls\n' "$tool" > "$r/usr/bin/$tool"
    chmod 0755 "$r/usr/bin/$tool"
  done
}
copy_bin() { # copy_bin PROGRAM ROOT PATH: a host program and the libraries it links, into ROOT at PATH
  cp "$1" "$2$3"
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    mkdir -p "$2$(dirname "$lib")"; cp -L "$lib" "$2$lib"
  done
}
root="$work/root"
make_root "$root"
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers,alternatives}
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
calls() { cat "${1:-$root}/var/log/calls" 2>/dev/null || true; }
reset_calls() { : > "${1:-$root}/var/log/calls"; }
dpkg_root() { PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin dpkg --root="$root" "$@"; }

# 3a. Fresh install on a machine running systemd.
mkdir -p "$root/run/systemd/system"
reset_calls
dpkg_root --force-depends -i "$deb" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i into the throwaway root"; }
grep -q 'systemctl enable --now punchd' "$work/install.log" || fail "postinst did not tell the admin how to start punchd"
c=$(calls)
grep -qx 'systemd-sysusers /usr/lib/sysusers.d/punchd.conf' <<<"$c" || fail "fresh install: no systemd-sysusers call: $c"
grep -qx 'systemd-tmpfiles --create /usr/lib/tmpfiles.d/punchd.conf' <<<"$c" || fail "fresh install: no systemd-tmpfiles call: $c"
grep -qx 'systemctl daemon-reload' <<<"$c" || fail "fresh install: no daemon-reload: $c"
if grep -Eq 'systemctl .*(start|restart|enable)' <<<"$c"; then fail "fresh install started or enabled punchd: $c"; fi
dpkg_root -s punchd | grep -q '^Status: install ok installed$' || fail "dpkg does not see punchd installed"
cp "$root/etc/punchd/punchd.toml" "$work/installed-punchd.toml" # the newcomer edits this one in step 6
ok "fresh install: user, directories, daemon-reload, not started"

# 3b. The installed binaries run.
"$root/usr/bin/punchd" --help > "$work/help" 2>&1 || fail "punchd --help from the installed package: $(cat "$work/help")"
"$root/usr/bin/punchctl" --help > "$work/help" 2>&1 || fail "punchctl --help from the installed package: $(cat "$work/help")"
want=$(dpkg-deb -f "$deb" Version); want=${want%-*}
got=$("$root/usr/bin/punchd" --version 2>&1) || fail "punchd --version: $got"
case "$got" in "punchd $want (revision "*", go1."*) ;; *) fail "punchd --version says \"$got\", the package is $want";; esac
got=$("$root/usr/bin/punchctl" --version 2>&1) || fail "punchctl --version: $got"
case "$got" in "punchctl $want (revision "*) ;; *) fail "punchctl --version says \"$got\", the package is $want";; esac
ok "installed punchd --help, --version ($want) and punchctl --help, --version run"

# 3c. Upgrade (reinstall) keeps the admin's configuration and restarts a running daemon.
echo '# edited by the admin' >> "$root/etc/punchd/punchd.toml"
reset_calls
dpkg_root --force-depends --force-confold -i "$deb" > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "reinstall"; }
grep -qx '# edited by the admin' "$root/etc/punchd/punchd.toml" || fail "upgrade replaced the edited configuration"
grep -qx 'systemctl try-restart punchd.service' <<<"$(calls)" || fail "upgrade did not try-restart: $(calls)"
ok "upgrade: configuration kept, try-restart"

# 3d. Removal stops and disables it, keeps the configuration.
reset_calls
dpkg_root --force-depends -r punchd > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
grep -qx 'systemctl disable --now punchd.service' <<<"$(calls)" || fail "removal did not disable --now: $(calls)"
[ -f "$root/etc/punchd/punchd.toml" ] || fail "removal deleted the configuration"
[ ! -e "$root/usr/bin/punchd" ] || fail "removal left /usr/bin/punchd"
ok "remove: disabled and stopped, configuration kept"

# 3e. Without a running systemd (a chroot, a container): no systemctl call at all.
rm -rf "$root/run/systemd"
reset_calls
dpkg_root --force-depends --force-confold -i "$deb" > "$work/chroot.log" 2>&1 || { cat "$work/chroot.log"; fail "install without systemd"; }
if grep -q '^systemctl' <<<"$(calls)"; then fail "systemctl called without systemd running: $(calls)"; fi
grep -qx 'systemd-sysusers /usr/lib/sysusers.d/punchd.conf' <<<"$(calls)" || fail "no user created without systemd running"
ok "install without systemd running: no systemctl"

# 4. The rpm, where rpm is available.
rpmfile=$(ls -t "$DIST"/punchd-*.x86_64.rpm 2>/dev/null | head -1 || true)
if [ -n "$rpmfile" ] && command -v rpm >/dev/null; then
  rpm -qp --qf '%{NAME} %{ARCH}\n' "$rpmfile" 2>/dev/null | grep -qx 'punchd x86_64' || fail "rpm name/arch"
  rpm -qpc "$rpmfile" 2>/dev/null | grep -qx /etc/punchd/punchd.toml || fail "rpm: punchd.toml is not %config"
  rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null | grep -q '^cn /etc/punchd/punchd.toml$' \
    || fail "rpm: punchd.toml is not %config(noreplace)"
  rpm -qpl "$rpmfile" 2>/dev/null | grep -qx /usr/lib/systemd/system/punchd.service || fail "rpm: unit missing"
  rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -q systemd-sysusers || fail "rpm: scripts missing"
  ok "rpm: name, arch, %config(noreplace), unit, scripts"
  # The same life cycle with rpm's scriptlet arguments (%post 1 = install, 2 = upgrade; %preun 0 = erase).
  rroot="$work/rpmroot"
  make_root "$rroot"
  mkdir -p "$rroot/run/systemd/system"
  rpm_root() { rpm --root="$rroot" --nodeps --noverify --nosignature "$@" 2> "$work/rpm.err"; }
  rpm --root="$rroot" --initdb || fail "rpm --initdb"
  rpm_root -i "$rpmfile" > "$work/rpm.log" || fail "rpm -i: $(cat "$work/rpm.err")"
  c=$(calls "$rroot")
  grep -qx 'systemd-sysusers /usr/lib/sysusers.d/punchd.conf' <<<"$c" || fail "rpm install: no systemd-sysusers: $c"
  if grep -Eq 'systemctl .*(start|restart|enable)' <<<"$c"; then fail "rpm install started or enabled punchd: $c"; fi
  echo '# edited by the admin' >> "$rroot/etc/punchd/punchd.toml"
  reset_calls "$rroot"
  rpm_root -U --replacepkgs "$rpmfile" > /dev/null || fail "rpm -U: $(cat "$work/rpm.err")"
  grep -qx 'systemctl try-restart punchd.service' <<<"$(calls "$rroot")" || fail "rpm upgrade did not try-restart: $(calls "$rroot")"
  if grep -q 'disable' <<<"$(calls "$rroot")"; then fail "rpm upgrade disabled punchd: $(calls "$rroot")"; fi
  grep -qx '# edited by the admin' "$rroot/etc/punchd/punchd.toml" || fail "rpm upgrade replaced the edited configuration"
  reset_calls "$rroot"
  rpm_root -e punchd || fail "rpm -e: $(cat "$work/rpm.err")"
  grep -qx 'systemctl disable --now punchd.service' <<<"$(calls "$rroot")" || fail "rpm erase did not disable --now: $(calls "$rroot")"
  ok "rpm: install (not started), upgrade (config kept, try-restart), erase (disabled) in a throwaway root"
elif [ -n "$rpmfile" ]; then
  echo "skip rpm checks: rpm not installed (apt-get install rpm)"
fi

# 5. Other architectures, when dist.sh built them: the right Architecture field and ELF machine.
for pair in arm64:aarch64 loong64:loongarch64; do
  a=${pair%%:*}
  d=$(ls -t "$DIST"/punchd_*_"$a".deb 2>/dev/null | head -1 || true)
  [ -n "$d" ] || continue
  dpkg-deb -f "$d" Architecture | grep -qx "$a" || fail "$d: Architecture is not $a"
  dpkg-deb --fsys-tarfile "$d" > "$work/$a.tar"
  tar -xOf "$work/$a.tar" ./usr/bin/punchd > "$work/$a.punchd"
  head -c 20 "$work/$a.punchd" | od -An -tx1 | tr -d '\n' > "$work/elf"
  case "$a" in
    arm64) m="b7 00" ;; loong64) m="02 01" ;;
  esac
  grep -q " $m\$" "$work/elf" || fail "$d: /usr/bin/punchd is not a $a ELF ($(cat "$work/elf"))"
  ok "$a .deb: Architecture and ELF machine"
done

# 6. The newcomer's path: the installed binary, the installed example configuration with the edits
#    operations.md asks for (a clock, the broker), and the clock's status in the metrics. The clock is the
#    simulated one (cmd/zkclock) on loopback; the broker is absent (punchd keeps trying, the outbox holds).
#    Paths the host must not be touched at (/var/lib, /run) are moved into the work directory.
if [ "${SKIP_RUN:-}" != 1 ]; then
  command -v curl >/dev/null || fail "curl not found (needed to scrape the installed daemon)"
  go build -o "$work/zkclock" ./cmd/zkclock || fail "building cmd/zkclock"
  "$work/zkclock" --tcp 127.0.0.1:0 --udp "" --people 5 --days 3 > "$work/zkclock.out" 2> "$work/zkclock.err" &
  zk_pid=$!
  run_pid=
  cleanup_run() { kill "$zk_pid" 2>/dev/null || true; [ -z "$run_pid" ] || kill "$run_pid" 2>/dev/null || true; rm -rf "$work"; }
  trap cleanup_run EXIT
  for _ in $(seq 100); do grep -q '^ready' "$work/zkclock.out" && break; sleep 0.1; done
  clock_addr=$(sed -n 's/^tcp //p' "$work/zkclock.out")
  [ -n "$clock_addr" ] || fail "zkclock did not start: $(cat "$work/zkclock.err")"

  cfg="$work/punchd.toml"
  sed -e "s#^path = \"/var/lib/punchd/punchd.db\"#path = \"$work/state/punchd.db\"#" \
      -e 's#^roster = "/etc/punchd/roster.csv"#roster = ""#' \
      -e 's#^listen = "127.0.0.1:9810"#listen = "127.0.0.1:0"#' \
      -e "s#^socket = \"/run/punchd/punchd.sock\"#socket = \"$work/punchd.sock\"#" \
      -e "s#^dir = \"/var/lib/punchd/reports\"#dir = \"$work/reports\"#" \
      -e 's#^broker = "tcp://127.0.0.1:1883"#broker = "tcp://127.0.0.1:1"#' \
      "$work/installed-punchd.toml" > "$cfg" || fail "editing the installed example configuration"
  printf '\n[[clock]]\nname = "office"\nurl = "zk+tcp://%s"\n' "$clock_addr" >> "$cfg"
  mkdir -p "$work/state" "$work/reports"
  "$root/usr/bin/punchd" --config "$cfg" > "$work/punchd.out" 2> "$work/punchd.err" &
  run_pid=$!
  http=
  for _ in $(seq 300); do
    http=$(grep -o 'http=127\.0\.0\.1:[0-9]*' "$work/punchd.err" | head -1 | cut -d= -f2 || true)
    [ -n "$http" ] && break
    kill -0 "$run_pid" 2>/dev/null || fail "installed punchd exited: $(tail -5 "$work/punchd.err")"
    sleep 0.1
  done
  [ -n "$http" ] || fail "installed punchd did not report its HTTP address: $(tail -5 "$work/punchd.err")"
  up=
  for _ in $(seq 300); do
    curl -fsS "http://$http/metrics" > "$work/metrics" 2>/dev/null || true
    if grep -q '^punchd_clock_up{clock="office"} 1$' "$work/metrics" &&
       ! grep -q '^punchd_clock_last_successful_pull_timestamp_seconds{clock="office"} 0$' "$work/metrics"; then
      up=1; break
    fi
    sleep 0.1
  done
  [ -n "$up" ] || fail "the clock never showed up in the metrics: $(grep 'clock="office"' "$work/metrics" | head -5)"
  records=$(sed -n 's/^punchd_clock_records{clock="office"} //p' "$work/metrics")
  curl -fsS "http://$http/readyz" > /dev/null || fail "/readyz of the installed punchd is not 200"
  if command -v promtool >/dev/null; then
    promtool check metrics < "$work/metrics" || fail "promtool check metrics on the installed daemon's scrape"
  fi
  kill -TERM "$run_pid"
  for _ in $(seq 50); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$run_pid" 2>/dev/null; then fail "installed punchd did not stop within 5 s of SIGTERM"; fi
  run_pid=
  ok "installed punchd with the edited example config: clock up, $records records on it, /readyz 200, stopped on SIGTERM"
fi

# 7. Purge: the programs and configuration go; the store directory is never deleted by the package.
dpkg_root --force-depends -P punchd > /dev/null 2>&1 || fail "purge"
[ ! -e "$root/usr/bin/punchd" ] && [ ! -e "$root/etc/punchd/punchd.toml" ] || fail "purge left the program or the configuration"
ok "purge"

# 8. The Windows zip: its entries, 64-bit Windows programs, and the example config with Windows paths
#    that the (Linux) punchctl accepts as it is.
zipfile=$(ls -t "$DIST"/punchd_*_windows_amd64.zip 2>/dev/null | head -1)
[ -n "$zipfile" ] || fail "no windows_amd64 zip in $DIST"
v=${zipfile##*/punchd_}; v=${v%_windows_amd64.zip}
top="punchd-$v-windows-amd64"
unzip -Z1 "$zipfile" > "$work/zip.list" || fail "unzip -Z1 $zipfile"
for f in punchd.exe punchctl.exe zkclock.exe punchd.example.toml README.md COPYRIGHT.txt \
         docs/windows.md docs/operations.md docs/events.md docs/rules.md docs/events.schema.json docs/alerts.schema.json; do
  grep -qx "$top/$f" "$work/zip.list" || fail "$f missing from the zip (want it under $top/)"
done
if grep -v "^$top/" "$work/zip.list"; then fail "entries outside $top/ in the zip"; fi
mkdir -p "$work/zip"
unzip -q "$zipfile" -d "$work/zip" || fail "unzip $zipfile"
for b in punchd punchctl zkclock; do
  exe="$work/zip/$top/$b.exe"
  [ "$(head -c 2 "$exe")" = MZ ] || fail "$b.exe is not a Windows program"
  pe=$(od -An -tu4 -j 60 -N 4 "$exe" | tr -d ' ')
  [ "$(od -An -tx1 -j "$pe" -N 6 "$exe" | tr -d ' \n')" = 504500006486 ] || fail "$b.exe is not a PE for x86-64"
done
ex="$work/zip/$top/punchd.example.toml"
grep -qxF "path = 'C:\\ProgramData\\punchd\\punchd.db'" "$ex" || fail "the zip's example config does not keep the store in C:\\ProgramData\\punchd"
if grep -n '/var/lib\|/etc/punchd' "$ex"; then fail "the zip's example config has Linux paths"; fi
go run ./cmd/punchctl config check --config "$ex" > "$work/check.out" 2>&1 || fail "punchctl config check of the zip's example: $(cat "$work/check.out")"
ok "windows zip: $(wc -l < "$work/zip.list") entries under $top/, PE x86-64 programs, example config with Windows paths checks"

echo "test-packages: all checks passed"
