package publish_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/publish"
)

func openStore(t testing.TB) *store.DB {
	db, err := store.Open(filepath.Join(t.TempDir(), "punchd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func enqueueStore(t testing.TB, db *store.DB, n int) map[string]bool {
	ids := map[string]bool{}
	var batch store.Batch
	for i := range n {
		e := sampleEvent(i)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		batch.Outbox = append(batch.Outbox, store.OutboxEntry{
			Topic: event.Topic(prefix, e.Kind), Payload: b, EventID: e.ID, Rev: e.Rev,
		})
		ids[e.ID] = true
	}
	if _, err := db.Commit(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestDrainStoreOutbox drains the real bbolt outbox to a real Mosquitto.
func TestDrainStoreOutbox(t *testing.T) {
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-store", event.EventsFilter(prefix), false)
	db := openStore(t)
	want := enqueueStore(t, db, 500)
	p, err := publish.New(publish.FromStore(db), fastOptions(t, b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "store outbox drained", 20*time.Second, func() bool {
		n, _, err := db.OutboxStats()
		return err == nil && n == 0
	})
	waitFor(t, "every id received", 10*time.Second, func() bool { return len(sub.idCounts()) == len(want) }, sub.got)
}

// BenchmarkDrain10kStore: 10,000 events in the bbolt outbox (fsync on) to a real Mosquitto.
func BenchmarkDrain10kStore(b *testing.B) {
	br := mqtttest.Start(b)
	o := fastOptions(b, br.URL())
	o.Logger = slog.New(slog.DiscardHandler)
	for range b.N {
		b.StopTimer()
		db := openStore(b)
		enqueueStore(b, db, 10_000)
		p, err := publish.New(publish.FromStore(db), o)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { defer close(done); _ = p.Run(ctx) }()
		for {
			n, _, err := db.OutboxStats()
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		b.ReportMetric(10_000/elapsed.Seconds(), "events/s")
		b.ReportMetric(elapsed.Seconds(), "s/10k")
		b.StartTimer()
	}
}

// BenchmarkNotifyLatency: one event committed to the bbolt outbox, Notify, and a subscriber
// receiving it — the publisher's share of the punch-to-subscriber latency. Reports p50/p99.
func BenchmarkNotifyLatency(b *testing.B) {
	br := mqtttest.Start(b)
	sub := subscribe(b, br.URL(), "sub-latency", event.EventsFilter(prefix), false)
	db := openStore(b)
	o := fastOptions(b, br.URL())
	o.Logger = slog.New(slog.DiscardHandler)
	p, err := publish.New(publish.FromStore(db), o)
	if err != nil {
		b.Fatal(err)
	}
	run(b, p)
	waitFor(b, "connected", 10*time.Second, p.Connected)
	const n = 1000
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := range n {
		e := sampleEvent(i)
		payload, _ := json.Marshal(e)
		if _, err := db.Commit(context.Background(), store.Batch{Outbox: []store.OutboxEntry{{
			Topic: event.Topic(prefix, e.Kind), Payload: payload, EventID: e.ID, Rev: 1}}}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		p.Notify()
		for sub.idCounts()[e.ID] == 0 {
			select {
			case <-sub.got:
			case <-time.After(5 * time.Second):
				b.Fatalf("event %d not received within 5s", i)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
