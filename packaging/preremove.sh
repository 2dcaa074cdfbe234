#!/bin/sh
# punchd preremove (deb: prerm remove|upgrade|...; rpm: %preun N).
# On removal (not on upgrade) stop and disable the daemon. The store in
# /var/lib/punchd and the configuration in /etc/punchd are kept: attendance
# records are not deleted by removing a package.
set -e

removing=false
case "$1" in
  remove|deconfigure) removing=true ;;                 # deb
  0) removing=true ;;                                  # rpm: no version left
esac

if $removing && [ -d /run/systemd/system ]; then
  systemctl disable --now punchd.service >/dev/null 2>&1 || true
fi
exit 0
