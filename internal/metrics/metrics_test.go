package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite testdata/names.golden from the current registry")

// requirePromtool finds promtool; under CI=true a missing promtool fails the
// test, elsewhere it skips with the install hint.
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

func scrape(t *testing.T, h http.Handler) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: read body: %v", err)
	}
	return body
}

// exercise drives every method once, so the scrape holds every series a
// running daemon would have.
func exercise(m *metrics.Metrics, at time.Time) {
	m.InitClock("dangzhengban")
	m.InitClock("station-2")
	m.PullSucceeded("dangzhengban", at, 1500*time.Millisecond)
	m.PullFailed("station-2", metrics.ReasonTimeout, 30*time.Second)
	m.ClockError("station-2", metrics.ReasonConnect)
	m.SetClockInfo("dangzhengban", "CQZ7224460327", "Ver 6.60 Apr 28 2017", "ZMM220_TFT")
	m.SetClockInfo("dangzhengban", "CQZ7224460327", "Ver 6.60 Jan 10 2020", "ZMM220_TFT") // firmware upgraded
	m.SetClockLog("dangzhengban", 45000, 50000)
	m.SetClockOffset("dangzhengban", -90*time.Second)
	m.SetRealtimeConnected("dangzhengban", true)
	m.RealtimeEvent("dangzhengban", true)
	m.LogShrunk("dangzhengban")
	m.PunchesIngested("dangzhengban", metrics.PathPull, 120)
	m.PunchesIngested("dangzhengban", metrics.PathRealtime, 3)
	m.PunchesDuplicate("dangzhengban", metrics.PathPull, 44880)
	m.PunchesRejected("dangzhengban", metrics.RejectBadDate, 2)
	m.EventQueued(attendance.EventLate, false)
	m.EventQueued(attendance.EventLate, true)
	m.SetOutbox(7, at.Add(-90*time.Minute))
	m.OutboxDropped(metrics.DropAge, 1)
	m.SetMQTTConnected(true)
	m.MQTTReconnected()
	m.MQTTPublished(metrics.MessageEvent, 4*time.Millisecond)
	m.MQTTPublishFailed(metrics.PublishTimeout)
	m.SetStoreSize(1 << 20)
	m.Committed(3 * time.Millisecond)
	m.SetCalendarYears(map[int]bool{2026: true, 2027: false})
	m.ConfigLoaded(true, at)
	m.SetRoster(20, 1)
}

func TestScrapePassesPromtool(t *testing.T) {
	promtool := requirePromtool(t)
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.BuildInfo{Version: "1.0.0", Revision: "abc123", GoVersion: "go1.26.8"},
		metrics.WithNow(func() time.Time { return at }))
	exercise(m, at)
	body := scrape(t, m.Handler())

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if bytes.Contains(body, []byte("Apr 28 2017")) {
		t.Error("SetClockInfo kept the clock's old firmware series")
	}
	for _, want := range []string{
		`punchd_build_info{goversion="go1.26.8",revision="abc123",version="1.0.0"} 1`,
		`punchd_clock_up{clock="station-2"} 0`,
		`punchd_clock_up{clock="dangzhengban"} 1`,
		`punchd_clock_last_successful_pull_timestamp_seconds{clock="dangzhengban"} 1.7955972e+09`,
		`punchd_clock_errors_total{clock="station-2",reason="timeout"} 1`,
		`punchd_clock_errors_total{clock="station-2",reason="connect"} 1`,
		`punchd_clock_offset_seconds{clock="dangzhengban"} -90`,
		`punchd_clock_info{clock="dangzhengban",firmware="Ver 6.60 Jan 10 2020",platform="ZMM220_TFT",serial="CQZ7224460327"} 1`,
		`punchd_outbox_oldest_age_seconds 5400`,
		`punchd_calendar_years_missing 1`,
		`punchd_calendar_year_has_data{year="2027"} 0`,
		`punchd_clock_pull_duration_seconds_bucket{clock="dangzhengban",result="success",le="2.5"} 1`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// TestInitClockZeroes checks that every reason and path exists at 0 before
// anything happened, for each configured clock.
func TestInitClockZeroes(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{}, metrics.WithoutRuntimeCollectors())
	m.InitClock("a")
	m.InitClock("a") // idempotent
	body := string(scrape(t, m.Handler()))
	for _, r := range metrics.ErrorReasons {
		if want := `punchd_clock_errors_total{clock="a",reason="` + r + `"} 0`; !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, r := range metrics.RejectReasons {
		if want := `punchd_punches_rejected_total{clock="a",reason="` + r + `"} 0`; !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, p := range metrics.Paths {
		if want := `punchd_punches_ingested_total{clock="a",path="` + p + `"} 0`; !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, k := range attendance.EventKinds {
		if want := `punchd_events_total{kind="` + string(k) + `"} 0`; !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	if want := `punchd_build_info{goversion="unknown",revision="unknown",version="unknown"} 1`; !strings.Contains(body, want) {
		t.Errorf("missing %s", want)
	}
	if strings.Contains(body, "go_goroutines") {
		t.Errorf("WithoutRuntimeCollectors still exports go_goroutines")
	}
}

// TestUnknownLabelValuesFold checks that a value outside the closed lists
// never creates a series.
func TestUnknownLabelValuesFold(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{}, metrics.WithoutRuntimeCollectors())
	m.InitClock("a")
	m.ClockError("a", "EOF from nowhere")
	m.PunchesRejected("a", "weird", 3)
	m.EventQueued("sleepy", false)
	m.MQTTPublished("x/y", time.Millisecond)
	body := string(scrape(t, m.Handler()))
	for _, want := range []string{
		`punchd_clock_errors_total{clock="a",reason="other"} 1`,
		`punchd_punches_rejected_total{clock="a",reason="other"} 3`,
		`punchd_mqtt_publishes_total{type="other"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, bad := range []string{"EOF from nowhere", "weird", "sleepy", "x/y"} {
		if strings.Contains(body, bad) {
			t.Errorf("label value %q leaked into the registry", bad)
		}
	}
}

func TestOutboxAgeAtScrapeTime(t *testing.T) {
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.BuildInfo{}, metrics.WithoutRuntimeCollectors(), metrics.WithNow(func() time.Time { return now }))
	m.SetOutbox(3, now.Add(-10*time.Second))
	if body := string(scrape(t, m.Handler())); !strings.Contains(body, "punchd_outbox_oldest_age_seconds 10\n") {
		t.Fatalf("age after 10s not 10:\n%s", grep(body, "outbox"))
	}
	now = now.Add(time.Hour) // the loop reported nothing since: the age still grows
	if body := string(scrape(t, m.Handler())); !strings.Contains(body, "punchd_outbox_oldest_age_seconds 3610\n") {
		t.Fatalf("age did not grow:\n%s", grep(body, "outbox"))
	}
	m.SetOutbox(0, now.Add(-time.Hour))
	if body := string(scrape(t, m.Handler())); !strings.Contains(body, "punchd_outbox_oldest_age_seconds 0\n") {
		t.Fatalf("empty outbox has an age:\n%s", grep(body, "outbox"))
	}
}

func TestNilMetricsIsSafe(t *testing.T) {
	var m *metrics.Metrics
	exercise(m, time.Now())
}

// TestGoldenNames compares the set of exported punchd_* families with
// testdata/names.golden (go test -update rewrites it): renaming a metric
// breaks dashboards and alerts, so it must be a visible change.
func TestGoldenNames(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{}, metrics.WithoutRuntimeCollectors())
	exercise(m, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, f.GetName()+" "+strings.ToLower(f.GetType().String()))
	}
	slices.Sort(got)
	text := strings.Join(got, "\n") + "\n"
	const golden = "testdata/names.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if string(want) != text {
		t.Fatalf("metric names changed; if intended, run go test ./internal/metrics -update and fix deploy/ and docs/operations.md\ngot:\n%s\nwant:\n%s", text, want)
	}
	for _, n := range got {
		name, typ, _ := strings.Cut(n, " ")
		if !strings.HasPrefix(name, "punchd_") {
			t.Errorf("%s lacks the punchd_ prefix", name)
		}
		if (typ == "counter") != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %s: counters and only counters end in _total", name, typ)
		}
	}
}

func grep(body, word string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if strings.Contains(sc.Text(), word) {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}
