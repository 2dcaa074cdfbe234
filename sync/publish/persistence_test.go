package publish_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/sync/publish"
)

// At-least-once ends at the broker's disk: the publisher deletes an entry once the broker
// acknowledged it, and from then on only the broker holds it for a subscriber that is away.
// These two tests restart a real Mosquitto several times mid-stream, twice while a persistent
// QoS 1 subscriber is offline, with persistence on (as docs/operations.md asks) and off
// (Mosquitto's built-in default).

// TestBrokerRestartsWithPersistenceLoseNothing: every entry the publisher saw acknowledged
// reaches the persistent subscriber across four restarts.
func TestBrokerRestartsWithPersistenceLoseNothing(t *testing.T) {
	b := mqtttest.Start(t)
	want, sub := restartMidStream(t, b)
	waitFor(t, "every acknowledged event at the subscriber", 60*time.Second, func() bool {
		return len(lostAt(sub, want)) == 0
	})
	t.Logf("%d events, 4 broker restarts (2 with the subscriber offline): none lost, %d deliveries",
		len(want), len(sub.Messages()))
}

// TestBrokerRestartWithoutPersistenceLoses is the control: the same run against a broker without
// persistence loses what it held for the offline subscriber, so the test above can tell.
func TestBrokerRestartWithoutPersistenceLoses(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{NoPersistence: true})
	want, sub := restartMidStream(t, b)
	// The subscriber re-subscribes when it comes back; a last event published after that and
	// received shows that everything the broker still had for it has arrived.
	ob := newMemOutbox()
	last := enqueueEvents(t, ob, len(want), 1)
	p, err := publish.New(ob, fastOptions(t, b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitFor(t, "the last event at the subscriber", 30*time.Second, func() bool { return len(lostAt(sub, last)) == 0 })
	stop()
	lost := lostAt(sub, want)
	if len(lost) == 0 {
		t.Fatalf("a broker without persistence lost nothing across restarts with the subscriber offline: the test cannot tell")
	}
	t.Logf("without persistence: %d of %d acknowledged events lost", len(lost), len(want))
}

// restartMidStream publishes events from an outbox while the broker is restarted four times; the
// subscriber is offline across the second and the fourth restart, and comes back after each. It
// returns once the outbox is empty (every event acknowledged by the broker) with the subscriber
// online.
func restartMidStream(t *testing.T, b *mqtttest.Broker) (map[string]bool, *mqtttest.Subscriber) {
	t.Helper()
	sub := mqtttest.Subscribe(t, b.URL(), event.EventsFilter(prefix))
	ob := newMemOutbox()
	o := fastOptions(t, b.URL())
	o.Inflight = 4 // a slower drain, so the restarts land in the middle of it
	p, err := publish.New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	want := map[string]bool{}
	enqueue := func(n int) {
		for id := range enqueueEvents(t, ob, len(want), n) {
			want[id] = true
		}
		p.Notify()
	}
	acked := func() int { return len(ob.deletedSeqs()) }
	for round := 1; round <= 4; round++ {
		enqueue(400)
		mark := acked()
		waitFor(t, "some events acknowledged", 20*time.Second, func() bool { return acked() >= mark+100 }, ob.changed)
		offline := round%2 == 0
		if offline {
			sub.Offline()
			mark = acked()
			// Queue more after it left: the earlier ones may all be acknowledged by now.
			enqueue(200)
			// The broker acknowledges these and holds them for the offline subscriber only.
			waitFor(t, "events acknowledged while the subscriber is away", 20*time.Second,
				func() bool { return acked() >= mark+100 }, ob.changed)
		}
		b.Stop()
		enqueue(100) // the daemon keeps queueing while the broker is away
		t.Logf("restart %d: %d acknowledged, %d in the outbox, subscriber offline: %v", round, acked(), ob.count(), offline)
		b.Restart()
		if offline {
			sub.Online()
		}
	}
	waitFor(t, "outbox drained", 60*time.Second, func() bool { return ob.count() == 0 }, ob.changed)
	stop()
	return want, sub
}

// lostAt lists the events of want the subscriber has not received.
func lostAt(sub *mqtttest.Subscriber, want map[string]bool) []string {
	got := map[string]bool{}
	for _, m := range sub.Messages() {
		var e event.Event
		if json.Unmarshal(m.Payload, &e) == nil {
			got[e.ID] = true
		}
	}
	var lost []string
	for id := range want {
		if !got[id] {
			lost = append(lost, id)
		}
	}
	return lost
}
