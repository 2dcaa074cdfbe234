package mqtttest_test

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/mqtttest"
)

func connect(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("c-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func retained(t *testing.T, url, topic string) string {
	t.Helper()
	got := make(chan string, 1)
	c := connect(t, url)
	c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	})
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("no retained message on %s", topic)
		return ""
	}
}

// TestRestartKeepsRetained: a restart is on the same port and keeps the persisted state.
func TestRestartKeepsRetained(t *testing.T) {
	b := mqtttest.Start(t)
	url := b.URL()
	c := connect(t, url)
	if tok := c.Publish("t/status", 1, true, "online"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(0)
	b.Stop()
	if b.Running() {
		t.Fatal("Running after Stop")
	}
	b.Restart()
	if b.URL() != url {
		t.Errorf("URL changed across restart: %s -> %s", url, b.URL())
	}
	if got := retained(t, b.URL(), "t/status"); got != "online" {
		t.Errorf("retained after restart = %q, want online", got)
	}
}

func TestProxyPauseCutsConnections(t *testing.T) {
	b := mqtttest.Start(t)
	px := mqtttest.NewProxy(t, b.Addr())
	lost := make(chan struct{}, 1)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + px.Addr()).SetClientID("via-proxy").
		SetAutoReconnect(false).SetConnectionLostHandler(func(mqtt.Client, error) { lost <- struct{}{} }))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	px.Pause()
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("connection through a paused proxy not lost")
	}
	if tok := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + px.Addr()).SetClientID("x").
		SetConnectTimeout(2 * time.Second)).Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Error("connected through a paused proxy")
	}
	px.Resume()
	connect(t, "tcp://"+px.Addr())
}

func TestTLSBroker(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{TLS: true})
	if b.URL()[:6] != "ssl://" || b.CAFile == "" || b.CertFile == "" || b.KeyFile == "" {
		t.Fatalf("URL %s, files %q %q %q", b.URL(), b.CAFile, b.CertFile, b.KeyFile)
	}
	// A client that does not trust the test CA is refused.
	tok := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("untrusting").
		SetConnectTimeout(2 * time.Second)).Connect()
	if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Error("connected over TLS without trusting the CA")
	}
}
