// Package metrics owns punchd's Prometheus metrics: one explicit registry
// (never the global one), the Go and process collectors, build info, and
// typed methods the daemon calls at the points where things happen.
//
// Every metric is named punchd_*, in base units (seconds, bytes), counters end
// in _total. Every label value is drawn from a closed list known here (error
// reasons, rejection reasons, ingest paths, event kinds, ...) and every
// series of that list is created at zero, so that rate() and increase() see a
// counter's first increment and an alert on "reason=timeout" exists before
// the first timeout. An unknown label value handed to a method is counted
// under "other" rather than creating a new series: the cardinality of the
// registry is fixed by this file and the number of configured clocks.
//
// The package does not decide anything: it does not classify errors, read
// the store, or time loops. The daemon does, and reports here.
//
// All methods are safe for concurrent use. A nil *Metrics is valid and does
// nothing, so code under test may run without metrics.
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace is the prefix of every metric punchd exports.
const Namespace = "punchd"

// Reasons a clock operation failed (label "reason" of
// punchd_clock_errors_total). The daemon maps its errors onto these.
const (
	ReasonTimeout          = "timeout"           // the clock did not answer in time
	ReasonConnect          = "connect"           // TCP connect / serial open / CONNECT refused
	ReasonAuth             = "auth"              // comm key rejected
	ReasonChecksum         = "checksum"          // a frame with a bad checksum
	ReasonTruncated        = "truncated"         // fewer bytes than announced
	ReasonRecordSize       = "record_size"       // a record size we do not know
	ReasonImplausibleDates = "implausible_dates" // a whole read rejected for its dates
	ReasonProtocol         = "protocol"          // any other protocol violation
	ReasonBusy             = "busy"              // the clock ignores CONNECT (another client)
	ReasonClosed           = "closed"            // the link dropped
	ReasonOther            = "other"             // anything else
)

// ErrorReasons lists every clock error reason, in a stable order.
var ErrorReasons = []string{
	ReasonTimeout, ReasonConnect, ReasonAuth, ReasonChecksum, ReasonTruncated,
	ReasonRecordSize, ReasonImplausibleDates, ReasonProtocol, ReasonBusy,
	ReasonClosed, ReasonOther,
}

// Reasons a punch read from a clock was not stored (label "reason" of
// punchd_punches_rejected_total). A punch by a user who is not on the
// roster is NOT rejected: it is stored and listed as unknown (see
// SetRoster). Nor is the same record twice in one read: it is stored once and
// the repeat counted in punchd_punches_duplicate_total.
const (
	RejectBadDate   = "bad_date"  // a date outside the plausible range
	RejectMalformed = "malformed" // a record that does not decode
)

// RejectReasons lists every rejection reason.
var RejectReasons = []string{RejectBadDate, RejectMalformed, ReasonOther}

// How a punch reached the daemon (label "path").
const (
	PathPull     = "pull"
	PathRealtime = "realtime"
)

// Paths lists every ingest path.
var Paths = []string{PathPull, PathRealtime}

// Why an outbox entry was dropped unpublished (label "reason" of
// punchd_outbox_dropped_total).
const (
	DropSize = "size" // the outbox reached its size cap
	DropAge  = "age"  // the entry outlived the age cap
)

// DropReasons lists every outbox drop reason.
var DropReasons = []string{DropSize, DropAge}

// What an MQTT message carries (label "type" of punchd_mqtt_publishes_total).
const (
	MessageEvent       = "event"        // {prefix}/events/{kind}
	MessageDay         = "day"          // {prefix}/days
	MessageClockStatus = "clock_status" // {prefix}/clocks/{clock}/status
	MessageClockAlert  = "clock_alert"  // {prefix}/clocks/{clock}/alerts
	MessageStatus      = "status"       // {prefix}/status
	MessageReport      = "report"       // {prefix}/reports/{yyyy-mm}
	MessageOther       = "other"
)

// MessageTypes lists every MQTT message type.
var MessageTypes = []string{MessageEvent, MessageDay, MessageClockStatus, MessageClockAlert, MessageStatus, MessageReport, MessageOther}

// Why an MQTT publish failed (label "reason" of
// punchd_mqtt_publish_errors_total).
const (
	PublishTimeout      = "timeout"      // no PUBACK within the wait
	PublishDisconnected = "disconnected" // the connection was lost with the message in flight
	PublishRejected     = "rejected"     // the broker or client returned an error
	PublishOther        = "other"
)

// PublishErrorReasons lists every publish error reason.
var PublishErrorReasons = []string{PublishTimeout, PublishDisconnected, PublishRejected, PublishOther}

// Outcome of a pull (label "result" of punchd_clock_pull_duration_seconds).
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Histogram buckets, chosen for what is measured rather than for a web
// server. A pull talks to a clock at ~20 ms a packet: an empty log answers in
// tens of milliseconds, 100,000 records take a minute or more over a slow
// link or serial line.
var (
	PullBuckets   = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	AckBuckets    = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	CommitBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
)

// BuildInfo identifies the running binary (punchd_build_info).
type BuildInfo struct {
	Version   string // e.g. "1.2.0" or "dev"
	Revision  string // VCS revision, may be empty
	GoVersion string // runtime.Version()
}

// Metrics holds every punchd metric on its own registry.
type Metrics struct {
	reg       *prometheus.Registry
	now       func() time.Time
	noRuntime bool

	clockUp          *prometheus.GaugeVec
	clockInfo        *prometheus.GaugeVec
	clockLastPull    *prometheus.GaugeVec
	clockPull        *prometheus.HistogramVec
	clockErrors      *prometheus.CounterVec
	clockRecords     *prometheus.GaugeVec
	clockCapacity    *prometheus.GaugeVec
	clockOffset      *prometheus.GaugeVec
	clockRealtime    *prometheus.GaugeVec
	clockLogShrunk   *prometheus.CounterVec
	clockAlerts      *prometheus.CounterVec
	byClock          []clockVec // every vector labelled by clock, for RemoveClock
	clockReadRetries *prometheus.CounterVec
	clockReadBytes   *prometheus.CounterVec
	clockRealtimeEvt *prometheus.CounterVec

	punchesIngested  *prometheus.CounterVec
	punchesDuplicate *prometheus.CounterVec
	punchesRejected  *prometheus.CounterVec

	events      *prometheus.CounterVec
	corrections *prometheus.CounterVec

	outboxEntries prometheus.Gauge
	outboxDropped *prometheus.CounterVec
	outboxMu      sync.Mutex
	outboxOldest  time.Time // zero when the outbox is empty

	mqttConnected  prometheus.Gauge
	mqttPublishes  *prometheus.CounterVec
	mqttErrors     *prometheus.CounterVec
	mqttReconnects prometheus.Counter
	mqttAck        prometheus.Histogram

	storeSize   prometheus.Gauge
	storeCommit prometheus.Histogram

	calendarMissing prometheus.Gauge
	calendarYear    *prometheus.GaugeVec

	configReloads    *prometheus.CounterVec
	configLastReload prometheus.Gauge
	configLastOK     prometheus.Gauge
	rosterPeople     prometheus.Gauge
	rosterUnknown    prometheus.Gauge

	clocksMu sync.Mutex
	clocks   map[string]bool
}

// Option changes how New builds Metrics.
type Option func(*Metrics)

// WithNow sets the clock used to compute ages at scrape time (tests).
func WithNow(now func() time.Time) Option { return func(m *Metrics) { m.now = now } }

// WithoutRuntimeCollectors leaves out the Go and process collectors, whose
// values change between two scrapes (golden tests).
func WithoutRuntimeCollectors() Option { return func(m *Metrics) { m.noRuntime = true } }

// New builds the metrics on a fresh registry and registers the Go and
// process collectors and punchd_build_info.
func New(build BuildInfo, opts ...Option) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now, clocks: map[string]bool{}}
	for _, o := range opts {
		o(m)
	}
	f := factory{reg: m.reg, byClock: &m.byClock}
	clock := []string{"clock"}

	if !m.noRuntime {
		m.reg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	f.gaugeVec("build_info", "A constant 1 labelled with the version, VCS revision and Go version of punchd.",
		[]string{"version", "revision", "goversion"}).
		WithLabelValues(orDash(build.Version), orDash(build.Revision), orDash(build.GoVersion)).Set(1)

	m.clockUp = f.gaugeVec("clock_up", "1 when the last attempt to reach the clock succeeded, 0 when it failed.", clock)
	m.clockInfo = f.gaugeVec("clock_info", "A constant 1 labelled with the clock's serial number, firmware and platform, as last read from it.",
		[]string{"clock", "serial", "firmware", "platform"})
	m.clockLastPull = f.gaugeVec("clock_last_successful_pull_timestamp_seconds", "Unix time of the last complete, committed pull of the clock's log; 0 before the first.", clock)
	m.clockPull = f.histogramVec("clock_pull_duration_seconds", "Time to read the clock's whole log and commit it, by result.", PullBuckets, []string{"clock", "result"})
	m.clockErrors = f.counterVec("clock_errors_total", "Failed operations on a clock, by reason.", []string{"clock", "reason"})
	m.clockRecords = f.gaugeVec("clock_records", "Attendance records held by the clock at the last pull.", clock)
	m.clockCapacity = f.gaugeVec("clock_record_capacity", "Attendance records the clock can hold.", clock)
	m.clockOffset = f.gaugeVec("clock_offset_seconds", "The clock's time minus the host's time at the last measurement (positive: the clock is ahead).", clock)
	m.clockRealtime = f.gaugeVec("clock_realtime_connected", "1 while a realtime event subscription to the clock is up.", clock)
	m.clockAlerts = f.counterVec("clock_alerts_total", "Clock alerts queued for {prefix}/clocks/{clock}/alerts, by kind (log_cleared, user_enrolled, time_moved, …).", []string{"clock", "kind"})
	m.clockLogShrunk = f.counterVec("clock_log_shrunk_total", "Times the clock's log was found shorter than at the previous pull (cleared or rotated).", clock)
	m.clockRealtimeEvt = f.counterVec("clock_realtime_events_total", "Realtime events received from the clock, by whether they were understood.", []string{"clock", "result"})
	m.clockReadRetries = f.counterVec("clock_read_retries_total", "Chunks of a clock's log asked for again after a lost or damaged packet (a noisy line).", clock)
	m.clockReadBytes = f.counterVec("clock_read_bytes_total", "Bytes of attendance records moved from the clock by committed pulls.", clock)

	m.punchesIngested = f.counterVec("punches_ingested_total", "Punches newly stored, by clock and path (pull or realtime).", []string{"clock", "path"})
	m.punchesDuplicate = f.counterVec("punches_duplicate_total", "Punches read again that were already stored (expected: every pull re-reads the log).", []string{"clock", "path"})
	m.punchesRejected = f.counterVec("punches_rejected_total", "Punches read from a clock and not stored, by reason.", []string{"clock", "reason"})

	m.events = f.counterVec("events_total", "Attendance events queued for publishing, by kind.", []string{"kind"})
	m.corrections = f.counterVec("event_corrections_total", "Corrections (same id, higher rev) queued for publishing, by kind.", []string{"kind"})

	m.outboxEntries = f.gauge("outbox_entries", "Messages waiting in the outbox.")
	f.gaugeFunc("outbox_oldest_age_seconds", "Age of the oldest message waiting in the outbox; 0 when it is empty.", m.outboxAge)
	m.outboxDropped = f.counterVec("outbox_dropped_total", "Messages dropped from the outbox without being published, by reason.", []string{"reason"})

	m.mqttConnected = f.gauge("mqtt_connected", "1 while connected to the MQTT broker.")
	m.mqttPublishes = f.counterVec("mqtt_publishes_total", "Messages acknowledged by the broker, by type.", []string{"type"})
	m.mqttErrors = f.counterVec("mqtt_publish_errors_total", "Publishes that were not acknowledged, by reason.", []string{"reason"})
	m.mqttReconnects = f.counter("mqtt_reconnects_total", "Connections to the broker made after the first.")
	m.mqttAck = f.histogram("mqtt_ack_latency_seconds", "Time from handing a QoS 1 message to the client to the broker's PUBACK.", AckBuckets)

	m.storeSize = f.gauge("store_size_bytes", "Size of the bbolt store file.")
	m.storeCommit = f.histogram("store_commit_duration_seconds", "Duration of write transactions on the store.", CommitBuckets)

	m.calendarMissing = f.gauge("calendar_years_missing", "Years the daemon needs (this year; next year from December) without holiday data.")
	m.calendarYear = f.gaugeVec("calendar_year_has_data", "1 when holiday data for the year is loaded, 0 when it is missing.", []string{"year"})

	m.configReloads = f.counterVec("config_reloads_total", "Reloads of the configuration and roster (SIGHUP), by result.", []string{"result"})
	m.configLastReload = f.gauge("config_last_reload_timestamp_seconds", "Unix time of the last load of the configuration and roster.")
	m.configLastOK = f.gauge("config_last_reload_successful", "1 when the last load of the configuration and roster succeeded.")
	m.rosterPeople = f.gauge("roster_people", "People on the roster, loaded at start and on SIGHUP.")
	m.rosterUnknown = f.gauge("roster_unknown_users", "User ids seen on a clock that are not on the roster.")

	for _, r := range DropReasons {
		m.outboxDropped.WithLabelValues(r)
	}
	for _, t := range MessageTypes {
		m.mqttPublishes.WithLabelValues(t)
	}
	for _, r := range PublishErrorReasons {
		m.mqttErrors.WithLabelValues(r)
	}
	for _, k := range attendance.EventKinds {
		m.events.WithLabelValues(string(k))
		m.corrections.WithLabelValues(string(k))
	}
	for _, r := range []string{ResultSuccess, ResultFailure} {
		m.configReloads.WithLabelValues(r)
	}
	return m
}

// Registry is the registry the metrics live on; other packages may register
// their own collectors on it (health.Liveness does).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats at
// /metrics. Errors while gathering are served, not hidden.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}

// InitClock creates every series of a clock at its initial value (errors,
// rejections and ingest paths at 0, up at 0) so that alerts and rates see
// the clock before anything happens to it. Call it once per configured clock
// at start; calling it again is harmless.
func (m *Metrics) InitClock(name string) {
	if m == nil {
		return
	}
	m.clocksMu.Lock()
	defer m.clocksMu.Unlock()
	if m.clocks[name] {
		return
	}
	m.clocks[name] = true
	m.clockUp.WithLabelValues(name).Set(0)
	m.clockLastPull.WithLabelValues(name).Set(0)
	m.clockRecords.WithLabelValues(name).Set(0)
	m.clockCapacity.WithLabelValues(name).Set(0)
	m.clockOffset.WithLabelValues(name).Set(0)
	m.clockRealtime.WithLabelValues(name).Set(0)
	m.clockLogShrunk.WithLabelValues(name)
	m.clockReadRetries.WithLabelValues(name)
	m.clockReadBytes.WithLabelValues(name)
	m.clockRealtimeEvt.WithLabelValues(name, "understood")
	m.clockRealtimeEvt.WithLabelValues(name, "unknown")
	for _, r := range []string{ResultSuccess, ResultFailure} {
		m.clockPull.WithLabelValues(name, r)
	}
	for _, r := range ErrorReasons {
		m.clockErrors.WithLabelValues(name, r)
	}
	for _, p := range Paths {
		m.punchesIngested.WithLabelValues(name, p)
		m.punchesDuplicate.WithLabelValues(name, p)
	}
	for _, r := range RejectReasons {
		m.punchesRejected.WithLabelValues(name, r)
	}
}

// ClockRead records what a committed pull moved from the clock: bytes of records and chunks asked
// for again.
func (m *Metrics) ClockRead(clock string, bytes, retries int) {
	if m == nil {
		return
	}
	m.clockReadBytes.WithLabelValues(clock).Add(float64(bytes))
	m.clockReadRetries.WithLabelValues(clock).Add(float64(retries))
}

// ClockUp records whether the last attempt to reach the clock succeeded.
func (m *Metrics) ClockUp(clock string, up bool) {
	if m == nil {
		return
	}
	m.clockUp.WithLabelValues(clock).Set(b2f(up))
}

// PullSucceeded records a complete, committed pull that ended at `at` and
// took d. It also sets the clock up.
func (m *Metrics) PullSucceeded(clock string, at time.Time, d time.Duration) {
	if m == nil {
		return
	}
	m.clockPull.WithLabelValues(clock, ResultSuccess).Observe(d.Seconds())
	m.clockLastPull.WithLabelValues(clock).Set(float64(at.UnixNano()) / 1e9)
	m.clockUp.WithLabelValues(clock).Set(1)
}

// PullFailed records a pull that failed after d for reason (one of
// ErrorReasons; anything else counts as "other"). It counts the error and
// sets the clock down.
func (m *Metrics) PullFailed(clock, reason string, d time.Duration) {
	if m == nil {
		return
	}
	m.clockPull.WithLabelValues(clock, ResultFailure).Observe(d.Seconds())
	m.ClockError(clock, reason)
	m.clockUp.WithLabelValues(clock).Set(0)
}

// ClockError counts a failed operation on the clock outside a pull (connect,
// realtime link, time read or set). reason is one of ErrorReasons; anything
// else counts as "other".
func (m *Metrics) ClockError(clock, reason string) {
	if m == nil {
		return
	}
	m.clockErrors.WithLabelValues(clock, known(reason, ErrorReasons, ReasonOther)).Inc()
}

// RemoveClock drops every series of a clock taken out of the configuration, so that no alert
// fires for a clock punchd no longer pulls.
func (m *Metrics) RemoveClock(name string) {
	if m == nil {
		return
	}
	m.clocksMu.Lock()
	defer m.clocksMu.Unlock()
	delete(m.clocks, name)
	for _, v := range m.byClock {
		v.DeletePartialMatch(prometheus.Labels{"clock": name})
	}
}

// SetClockInfo records what the clock says it is (punchd_clock_info),
// replacing what an earlier call set for the same clock.
func (m *Metrics) SetClockInfo(clock, serial, firmware, platform string) {
	if m == nil {
		return
	}
	m.clockInfo.DeletePartialMatch(prometheus.Labels{"clock": clock})
	m.clockInfo.WithLabelValues(clock, serial, firmware, platform).Set(1)
}

// SetClockLog records how many attendance records the clock holds and how
// many it can hold (capacity 0: unknown).
func (m *Metrics) SetClockLog(clock string, records, capacity int) {
	if m == nil {
		return
	}
	m.clockRecords.WithLabelValues(clock).Set(float64(records))
	m.clockCapacity.WithLabelValues(clock).Set(float64(capacity))
}

// SetClockOffset records the clock's time minus the host's.
func (m *Metrics) SetClockOffset(clock string, offset time.Duration) {
	if m == nil {
		return
	}
	m.clockOffset.WithLabelValues(clock).Set(offset.Seconds())
}

// SetRealtimeConnected records whether the realtime subscription is up.
func (m *Metrics) SetRealtimeConnected(clock string, connected bool) {
	if m == nil {
		return
	}
	m.clockRealtime.WithLabelValues(clock).Set(b2f(connected))
}

// RealtimeEvent counts a realtime event from the clock; understood is false
// for a payload of unknown length (logged by the caller).
func (m *Metrics) RealtimeEvent(clock string, understood bool) {
	if m == nil {
		return
	}
	r := "understood"
	if !understood {
		r = "unknown"
	}
	m.clockRealtimeEvt.WithLabelValues(clock, r).Inc()
}

// AlertQueued counts a clock alert queued, by kind.
func (m *Metrics) AlertQueued(clock string, kind event.AlertKind) {
	if m == nil {
		return
	}
	m.clockAlerts.WithLabelValues(clock, string(kind)).Inc()
}

// LogShrunk counts a clock log found shorter than at the previous pull.
func (m *Metrics) LogShrunk(clock string) {
	if m == nil {
		return
	}
	m.clockLogShrunk.WithLabelValues(clock).Inc()
}

// PunchesIngested counts n punches newly stored from the clock by path
// (PathPull or PathRealtime; anything else counts as pull).
func (m *Metrics) PunchesIngested(clock, path string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.punchesIngested.WithLabelValues(clock, known(path, Paths, PathPull)).Add(float64(n))
}

// PunchesDuplicate counts n punches read again that were already stored.
func (m *Metrics) PunchesDuplicate(clock, path string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.punchesDuplicate.WithLabelValues(clock, known(path, Paths, PathPull)).Add(float64(n))
}

// PunchesRejected counts n punches not stored for reason (one of
// RejectReasons; anything else counts as "other").
func (m *Metrics) PunchesRejected(clock, reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.punchesRejected.WithLabelValues(clock, known(reason, RejectReasons, ReasonOther)).Add(float64(n))
}

// EventQueued counts an event put in the outbox; correction is true for a
// new revision of an already published id. An unknown kind is not counted
// (there is no "other" kind of lateness).
func (m *Metrics) EventQueued(kind attendance.EventKind, correction bool) {
	if m == nil || !slices.Contains(attendance.EventKinds, kind) {
		return
	}
	if correction {
		m.corrections.WithLabelValues(string(kind)).Inc()
		return
	}
	m.events.WithLabelValues(string(kind)).Inc()
}

// SetOutbox records the outbox depth and the enqueue time of its oldest
// entry (ignored when entries is 0). The age is computed at scrape time, so
// it keeps growing even if the publish loop stops reporting.
func (m *Metrics) SetOutbox(entries int, oldest time.Time) {
	if m == nil {
		return
	}
	m.outboxEntries.Set(float64(entries))
	m.outboxMu.Lock()
	if entries == 0 {
		oldest = time.Time{}
	}
	m.outboxOldest = oldest
	m.outboxMu.Unlock()
}

func (m *Metrics) outboxAge() float64 {
	m.outboxMu.Lock()
	oldest := m.outboxOldest
	m.outboxMu.Unlock()
	if oldest.IsZero() {
		return 0
	}
	age := m.now().Sub(oldest).Seconds()
	if age < 0 {
		return 0
	}
	return age
}

// OutboxDropped counts n entries dropped unpublished for reason (DropSize or
// DropAge; anything else counts as size).
func (m *Metrics) OutboxDropped(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.outboxDropped.WithLabelValues(known(reason, DropReasons, DropSize)).Add(float64(n))
}

// SetMQTTConnected records whether the broker connection is up.
func (m *Metrics) SetMQTTConnected(connected bool) {
	if m == nil {
		return
	}
	m.mqttConnected.Set(b2f(connected))
}

// MQTTReconnected counts a connection to the broker made after the first.
func (m *Metrics) MQTTReconnected() {
	if m == nil {
		return
	}
	m.mqttReconnects.Inc()
}

// MQTTPublished counts a message of type typ (one of MessageTypes) that the
// broker acknowledged after ack.
func (m *Metrics) MQTTPublished(typ string, ack time.Duration) {
	if m == nil {
		return
	}
	m.mqttPublishes.WithLabelValues(known(typ, MessageTypes, MessageOther)).Inc()
	m.mqttAck.Observe(ack.Seconds())
}

// MQTTPublishFailed counts a publish that was not acknowledged (reason one
// of PublishErrorReasons; anything else counts as "other").
func (m *Metrics) MQTTPublishFailed(reason string) {
	if m == nil {
		return
	}
	m.mqttErrors.WithLabelValues(known(reason, PublishErrorReasons, PublishOther)).Inc()
}

// SetStoreSize records the store file's size.
func (m *Metrics) SetStoreSize(bytes int64) {
	if m == nil {
		return
	}
	m.storeSize.Set(float64(bytes))
}

// Committed records the duration of one write transaction.
func (m *Metrics) Committed(d time.Duration) {
	if m == nil {
		return
	}
	m.storeCommit.Observe(d.Seconds())
}

// SetCalendarYears records, for each year the daemon needs, whether holiday
// data is loaded. It replaces what an earlier call set.
func (m *Metrics) SetCalendarYears(hasData map[int]bool) {
	if m == nil {
		return
	}
	m.calendarYear.Reset()
	missing := 0
	for y, ok := range hasData {
		m.calendarYear.WithLabelValues(strconv.Itoa(y)).Set(b2f(ok))
		if !ok {
			missing++
		}
	}
	m.calendarMissing.Set(float64(missing))
}

// ConfigLoaded records a load of the configuration and roster at `at` (at
// start and on each SIGHUP) and whether it succeeded.
func (m *Metrics) ConfigLoaded(ok bool, at time.Time) {
	if m == nil {
		return
	}
	r := ResultSuccess
	if !ok {
		r = ResultFailure
	}
	m.configReloads.WithLabelValues(r).Inc()
	m.configLastReload.Set(float64(at.UnixNano()) / 1e9)
	m.configLastOK.Set(b2f(ok))
}

// SetRoster records the number of people on the roster and of user ids seen
// on clocks but missing from it.
func (m *Metrics) SetRoster(people, unknown int) {
	if m == nil {
		return
	}
	m.rosterPeople.Set(float64(people))
	m.rosterUnknown.Set(float64(unknown))
}

func known(v string, list []string, fallback string) string {
	if slices.Contains(list, v) {
		return v
	}
	return fallback
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// factory registers each metric on one registry under the punchd namespace.
// factory registers the metrics; it keeps every vector labelled by clock in byClock.
type factory struct {
	reg     *prometheus.Registry
	byClock *[]clockVec
}

// clockVec is a metric vector with a "clock" label.
type clockVec interface {
	DeletePartialMatch(prometheus.Labels) int
}

func (f factory) perClock(v clockVec, labels []string) {
	if slices.Contains(labels, "clock") {
		*f.byClock = append(*f.byClock, v)
	}
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) gaugeFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}

func (f factory) gaugeVec(name, help string, labels []string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	f.perClock(g, labels)
	return g
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	f.perClock(c, labels)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	f.perClock(h, labels)
	return h
}
