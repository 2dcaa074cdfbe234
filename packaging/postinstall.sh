#!/bin/sh
# punchd postinstall (deb: postinst configure [old-version]; rpm: %post N).
# Creates the system user and the directories, reloads systemd, and on an
# upgrade restarts a running daemon. It never starts punchd on a fresh
# install (the configuration must be edited first) and never calls
# systemctl where systemd is not running (a chroot, a container, a build root).
set -e

upgrade=false
case "$1" in
  configure) [ -n "$2" ] && upgrade=true ;;          # deb: $2 is the version replaced
  [0-9]*) [ "$1" -ge 2 ] && upgrade=true ;;           # rpm: number of installed versions
esac

if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/punchd.conf
elif ! getent passwd punchd >/dev/null 2>&1; then
  # Distributions without systemd-sysusers: the same account by hand.
  useradd --system --user-group --home-dir /var/lib/punchd --no-create-home \
    --shell /usr/sbin/nologin --comment "punchd attendance clock daemon" punchd
fi

if command -v systemd-tmpfiles >/dev/null 2>&1; then
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/punchd.conf
else
  install -d -m 0750 -o punchd -g punchd /var/lib/punchd /var/lib/punchd/reports
fi

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  if $upgrade; then
    # Restart only if it was running; the store and config carry over.
    systemctl try-restart punchd.service >/dev/null 2>&1 || true
  fi
fi

if ! $upgrade; then
  cat <<'MSG'
punchd is installed but not started. Edit /etc/punchd/punchd.toml (the [site],
[[clock]] and [mqtt] sections), check it with
    punchctl config check --config /etc/punchd/punchd.toml
then start it:
    systemctl enable --now punchd
Metrics: http://127.0.0.1:9810/metrics   Operations guide: /usr/share/doc/punchd/operations.md
MSG
fi
exit 0
