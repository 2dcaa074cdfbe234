package publish

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the publisher's metrics (punchd_mqtt_*, punchd_outbox_*), on the registry the
// daemon serves. Build them once with NewMetrics and set Options.Metrics: they outlive a
// publisher that a reload replaces. Every series of a closed list exists at zero from the start.
type Metrics struct {
	now        func() time.Time
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	publishes  *prometheus.CounterVec // type
	errors     *prometheus.CounterVec // reason
	ack        prometheus.Histogram
	entries    prometheus.Gauge
	dropped    *prometheus.CounterVec // reason

	mu     sync.Mutex
	oldest time.Time // enqueue time of the oldest entry; zero when the outbox is empty
}

// What a message carries (label "type" of punchd_mqtt_publishes_total), by its topic under the
// prefix: the topics of docs/events.md.
const (
	typeEvent       = "event"        // {prefix}/events/{kind}
	typeDay         = "day"          // {prefix}/days
	typeClockStatus = "clock_status" // {prefix}/clocks/{clock}/status
	typeClockAlert  = "clock_alert"  // {prefix}/clocks/{clock}/alerts
	typeStatus      = "status"       // {prefix}/status
	typeReport      = "report"       // {prefix}/reports/{yyyy-mm}
	typeOther       = "other"
)

// Why a publish, or what it needs, failed (label "reason" of punchd_mqtt_publish_errors_total).
const (
	errTimeout      = "timeout"      // no acknowledgement within AckTimeout
	errDisconnected = "disconnected" // the connection was lost with the entries in flight
	errRejected     = "rejected"     // the broker or the client refused a publish
	errOther        = "other"        // a connect that failed, the outbox unreadable, the status unacknowledged
)

// Why entries were dropped from the outbox unsent (label "reason" of punchd_outbox_dropped_total).
const (
	dropSize = "size" // over MaxEntries
	dropAge  = "age"  // older than MaxAge
)

// ackBuckets: a broker on the LAN acknowledges in a millisecond or two, one across the county's
// network in tens, a struggling one in seconds (AckTimeout is 10 s).
var ackBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// NewMetrics registers the publisher's metrics on reg; now tells the age of the outbox's oldest
// entry at scrape time (so it keeps growing when the publisher stops reporting).
func NewMetrics(reg prometheus.Registerer, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	f := promauto.With(reg)
	m := &Metrics{now: now,
		connected:  f.NewGauge(prometheus.GaugeOpts{Name: "punchd_mqtt_connected", Help: "1 while connected to the MQTT broker."}),
		reconnects: f.NewCounter(prometheus.CounterOpts{Name: "punchd_mqtt_reconnects_total", Help: "Connections to the broker made after the first."}),
		publishes: f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_mqtt_publishes_total",
			Help: "Messages acknowledged by the broker, by type."}, []string{"type"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_mqtt_publish_errors_total",
			Help: "Publishes that were not acknowledged, by reason."}, []string{"reason"}),
		ack: f.NewHistogram(prometheus.HistogramOpts{Name: "punchd_mqtt_ack_latency_seconds",
			Help: "Time from handing a QoS 1 message to the client to the broker's PUBACK.", Buckets: ackBuckets}),
		entries: f.NewGauge(prometheus.GaugeOpts{Name: "punchd_outbox_entries", Help: "Messages waiting in the outbox."}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_outbox_dropped_total",
			Help: "Messages dropped from the outbox without being published, by reason."}, []string{"reason"}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "punchd_outbox_oldest_age_seconds",
		Help: "Age of the oldest message waiting in the outbox; 0 when it is empty."}, m.oldestAge)
	for _, t := range []string{typeEvent, typeDay, typeClockStatus, typeClockAlert, typeStatus, typeReport, typeOther} {
		m.publishes.WithLabelValues(t)
	}
	for _, r := range []string{errTimeout, errDisconnected, errRejected, errOther} {
		m.errors.WithLabelValues(r)
	}
	for _, r := range []string{dropSize, dropAge} {
		m.dropped.WithLabelValues(r)
	}
	return m
}

// published counts an entry on topic acknowledged after latency.
func (m *Metrics) published(prefix, topic string, latency time.Duration) {
	m.publishes.WithLabelValues(messageType(prefix, topic)).Inc()
	m.ack.Observe(latency.Seconds())
}

// outbox records the outbox's depth and the enqueue time of its oldest entry.
func (m *Metrics) outbox(entries int, oldest time.Time) {
	m.entries.Set(float64(entries))
	if entries == 0 {
		oldest = time.Time{}
	}
	m.mu.Lock()
	m.oldest = oldest
	m.mu.Unlock()
}

func (m *Metrics) oldestAge() float64 {
	m.mu.Lock()
	oldest := m.oldest
	m.mu.Unlock()
	if oldest.IsZero() {
		return 0
	}
	return max(m.now().Sub(oldest).Seconds(), 0)
}

// messageType classes a topic under prefix for punchd_mqtt_publishes_total.
func messageType(prefix, topic string) string {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	switch {
	case !ok:
		return typeOther
	case strings.HasPrefix(rest, "events/"):
		return typeEvent
	case rest == "days":
		return typeDay
	case strings.HasPrefix(rest, "clocks/") && strings.HasSuffix(rest, "/alerts"):
		return typeClockAlert
	case strings.HasPrefix(rest, "clocks/"):
		return typeClockStatus
	case rest == "status":
		return typeStatus
	case strings.HasPrefix(rest, "reports/"):
		return typeReport
	}
	return typeOther
}
