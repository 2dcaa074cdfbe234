package mqtttest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message a Subscriber received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	At       time.Time // when it arrived
}

// Subscriber is a test client that records every message on one topic filter at QoS 1. Its
// session is persistent and it reconnects (and resubscribes) by itself, so messages queued by the
// broker while it or the broker was away still arrive. Offline and Online take it away and bring
// it back on purpose, with the same client id.
type Subscriber struct {
	t      testing.TB
	url    string
	filter string
	id     string

	mu     sync.Mutex
	msgs   []Message
	client mqtt.Client
}

var subSeq atomic.Int64

// Subscribe connects a Subscriber to the broker at url and subscribes it to filter; it is
// disconnected when the test ends.
func Subscribe(t testing.TB, url, filter string) *Subscriber {
	t.Helper()
	s := &Subscriber{t: t, url: url, filter: filter, id: fmt.Sprintf("mqtttest-sub-%d-%d", time.Now().UnixNano(), subSeq.Add(1))}
	s.Online()
	t.Cleanup(func() { s.Offline() })
	return s
}

// Online connects the subscriber (again) with its persistent session and subscribes; the messages
// the broker queued for it meanwhile arrive first. It returns once subscribed.
func (s *Subscriber) Online() {
	s.t.Helper()
	h := func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained(), At: time.Now()})
	}
	// The default handler takes what the broker delivers from the session before Subscribe is back.
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.url).SetClientID(s.id).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true).SetDefaultPublishHandler(h).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(s.filter, 1, h) }))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtttest subscriber: connect to %s: %v", s.url, tok.Error())
	}
	// Subscribed before anything the test publishes next.
	if tok := c.Subscribe(s.filter, 1, h); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtttest subscriber: subscribe %s: %v", s.filter, tok.Error())
	}
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
}

// Offline disconnects the subscriber; the broker keeps its session and queues its QoS 1 messages.
func (s *Subscriber) Offline() {
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.mu.Unlock()
	if c != nil {
		c.Disconnect(100)
	}
}

// Messages returns a copy of what arrived so far, in order of arrival (per topic, the broker's order).
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}
