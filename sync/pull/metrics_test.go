package pull

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jinbi/punchd/device"
)

// series lists reg's series as name{label=value,...}.
func series(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out = append(out, f.GetName()+"{"+strings.Join(ls, ",")+"}")
		}
	}
	return out
}

// A clock's series exist from Init, every reason of the rules, Reason's own and "other" at zero;
// a reason outside them counts as "other" and never makes a series; Remove takes them all.
func TestMetricsReasonsAndClockSeries(t *testing.T) {
	errBusy := errors.New("busy")
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, []ErrorReason{{Err: errBusy, Reason: "busy"}, {Err: errors.New("proto"), Reason: "protocol"}})
	m.Init("a")
	m.Init("a") // harmless
	m.Init("b")
	got := series(t, reg)
	for _, r := range []string{"busy", "protocol", "timeout", "connect", "other"} {
		if want := "punchd_clock_errors_total{clock=a,reason=" + r + "}"; !slices.Contains(got, want) {
			t.Errorf("no %s after Init in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return !strings.HasPrefix(s, "punchd_clock_errors_total{clock=a,") })); n != 5 {
		t.Errorf("%d error reasons for clock a, want 5", n)
	}

	m.Error("a", m.Reason(fmt.Errorf("read chunk 3/7: %w", errBusy)))
	m.Error("a", "EOF from nowhere")
	m.Error("a", "store")
	if v := testutil.ToFloat64(m.errors.WithLabelValues("a", "busy")); v != 1 {
		t.Errorf("busy = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.errors.WithLabelValues("a", "other")); v != 2 {
		t.Errorf("other = %v, want 2 (an unknown reason and the store's)", v)
	}
	for _, s := range series(t, reg) {
		if strings.Contains(s, "EOF") || strings.Contains(s, "reason=store") {
			t.Errorf("label value leaked into the registry: %s", s)
		}
	}

	m.Remove("a")
	for _, s := range series(t, reg) {
		if strings.Contains(s, "clock=a") {
			t.Errorf("after Remove: %s", s)
		}
	}
	if !slices.Contains(series(t, reg), "punchd_clock_up{clock=b}") {
		t.Errorf("Remove(a) took clock b's series too")
	}
}

// A pull records what the clock is, holds and moved; a firmware upgrade replaces the info series.
func TestMetricsPulled(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, nil)
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	r := Pull{Info: device.Info{Serial: "CQZ7224460327", Firmware: "Ver 6.60 Apr 28 2017", Platform: "ZMM220_TFT", Records: 45000, RecordCap: 50000},
		At: at, Offset: -90 * time.Second, Duration: 1500 * time.Millisecond, Bytes: 400, Retries: 2}
	m.Pulled("c", r)
	r.Info.Firmware = "Ver 6.60 Jan 10 2020"
	m.Pulled("c", r)
	got := series(t, reg)
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "Apr 28 2017") }) {
		t.Error("the clock's old firmware series was kept")
	}
	for metric, want := range map[prometheus.Collector]float64{
		m.up.WithLabelValues("c"):       1,
		m.lastPull.WithLabelValues("c"): float64(at.Unix()),
		m.records.WithLabelValues("c"):  45000,
		m.capacity.WithLabelValues("c"): 50000,
		m.offset.WithLabelValues("c"):   -90,
		m.bytes.WithLabelValues("c"):    800,
		m.retries.WithLabelValues("c"):  4,
		m.info.WithLabelValues("c", "CQZ7224460327", "Ver 6.60 Jan 10 2020", "ZMM220_TFT"): 1,
	} {
		if v := testutil.ToFloat64(metric); v != want {
			t.Errorf("%v = %v, want %v", metric.(prometheus.Metric).Desc(), v, want)
		}
	}
	m.pullFailed("c", "timeout", time.Second)
	if testutil.ToFloat64(m.up.WithLabelValues("c")) != 0 || testutil.ToFloat64(m.errors.WithLabelValues("c", "timeout")) != 1 {
		t.Error("a failed pull did not set the clock down and count its reason")
	}
}
