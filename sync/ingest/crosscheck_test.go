package ingest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/store"
)

// recordingCheck is a CrossCheck that records what it is asked and queues one entry per call, or
// fails before committing.
type recordingCheck struct {
	days     [][]PunchedDay
	unstored [][]device.Punch
	fail     error
}

const crossTopic = "punchd/jinbi/test/crosscheck"

func (c *recordingCheck) PunchesArrived(ctx context.Context, days []PunchedDay, unstored []device.Punch, commit func([]store.OutboxEntry) error) error {
	c.days = append(c.days, days)
	c.unstored = append(c.unstored, slices.Clone(unstored))
	if c.fail != nil {
		return c.fail
	}
	return commit([]store.OutboxEntry{{Topic: crossTopic, Payload: []byte("checked"), EnqueuedAt: time.Unix(0, 0)}})
}

// queuedCross counts the cross-check's entries in the outbox.
func queuedCross(t *testing.T, db *store.DB) int {
	t.Helper()
	entries, err := db.OutboxPeek(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Topic == crossTopic {
			n++
		}
	}
	return n
}

// A read storing new punches in several transactions asks the cross-check once, in the last, about
// every day they fall on, handing it the punches that last commit stores; a read with nothing new
// does not ask; a realtime punch asks about its day.
func TestCrossCheckAskedAboutThePunchedDays(t *testing.T) {
	f := newFixture(t)
	f.eng.cfg.Batch = 7
	c := &recordingCheck{}
	f.eng.SetCrossCheck(c)
	log := twelveDays()
	f.pull(t, log...)
	if len(c.days) != 1 {
		t.Fatalf("asked %d times, want once", len(c.days))
	}
	if len(c.days[0]) != 24 || !slices.IsSortedFunc(c.days[0], func(a, b PunchedDay) int { return a.Date.Compare(b.Date) }) {
		t.Errorf("asked about %d days %v, want the 24 person-days in date order", len(c.days[0]), c.days[0])
	}
	if want := len(log) % 7; len(c.unstored[0]) != want {
		t.Errorf("handed %d unstored punches, want the %d of the last commit", len(c.unstored[0]), want)
	}
	if n := queuedCross(t, f.db); n != 1 {
		t.Errorf("%d cross-check entries queued, want 1", n)
	}
	f.pull(t, log...) // nothing new
	if len(c.days) != 1 {
		t.Errorf("a read with nothing new asked about %v", c.days[1:])
	}
	p := punch("A1023", at("2026-03-02", "06:55"))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", p); err != nil {
		t.Fatal(err)
	}
	if len(c.days) != 2 || len(c.days[1]) != 1 || c.days[1][0].UserID != "A1023" || c.days[1][0].Date.String() != "2026-03-02" ||
		len(c.unstored[1]) != 1 || !c.unstored[1][0].Time.Equal(p.Time) {
		t.Errorf("realtime asked about %v with %v", c.days[1:], c.unstored[1:])
	}
}

// A cross-check that fails costs its events, never the punches: they are stored and judged.
func TestCrossCheckFailureKeepsThePunches(t *testing.T) {
	f := newFixture(t)
	f.eng.SetCrossCheck(&recordingCheck{fail: errors.New("marks unreadable")})
	f.pull(t, punch("A1023", at("2026-02-27", "08:20")))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", punch("A1023", at("2026-02-27", "12:05"))); err != nil {
		t.Fatal(err)
	}
	if n, err := f.db.CountPunches(); err != nil || n != 2 {
		t.Errorf("%d punches stored (%v), want 2", n, err)
	}
	if _, ok, err := f.db.Day("A1023", attendance.DateOf(at("2026-02-27", "08:20"))); err != nil || !ok {
		t.Errorf("the punched day not judged (%v)", err)
	}
	if n := queuedCross(t, f.db); n != 0 {
		t.Errorf("%d cross-check entries queued by a failed check", n)
	}
}
