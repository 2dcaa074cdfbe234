// Package deploy_test checks the Prometheus alert rules and the Grafana
// dashboard in deploy/ against promtool and against the metrics punchd
// actually exports.
package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/internal/health"
)

const (
	rulesFile = "prometheus/punchd-alerts.yml"
	testsFile = "prometheus/punchd-alerts.test.yml"
	dashboard = "grafana/punchd.json"
)

// requirePromtool finds promtool; under CI=true a missing promtool fails.
func requirePromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("promtool not found and CI=true: install Debian's prometheus package (apt-get install -y prometheus)")
	}
	t.Skip("promtool not found (apt-get install -y prometheus)")
	return ""
}

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(requirePromtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestRulesCheck(t *testing.T) {
	promtool(t, ".", "check", "rules", rulesFile)
}

func TestRulesUnitTests(t *testing.T) {
	promtool(t, "prometheus", "test", "rules", filepath.Base(testsFile))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEveryAlertFiresInATest: each alert of the rules file has a test case
// that expects it to fire (a non-empty exp_alerts).
func TestEveryAlertFiresInATest(t *testing.T) {
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(read(t, rulesFile), -1)
	if len(alerts) < 7 {
		t.Fatalf("found only %d alerts in %s", len(alerts), rulesFile)
	}
	fired := map[string]bool{}
	for _, m := range regexp.MustCompile(`alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:`).FindAllStringSubmatch(read(t, testsFile), -1) {
		fired[m[1]] = true
	}
	for _, a := range alerts {
		if !fired[a[1]] {
			t.Errorf("alert %s never fires in %s", a[1], testsFile)
		}
	}
	// The alerts the operations issue asks for, by name.
	for _, want := range []string{"PunchdClockDown", "PunchdClockNoSuccessfulPull", "PunchdClockOffset",
		"PunchdClockLogNearlyFull", "PunchdOutboxStale", "PunchdBrokerDisconnected", "PunchdCalendarYearMissing"} {
		if !slices.ContainsFunc(alerts, func(a []string) bool { return a[1] == want }) {
			t.Errorf("alert %s missing from %s", want, rulesFile)
		}
	}
}

// exported lists the metric families a running daemon exports: punchd's own
// (cmd/punchd/testdata/metrics.golden, which the daemon's test keeps equal to
// the metrics it builds), the liveness collector's (built live), and the
// standard ones the rules and dashboard may use.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"up": true, "process_start_time_seconds": true}
	add := func(name, kind string) {
		names[name] = true
		if kind == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(read(t, "../cmd/punchd/testdata/metrics.golden")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("cmd/punchd/testdata/metrics.golden: line %q is not \"name kind [labels]\"", line)
		}
		add(f[0], f[1])
	}
	reg := prometheus.NewRegistry()
	live := health.NewLiveness(time.Now, time.Minute)
	live.Beat("loop")
	reg.MustRegister(live)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		add(f.GetName(), strings.ToLower(f.GetType().String()))
	}
	return names
}

var metricRE = regexp.MustCompile(`\b(punchd_[a-z_]+|process_start_time_seconds|up)\b[{\[ )]`)

func checkNames(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, m := range metricRE.FindAllStringSubmatch(expr, -1) {
		if !names[m[1]] {
			t.Errorf("%s uses %s, which punchd does not export", where, m[1])
		}
	}
}

func TestRulesUseExportedMetrics(t *testing.T) {
	names := exported(t)
	for i, line := range strings.Split(read(t, rulesFile), "\n") {
		if strings.Contains(line, "expr:") || strings.HasPrefix(strings.TrimSpace(line), "(") {
			checkNames(t, fmt.Sprintf("%s:%d", rulesFile, i+1), line+" ", names)
		}
	}
}

type grafanaPanel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestDashboard parses the dashboard, checks its layout and that every
// query names exported metrics and is valid PromQL (promtool parses them as
// recording rules, with Grafana's variables replaced).
func TestDashboard(t *testing.T) {
	var d struct {
		UID    string         `json:"uid"`
		Title  string         `json:"title"`
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal([]byte(read(t, dashboard)), &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no uid, title or panels", dashboard)
	}
	names := exported(t)
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1d", "$instance", ".*", "$clock", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	all := ""
	for _, p := range d.Panels {
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			checkNames(t, fmt.Sprintf("panel %q", p.Title), tg.Expr+" ", names)
			all += tg.Expr + "\n"
			q, _ := json.Marshal(vars.Replace(tg.Expr))
			fmt.Fprintf(&rules, "      - record: dashboard:panel_%d\n        expr: %s\n", i, q)
		}
	}
	for _, want := range []string{"punchd_clock_up", "punchd_clock_last_successful_pull_timestamp_seconds",
		"punchd_clock_offset_seconds", "punchd_clock_records", "punchd_clock_record_capacity",
		"punchd_outbox_entries", "punchd_outbox_oldest_age_seconds", "punchd_mqtt_connected", "punchd_events_total"} {
		if !strings.Contains(all, want+"{") {
			t.Errorf("the dashboard shows no %s", want)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, ".", "check", "rules", path)
}

// TestOperationsGuide checks docs/operations.md against what ships: every
// exported punchd_* metric is in its table and every alert has a section
// (the runbook anchors the alerts link to).
func TestOperationsGuide(t *testing.T) {
	guide := read(t, "../docs/operations.md")
	for name := range exported(t) {
		if !strings.HasPrefix(name, "punchd_") || strings.HasSuffix(name, "_bucket") ||
			strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !strings.Contains(guide, "| `"+name+"` |") {
			t.Errorf("docs/operations.md: metric %s is not in the metrics table", name)
		}
	}
	for _, a := range regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(read(t, rulesFile), -1) {
		if !strings.Contains(guide, "\n### "+a[1]+"\n") {
			t.Errorf("docs/operations.md: alert %s has no section", a[1])
		}
		if !strings.Contains(read(t, rulesFile), `runbook: "docs/operations.md#`+strings.ToLower(a[1])+`"`) {
			t.Errorf("%s: alert %s has no runbook link to its section", rulesFile, a[1])
		}
	}
}
