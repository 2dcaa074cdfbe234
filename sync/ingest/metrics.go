package ingest

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// Metrics are what the engine counts, on the registry the daemon serves: the punches it stored,
// saw again or rejected, the events, corrections and clock alerts it queued, the logs it found
// shrunk, and the time its commits took. Build them once with NewMetrics and hand them to New.
//
// Every series of a closed list exists at zero from the start (each configured clock's paths
// and rejection reasons, each event kind), so that increase() sees the first one; a clock a
// Reconfigure removes takes its series with it.
type Metrics struct {
	ingested, duplicate *prometheus.CounterVec // clock, path
	rejected            *prometheus.CounterVec // clock, reason
	shrunk              *prometheus.CounterVec // clock
	alerts              *prometheus.CounterVec // clock, kind
	events, corrections *prometheus.CounterVec // kind
	commit              prometheus.Histogram

	mu     sync.Mutex
	clocks []string // the clocks whose series exist
}

// How a punch reached the engine (label "path").
const (
	pathPull     = "pull"
	pathRealtime = "realtime"
)

// rejectReasons are the reasons a punch read is not stored: a clock's skipped records give
// theirs, and screen its own; anything else is "other".
var rejectReasons = []string{device.SkipBadDate, device.SkipMalformed, "other"}

// commitBuckets: a commit of a few punches takes a millisecond, a batch of a first start's
// thousands (with the days they judge) a good part of a second.
var commitBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// NewMetrics registers the engine's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_" + name, Help: help}, labels)
	}
	m := &Metrics{
		ingested:    counter("punches_ingested_total", "Punches newly stored, by clock and path (pull or realtime).", "clock", "path"),
		duplicate:   counter("punches_duplicate_total", "Punches read again that were already stored (expected: every pull re-reads the log).", "clock", "path"),
		rejected:    counter("punches_rejected_total", "Punches read from a clock and not stored, by reason.", "clock", "reason"),
		shrunk:      counter("clock_log_shrunk_total", "Times the clock's log was found shorter than at the previous pull (cleared or rotated).", "clock"),
		alerts:      counter("clock_alerts_total", "Clock alerts queued for {prefix}/clocks/{clock}/alerts, by kind (log_cleared, user_enrolled, time_moved, …).", "clock", "kind"),
		events:      counter("events_total", "Attendance events queued for publishing, by kind.", "kind"),
		corrections: counter("event_corrections_total", "Corrections (same id, higher rev) queued for publishing, by kind.", "kind"),
		commit: f.NewHistogram(prometheus.HistogramOpts{Name: "punchd_store_commit_duration_seconds",
			Help: "Duration of write transactions on the store.", Buckets: commitBuckets}),
	}
	for _, k := range attendance.EventKinds {
		m.events.WithLabelValues(string(k))
		m.corrections.WithLabelValues(string(k))
	}
	return m
}

// setClocks creates the series of every clock of names at zero and drops those of the clocks
// that are no longer among them.
func (m *Metrics) setClocks(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.clocks {
		if !slices.Contains(names, c) {
			for _, v := range []*prometheus.CounterVec{m.ingested, m.duplicate, m.rejected, m.shrunk, m.alerts} {
				v.DeletePartialMatch(prometheus.Labels{"clock": c})
			}
		}
	}
	for _, c := range names {
		for _, p := range []string{pathPull, pathRealtime} {
			m.ingested.WithLabelValues(c, p)
			m.duplicate.WithLabelValues(c, p)
		}
		for _, r := range rejectReasons {
			m.rejected.WithLabelValues(c, r)
		}
		m.shrunk.WithLabelValues(c)
	}
	m.clocks = slices.Clone(names)
}

// reject counts n punches of clock not stored for reason.
func (m *Metrics) reject(clock, reason string, n int) {
	if !slices.Contains(rejectReasons, reason) {
		reason = "other"
	}
	m.rejected.WithLabelValues(clock, reason).Add(float64(n))
}
