// Package systemd holds no code: the directory carries punchd's systemd files
// (punchd.service, punchd.sysusers, punchd.tmpfiles), and its tests check them
// with systemd-analyze verify and security, systemd-sysusers and
// systemd-tmpfiles.
package systemd
