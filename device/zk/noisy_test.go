package zk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// noisyCases are the lines of issue 14: TCP with one data packet in 50 damaged, UDP with one
// datagram in 10 lost (both ways).
var noisyCases = []struct {
	name string
	net  string
	f    zksim.Faults
}{
	{"tcp-corrupt-1in50", "tcp", zksim.Faults{CorruptEvery: 50, Seed: 7}},
	{"udp-lose-1in10", "udp", zksim.Faults{LoseEvery: 10, Seed: 7}},
	{"udp-lose-1in10-corrupt-1in50", "udp", zksim.Faults{LoseEvery: 10, CorruptEvery: 50, Seed: 9}},
}

// A noisy line still yields the exact log: a failed chunk is asked again from its last good byte
// with a smaller chunk, and the retries are counted.
func TestNoisyLineReadsExactly(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 60, Records: 20000, Seed: 12, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	for _, tc := range noisyCases {
		t.Run(tc.name, func(t *testing.T) {
			sc := startSim(t, zksim.Config{Data: data})
			sc.sim.SetFaults(tc.f)
			addr := sc.tcp
			if tc.net == "udp" {
				addr = sc.udp
			}
			o := opts()
			o.Timeout = 2 * time.Second
			c := dial(t, tc.net, addr, o)
			l, err := c.ReadLog(context.Background(), device.Mark{}, false)
			if err != nil {
				t.Fatalf("%v (sim %+v)", err, sc.sim.Stats())
			}
			if len(l.Skipped) > 0 {
				t.Fatalf("%d skipped, first %+v", len(l.Skipped), l.Skipped[0])
			}
			samePunches(t, l.Punches, sc.sim)
			st := sc.sim.Stats()
			if st.Corrupted+st.Lost == 0 || l.Retries == 0 {
				t.Fatalf("the fault did not fire: sim %+v, retries %d", st, l.Retries)
			}
			if c.Stats().ChunkRetries < uint64(l.Retries) {
				t.Errorf("client counts %d chunk retries, the read %d", c.Stats().ChunkRetries, l.Retries)
			}
			t.Logf("%s: %d corrupted, %d lost, %d chunks asked again, %d READ_BUFFERs", tc.name, st.Corrupted, st.Lost, l.Retries, st.ReadBuffers)
		})
	}
}

// BenchmarkNoisyRead100k reads 100,000 40-byte records over each noisy line of issue 14 and over
// the same transport clean (no pacing, loopback): compare the ns/op of "clean-…" and the noisy
// case (goal: under 3×).
func BenchmarkNoisyRead100k(b *testing.B) {
	const n = 100000
	data := gen(b, zksim.GenConfig{People: 200, Records: n, Seed: 1, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	cases := append([]struct {
		name string
		net  string
		f    zksim.Faults
	}{{"clean-tcp", "tcp", zksim.Faults{}}, {"clean-udp", "udp", zksim.Faults{}}}, noisyCases...)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			sc := startSim(b, zksim.Config{RecordSize: 40, Data: data})
			addr := sc.tcp
			if tc.net == "udp" {
				addr = sc.udp
			}
			ctx := context.Background()
			retries := 0
			for b.Loop() {
				sc.sim.SetFaults(zksim.Faults{})
				var c *zk.Client
				var err error
				if tc.net == "udp" {
					c, err = zk.DialUDP(ctx, addr, opts())
				} else {
					c, err = zk.DialTCP(ctx, addr, opts())
				}
				if err != nil {
					b.Fatal(err)
				}
				sc.sim.SetFaults(tc.f)
				l, err := c.ReadLog(ctx, device.Mark{}, false)
				if err != nil || len(l.Punches) != n {
					b.Fatal(len(l.Punches), err)
				}
				retries += l.Retries
				sc.sim.SetFaults(zksim.Faults{})
				c.Close()
			}
			b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
		})
	}
}

// A clock that answers only with bad checksums is told apart from a busy or unreachable one: the
// error is ErrChecksum, not ErrNoAnswer.
func TestConnectAllBadChecksums(t *testing.T) {
	sc := startSim(t, zksim.Config{Faults: zksim.Faults{BadChecksums: true}})
	o := opts()
	o.Timeout = 300 * time.Millisecond
	for _, net := range []string{"tcp", "udp"} {
		var err error
		if net == "tcp" {
			_, err = zk.DialTCP(t.Context(), sc.tcp, o)
		} else {
			_, err = zk.DialUDP(t.Context(), sc.udp, o)
		}
		if !errors.Is(err, zk.ErrChecksum) || errors.Is(err, zk.ErrNoAnswer) || !strings.Contains(err.Error(), "failed its checksum") {
			t.Errorf("%s: %v", net, err)
		}
	}
}
