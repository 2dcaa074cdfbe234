package zk_test

// Client against the simulated clock (zksim) on the real wire: TCP, UDP and a pty for serial.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

var shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

type simClock struct {
	sim    *zksim.Sim
	tcp    string
	udp    string
	cancel context.CancelFunc
}

// startSim serves a simulator built from cfg over TCP and UDP on loopback until the test ends.
func startSim(t testing.TB, cfg zksim.Config) *simClock {
	t.Helper()
	if cfg.Location == nil {
		cfg.Location = shanghai
	}
	s, err := zksim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := zksim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := zksim.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { s.ServeTCP(ctx, ln); done <- struct{}{} }()
	go func() { s.ServeUDP(ctx, pc); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return &simClock{sim: s, tcp: ln.Addr().String(), udp: pc.LocalAddr().String(), cancel: cancel}
}

// startSerial serves s on a pty and returns its slave path.
func startSerial(t testing.TB, s *zksim.Sim) string {
	t.Helper()
	p, err := zksim.OpenPTY()
	if err != nil {
		t.Skip("no pty:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.ServeSerial(ctx, p); close(done) }()
	t.Cleanup(func() { cancel(); p.Close(); <-done })
	return p.Path
}

func gen(t testing.TB, g zksim.GenConfig) zksim.Data {
	t.Helper()
	if g.Location == nil {
		g.Location = shanghai
	}
	d, err := zksim.Generate(g)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func opts() device.Options {
	return device.Options{Location: shanghai, Timeout: 2 * time.Second}
}

func dial(t testing.TB, network, addr string, o device.Options) *zk.Client {
	t.Helper()
	ctx := context.Background()
	var c *zk.Client
	var err error
	switch network {
	case "tcp":
		c, err = zk.DialTCP(ctx, addr, o)
	case "udp":
		c, err = zk.DialUDP(ctx, addr, o)
	case "serial":
		c, err = zk.DialSerial(ctx, addr, 115200, 1, o)
	default:
		t.Fatalf("network %q", network)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// samePunches compares a read with the simulator's ground truth, record by record, in order.
func samePunches(t testing.TB, got []device.Punch, sim *zksim.Sim) {
	t.Helper()
	gt := sim.Truth()
	if len(got) != len(gt.Records) {
		t.Fatalf("read %d punches, clock holds %d", len(got), len(gt.Records))
	}
	for i, r := range gt.Records {
		p := got[i]
		if p.UserID != r.UserID || !p.Time.Equal(r.Time) || p.State != r.State || p.Verify != r.Verify || p.WorkCode != r.WorkCode {
			t.Fatalf("record %d: read %+v\nclock holds %+v", i, p, r)
		}
		if p.Clock != gt.Info.Serial {
			t.Fatalf("record %d: clock %q, want %q", i, p.Clock, gt.Info.Serial)
		}
		if p.Time.Location().String() != shanghai.String() {
			t.Fatalf("record %d: zone %v", i, p.Time.Location())
		}
	}
}

// boundaryCounts are the record counts around every size limit of a read of size-byte records:
// the 1024-byte inline limit, the UDP and TCP READ_BUFFER chunks, and 1024 records.
func boundaryCounts(size int) []int {
	ns := []int{0, 1, 1024}
	for _, limit := range []int{1024, zk.UDPChunk, zk.TCPChunk} {
		n := (limit - 4) / size // the blob is a u32 length plus the records
		ns = append(ns, n, n+1)
	}
	return ns
}

func TestSimReadMatrix(t *testing.T) {
	for _, network := range []string{"tcp", "udp", "serial"} {
		for _, size := range []int{40, 16, 8} {
			for _, key := range []uint32{0, 12345} {
				for _, n := range boundaryCounts(size) {
					name := fmt.Sprintf("%s/rec%d/key%d/n%d", network, size, key, n)
					t.Run(name, func(t *testing.T) {
						readAndCompare(t, network, size, key, n)
					})
				}
			}
		}
	}
}

func TestSimRead100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 records: not in -short")
	}
	for _, network := range []string{"tcp", "udp", "serial"} {
		t.Run(network, func(t *testing.T) { readAndCompare(t, network, 40, 0, 100000) })
	}
}

func readAndCompare(t *testing.T, network string, size int, key uint32, n int) {
	// Enough people that 100,000 records end well before today (the client rejects future dates).
	data := gen(t, zksim.GenConfig{People: 200, Records: n, Seed: uint64(n + size), NumericIDs: size != 40, MaxNameBytes: 24,
		Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	sc := startSim(t, zksim.Config{RecordSize: size, CommKey: key, Data: data})
	addr := sc.tcp
	switch network {
	case "udp":
		addr = sc.udp
	case "serial":
		addr = startSerial(t, sc.sim)
	}
	o := opts()
	o.CommKey = key
	c := dial(t, network, addr, o)
	ps, err := c.Punches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	samePunches(t, ps, sc.sim)
	if n == 0 && ps == nil {
		t.Fatal("empty log should be an empty, non-nil list")
	}
	// Over UDP the client waits only a few round trips before asking again (a lost datagram never
	// comes), so a loaded machine may cost a chunk retry on a clean line; elsewhere none.
	if st := c.Stats(); st.ChunkRetries != 0 && network != "udp" || st.BadChecksums != 0 {
		t.Errorf("clean read needed retries: %+v", st)
	}
}

func TestSimUsersAndInfo(t *testing.T) {
	for _, us := range []int{72, 28} {
		t.Run(fmt.Sprint(us), func(t *testing.T) {
			maxName := 24
			if us == 28 {
				maxName = 8
			}
			data := gen(t, zksim.GenConfig{People: 120, Days: 3, Seed: 7, NumericIDs: us == 28, MaxNameBytes: maxName})
			sc := startSim(t, zksim.Config{UserSize: us, RecordSize: map[int]int{72: 40, 28: 16}[us], Data: data})
			c := dial(t, "tcp", sc.tcp, opts())
			users, err := c.Users(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gt := sc.sim.Truth()
			if len(users) != len(gt.Users) {
				t.Fatalf("%d users, want %d", len(users), len(gt.Users))
			}
			alnum, chinese := 0, 0
			for i, u := range gt.Users {
				g := users[i]
				if g.UserID != u.UserID || g.Name != u.Name || g.Privilege != u.Privilege || g.Card != u.Card {
					t.Fatalf("user %d: got %+v want %+v", i, g, u)
				}
				if strings.ContainsAny(u.UserID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
					alnum++
				}
				if len(u.Name) > 0 && u.Name[0] >= 0x80 {
					chinese++
				}
			}
			if chinese == 0 {
				t.Errorf("no GBK names among %d users: the encoding path is untested", len(users))
			}
			if us == 72 && alnum == 0 {
				t.Errorf("no alphanumeric user ids among %d users", len(users))
			}
			info, err := c.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.Serial != gt.Info.Serial || info.Firmware != gt.Info.Firmware || info.Platform != gt.Info.Platform ||
				info.DeviceName != gt.Info.DeviceName || info.MAC != gt.Info.MAC || info.PINWidth != gt.Info.PINWidth ||
				info.Users != len(gt.Users) || info.Records != len(gt.Records) || info.RecordCap == 0 || info.UserCapacity == 0 {
				t.Errorf("info %+v\ntruth %+v", info, gt.Info)
			}
			if d := info.Time.Sub(sc.sim.Now()); d < -5*time.Second || d > 5*time.Second {
				t.Errorf("clock time %v, simulator says %v", info.Time, sc.sim.Now())
			}
		})
	}
}

func TestSimTimeSetGet(t *testing.T) {
	sc := startSim(t, zksim.Config{Data: gen(t, zksim.GenConfig{People: 3, Days: 1})})
	c := dial(t, "udp", sc.udp, opts())
	want := time.Date(2031, 2, 28, 23, 59, 58, 0, shanghai)
	if err := c.SetTime(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Time(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sub(want); d < 0 || d > 3*time.Second {
		t.Fatalf("time after set: %v, want %v", got, want)
	}
	if err := c.SetTime(context.Background(), time.Date(1999, 1, 1, 0, 0, 0, 0, shanghai)); !errors.Is(err, zk.ErrBadTime) {
		t.Fatalf("1999: %v", err)
	}
}

func TestSimCommKeyErrors(t *testing.T) {
	sc := startSim(t, zksim.Config{CommKey: 45, Data: gen(t, zksim.GenConfig{People: 3, Days: 1})})
	for _, network := range []string{"tcp", "udp"} {
		addr := map[string]string{"tcp": sc.tcp, "udp": sc.udp}[network]
		o := opts()
		o.CommKey = 12
		_, err := zk.DialTCP(context.Background(), addr, o)
		if network == "udp" {
			_, err = zk.DialUDP(context.Background(), addr, o)
		}
		if !errors.Is(err, zk.ErrUnauthorized) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "auth") {
			t.Errorf("%s wrong key: %v", network, err)
		}
		o.CommKey = 0
		_, err = zk.DialTCP(context.Background(), sc.tcp, o)
		if !errors.Is(err, zk.ErrUnauthorized) || !strings.Contains(err.Error(), "comm key") {
			t.Errorf("%s no key: %v", network, err)
		}
	}
}

func TestSimBusyClock(t *testing.T) {
	sc := startSim(t, zksim.Config{Faults: zksim.Faults{Busy: true}, Data: gen(t, zksim.GenConfig{People: 3, Days: 1})})
	o := opts()
	o.Timeout = 200 * time.Millisecond
	for _, c := range []struct{ net, addr string }{{"tcp", sc.tcp}, {"udp", sc.udp}} {
		var err error
		if c.net == "tcp" {
			_, err = zk.DialTCP(context.Background(), c.addr, o)
		} else {
			_, err = zk.DialUDP(context.Background(), c.addr, o)
		}
		if !errors.Is(err, zk.ErrNoAnswer) || !errors.Is(err, zk.ErrBusy) || !strings.Contains(err.Error(), "connect") || !strings.Contains(err.Error(), c.addr) {
			t.Errorf("%s busy: %v", c.net, err)
		}
	}
}

// One record with an impossible date among 50 is skipped and named; the other 50 are read.
func TestSimImplausibleDates(t *testing.T) {
	for _, kind := range []zksim.BadDates{zksim.Year2000, zksim.FarFuture} {
		sc := startSim(t, zksim.Config{Data: gen(t, zksim.GenConfig{People: 5, Records: 50, Seed: 3})})
		if err := sc.sim.AppendBadDates(kind, 1); err != nil {
			t.Fatal(err)
		}
		c := dial(t, "tcp", sc.tcp, opts())
		l, err := c.ReadLog(context.Background(), device.Mark{}, false)
		if err != nil || len(l.Punches) != 50 || len(l.Skipped) != 1 || l.Skipped[0].Index != 50 || l.Skipped[0].Reason != device.SkipBadDate {
			t.Errorf("kind %d: %d punches, skipped %+v, err %v", kind, len(l.Punches), l.Skipped, err)
		}
	}
}

func TestSimFaults(t *testing.T) {
	cases := []struct {
		name   string
		f      zksim.Faults
		net    string
		wantOK bool // the client recovers (chunk asked again) rather than failing
	}{
		{"corrupt-once-tcp", zksim.Faults{CorruptPacket: 3, Once: true}, "tcp", true},
		{"corrupt-once-udp", zksim.Faults{CorruptPacket: 3, Once: true}, "udp", true},
		{"corrupt-always-tcp", zksim.Faults{CorruptPacket: 3}, "tcp", false},
		{"drop-tcp", zksim.Faults{DropAfterPackets: 5}, "tcp", false},
		{"drop-once-udp", zksim.Faults{DropAfterPackets: 5, Once: true}, "udp", true}, // session lost: reconnect, read again
		{"drop-always-udp", zksim.Faults{DropAfterPackets: 5}, "udp", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := startSim(t, zksim.Config{Data: gen(t, zksim.GenConfig{People: 30, Records: 3000, Seed: 11})})
			o := opts()
			o.Timeout = 300 * time.Millisecond
			addr := sc.tcp
			if tc.net == "udp" {
				addr = sc.udp
			}
			c := dial(t, tc.net, addr, o)
			sc.sim.SetFaults(tc.f)
			ps, err := c.Punches(context.Background())
			if err == nil {
				samePunches(t, ps, sc.sim) // exact, or an error: never a partial list
				if !tc.wantOK {
					t.Logf("recovered from %s", tc.name)
				}
				return
			}
			if tc.wantOK {
				t.Fatalf("expected recovery, got %v", err)
			}
			if ps != nil {
				t.Fatalf("error with %d punches", len(ps))
			}
			if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "read attendance at byte") && !strings.Contains(err.Error(), "closed") {
				t.Errorf("error should name the clock and the step: %v", err)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

func TestSimListen(t *testing.T) {
	for _, evLen := range []int{36, 32, 12, 10, 14, 37, 52} {
		t.Run(fmt.Sprint(evLen), func(t *testing.T) {
			data := gen(t, zksim.GenConfig{People: 5, Days: 1, Seed: 5, NumericIDs: evLen < 32})
			sc := startSim(t, zksim.Config{EventLen: evLen, Data: data})
			c := dial(t, "tcp", sc.tcp, opts())
			c.Heartbeat = 50 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan device.Punch, 10)
			done := make(chan error, 1)
			go func() { done <- c.Listen(ctx, func(p device.Punch) { got <- p }) }()
			uid := data.Users[2].UserID
			at := time.Date(2026, 11, 25, 8, 29, 7, 0, shanghai)
			// The registration may not be in place yet: inject until one arrives.
			var p device.Punch
			deadline := time.After(5 * time.Second)
		wait:
			for {
				if err := sc.sim.InjectPunch(uid, at, 0, 1); err != nil {
					t.Fatal(err)
				}
				select {
				case p = <-got:
					break wait
				case <-time.After(100 * time.Millisecond):
				case <-deadline:
					t.Fatal("no event delivered")
				}
			}
			if p.UserID != uid || !p.Time.Equal(at) || p.Verify != 1 || p.State != 0 {
				t.Fatalf("event punch %+v", p)
			}
			// Calls still work beside Listen, a whole read included, and events keep coming after it.
			if _, err := c.Time(context.Background()); err != nil {
				t.Fatal(err)
			}
			ps, err := c.Punches(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			samePunches(t, ps, sc.sim)
			at2 := at.Add(time.Hour)
			if err := sc.sim.InjectPunch(uid, at2, 1, 1); err != nil {
				t.Fatal(err)
			}
			for p = (device.Punch{}); !p.Time.Equal(at2); {
				select {
				case p = <-got: // late copies of the first punch (injected more than once) are skipped
					if !p.Time.Equal(at2) && !p.Time.Equal(at) {
						t.Fatalf("event after a read: %+v", p)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no event after a bulk read on the same connection")
				}
			}
			if p.State != 1 || p.UserID != uid {
				t.Fatalf("event after a read: %+v", p)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Listen returned %v", err)
			}
		})
	}
}

func TestSimListenNoticesDeadClock(t *testing.T) {
	sc := startSim(t, zksim.Config{Data: gen(t, zksim.GenConfig{People: 3, Days: 1})})
	o := opts()
	o.Timeout = 200 * time.Millisecond
	c := dial(t, "udp", sc.udp, o)
	c.Heartbeat = 50 * time.Millisecond
	done := make(chan error, 1)
	got := make(chan device.Punch, 10)
	go func() { done <- c.Listen(context.Background(), func(p device.Punch) { got <- p }) }()
	// Wait until Listen is registered (an injected punch arrives), then take the clock away.
	uid := sc.sim.Data().Users[0].UserID
	for registered := false; !registered; {
		if err := sc.sim.InjectPunch(uid, time.Now(), 0, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			registered = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	sc.cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), sc.udp) || !strings.Contains(err.Error(), "heartbeat") {
			t.Fatalf("Listen: %v", err)
		}
		t.Log(err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not notice the dead clock")
	}
}

func TestSimCancelMidTransfer(t *testing.T) {
	sc := startSim(t, zksim.Config{Pacing: 5 * time.Millisecond, Data: gen(t, zksim.GenConfig{People: 30, Records: 5000, Seed: 2})})
	c := dial(t, "tcp", sc.tcp, opts())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Punches(ctx); errc <- err }()
	// Poll until the read is under way (a few commands in), then cancel.
	for deadline := time.Now().Add(10 * time.Second); sc.sim.Stats().Commands < 5; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the read never got going")
		}
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled read: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not stop the read promptly")
	}
	// The connection stays usable: leftovers of the abandoned transfer are dropped.
	sc.sim.SetFaults(zksim.Faults{})
	ps, err := c.Punches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	samePunches(t, ps, sc.sim)
}

func TestDriverURLs(t *testing.T) {
	sc := startSim(t, zksim.Config{Data: gen(t, zksim.GenConfig{People: 3, Records: 10})})
	for _, u := range []string{"zk+tcp://" + sc.tcp, "zk+udp://" + sc.udp + "?timeout=1s&tz=Asia/Shanghai&encoding=gbk"} {
		c, err := device.Open(context.Background(), u, device.Options{Location: shanghai})
		if err != nil {
			t.Fatal(u, err)
		}
		ps, err := c.Punches(context.Background())
		if err != nil {
			t.Fatal(u, err)
		}
		samePunches(t, ps, sc.sim)
		if err := c.Close(); err != nil {
			t.Fatal(u, err)
		}
	}
	if _, err := device.Open(context.Background(), "zk+tcp://"+sc.tcp+"?encoding=klingon", device.Options{}); !errors.Is(err, device.ErrBadURL) {
		t.Errorf("bad encoding: %v", err)
	}
	if _, err := device.Open(context.Background(), "zk+serial:///dev/null?id=300", device.Options{}); !errors.Is(err, device.ErrBadURL) {
		t.Errorf("bad id: %v", err)
	}
	u, _ := url.Parse("zk+tcp://10.0.0.5")
	_ = u
}

var _ io.Closer = (*zk.Client)(nil)
