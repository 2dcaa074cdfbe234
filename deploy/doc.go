// Package deploy holds no code: the directory carries the Prometheus alert
// rules (prometheus/) and the Grafana dashboard (grafana/) for punchd, and its
// tests check them with promtool and against the metrics punchd exports.
package deploy
