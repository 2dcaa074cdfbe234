package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
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

// TestFeedCommand runs "punchctl feed" against a real Mosquitto and publishes one late event.
func TestFeedCommand(t *testing.T) {
	b := mqtttest.Start(t)
	const prefix = "punchd/jinbi"
	var stdout, stderr testlog.Buffer
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

// TestFeedOptionsFromConfig: with a config, every [mqtt] key no flag set is inherited (broker,
// topic_prefix, username, password_file, ca_file, cert_file, key_file); flags override.
func TestFeedOptionsFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", `[mqtt]
broker = "ssl://127.0.0.1:8883"
topic_prefix = "punchd/jinbi"
username = "office"
password_file = "/etc/punchd/mqtt.pw"
ca_file = "/etc/punchd/ca.pem"
cert_file = "/etc/punchd/client.pem"
key_file = "/etc/punchd/client.key"
`)
	tests := []struct {
		name string
		args []string
		want feed.Options
	}{
		{"all from config", []string{"--config", cfg},
			feed.Options{Broker: "ssl://127.0.0.1:8883", Prefix: "punchd/jinbi", Username: "office", PasswordFile: "/etc/punchd/mqtt.pw",
				CAFile: "/etc/punchd/ca.pem", CertFile: "/etc/punchd/client.pem", KeyFile: "/etc/punchd/client.key"}},
		{"ssl broker and prefix flags still inherit the rest", []string{"--config", cfg, "--broker", "ssl://127.0.0.1:9883", "--prefix", "p"},
			feed.Options{Broker: "ssl://127.0.0.1:9883", Prefix: "p", Username: "office", PasswordFile: "/etc/punchd/mqtt.pw",
				CAFile: "/etc/punchd/ca.pem", CertFile: "/etc/punchd/client.pem", KeyFile: "/etc/punchd/client.key"}},
		{"flags override", []string{"--config", cfg, "--username", "u", "--password-file", "pw", "--ca-file", "ca", "--cert-file", "c", "--key-file", "k"},
			feed.Options{Broker: "ssl://127.0.0.1:8883", Prefix: "punchd/jinbi", Username: "u", PasswordFile: "pw", CAFile: "ca", CertFile: "c", KeyFile: "k"}},
		{"a plain tcp broker flag does not take the config's TLS files", []string{"--config", cfg, "--broker", "tcp://127.0.0.1:1883"},
			feed.Options{Broker: "tcp://127.0.0.1:1883", Prefix: "punchd/jinbi", Username: "office", PasswordFile: "/etc/punchd/mqtt.pw"}},
		{"no config read when the flags say everything", []string{"--broker", "tcp://127.0.0.1:1883", "--prefix", "p"},
			feed.Options{Broker: "tcp://127.0.0.1:1883", Prefix: "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{ConfigPath: dir + "/absent.toml"}
			got, err := e.feedOptions(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			got.Logger = nil
			if got != tt.want {
				t.Errorf("options\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	e := &env{ConfigPath: dir + "/absent.toml"}
	if _, err := e.feedOptions([]string{"--config", dir + "/absent.toml", "--broker", "tcp://127.0.0.1:1883", "--prefix", "p"}); err == nil {
		t.Error("an unreadable --config given on the command line was ignored")
	}
}

// TestFeedCommandTLSAuthFromConfig runs "punchctl feed --config F --broker URL" against a
// Mosquitto that wants TLS, a client certificate and a password: all of those come from [mqtt].
func TestFeedCommandTLSAuthFromConfig(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{TLS: true, RequireClientCert: true, Users: map[string]string{"office": "s3cret"}})
	const prefix = "punchd/tls"
	dir := t.TempDir()
	pw := writeFile(t, dir, "mqtt.pw", "s3cret\n")
	cfg := writeFile(t, dir, "punchd.toml", fmt.Sprintf("[mqtt]\nbroker = %q\ntopic_prefix = %q\nusername = \"office\"\npassword_file = %q\nca_file = %q\ncert_file = %q\nkey_file = %q\n",
		"ssl://127.0.0.1:1", prefix, pw, b.CAFile, b.CertFile, b.KeyFile))

	var stdout, stderr testlog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfg, "feed", "--broker", b.URL()}, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("punchctl feed exit %d: %s", code, stderr.String())
		}
	}()

	ca, err := os.ReadFile(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("feed-tls-pub").
		SetUsername("office").SetPassword("s3cret").
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	d := attendance.Date{Year: 2021, Month: 3, Day: 2}
	actual := "2021-03-02T08:40:00+08:00"
	ev := event.Event{ID: event.ID("jinbi", "A1024", d, attendance.AmIn, "late"), Rev: 1, Kind: "late", Site: "jinbi",
		UserID: "A1024", Name: "李四", Unit: "党政办", Date: "2021-03-02", Slot: "am_in",
		Expected: "2021-03-02T08:30:00+08:00", Actual: &actual, Minutes: 10, Severity: "minor", JudgedAt: actual}
	payload, _ := json.Marshal(ev)
	want := "李四 (党政办) [A1024] 迟到 late 10 min"
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no feed line over TLS with a password; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		pub.Publish(event.Topic(prefix, "late"), 1, false, payload).WaitTimeout(5 * time.Second)
		time.Sleep(100 * time.Millisecond)
	}
}
