package zk_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// sameKeys fails unless got and want are the same punches, raw bytes included.
func sameKeys(t *testing.T, what string, got, want []device.Punch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d punches, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].Key() != want[i].Key() || !bytes.Equal(got[i].Raw, want[i].Raw) {
			t.Fatalf("%s: punch %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// A tail read moves only the records after the mark's last one (plus that one, to check it) and
// hands over exactly the punches a whole read would have added — after growth, after a clear,
// after a clear and a refill past the old length, and after a connection dropped mid-tail.
func TestReadLogTail(t *testing.T) {
	for _, net := range []string{"tcp", "udp"} {
		t.Run(net, func(t *testing.T) {
			data := gen(t, zksim.GenConfig{People: 12, Days: 10, Start: time.Date(2026, 9, 1, 0, 0, 0, 0, shanghai), Seed: 4})
			sc := startSim(t, zksim.Config{Data: data})
			addr := sc.tcp
			if net == "udp" {
				addr = sc.udp
			}
			c := dial(t, net, addr, opts())
			ctx := t.Context()
			whole, err := c.ReadLog(ctx, device.Mark{}, false)
			if err != nil {
				t.Fatal(err)
			}
			if whole.From != 0 || whole.New != 0 || whole.Mark.Count != len(data.Records) || len(whole.Punches) != len(data.Records) {
				t.Fatalf("first read: from %d new %d count %d, %d punches", whole.From, whole.New, whole.Mark.Count, len(whole.Punches))
			}
			if want := len(data.Records) * 40; whole.Bytes != want+4 {
				t.Errorf("first read moved %d bytes, want %d", whole.Bytes, want+4)
			}

			// Nothing new: one record crosses the wire, none is handed over.
			before := sc.sim.Stats().BufferBytes
			l, err := c.ReadLog(ctx, whole.Mark, false)
			if err != nil || len(l.Punches) != 0 || l.From != whole.Mark.Count || l.New != whole.Mark.Count || l.Bytes != 40 {
				t.Fatalf("idle tail: %d punches from %d new %d, %d bytes, %v", len(l.Punches), l.From, l.New, l.Bytes, err)
			}
			if moved := sc.sim.Stats().BufferBytes - before; moved != 40 {
				t.Errorf("idle tail moved %d bytes of records, want 40", moved)
			}

			// Growth: the new punches only.
			users := data.Users
			day := time.Date(2026, 9, 11, 8, 0, 0, 0, shanghai)
			for i := 0; i < 10; i++ {
				if err := sc.sim.InjectPunch(users[i%len(users)].UserID, day.Add(time.Duration(i)*time.Minute), 0, 1); err != nil {
					t.Fatal(err)
				}
			}
			full, err := c.Punches(ctx)
			if err != nil {
				t.Fatal(err)
			}
			l, err = c.ReadLog(ctx, whole.Mark, false)
			if err != nil {
				t.Fatal(err)
			}
			sameKeys(t, "after growth", l.Punches, full[whole.Mark.Count:])
			if l.Bytes != 11*40 || l.Mark.Count != whole.Mark.Count+10 || !bytes.Equal(l.Mark.Last, full[len(full)-1].Raw) {
				t.Errorf("after growth: %d bytes moved, mark %d", l.Bytes, l.Mark.Count)
			}
			grown := l.Mark

			// A clear and fewer records: the whole (new) log, New 0.
			sc.sim.ClearLog()
			for i := 0; i < 3; i++ {
				if err := sc.sim.InjectPunch(users[i].UserID, day.Add(time.Hour+time.Duration(i)*time.Minute), 1, 1); err != nil {
					t.Fatal(err)
				}
			}
			l, err = c.ReadLog(ctx, grown, false)
			if err != nil || l.New != 0 || l.From != 0 || len(l.Punches) != 3 || l.Mark.Count != 3 {
				t.Fatalf("after a clear: %d punches from %d new %d, %v", len(l.Punches), l.From, l.New, err)
			}
			// A clear and a refill past the old length: the record at the old mark differs, so the
			// whole log again.
			sc.sim.ClearLog()
			n := grown.Count + 5
			for i := 0; i < n; i++ {
				if err := sc.sim.InjectPunch(users[i%len(users)].UserID, day.Add(2*time.Hour+time.Duration(i)*time.Second), 2, 1); err != nil {
					t.Fatal(err)
				}
			}
			full, err = c.Punches(ctx)
			if err != nil {
				t.Fatal(err)
			}
			l, err = c.ReadLog(ctx, grown, false)
			if err != nil {
				t.Fatal(err)
			}
			if l.New != 0 || l.From != 0 {
				t.Fatalf("after a refill past the old length: from %d new %d, want a whole read", l.From, l.New)
			}
			sameKeys(t, "after a refill", l.Punches, full)

			// full set: the whole log even though the mark matches; New says what is new.
			l, err = c.ReadLog(ctx, l.Mark, true)
			if err != nil || l.From != 0 || l.New != n || len(l.Punches) != n {
				t.Fatalf("full read with a good mark: from %d new %d, %d punches, %v", l.From, l.New, len(l.Punches), err)
			}
		})
	}
}

// A TCP connection dropped in the middle of a tail read fails the read; a new connection reads
// the same tail exactly from the same mark.
func TestReadLogTailDroppedConnection(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 20, Days: 30, Start: time.Date(2026, 8, 1, 0, 0, 0, 0, shanghai), Seed: 5})
	sc := startSim(t, zksim.Config{Data: data})
	ctx := t.Context()
	c := dial(t, "tcp", sc.tcp, opts())
	first, err := c.ReadLog(ctx, device.Mark{}, false)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	day := time.Date(2026, 9, 1, 7, 0, 0, 0, shanghai)
	for i := 0; i < 200; i++ { // 8 KB of new records: a multi-packet transfer
		if err := sc.sim.InjectPunch(data.Users[i%len(data.Users)].UserID, day.Add(time.Duration(i)*time.Minute), 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	sc.sim.SetFaults(zksim.Faults{DropAfterPackets: 3, Once: true})
	c = dial(t, "tcp", sc.tcp, opts())
	if _, err := c.ReadLog(ctx, first.Mark, false); !errors.Is(err, zk.ErrClosed) {
		t.Fatalf("tail read over a dropped connection: %v", err)
	}
	// Close waits for the dropped session to end, so the next dial does not find its claim
	// on the address still held (ErrInUse) while its reader winds down.
	c.Close()
	c = dial(t, "tcp", sc.tcp, opts())
	l, err := c.ReadLog(ctx, first.Mark, false)
	if err != nil {
		t.Fatal(err)
	}
	full, err := c.Punches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "tail after the drop", l.Punches, full[first.Mark.Count:])
}

// A few records with impossible dates are skipped, named by position and reason; the rest is
// read. When most records are implausible the read fails.
func TestReadLogSkipsFewBadRecords(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 5, Records: 500, Seed: 3})
	sc := startSim(t, zksim.Config{Data: data})
	if err := sc.sim.AppendBadDates(zksim.Year2000, 1); err != nil {
		t.Fatal(err)
	}
	if err := sc.sim.AppendBadDates(zksim.FarFuture, 1); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", sc.tcp, opts())
	ctx := t.Context()
	l, err := c.ReadLog(ctx, device.Mark{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Punches) != 500 || len(l.Skipped) != 2 || l.Mark.Count != 502 {
		t.Fatalf("%d punches, %d skipped, count %d", len(l.Punches), len(l.Skipped), l.Mark.Count)
	}
	for i, s := range l.Skipped {
		if s.Index != 500+i || s.Reason != device.SkipBadDate || len(s.Raw) != 40 {
			t.Errorf("skipped %d: %+v", i, s)
		}
	}
	if ps, err := c.Punches(ctx); err != nil || len(ps) != 500 {
		t.Fatalf("Punches: %d, %v", len(ps), err)
	}
	// A tail whose only new record is bad: skipped there too.
	if err := sc.sim.AppendBadDates(zksim.Year2000, 1); err != nil {
		t.Fatal(err)
	}
	// (Most of a one-record tail is bad: the whole log is judged, and New says what is new.)
	tail, err := c.ReadLog(ctx, l.Mark, false)
	if err != nil || tail.New != 502 || len(tail.Skipped) != 3 || tail.Skipped[2].Index != 502 || len(tail.Punches) != 500 {
		t.Fatalf("tail with one bad record: new %d, %d punches, skipped %+v, %v", tail.New, len(tail.Punches), tail.Skipped, err)
	}

	// Most of the log implausible: a wrong layout, refused.
	if err := sc.sim.AppendBadDates(zksim.Year2000, 600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadLog(ctx, device.Mark{}, false); !errors.Is(err, zk.ErrImplausibleDates) {
		t.Fatalf("mostly bad log: %v", err)
	}
}

// BenchmarkTailPoll100kPaced is one poll of a 100,000-record clock paced like a real one (20 ms a
// data packet, 3 ms a command) that took 10 new punches since the last: Info (what the daemon
// asks first) and a tail read from the mark, on a kept connection. Goal (issue 12): under 1 s and
// under 2 KB of record data (bytes/op, measured by the clock).
func BenchmarkTailPoll100kPaced(b *testing.B) {
	const n = 100000
	data := gen(b, zksim.GenConfig{People: 200, Records: n, Seed: 1, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	sc := startSim(b, zksim.Config{Data: data, Pacing: 20 * time.Millisecond, ReplyDelay: 3 * time.Millisecond})
	last, count, err := sc.sim.RecordBytes(n - 1)
	if err != nil {
		b.Fatal(err)
	}
	mark := device.Mark{Count: count, Last: last}
	ctx := context.Background()
	c, err := zk.DialTCP(ctx, sc.tcp, opts())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	at := time.Now().In(shanghai).Add(-time.Hour)
	moved := 0
	for b.Loop() {
		b.StopTimer()
		for i := 0; i < 10; i++ {
			at = at.Add(time.Second)
			if err := sc.sim.InjectPunch(data.Users[i].UserID, at, 0, 1); err != nil {
				b.Fatal(err)
			}
		}
		before := sc.sim.Stats().BufferBytes
		b.StartTimer()
		if _, err := c.Info(ctx); err != nil {
			b.Fatal(err)
		}
		l, err := c.ReadLog(ctx, mark, false)
		if err != nil || len(l.Punches) != 10 || l.From != mark.Count {
			b.Fatalf("%d punches from %d: %v", len(l.Punches), l.From, err)
		}
		moved += sc.sim.Stats().BufferBytes - before
		mark = l.Mark
	}
	b.ReportMetric(float64(moved)/float64(b.N), "record_bytes/op")
}
