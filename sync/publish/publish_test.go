package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/sync/publish"
)

const prefix = "punchd/test"

var shanghai = time.FixedZone("CST", 8*3600)

// sampleEvent is event i of a run: a distinct person-day-slot, so a distinct id.
func sampleEvent(i int) event.Event {
	day := attendance.Date{Year: 2026, Month: 3, Day: 2}.AddDays(i / 400)
	slot := attendance.Slots[i%4]
	kinds := map[attendance.SlotName]attendance.EventKind{
		attendance.AmIn: attendance.EventLate, attendance.AmOut: attendance.EventEarly,
		attendance.PmIn: attendance.EventMissing, attendance.PmOut: attendance.EventAbsent,
	}
	kind := kinds[slot]
	user := fmt.Sprintf("A%04d", (i/4)%100)
	exp := day.At(8*3600+30*60, shanghai)
	e := event.Event{
		ID: event.ID("jinbi", user, day, slot, kind), Rev: 1, Kind: kind, Site: "jinbi", Clock: "dangzhengban",
		UserID: user, Name: "张三" + user, Unit: "党政办", Date: day.String(), Slot: string(slot),
		Expected: exp.Format(time.RFC3339), Minutes: i % 60, Severity: attendance.SeverityMinor,
		JudgedAt: exp.Add(time.Hour).Format(time.RFC3339),
	}
	if kind == attendance.EventLate || kind == attendance.EventEarly {
		a := exp.Add(time.Duration(i%60) * time.Minute).Format(time.RFC3339)
		e.Actual = &a
	} else {
		e.Severity = attendance.SeveritySerious
	}
	return e
}

func enqueueEvents(t testing.TB, ob *memOutbox, from, n int) map[string]bool {
	ids := make(map[string]bool, n)
	for i := from; i < from+n; i++ {
		e := sampleEvent(i)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		ob.add(event.Topic(prefix, e.Kind), b, false, time.Now())
		ids[e.ID] = true
	}
	return ids
}

// collector is a subscriber that records what it receives.
type collector struct {
	client mqtt.Client
	mu     sync.Mutex
	msgs   map[string][][]byte // topic -> payloads
	ids    map[string]int      // event id -> times received
	qos    map[byte]int        // QoS of the messages as delivered -> how many
	got    chan struct{}
}

// subscribe connects a subscriber to filter. persistent keeps its session (QoS 1 messages are
// queued by the broker while it is away, across a broker restart).
func subscribe(t testing.TB, url, clientID, filter string, persistent bool) *collector {
	t.Helper()
	return subscribeAt(t, url, clientID, filter, persistent, 1)
}

// subscribeAt is subscribe with the subscription's maximum QoS.
func subscribeAt(t testing.TB, url, clientID, filter string, persistent bool, qos byte) *collector {
	t.Helper()
	c := &collector{msgs: map[string][][]byte{}, ids: map[string]int{}, qos: map[byte]int{}, got: make(chan struct{}, 1)}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		c.msgs[m.Topic()] = append(c.msgs[m.Topic()], m.Payload())
		c.qos[m.Qos()]++
		if strings.Contains(m.Topic(), "/events/") {
			var e event.Event
			if err := json.Unmarshal(m.Payload(), &e); err == nil {
				c.ids[e.ID]++
			}
		}
		c.mu.Unlock()
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetCleanSession(!persistent).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond).
		SetOrderMatters(false).
		SetOnConnectHandler(func(cl mqtt.Client) { cl.Subscribe(filter, qos, handler) })
	c.client = mqtt.NewClient(opts)
	tok := c.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	// Make sure the subscription is in place before anything is published.
	st := c.client.Subscribe(filter, qos, handler)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, st.Error())
	}
	t.Cleanup(func() { c.client.Disconnect(0) })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool, signals ...<-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-first(signals):
		}
	}
}

func first(s []<-chan struct{}) <-chan struct{} {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func (c *collector) idCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ids))
	for k, v := range c.ids {
		out[k] = v
	}
	return out
}

func (c *collector) payloads(topic string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.msgs[topic]...)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func fastOptions(t testing.TB, url string) publish.Options {
	o := publish.DefaultOptions()
	o.Broker = url
	o.ClientID = "punchd-test"
	o.Prefix = prefix
	o.Version = "test"
	o.BackoffMin = 50 * time.Millisecond
	o.BackoffMax = 300 * time.Millisecond
	o.PollInterval = 200 * time.Millisecond
	o.ConnectTimeout = 2 * time.Second
	o.AckTimeout = 3 * time.Second
	o.Logger = testLogger(t)
	return o
}

// metrics is the registry a test's publisher counts on.
type metrics struct{ reg *prometheus.Registry }

// withMetrics gives o metrics on a registry of the test's own.
func withMetrics(o publish.Options) (publish.Options, metrics) {
	reg := prometheus.NewRegistry()
	o.Metrics = publish.NewMetrics(reg, o.Now)
	return o, metrics{reg}
}

// get is the value of metric name's series whose label is value (label "": its one series; a
// histogram's value is its count).
func (m metrics) get(t testing.TB, name, label, value string) float64 {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if label != "" && !slices.ContainsFunc(s.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == label && l.GetValue() == value }) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue()
			case s.Gauge != nil:
				return s.GetGauge().GetValue()
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

// run starts p.Run in the background; the returned func cancels it and waits for Run to return.
func run(t testing.TB, p *publish.Publisher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				t.Logf("Run returned %s after cancel", time.Since(start).Round(time.Millisecond))
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func readRetained(t testing.TB, url, topic string) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("retained-%d", time.Now().UnixNano()))
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})
	select {
	case b := <-got:
		return b
	case <-time.After(5 * time.Second):
		t.Fatalf("no retained message on %s", topic)
		return nil
	}
}

func TestEventsArriveWithAllFields(t *testing.T) {
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-fields", prefix+"/#", false)
	ob := newMemOutbox()
	ids := enqueueEvents(t, ob, 0, 40)

	o, m := withMetrics(fastOptions(t, b.URL()))
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitFor(t, "all events received", 10*time.Second, func() bool { return len(sub.idCounts()) == len(ids) }, sub.got)
	waitFor(t, "outbox drained", 10*time.Second, func() bool { return ob.count() == 0 })

	for _, kind := range attendance.EventKinds {
		for _, raw := range sub.payloads(event.Topic(prefix, kind)) {
			var fields map[string]any
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatalf("payload %s: %v", raw, err)
			}
			for _, f := range []string{"id", "rev", "kind", "site", "clock", "user_id", "name", "date", "slot",
				"expected", "actual", "minutes", "severity", "excused", "registration", "judged_at"} {
				if _, ok := fields[f]; !ok {
					t.Errorf("payload on %s lacks %q: %s", kind, f, raw)
				}
			}
			var e event.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				t.Errorf("received event does not validate: %v", err)
			}
			if e.Kind != kind {
				t.Errorf("event of kind %q on topic of %q", e.Kind, kind)
			}
			if !ids[e.ID] {
				t.Errorf("received an id that was never enqueued: %s", e.ID)
			}
		}
	}
	for id, n := range sub.idCounts() {
		if n != 1 {
			t.Errorf("id %s received %d times on a clean run", id, n)
		}
	}
	if n := m.get(t, "punchd_mqtt_publishes_total", "type", "event"); n != float64(len(ids)) {
		t.Errorf("%v events counted published, want %d", n, len(ids))
	}
	if n := m.get(t, "punchd_mqtt_ack_latency_seconds", "", ""); n != float64(len(ids)) {
		t.Errorf("%v acknowledgement latencies observed, want %d", n, len(ids))
	}
	if m.get(t, "punchd_mqtt_connected", "", "") != 1 || m.get(t, "punchd_mqtt_reconnects_total", "", "") != 0 {
		t.Errorf("connected %v, reconnects %v; want 1 and 0", m.get(t, "punchd_mqtt_connected", "", ""), m.get(t, "punchd_mqtt_reconnects_total", "", ""))
	}

	var st event.Status
	if err := json.Unmarshal(readRetained(t, b.URL(), event.StatusTopic(prefix)), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != event.StateOnline || st.Version != "test" || st.Since == "" {
		t.Errorf("retained status while running = %+v, want online", st)
	}
	if !p.Connected() {
		t.Errorf("Connected() = false while running")
	}
	stop()
	if err := json.Unmarshal(readRetained(t, b.URL(), event.StatusTopic(prefix)), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != event.StateOffline || st.Reason != "shutdown" {
		t.Errorf("retained status after shutdown = %+v, want offline/shutdown", st)
	}
}

// TestBrokerOutage: the broker goes away mid-drain and comes back. Nothing is lost, nothing is
// deleted from the outbox without an acknowledgement, and duplicates carry an already-used id.
func TestBrokerOutage(t *testing.T) {
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-outage", event.EventsFilter(prefix), true)
	ob := newMemOutbox()
	want := enqueueEvents(t, ob, 0, 1500)

	o, m := withMetrics(fastOptions(t, b.URL()))
	logs := &logRecorder{Handler: o.Logger.Handler(), mu: new(sync.Mutex), recs: new([]slog.Record)}
	o.Logger = slog.New(logs)
	o.Inflight = 4 // slow the drain so the outage lands in the middle of it
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "some entries acknowledged", 10*time.Second, func() bool { return len(ob.deletedSeqs()) >= 50 }, ob.changed)

	b.Stop()
	// While the broker is away the daemon keeps enqueueing.
	for k, v := range enqueueEvents(t, ob, 1500, 200) {
		want[k] = v
	}
	p.Notify()
	// Stay down for a while: several reconnect attempts fail.
	waitFor(t, "reconnect attempts refused", 10*time.Second, func() bool { return m.get(t, "punchd_mqtt_publish_errors_total", "reason", "other") >= 3 })
	left := ob.count()
	if left == 0 {
		t.Fatalf("outbox empty while the broker is down: entries were deleted without an acknowledgement")
	}
	b.Restart()

	waitFor(t, "outbox drained after the restart", 30*time.Second, func() bool { return ob.count() == 0 }, ob.changed)
	waitFor(t, "subscriber has every id", 30*time.Second, func() bool { return len(sub.idCounts()) >= len(want) }, sub.got)

	dups := 0
	for id, n := range sub.idCounts() {
		if !want[id] {
			t.Errorf("received id %s that was never enqueued", id)
		}
		dups += n - 1
	}
	for id := range want {
		if sub.idCounts()[id] == 0 {
			t.Errorf("id %s lost", id)
		}
	}
	if m.get(t, "punchd_mqtt_reconnects_total", "", "") < 1 {
		t.Errorf("no reconnect counted")
	}
	if m.get(t, "punchd_mqtt_publish_errors_total", "reason", "disconnected") < 1 {
		t.Errorf("the lost connection not counted")
	}
	t.Logf("outage: %d entries left when the broker stopped, %d duplicates (same id) after, %v reconnects", left, dups, m.get(t, "punchd_mqtt_reconnects_total", "", ""))

	// The logs: the outage once at WARN, the refused attempts at DEBUG, the recovery once at INFO
	// with how long the broker was away.
	var warns, connected, retries []slog.Record
	for _, r := range logs.records() {
		switch {
		case r.Level == slog.LevelWarn:
			warns = append(warns, r)
		case r.Message == "mqtt connected":
			connected = append(connected, r)
		case r.Message == "mqtt still down" && r.Level == slog.LevelDebug:
			retries = append(retries, r)
		}
	}
	if len(warns) != 1 || warns[0].Message != "mqtt connection lost" || !hasAttr(warns[0], "err") {
		t.Errorf("WARN lines for one outage: %v, want one \"mqtt connection lost\" with its err", warns)
	}
	if len(retries) < 2 {
		t.Errorf("%d DEBUG \"mqtt still down\" lines for %v refused attempts", len(retries), m.get(t, "punchd_mqtt_publish_errors_total", "reason", "other"))
	}
	if len(connected) != 2 || connected[0].Level != slog.LevelInfo || hasAttr(connected[0], "down_for") || !hasAttr(connected[1], "down_for") {
		t.Errorf("\"mqtt connected\" lines: %v, want the first connect and the recovery with down_for", connected)
	}
}

// logRecorder keeps every record it handles and passes it on.
type logRecorder struct {
	slog.Handler
	mu   *sync.Mutex
	recs *[]slog.Record
}

func (l *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	*l.recs = append(*l.recs, r.Clone())
	l.mu.Unlock()
	return l.Handler.Handle(ctx, r)
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{Handler: l.Handler.WithAttrs(as), mu: l.mu, recs: l.recs}
}

func (l *logRecorder) WithGroup(name string) slog.Handler {
	return &logRecorder{Handler: l.Handler.WithGroup(name), mu: l.mu, recs: l.recs}
}

func (l *logRecorder) records() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*l.recs)
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = found || a.Key == key
		return !found
	})
	return found
}

// TestCancelMidDrain: a publisher stopped mid-drain leaves the unacknowledged entries in the
// outbox, and every entry it deleted reached the broker.
func TestCancelMidDrain(t *testing.T) {
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-cancel", event.EventsFilter(prefix), false)
	ob := newMemOutbox()
	want := enqueueEvents(t, ob, 0, 8000) // far more than it can drain before the stop, even on a busy machine
	seqID := map[uint64]string{}
	for _, e := range ob.remaining() {
		var ev event.Event
		_ = json.Unmarshal(e.Payload, &ev)
		seqID[e.Seq] = ev.ID
	}

	o := fastOptions(t, b.URL())
	o.Inflight = 2
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitFor(t, "some entries acknowledged", time.Minute, func() bool { return len(ob.deletedSeqs()) >= 100 }, ob.changed)
	stop()

	deleted := ob.deletedSeqs()
	if ob.count() == 0 {
		t.Fatalf("outbox drained completely; the test did not stop mid-drain")
	}
	if len(deleted)+ob.count() != len(want) {
		t.Errorf("deleted %d + left %d != enqueued %d", len(deleted), ob.count(), len(want))
	}
	waitFor(t, "every deleted entry received", time.Minute, func() bool {
		got := sub.idCounts()
		for _, s := range deleted {
			if got[seqID[s]] == 0 {
				return false
			}
		}
		return true
	}, sub.got)

	// A new publisher (the daemon restarted) sends what is left.
	p2, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p2)
	// Generous bounds: under a loaded CI machine, thousands of QoS 1 round trips at inflight 2 take a while.
	waitFor(t, "outbox drained by the next run", 2*time.Minute, func() bool { return ob.count() == 0 }, ob.changed)
	waitFor(t, "every id received", 2*time.Minute, func() bool { return len(sub.idCounts()) == len(want) }, sub.got)
}

// TestLastWill: a connection that dies (the broker is reached through a proxy that is cut)
// leaves the retained Last Will "offline"/"lost"; the publisher reconnects and says "online".
func TestLastWill(t *testing.T) {
	b := mqtttest.Start(t)
	px := mqtttest.NewProxy(t, b.Addr())
	ob := newMemOutbox()
	o, m := withMetrics(fastOptions(t, "tcp://"+px.Addr()))
	o.KeepAlive = 2 * time.Second
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, b.URL(), "sub-will", event.StatusTopic(prefix), false)
	run(t, p)
	waitFor(t, "connected", 10*time.Second, p.Connected)

	px.Pause() // cut every connection and refuse new ones until Resume
	waitFor(t, "Last Will published", 20*time.Second, func() bool {
		for _, raw := range sub.payloads(event.StatusTopic(prefix)) {
			var st event.Status
			if json.Unmarshal(raw, &st) == nil && st.State == event.StateOffline && st.Reason == "lost" {
				return true
			}
		}
		return false
	}, sub.got)
	px.Resume()
	enqueueEvents(t, ob, 0, 10)
	p.Notify()
	waitFor(t, "reconnected and drained", 20*time.Second, func() bool { return ob.count() == 0 && m.get(t, "punchd_mqtt_reconnects_total", "", "") >= 1 }, ob.changed)
}

func TestTLSAndPassword(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{TLS: true, RequireClientCert: true, Users: map[string]string{"punchd": "s3cret"}})
	pwFile := filepath.Join(t.TempDir(), "mqtt.pass")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ob := newMemOutbox()
	enqueueEvents(t, ob, 0, 5)
	o := fastOptions(t, b.URL())
	o.CAFile, o.CertFile, o.KeyFile = b.CAFile, b.CertFile, b.KeyFile
	o.Username, o.PasswordFile = "punchd", pwFile
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "drained over TLS", 10*time.Second, func() bool { return ob.count() == 0 }, ob.changed)

	// A wrong password never connects and never deletes anything.
	if err := os.WriteFile(pwFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ob2 := newMemOutbox()
	enqueueEvents(t, ob2, 0, 5)
	o.ClientID = "punchd-test-wrong"
	o, m := withMetrics(o)
	p2, err := publish.New(ob2, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p2)
	waitFor(t, "connect refused twice", 10*time.Second, func() bool { return m.get(t, "punchd_mqtt_publish_errors_total", "reason", "other") >= 2 })
	if ob2.count() != 5 {
		t.Errorf("outbox has %d entries after refused connects, want 5", ob2.count())
	}
}

func TestTrimCountsDrops(t *testing.T) {
	ob := newMemOutbox()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)
	for i := range 30 {
		ob.add(event.Topic(prefix, "late"), []byte("{}"), false, now.Add(-time.Duration(30-i)*time.Hour))
	}
	o := publish.DefaultOptions()
	o.Broker = "tcp://127.0.0.1:1" // nothing listens: the trim must run while disconnected
	o.ClientID, o.Prefix = "trim", prefix
	o.BackoffMin, o.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
	o.MaxEntries, o.MaxAge = 20, 24*time.Hour
	o.Now = func() time.Time { return now }
	o.Logger = testLogger(t)
	o, m := withMetrics(o)
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	dropped := func() float64 {
		return m.get(t, "punchd_outbox_dropped_total", "reason", "size") + m.get(t, "punchd_outbox_dropped_total", "reason", "age")
	}
	waitFor(t, "trim", 5*time.Second, func() bool { return dropped() > 0 && m.get(t, "punchd_outbox_entries", "", "") > 0 })
	stop()
	// 30 entries 30h..1h old: 6 are older than 24h, and the 24 left are cut to 20 (one trim, by
	// size: it cuts the old ones too).
	if dropped() != 10 || ob.count() != 20 || m.get(t, "punchd_outbox_entries", "", "") != 20 {
		t.Errorf("dropped %v, left %d, reported depth %v; want 10, 20, 20", dropped(), ob.count(), m.get(t, "punchd_outbox_entries", "", ""))
	}
	// The oldest left is 20h old, its age told at scrape time.
	if age := m.get(t, "punchd_outbox_oldest_age_seconds", "", ""); age != 20*3600 {
		t.Errorf("oldest age %vs, want %v", age, 20*3600)
	}
}

// TestQoSHonoured: every outbox entry goes out at Options.QoS ([mqtt] qos): a subscriber at
// QoS 2 receives them at that QoS, and the outbox is emptied at each.
func TestQoSHonoured(t *testing.T) {
	b := mqtttest.Start(t)
	for _, qos := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("qos %d", qos), func(t *testing.T) {
			sub := subscribeAt(t, b.URL(), fmt.Sprintf("sub-qos%d", qos), event.EventsFilter(prefix), false, 2)
			ob := newMemOutbox()
			ids := enqueueEvents(t, ob, 0, 20)
			o := fastOptions(t, b.URL())
			o.ClientID, o.QoS = fmt.Sprintf("punchd-qos%d", qos), qos
			p, err := publish.New(ob, o)
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, p)
			defer stop()
			waitFor(t, "all events received", 10*time.Second, func() bool { return len(sub.idCounts()) == len(ids) }, sub.got)
			waitFor(t, "outbox drained", 10*time.Second, func() bool { return ob.count() == 0 })
			sub.mu.Lock()
			defer sub.mu.Unlock()
			if sub.qos[qos] == 0 || len(sub.qos) != 1 {
				t.Errorf("delivered at QoS %v, want all at %d", sub.qos, qos)
			}
		})
	}
}

// A config that passes `config check` starts the publisher: [mqtt] is checked once, by the
// config, and FromConfig carries it over whole.
func TestFromAValidConfig(t *testing.T) {
	c := config.Default()
	c.MQTT.QoS, c.MQTT.Inflight, c.MQTT.Keepalive = 0, config.MaxInflight, config.Duration(time.Minute)
	c.MQTT.Broker, c.MQTT.CAFile = "ssl://10.0.0.9:8883", "/etc/punchd/ca.pem"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	o := publish.FromConfig(c.MQTT)
	if err := o.Validate(); err != nil {
		t.Errorf("publisher refuses a valid config: %v", err)
	}
	if o.QoS != 0 || o.Inflight != config.MaxInflight || o.KeepAlive != time.Minute || o.Broker != c.MQTT.Broker || o.CAFile != c.MQTT.CAFile ||
		o.ClientID != c.MQTT.ClientID || o.Prefix != c.MQTT.TopicPrefix || o.MaxEntries != int(c.MQTT.OutboxMaxEntries) {
		t.Errorf("FromConfig %+v does not carry [mqtt] %+v", o, c.MQTT)
	}
}

// TestValidateNamesTheKey: what the publisher checks itself (the [mqtt] keys are the config's,
// TestBadConfigs in internal/config).
func TestValidateNamesTheKey(t *testing.T) {
	base := func() publish.Options {
		o := publish.DefaultOptions()
		o.Broker, o.ClientID, o.Prefix = "tcp://127.0.0.1:1883", "punchd-jinbi", "punchd/jinbi"
		return o
	}
	cases := []struct {
		name string
		mod  func(*publish.Options)
		key  string
	}{
		{"empty broker", func(o *publish.Options) { o.Broker = "" }, "mqtt.broker"},
		{"both passwords", func(o *publish.Options) { o.Password, o.PasswordFile = "a", "/x" }, "mqtt.password_file"},
		{"negative ack timeout", func(o *publish.Options) { o.AckTimeout = -time.Second }, "mqtt.ack_timeout"},
		{"backoff upside down", func(o *publish.Options) { o.BackoffMin, o.BackoffMax = time.Minute, time.Second }, "mqtt.backoff_max"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			c.mod(&o)
			err := o.Validate()
			if !errors.Is(err, publish.ErrConfig) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("Validate() = %v, want ErrConfig naming %s", err, c.key)
			}
		})
	}
	if err := base().Validate(); err != nil {
		t.Errorf("defaults with broker, client id and prefix: %v", err)
	}
	o := base()
	o.PasswordFile = filepath.Join(t.TempDir(), "missing")
	if _, err := publish.New(newMemOutbox(), o); !errors.Is(err, publish.ErrConfig) || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("New with a missing password file = %v, want ErrConfig naming password_file", err)
	}
	o = base()
	o.Broker, o.CAFile = "ssl://127.0.0.1:8883", filepath.Join(t.TempDir(), "missing.pem")
	if _, err := publish.New(newMemOutbox(), o); !errors.Is(err, publish.ErrConfig) || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("New with a missing CA file = %v, want ErrConfig naming ca_file", err)
	}
}

// BenchmarkDrain10k: 10,000 queued events published to a real Mosquitto and acknowledged.
func BenchmarkDrain10k(b *testing.B) {
	br := mqtttest.Start(b)
	o := fastOptions(b, br.URL())
	o.Logger = slog.New(slog.DiscardHandler)
	payloads := make([][]byte, 10_000)
	for i := range payloads {
		payloads[i], _ = json.Marshal(sampleEvent(i))
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ob := newMemOutbox()
		for i, pl := range payloads {
			ob.add(event.Topic(prefix, sampleEvent(i).Kind), pl, false, time.Now())
		}
		p, err := publish.New(ob, o)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { defer close(done); _ = p.Run(ctx) }()
		for ob.count() > 0 {
			select {
			case <-ob.changed:
			case <-time.After(time.Millisecond):
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		b.ReportMetric(float64(len(payloads))/elapsed.Seconds(), "events/s")
		b.ReportMetric(elapsed.Seconds(), "s/10k")
		b.StartTimer()
	}
}

// TestAckTimeoutResends: the link goes silent (no FIN, no acknowledgements). Nothing is deleted
// without an acknowledgement; the ack timeout drops the connection and a new one sends it all.
func TestAckTimeoutResends(t *testing.T) {
	b := mqtttest.Start(t)
	px := mqtttest.NewProxy(t, b.Addr())
	sub := subscribe(t, b.URL(), "sub-ack", event.EventsFilter(prefix), false)
	ob := newMemOutbox()
	o, m := withMetrics(fastOptions(t, "tcp://"+px.Addr()))
	o.AckTimeout = 300 * time.Millisecond
	o.ConnectTimeout = 300 * time.Millisecond
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "connected", 10*time.Second, p.Connected)

	px.Blackhole(true)
	want := enqueueEvents(t, ob, 0, 20)
	p.Notify()
	waitFor(t, "an ack timeout", 10*time.Second, func() bool { return m.get(t, "punchd_mqtt_publish_errors_total", "reason", "timeout") >= 1 })
	if n := ob.count(); n != 20 {
		t.Fatalf("outbox has %d entries after acks were lost, want all 20", n)
	}
	px.Blackhole(false)
	waitFor(t, "drained after the link came back", 20*time.Second, func() bool { return ob.count() == 0 }, ob.changed)
	waitFor(t, "every id received", 10*time.Second, func() bool { return len(sub.idCounts()) == len(want) }, sub.got)
}

// TestNotifyWakesAndRetainedFlows: with the poll effectively off, Notify alone gets new entries
// out; a retained entry (a clock's status) is published retained; an outbox read error is
// reported and the loop recovers.
func TestNotifyWakesAndRetainedFlows(t *testing.T) {
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-notify", event.EventsFilter(prefix), false)
	ob := newMemOutbox()
	o, m := withMetrics(fastOptions(t, b.URL()))
	o.PollInterval = time.Hour
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "connected", 10*time.Second, p.Connected)

	for round := range 3 {
		ids := enqueueEvents(t, ob, round*10, 10)
		p.Notify()
		waitFor(t, fmt.Sprintf("round %d delivered on Notify alone", round), 10*time.Second, func() bool {
			got := sub.idCounts()
			for id := range ids {
				if got[id] == 0 {
					return false
				}
			}
			return true
		}, sub.got)
	}

	cs, _ := json.Marshal(event.ClockStatus{Clock: "dzb", State: event.ClockUp, Since: "2021-03-01T08:00:00+08:00"})
	ob.add(event.ClockStatusTopic(prefix, "dzb"), cs, true, time.Now())
	p.Notify()
	waitFor(t, "clock status drained", 10*time.Second, func() bool { return ob.count() == 0 }, ob.changed)
	var st event.ClockStatus
	if err := json.Unmarshal(readRetained(t, b.URL(), event.ClockStatusTopic(prefix, "dzb")), &st); err != nil || st.State != event.ClockUp {
		t.Errorf("retained clock status = %+v, %v", st, err)
	}

	ob.mu.Lock()
	ob.failPeek = errors.New("disk on fire")
	ob.mu.Unlock()
	ids := enqueueEvents(t, ob, 100, 5)
	p.Notify()
	waitFor(t, "outbox error reported", 10*time.Second, func() bool { return m.get(t, "punchd_mqtt_publish_errors_total", "reason", "other") >= 1 })
	ob.mu.Lock()
	ob.failPeek = nil
	ob.mu.Unlock()
	p.Notify()
	waitFor(t, "recovered after the outbox error", 10*time.Second, func() bool {
		got := sub.idCounts()
		for id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return ob.count() == 0
	}, sub.got)
}
