package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/feed"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/testlog"
)

func ptr[T any](v T) *T { return &v }

func lateEvent() event.Event {
	d := attendance.Date{Year: 2021, Month: 3, Day: 1}
	return event.Event{
		ID: event.ID("jinbi", "A1023", d, attendance.AmIn, attendance.EventLate), Rev: 1, Kind: attendance.EventLate,
		Site: "jinbi", Clock: "dangzhengban", UserID: "A1023", Name: "张三", Unit: "党政办", Date: "2021-03-01",
		Slot: "am_in", Expected: "2021-03-01T08:30:00+08:00", Actual: ptr("2021-03-01T08:42:00+08:00"),
		Minutes: 12, Severity: attendance.SeverityMinor, JudgedAt: "2021-03-01T08:42:03+08:00",
	}
}

func missingEvent() event.Event {
	d := attendance.Date{Year: 2021, Month: 3, Day: 1}
	return event.Event{
		ID: event.ID("jinbi", "007", d, attendance.AmOut, attendance.EventMissing), Rev: 1, Kind: attendance.EventMissing,
		Site: "jinbi", UserID: "007", Name: "李四", Date: "2021-03-01", Slot: "am_out",
		Expected: "2021-03-01T12:00:00+08:00", Severity: attendance.SeveritySerious, JudgedAt: "2021-03-01T14:30:00+08:00",
	}
}

func TestEventLine(t *testing.T) {
	excused := lateEvent()
	excused.Rev, excused.Excused, excused.Registration = 2, true, ptr("R9")
	retracted := missingEvent()
	retracted.Rev, retracted.Retracted = 3, true
	serious := lateEvent()
	serious.Minutes, serious.Severity, serious.Actual = 45, attendance.SeveritySerious, ptr("2021-03-01T09:15:00+08:00")
	noName := missingEvent()
	noName.Name = ""
	for _, c := range []struct {
		e    event.Event
		want string
	}{
		{lateEvent(), "2021-03-01 08:42 张三 (党政办) [A1023] 迟到 late 12 min · 上午上班 am_in, expected 08:30 · 未说明 not excused"},
		{missingEvent(), "2021-03-01 12:00 李四 [007] 缺卡 missing punch · 上午下班 am_out, expected 12:00 · 未说明 not excused"},
		{excused, "更正 correction rev 2: 2021-03-01 08:42 张三 (党政办) [A1023] 迟到 late 12 min · 上午上班 am_in, expected 08:30 · 已说明 excused (registration R9)"},
		{retracted, "更正 correction rev 3: 2021-03-01 12:00 李四 [007] 撤销 withdrawn: 缺卡 missing punch · 上午下班 am_out, expected 12:00"},
		{serious, "2021-03-01 09:15 张三 (党政办) [A1023] 迟到 late 45 min 严重 serious · 上午上班 am_in, expected 08:30 · 未说明 not excused"},
		{noName, "2021-03-01 12:00 007 缺卡 missing punch · 上午下班 am_out, expected 12:00 · 未说明 not excused"},
	} {
		if got := feed.EventLine(c.e); got != c.want {
			t.Errorf("EventLine:\n got %s\nwant %s", got, c.want)
		}
	}
}

func TestPrinterDedupesAndOrdersRevisions(t *testing.T) {
	var out bytes.Buffer
	p := feed.NewPrinter(&out, false)
	e1 := lateEvent()
	e2 := e1
	e2.Rev, e2.Excused = 2, true
	topic := event.Topic("p", "late")
	for _, e := range []event.Event{e1, e1, e2, e1, e2} { // redelivered, then an old rev after the new one
		b, _ := json.Marshal(e)
		if err := p.Print(topic, b); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.HasPrefix(lines[0], "更正") || !strings.HasPrefix(lines[1], "更正 correction rev 2:") {
		t.Errorf("lines = %q; want the first revision then one correction", lines)
	}
	if err := p.Print(topic, []byte("{not json")); err == nil {
		t.Errorf("unreadable payload: no error")
	}
	if err := p.Print(topic, []byte(`{"kind":"late"}`)); err == nil {
		t.Errorf("event without id: no error")
	}
}

func waitLines(t *testing.T, b *testlog.Buffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(b.Lines()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines, want %d: %q", len(b.Lines()), n, b.Lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return b.Lines()
}

func publisher(t *testing.T, url string) mqtt.Client {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, v any, retained bool) {
	t.Helper()
	b, _ := json.Marshal(v)
	if tok := c.Publish(topic, 1, retained, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// startFeed runs feed.Run and returns once it has subscribed (a probe report notice, retained,
// has come through).
func startFeed(t *testing.T, o feed.Options, out *testlog.Buffer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx, o, out) }()
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("feed.Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("feed.Run did not return within 5s of cancel")
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			stop()
		}
	})
	return stop
}

func TestFeedAgainstMosquitto(t *testing.T) {
	b := mqtttest.Start(t)
	const prefix = "punchd/jinbi"
	pub := publisher(t, b.URL())
	notice := event.ReportNotice{Site: "jinbi", Month: "2021-02", People: 23, Workdays: 18, Counts: event.ReportCounts{Late: 4}}
	publish(t, pub, event.ReportTopic(prefix, 2021, time.February), notice, true)

	var out testlog.Buffer
	logger := slog.New(slog.NewTextHandler(&testLog{t}, nil))
	startFeed(t, feed.Options{Broker: b.URL(), Prefix: prefix, Logger: logger}, &out)
	lines := waitLines(t, &out, 1) // the retained notice: the subscription is in place
	if !strings.HasPrefix(lines[0], "报表 report 2021-02: 23 people, 18 workdays · 迟到 late 4") {
		t.Errorf("report line = %q", lines[0])
	}

	late := lateEvent()
	publish(t, pub, event.Topic(prefix, late.Kind), late, false)
	publish(t, pub, event.Topic(prefix, late.Kind), late, false) // a redelivery: printed once
	publish(t, pub, event.Topic("other/site", late.Kind), missingEvent(), false)
	lines = waitLines(t, &out, 2)
	if lines[1] != feed.EventLine(late) {
		t.Errorf("line = %q, want %q", lines[1], feed.EventLine(late))
	}

	// The broker restarts: the feed reconnects and subscribes again by itself.
	b.Restart()
	pub2 := publisher(t, b.URL())
	corr := late
	corr.Rev, corr.Excused, corr.Registration = 2, true, ptr("R9")
	// Until the feed has resubscribed, events would go nowhere (clean session): keep publishing
	// the correction until it shows.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(strings.Join(out.Lines(), "\n"), "更正 correction rev 2") {
		if time.Now().After(deadline) {
			t.Fatalf("no correction line after the broker restart: %q", out.Lines())
		}
		publish(t, pub2, event.Topic(prefix, corr.Kind), corr, false)
		time.Sleep(100 * time.Millisecond)
	}
	miss := missingEvent()
	publish(t, pub2, event.Topic(prefix, miss.Kind), miss, false)
	lines = waitLines(t, &out, 4)
	var corrections, misses, reports, lates int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "更正 correction rev 2:") && strings.Contains(l, "已说明 excused (registration R9)"):
			corrections++
		case l == feed.EventLine(miss):
			misses++
		case strings.HasPrefix(l, "报表 report 2021-02"):
			reports++ // the retained notice comes again on the new subscription; printed once
		case l == feed.EventLine(late):
			lates++
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if corrections != 1 || misses != 1 || reports != 1 || lates != 1 {
		t.Errorf("lines %q: want one each of report, late, correction, missing", lines)
	}
}

func TestFeedJSON(t *testing.T) {
	b := mqtttest.Start(t)
	const prefix = "punchd/jinbi"
	pub := publisher(t, b.URL())
	publish(t, pub, event.ReportTopic(prefix, 2021, time.February), event.ReportNotice{Month: "2021-02"}, true)
	var out testlog.Buffer
	startFeed(t, feed.Options{Broker: b.URL(), Prefix: prefix, JSON: true}, &out)
	waitLines(t, &out, 1)
	late := lateEvent()
	// Indented on the wire; printed compact, one per line, duplicates kept (as received).
	raw, _ := json.MarshalIndent(late, "", "  ")
	for range 2 {
		if tok := pub.Publish(event.Topic(prefix, "late"), 1, false, raw); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	lines := waitLines(t, &out, 3)
	want, _ := json.Marshal(late)
	if lines[1] != string(want) || lines[2] != string(want) {
		t.Errorf("json lines = %q, want the compact payload twice", lines[1:])
	}
}

func TestFeedBadOptions(t *testing.T) {
	for _, c := range []struct {
		o    feed.Options
		flag string
	}{
		{feed.Options{Prefix: "p"}, "--broker"},
		{feed.Options{Broker: "127.0.0.1:1883", Prefix: "p"}, "--broker"},
		{feed.Options{Broker: "http://h:1", Prefix: "p"}, "--broker"},
		{feed.Options{Broker: "tcp://h:1883", Prefix: "p/#"}, "--prefix"},
		{feed.Options{Broker: "tcp://h:1883"}, "--prefix"},
		{feed.Options{Broker: "tcp://h:1883", Prefix: "p", CAFile: "ca.pem"}, "--ca-file"},
		{feed.Options{Broker: "ssl://h:8883", Prefix: "p", CertFile: "c.pem"}, "--cert-file"},
		{feed.Options{Broker: "ssl://h:8883", Prefix: "p", CAFile: "/nonexistent/ca.pem"}, "--ca-file"},
		{feed.Options{Broker: "tcp://h:1883", Prefix: "p", PasswordFile: "/nonexistent/pw"}, "--password-file"},
	} {
		err := feed.Run(context.Background(), c.o, &bytes.Buffer{})
		if !errors.Is(err, feed.ErrUsage) || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("Run(%+v) = %v, want ErrUsage naming %s", c.o, err, c.flag)
		}
	}
}

type testLog struct{ t *testing.T }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
