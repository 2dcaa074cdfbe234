#!/bin/sh
# punchd postremove (deb: postrm remove|purge|upgrade|...; rpm: %postun N).
# Reload systemd so that the removed unit disappears. Nothing is deleted:
# even a purge leaves /var/lib/punchd (the attendance store) in place; delete
# it by hand once it is backed up.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
