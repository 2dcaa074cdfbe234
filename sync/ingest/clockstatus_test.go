package ingest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/sync/pull"
)

// lastClockStatus is the newest retained status of clock in the outbox.
func (f *fixture) lastClockStatus(t *testing.T, clock string) event.ClockStatus {
	t.Helper()
	entries, err := f.db.OutboxPeek(1000)
	if err != nil {
		t.Fatal(err)
	}
	var cs event.ClockStatus
	found := false
	for _, e := range entries {
		if e.Topic == event.ClockStatusTopic("punchd/jinbi", clock) {
			if err := json.Unmarshal(e.Payload, &cs); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no status of clock %s queued", clock)
	}
	return cs
}

// TestClockDownKeepsLastKnownFacts: the retained status of a clock that went down, or that
// punchd stopped polling, still says the capacity and offset its last pull measured, as the
// records and the serial; before any pull in this run, what the store knows (the offset).
func TestClockDownKeepsLastKnownFacts(t *testing.T) {
	f := newFixture(t)
	now := f.now.Now()
	if err := f.eng.Pulled(context.Background(), pull.Pull{Clock: "dangzhengban", At: now, Offset: 42 * time.Second,
		Info: device.Info{Serial: "SN0001", Records: 3, RecordCap: 80000, Time: now.Add(42 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	if up := f.lastClockStatus(t, "dangzhengban"); up.State != event.ClockUp || up.Capacity != 80000 || up.OffsetSeconds != 42 {
		t.Fatalf("up status %+v", up)
	}
	down := now.Add(time.Hour)
	if err := f.eng.ClockDown(context.Background(), "dangzhengban", down, "punchd stopped"); err != nil {
		t.Fatal(err)
	}
	cs := f.lastClockStatus(t, "dangzhengban")
	if cs.State != event.ClockDown || cs.Error != "punchd stopped" || cs.Since != down.Format(time.RFC3339) ||
		cs.Capacity != 80000 || cs.OffsetSeconds != 42 || cs.Records != 3 || cs.Serial != "SN0001" ||
		cs.LastPull == nil || *cs.LastPull != now.Format(time.RFC3339) {
		t.Errorf("down status %+v (last pull %v), want the last pull's records, capacity and offset", cs, cs.LastPull)
	}

	// A new engine on the same store (punchd restarted) that stops before its first pull.
	g := New(f.eng.cfg, f.db, f.eng.cal, f.now.Now, nil, nil, nil)
	if err := g.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.ClockDown(context.Background(), "dangzhengban", down, "punchd stopped"); err != nil {
		t.Fatal(err)
	}
	cs = f.lastClockStatus(t, "dangzhengban")
	if cs.State != event.ClockDown || cs.OffsetSeconds != 42 || cs.Records != 3 || cs.Serial != "SN0001" || cs.LastPull == nil {
		t.Errorf("down status after a restart %+v, want the stored records, serial and offset", cs)
	}
}
