package zk_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// A streamed whole read hands over, batch by batch and in the clock's order, exactly the punches
// ReadLog returns, with the same skipped records, mark, New and byte count; no batch is larger
// than device.StreamBatch. From a mark it is the tail read, handed over at once.
func TestStreamLog(t *testing.T) {
	for _, net := range []string{"tcp", "udp"} {
		t.Run(net, func(t *testing.T) {
			data := gen(t, zksim.GenConfig{People: 40, Records: 2*device.StreamBatch + 1234, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, shanghai), Seed: 7})
			sc := startSim(t, zksim.Config{Data: data})
			if err := sc.sim.AppendBadDates(zksim.Year2000, 2); err != nil {
				t.Fatal(err)
			}
			addr := sc.tcp
			if net == "udp" {
				addr = sc.udp
			}
			c := dial(t, net, addr, opts())
			ctx := t.Context()
			want, err := c.ReadLog(ctx, device.Mark{}, true)
			if err != nil {
				t.Fatal(err)
			}
			stream := func(since device.Mark, full bool) (device.Log, []device.Punch, int) {
				t.Helper()
				var got []device.Punch
				batches := 0
				l, err := c.StreamLog(ctx, since, full, func(ps []device.Punch) error {
					if len(ps) == 0 || len(ps) > device.StreamBatch {
						t.Errorf("a batch of %d punches", len(ps))
					}
					for _, p := range ps {
						p.Raw = bytes.Clone(p.Raw)
						got = append(got, p)
					}
					batches++
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if l.Punches != nil {
					t.Errorf("the returned log holds %d punches; they go to fn", len(l.Punches))
				}
				return l, got, batches
			}
			l, got, batches := stream(device.Mark{}, false)
			sameKeys(t, "streamed whole read", got, want.Punches)
			if batches < 3 {
				t.Errorf("%d batches for %d punches", batches, len(got))
			}
			if l.From != 0 || l.New != 0 || l.Mark.Count != want.Mark.Count || !bytes.Equal(l.Mark.Last, want.Mark.Last) || l.Bytes != want.Bytes {
				t.Errorf("streamed: from %d new %d mark %d/%x bytes %d; ReadLog: mark %d/%x bytes %d",
					l.From, l.New, l.Mark.Count, l.Mark.Last, l.Bytes, want.Mark.Count, want.Mark.Last, want.Bytes)
			}
			if len(l.Skipped) != 2 || len(want.Skipped) != 2 || l.Skipped[0].Index != want.Skipped[0].Index || l.Skipped[1].Reason != want.Skipped[1].Reason {
				t.Errorf("skipped %+v, ReadLog's %+v", l.Skipped, want.Skipped)
			}

			// The periodic whole read with a mark in place: New says where the mark ends.
			mid := device.Mark{Count: device.StreamBatch + 10, Last: want.Punches[device.StreamBatch+9].Raw}
			l, got, _ = stream(mid, true)
			sameKeys(t, "streamed full read with a mark", got, want.Punches)
			if l.New != mid.Count {
				t.Errorf("full read over a mark of %d: new %d", mid.Count, l.New)
			}

			// From the mark: the tail, at once.
			if err := sc.sim.InjectPunch(data.Users[0].UserID, time.Date(2026, 11, 2, 8, 1, 0, 0, shanghai), 0, 1); err != nil {
				t.Fatal(err)
			}
			l, got, batches = stream(want.Mark, false)
			if len(got) != 1 || batches != 1 || l.From != want.Mark.Count || l.New != want.Mark.Count || l.Mark.Count != want.Mark.Count+1 {
				t.Errorf("tail: %d punches in %d batches, from %d new %d count %d", len(got), batches, l.From, l.New, l.Mark.Count)
			}
		})
	}
}

// An error from fn ends the read with that error; the client reads on afterwards.
func TestStreamLogStopsOnError(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 20, Records: 3 * device.StreamBatch, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, shanghai), Seed: 3})
	sc := startSim(t, zksim.Config{Data: data})
	c := dial(t, "tcp", sc.tcp, opts())
	stop := errors.New("commit failed")
	calls := 0
	_, err := c.StreamLog(t.Context(), device.Mark{}, true, func([]device.Punch) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls, want the sink's error after 1", err, calls)
	}
	l, err := c.ReadLog(t.Context(), device.Mark{}, true)
	if err != nil || len(l.Punches) != len(data.Records) {
		t.Fatalf("read after a stopped stream: %d punches, %v", len(l.Punches), err)
	}
}

// A wrong layout shows in the first batch: the read fails before anything is handed over.
func TestStreamLogImplausibleFirstBatch(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 20, Records: 100, Seed: 5})
	sc := startSim(t, zksim.Config{Data: data})
	if err := sc.sim.AppendBadDates(zksim.Year2000, 300); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", sc.tcp, opts())
	calls := 0
	_, err := c.StreamLog(t.Context(), device.Mark{}, true, func([]device.Punch) error { calls++; return nil })
	if !errors.Is(err, zk.ErrImplausibleDates) || calls != 0 {
		t.Fatalf("err %v after %d batches, want ErrImplausibleDates before any", err, calls)
	}
}
