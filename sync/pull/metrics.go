package pull

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the clocks' metrics (punchd_clock_*), on the registry the daemon serves: one set for
// every loop, and for the push server, whose devices are clocks too. Build them once with
// NewMetrics and hand them to each New. They also own how an error is classified for counting
// (Reason): the reasons they are built with are the only ones a clock's errors are counted under.
//
// Every series of a clock exists at its initial value from the moment its loop is built (Init),
// every error reason at zero, so that an alert on reason="timeout" exists before the first
// timeout; Remove drops them when the clock leaves the configuration.
type Metrics struct {
	rules   []ErrorReason
	reasons []string // every reason counted

	up, lastPull, records, capacity, offset, realtime *prometheus.GaugeVec // clock
	info                                              *prometheus.GaugeVec // clock, serial, firmware, platform
	duration                                          *prometheus.HistogramVec
	errors, retries, bytes                            *prometheus.CounterVec
	realtimeEvents                                    *prometheus.CounterVec // clock, result
}

// pullBuckets: a pull talks to a clock at ~20 ms a packet; an empty log answers in tens of
// milliseconds, 100,000 records take a minute or more over a slow link or a serial line.
var pullBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// NewMetrics registers the clocks' metrics on reg. rules classify a driver's errors, first match
// first (see Reason); their reasons, Reason's own and "other" are the reasons counted.
func NewMetrics(reg prometheus.Registerer, rules []ErrorReason) *Metrics {
	f := promauto.With(reg)
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Name: "punchd_clock_" + name, Help: help}, labels)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_clock_" + name, Help: help}, labels)
	}
	m := &Metrics{rules: rules,
		up:       gauge("up", "1 when the last attempt to reach the clock succeeded, 0 when it failed.", "clock"),
		info:     gauge("info", "A constant 1 labelled with the clock's serial number, firmware and platform, as last read from it.", "clock", "serial", "firmware", "platform"),
		lastPull: gauge("last_successful_pull_timestamp_seconds", "Unix time of the last complete, committed pull of the clock's log; 0 before the first.", "clock"),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{Name: "punchd_clock_pull_duration_seconds",
			Help: "Time to read the clock's whole log and commit it, by result.", Buckets: pullBuckets}, []string{"clock", "result"}),
		errors:         counter("errors_total", "Failed operations on a clock, by reason.", "clock", "reason"),
		records:        gauge("records", "Attendance records held by the clock at the last pull.", "clock"),
		capacity:       gauge("record_capacity", "Attendance records the clock can hold.", "clock"),
		offset:         gauge("offset_seconds", "The clock's time minus the host's time at the last measurement (positive: the clock is ahead).", "clock"),
		realtime:       gauge("realtime_connected", "1 while a realtime event subscription to the clock is up.", "clock"),
		realtimeEvents: counter("realtime_events_total", "Realtime events received from the clock, by whether they were understood.", "clock", "result"),
		retries:        counter("read_retries_total", "Chunks of a clock's log asked for again after a lost or damaged packet (a noisy line).", "clock"),
		bytes:          counter("read_bytes_total", "Bytes of attendance records moved from the clock by committed pulls.", "clock"),
	}
	add := func(r string) {
		if !slices.Contains(m.reasons, r) {
			m.reasons = append(m.reasons, r)
		}
	}
	for _, r := range rules {
		add(r.Reason)
	}
	for _, r := range []string{reasonTimeout, reasonConnect, reasonOther} {
		add(r)
	}
	return m
}

// Init creates every series of clock at its initial value: down, nothing pulled, every error
// reason and both pull results at zero. Calling it again is harmless.
func (m *Metrics) Init(clock string) {
	for _, g := range []*prometheus.GaugeVec{m.up, m.lastPull, m.records, m.capacity, m.offset, m.realtime} {
		g.WithLabelValues(clock)
	}
	for _, c := range []*prometheus.CounterVec{m.retries, m.bytes} {
		c.WithLabelValues(clock)
	}
	m.realtimeEvents.WithLabelValues(clock, "understood")
	m.realtimeEvents.WithLabelValues(clock, "unknown")
	m.duration.WithLabelValues(clock, "success")
	m.duration.WithLabelValues(clock, "failure")
	for _, r := range m.reasons {
		m.errors.WithLabelValues(clock, r)
	}
}

// Remove drops every series of a clock taken out of the configuration, so that no alert fires
// for a clock punchd no longer reads.
func (m *Metrics) Remove(clock string) {
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.up, m.lastPull, m.records, m.capacity, m.offset, m.realtime, m.info, m.duration,
		m.errors, m.retries, m.bytes, m.realtimeEvents,
	} {
		v.DeletePartialMatch(prometheus.Labels{"clock": clock})
	}
}

// Reason is the reason err is counted under (Reason with the rules of NewMetrics).
func (m *Metrics) Reason(err error) string { return Reason(err, m.rules) }

// Up records whether the last attempt to reach the clock succeeded.
func (m *Metrics) Up(clock string, up bool) { m.up.WithLabelValues(clock).Set(b2f(up)) }

// Error counts a failed operation on the clock under reason (one it is not built with counts as
// "other": the reasons of the series are the ones Init made).
func (m *Metrics) Error(clock, reason string) {
	if !slices.Contains(m.reasons, reason) {
		reason = reasonOther
	}
	m.errors.WithLabelValues(clock, reason).Inc()
}

// Pulled records a complete, committed read of the clock's log: what the clock said it is and
// holds, its offset, what moved and how long it took. The clock is up.
func (m *Metrics) Pulled(clock string, r Pull) {
	m.duration.WithLabelValues(clock, "success").Observe(r.Duration.Seconds())
	m.lastPull.WithLabelValues(clock).Set(float64(r.At.UnixNano()) / 1e9)
	m.up.WithLabelValues(clock).Set(1)
	m.info.DeletePartialMatch(prometheus.Labels{"clock": clock}) // a firmware upgrade replaces the series
	m.info.WithLabelValues(clock, r.Info.Serial, r.Info.Firmware, r.Info.Platform).Set(1)
	m.records.WithLabelValues(clock).Set(float64(r.Info.Records))
	m.capacity.WithLabelValues(clock).Set(float64(r.Info.RecordCap))
	m.offset.WithLabelValues(clock).Set(r.Offset.Seconds())
	m.bytes.WithLabelValues(clock).Add(float64(r.Bytes))
	m.retries.WithLabelValues(clock).Add(float64(r.Retries))
}

// pullFailed records a pull that failed after took: it counts the error and the clock is down.
func (m *Metrics) pullFailed(clock, reason string, took time.Duration) {
	m.duration.WithLabelValues(clock, "failure").Observe(took.Seconds())
	m.Error(clock, reason)
	m.up.WithLabelValues(clock).Set(0)
}

func (m *Metrics) realtimeConnected(clock string, connected bool) {
	m.realtime.WithLabelValues(clock).Set(b2f(connected))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
