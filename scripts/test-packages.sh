#!/usr/bin/env bash
# Build the amd64 .deb (and .rpm) with scripts/dist.sh, inspect them, and install the .deb into a
# throwaway root with the real dpkg, maintainer scripts included, then run the installed binaries.
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
# files are applied for real by `go test ./systemd`. Needs root (chroot) and dpkg; rpm checks run when
# rpm is installed. Takes ~1 minute with a warm Go cache (mostly building the three binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-dist}

fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg --root runs the maintainer scripts in a chroot)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found"

if [ "${SKIP_DIST:-}" != 1 ]; then
  bash scripts/dist.sh amd64 || fail "scripts/dist.sh amd64 failed"
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
         usr/share/doc/punchd/examples/punchd-alerts.yml usr/share/doc/punchd/examples/grafana-punchd.json; do
  grep -q " \./$f\$" "$work/contents" || fail "$f missing from the package"
done
for b in punchd punchctl; do
  grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/'"$b"'$' "$work/contents" || fail "/usr/bin/$b is not 0755 root:root"
done
ok "contents"

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
root="$work/root"
mkdir -p "$root"/{bin,usr/bin,usr/sbin,etc,tmp,var/log} "$root"/var/lib/dpkg/{info,updates,triggers,alternatives}
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
mkdir -p "$root/dev"
mknod -m 0666 "$root/dev/null" c 1 3 || fail "mknod $root/dev/null"
copy_bin() { # copy a host program and the libraries it links into the root
  cp "$1" "$root$2"
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
  done
}
copy_bin /bin/dash /bin/sh
copy_bin "$(command -v cat)" /bin/cat
for tool in systemd-sysusers systemd-tmpfiles systemctl getent useradd install; do
  printf '#!/bin/sh\necho "%s $*" >> /var/log/calls\n' "$tool" > "$root/usr/bin/$tool"
  chmod 0755 "$root/usr/bin/$tool"
done
calls() { cat "$root/var/log/calls" 2>/dev/null || true; }
reset_calls() { : > "$root/var/log/calls"; }
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
ok "fresh install: user, directories, daemon-reload, not started"

# 3b. The installed binaries run.
"$root/usr/bin/punchd" --help > "$work/help" 2>&1 || fail "punchd --help from the installed package: $(cat "$work/help")"
"$root/usr/bin/punchctl" --help > "$work/help" 2>&1 || fail "punchctl --help from the installed package: $(cat "$work/help")"
want=$(dpkg-deb -f "$deb" Version); want=${want%-*}
got=$("$root/usr/bin/punchd" --version 2>&1) || fail "punchd --version: $got"
[ "$got" = "punchd $want" ] || fail "punchd --version says \"$got\", the package is $want"
ok "installed punchd --help, --version ($want) and punchctl --help run"

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
dpkg_root --force-depends -P punchd > /dev/null 2>&1 || fail "purge"
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

echo "test-packages: all checks passed"
