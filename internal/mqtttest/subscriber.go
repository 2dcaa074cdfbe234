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
// broker while it or the broker was away still arrive.
type Subscriber struct {
	mu     sync.Mutex
	msgs   []Message
	client mqtt.Client
}

var subSeq atomic.Int64

// Subscribe connects a Subscriber to the broker at url and subscribes it to filter; it is
// disconnected when the test ends.
func Subscribe(t testing.TB, url, filter string) *Subscriber {
	t.Helper()
	s := &Subscriber{}
	h := func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained(), At: time.Now()})
	}
	id := fmt.Sprintf("mqtttest-sub-%d-%d", time.Now().UnixNano(), subSeq.Add(1))
	s.client = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(filter, 1, h) }))
	if tok := s.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtttest subscriber: connect to %s: %v", url, tok.Error())
	}
	// Subscribed before anything the test publishes next.
	if tok := s.client.Subscribe(filter, 1, h); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtttest subscriber: subscribe %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(0) })
	return s
}

// Messages returns a copy of what arrived so far, in order of arrival (per topic, the broker's order).
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}
