package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFeedCommand runs "punchctl feed" against a real Mosquitto and publishes one late event.
func TestFeedCommand(t *testing.T) {
	b := mqtttest.Start(t)
	const prefix = "punchd/jinbi"
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"feed", "--broker", b.URL(), "--prefix", prefix}, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("punchctl feed exit %d: %s", code, stderr.String())
		}
	}()

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("feed-cmd-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(0)
	d := attendance.Date{Year: 2021, Month: 3, Day: 1}
	actual := "2021-03-01T08:42:00+08:00"
	e := event.Event{ID: event.ID("jinbi", "A1023", d, attendance.AmIn, "late"), Rev: 1, Kind: "late", Site: "jinbi",
		UserID: "A1023", Name: "张三", Unit: "党政办", Date: "2021-03-01", Slot: "am_in",
		Expected: "2021-03-01T08:30:00+08:00", Actual: &actual, Minutes: 12, Severity: "minor", JudgedAt: actual}
	payload, _ := json.Marshal(e)
	want := "2021-03-01 08:42 张三 (党政办) [A1023] 迟到 late 12 min"
	// The feed subscribes once connected; publish until its line shows (poll with a deadline).
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no feed line; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		pub.Publish(event.Topic(prefix, "late"), 1, false, payload).WaitTimeout(5 * time.Second)
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(stdout.String(), want); n != 1 {
		t.Errorf("the same event (id, rev) printed %d times", n)
	}
}

func TestFeedCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", "/nonexistent/punchd.toml", "feed", "--prefix", "p"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--broker") {
		t.Errorf("feed without --broker: exit %d, stderr %q; want 2 naming --broker", code, stderr.String())
	}
}
