package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/health"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func get(t *testing.T, h http.Handler, path string, into any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: content type %q", path, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, rec.Body)
	}
	return rec.Code
}

func TestLivenessStallAndRecovery(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	l := health.NewLiveness(clk.now, time.Minute)
	if !l.Healthy() {
		t.Fatal("no loops registered must be healthy")
	}
	l.Register("clock/dangzhengban", 30*time.Second)
	l.Register("publish", 10*time.Second)

	clk.advance(9 * time.Second)
	l.Beat("clock/dangzhengban")
	if !l.Healthy() {
		t.Fatal("both loops within their interval")
	}
	clk.advance(2 * time.Second) // publish last beat 11 s ago, allowed 10 s
	var body struct {
		Status string              `json:"status"`
		Loops  []health.LoopStatus `json:"loops"`
	}
	if code := get(t, l.Handler(), "/healthz", &body); code != http.StatusServiceUnavailable || body.Status != "stalled" {
		t.Fatalf("stalled publish loop: got %d %q", code, body.Status)
	}
	if got := l.Stalled(); len(got) != 1 || got[0] != "publish" {
		t.Fatalf("Stalled() = %v, want [publish]", got)
	}
	if len(body.Loops) != 2 || body.Loops[0].Name != "clock/dangzhengban" || !body.Loops[0].Healthy || body.Loops[1].Healthy {
		t.Fatalf("loops = %+v", body.Loops)
	}

	l.Beat("publish")
	if code := get(t, l.Handler(), "/healthz", &body); code != http.StatusOK || body.Status != "ok" {
		t.Fatalf("after beat: got %d %q", code, body.Status)
	}

	// A loop that ends on purpose no longer counts.
	clk.advance(time.Hour)
	l.Unregister("clock/dangzhengban")
	l.Beat("publish")
	if !l.Healthy() {
		t.Fatalf("unregistered loop still counted: %v", l.Stalled())
	}
}

func TestBeatWithoutRegisterUsesDefault(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	l := health.NewLiveness(clk.now, time.Minute)
	l.Beat("api")
	clk.advance(time.Minute)
	if !l.Healthy() {
		t.Fatal("exactly the default interval is still healthy")
	}
	clk.advance(time.Millisecond)
	if l.Healthy() {
		t.Fatal("past the default interval must be stalled")
	}
}

func TestLivenessCollector(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := health.NewLiveness(clk.now, time.Minute)
	l.Register("publish", 10*time.Second)
	l.Register("timers", time.Hour)
	clk.advance(20 * time.Second)
	reg := prometheus.NewRegistry()
	reg.MustRegister(l)
	want := `
# HELP punchd_loop_healthy 1 when the loop beat within its allowed interval.
# TYPE punchd_loop_healthy gauge
punchd_loop_healthy{loop="publish"} 0
punchd_loop_healthy{loop="timers"} 1
# HELP punchd_loop_last_beat_timestamp_seconds Unix time of the last heartbeat of each daemon loop.
# TYPE punchd_loop_last_beat_timestamp_seconds gauge
punchd_loop_last_beat_timestamp_seconds{loop="publish"} 1.7e+09
punchd_loop_last_beat_timestamp_seconds{loop="timers"} 1.7e+09
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

var errStoreClosed = errors.New("store: closed")

func TestReadiness(t *testing.T) {
	r := health.NewReadiness()
	var body struct {
		Status string               `json:"status"`
		Checks []health.CheckResult `json:"checks"`
	}
	if code := get(t, r.Handler(time.Second), "/readyz", &body); code != http.StatusOK || body.Status != "ready" {
		t.Fatalf("no checks: %d %q", code, body.Status)
	}
	storeErr := errStoreClosed
	r.Set("store", func(context.Context) error { return storeErr })
	r.Set("config", func(context.Context) error { return nil })
	code := get(t, r.Handler(time.Second), "/readyz", &body)
	if code != http.StatusServiceUnavailable || body.Status != "not_ready" {
		t.Fatalf("store closed: %d %q", code, body.Status)
	}
	want := []health.CheckResult{{Name: "store", OK: false, Error: "store: closed"}, {Name: "config", OK: true}}
	if len(body.Checks) != 2 || body.Checks[0] != want[0] || body.Checks[1] != want[1] {
		t.Fatalf("checks = %+v, want %+v", body.Checks, want)
	}
	storeErr = nil
	if code := get(t, r.Handler(time.Second), "/readyz", &body); code != http.StatusOK || body.Status != "ready" {
		t.Fatalf("store open: %d %q %+v", code, body.Status, body.Checks)
	}
}

func TestReadinessCheckSeesDeadline(t *testing.T) {
	r := health.NewReadiness()
	r.Set("slow", func(ctx context.Context) error {
		<-ctx.Done() // a check that would hang is cut by the handler's timeout
		return ctx.Err()
	})
	var body struct {
		Checks []health.CheckResult `json:"checks"`
	}
	if code := get(t, r.Handler(time.Millisecond), "/readyz", &body); code != http.StatusServiceUnavailable ||
		!strings.Contains(body.Checks[0].Error, "deadline") {
		t.Fatalf("got %d %+v", code, body.Checks)
	}
}
