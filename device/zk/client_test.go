package zk

// The client against small scripted peers that speak exact frames: for behaviour the simulator
// does not show (legacy fallback, events between replies, reply-id wrap, stray replies, a count
// that changes during a read, ACK_RETRY, several clocks on one RS485 line).

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/jinbi/punchd/device"
)

type peer struct {
	t    *testing.T
	conn net.Conn
	fr   *FrameReader
	sid  uint16
}

// scripted starts a loopback listener, runs script as the clock for the first connection and
// returns a client connected to it (CONNECT already answered with session 0x1234).
func scripted(t *testing.T, o device.Options, script func(p *peer)) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer conn.Close()
		p := &peer{t: t, conn: conn, fr: NewTCPFrameReader(conn), sid: 0x1234}
		c := p.expect(CmdConnect)
		if c.Reply != 0 || c.Session != 0 {
			t.Errorf("CONNECT with session %#x reply %d", c.Session, c.Reply)
		}
		p.send(Packet{Cmd: AckOK, Session: p.sid, Reply: c.Reply})
		script(p)
	}()
	t.Cleanup(func() { <-done })
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	c, err := DialTCP(context.Background(), ln.Addr().String(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.shutdown(ErrClosed) })
	return c
}

func (p *peer) next() (Packet, error) {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	pk, err := p.fr.Next()
	pk.Payload = append([]byte(nil), pk.Payload...)
	return pk, err
}

// expect reads the next frame, which must carry cmd and the session.
func (p *peer) expect(cmd uint16) Packet {
	pk, err := p.next()
	if err != nil {
		p.t.Errorf("peer waiting for cmd %d: %v", cmd, err)
		return Packet{}
	}
	if pk.Cmd != cmd {
		p.t.Errorf("peer got %v, want cmd %d", pk, cmd)
	}
	if cmd != CmdConnect && pk.Session != p.sid {
		p.t.Errorf("cmd %d with session %#x, want %#x", cmd, pk.Session, p.sid)
	}
	return pk
}

// send writes the frames in one write: the client must split merged frames itself.
func (p *peer) send(pks ...Packet) {
	var b []byte
	for _, pk := range pks {
		b = AppendTCP(b, pk)
	}
	if _, err := p.conn.Write(b); err != nil {
		p.t.Errorf("peer write: %v", err)
	}
}

func (p *peer) ok(req Packet, payload []byte) {
	p.send(Packet{Cmd: AckOK, Session: p.sid, Reply: req.Reply, Payload: payload})
}

func sizesWith(records, users int) []byte {
	return FreeSizes{Users: users, Records: records, RecordCap: 100000, UserCap: 3000}.Encode(92)
}

func att40(t *testing.T, n int, at time.Time) ([]byte, []AttRecord) {
	var recs [][]byte
	var want []AttRecord
	for i := 0; i < n; i++ {
		r := AttRecord{UID: uint16(i + 1), UserID: "A" + string(rune('0'+i%10)) + "23", Verify: 1, State: uint8(i % 2), Time: EncodeTime(at.Add(time.Duration(i) * time.Minute))}
		b, err := EncodeAttRecord(40, r)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
		want = append(want, r)
	}
	return EncodeBlob(recs), want
}

// clockTime answers the SerialNumber option and GET_TIME that start an attendance read.
func (p *peer) serialAndTime(now time.Time) {
	o := p.expect(CmdOptionsRRQ)
	p.ok(o, []byte("~SerialNumber=TEST123\x00"))
	g := p.expect(CmdGetTime)
	p.ok(g, binary.LittleEndian.AppendUint32(nil, EncodeTime(now)))
}

func TestLegacyFallbackAndEventBetweenReplies(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	blob, want := att40(t, 30, now.Add(-10*time.Hour))
	c := scripted(t, device.Options{}, func(p *peer) {
		p.serialAndTime(now)
		fs := p.expect(CmdGetFreeSizes)
		p.ok(fs, sizesWith(30, 3))
		pb := p.expect(CmdPrepareBuffer)
		if len(pb.Payload) != 11 || pb.Payload[0] != 1 || binary.LittleEndian.Uint16(pb.Payload[1:]) != CmdAttLogRRQ {
			t.Errorf("PREPARE_BUFFER payload % x", pb.Payload)
		}
		p.send(Packet{Cmd: AckUnknown, Session: p.sid, Reply: pb.Reply})
		lg := p.expect(CmdAttLogRRQ)
		if lg.Reply != pb.Reply+1 {
			t.Errorf("legacy read reply id %d after %d", lg.Reply, pb.Reply)
		}
		// An event just before the reply, all merged in one write; the data in 500-byte packets
		// with the packet index in the session field, the final ACK carrying the byte count.
		ev, _ := EncodeAttEvent(36, Event{UserID: "A123", Verify: 1, Time: now})
		pks := []Packet{{Cmd: CmdRegEvent, Session: EFAttLog, Reply: 7, Payload: ev},
			{Cmd: CmdPrepareData, Session: p.sid, Reply: lg.Reply, Payload: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(len(blob))), 500)}}
		for i := 0; i*500 < len(blob); i++ {
			pks = append(pks, Packet{Cmd: CmdData, Session: uint16(i), Reply: lg.Reply, Payload: blob[i*500 : min(len(blob), (i+1)*500)]})
		}
		pks = append(pks, Packet{Cmd: AckOK, Session: uint16(len(blob)), Reply: lg.Reply})
		p.send(pks...)
		ack := p.expect(AckOK)
		if ack.Reply != 7 {
			t.Errorf("event ACK reply id %d, want the event's 7", ack.Reply)
		}
	})
	ps, err := c.Punches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(want) {
		t.Fatalf("%d punches", len(ps))
	}
	for i, r := range want {
		if ps[i].UserID != r.UserID || !ps[i].Time.Equal(DecodeTime(r.Time, time.UTC)) || ps[i].Clock != "TEST123" {
			t.Fatalf("punch %d: %+v", i, ps[i])
		}
	}
	if st := c.Stats(); st.Events != 1 {
		t.Errorf("events %d", st.Events)
	}
}

func TestChunkRetriedWithNewReplyID(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	blob, _ := att40(t, 50, now.Add(-5*time.Hour))
	c := scripted(t, device.Options{Timeout: 300 * time.Millisecond}, func(p *peer) {
		p.serialAndTime(now)
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(50, 1))
		pb := p.expect(CmdPrepareBuffer)
		size := binary.LittleEndian.AppendUint32([]byte{0}, uint32(len(blob)))
		p.ok(pb, append(size, size[1:]...))
		rb := p.expect(CmdReadBuffer)
		if off, n := binary.LittleEndian.Uint32(rb.Payload), binary.LittleEndian.Uint32(rb.Payload[4:]); off != 0 || int(n) != len(blob) {
			t.Errorf("READ_BUFFER %d,%d", off, n)
		}
		// First try: the ACK arrives one packet short (a lost packet).
		prep := Packet{Cmd: CmdPrepareData, Session: p.sid, Reply: rb.Reply, Payload: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(len(blob))), 1024)}
		p.send(prep, Packet{Cmd: CmdData, Reply: rb.Reply, Payload: blob[:1024]}, Packet{Cmd: AckOK, Session: p.sid, Reply: rb.Reply})
		// Asked again from the last good byte, with a smaller chunk (the rest fits one packet).
		rb2 := p.expect(CmdReadBuffer)
		if rb2.Reply == rb.Reply {
			t.Errorf("chunk asked again with the same reply id %d: the clock would replay only its final ACK", rb.Reply)
		}
		if off, n := binary.LittleEndian.Uint32(rb2.Payload), binary.LittleEndian.Uint32(rb2.Payload[4:]); off != 1024 || int(n) != len(blob)-1024 {
			t.Errorf("READ_BUFFER again at %d,%d, want 1024,%d", off, n, len(blob)-1024)
		}
		p.send(Packet{Cmd: CmdData, Session: p.sid, Reply: rb2.Reply, Payload: blob[1024:]})
		p.ok(p.expect(CmdFreeData), nil)
	})
	ps, err := c.Punches(context.Background())
	if err != nil || len(ps) != 50 {
		t.Fatalf("%d punches, %v", len(ps), err)
	}
	if c.Stats().ChunkRetries != 1 {
		t.Errorf("stats %+v", c.Stats())
	}
}

func TestCountChangesDuringRead(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	blob, _ := att40(t, 11, now.Add(-5*time.Hour))
	c := scripted(t, device.Options{}, func(p *peer) {
		p.serialAndTime(now)
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(10, 1)) // someone punches right after this
		p.send(Packet{Cmd: CmdData, Session: p.sid, Reply: p.expect(CmdPrepareBuffer).Reply, Payload: blob})
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(11, 1))
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(11, 1))
		p.send(Packet{Cmd: CmdData, Session: p.sid, Reply: p.expect(CmdPrepareBuffer).Reply, Payload: blob})
	})
	ps, err := c.Punches(context.Background())
	if err != nil || len(ps) != 11 {
		t.Fatalf("%d punches, %v", len(ps), err)
	}
}

func TestReplyIDWrapAndStrays(t *testing.T) {
	c := scripted(t, device.Options{}, func(p *peer) {
		for _, want := range []uint16{65535, 0, 1} {
			g := p.expect(CmdGetTime)
			if g.Reply != want {
				t.Errorf("reply id %d, want %d", g.Reply, want)
			}
			// A stray reply to an older request first: dropped by reply id.
			p.send(Packet{Cmd: AckOK, Session: p.sid, Reply: g.Reply - 5, Payload: []byte{9, 9, 9, 9}})
			p.ok(g, binary.LittleEndian.AppendUint32(nil, 0x2368B36B))
		}
	})
	c.reply = 65534
	for i := 0; i < 3; i++ {
		tm, err := c.Time(context.Background())
		if err != nil || !tm.Equal(time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC)) {
			t.Fatalf("time %v %v", tm, err)
		}
	}
	if c.Stats().StrayPackets != 3 {
		t.Errorf("strays %d", c.Stats().StrayPackets)
	}
}

func TestRecordSize49AndUnknownSize(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	r49, _ := EncodeAttRecord(49, AttRecord{UID: 1, UserID: "777", Time: EncodeTime(now.Add(-time.Hour)), Verify: 15})
	for _, tc := range []struct {
		blob    []byte
		count   int
		wantErr error
	}{
		{EncodeBlob([][]byte{r49, r49}), 2, nil},
		{EncodeBlob([][]byte{make([]byte, 24), make([]byte, 24)}), 2, ErrUnknownRecordSize},
	} {
		c := scripted(t, device.Options{}, func(p *peer) {
			p.serialAndTime(now)
			p.ok(p.expect(CmdGetFreeSizes), sizesWith(tc.count, 1))
			p.send(Packet{Cmd: CmdData, Session: p.sid, Reply: p.expect(CmdPrepareBuffer).Reply, Payload: tc.blob})
			if tc.wantErr != nil {
				p.ok(p.expect(CmdGetFreeSizes), sizesWith(tc.count, 1))
			}
		})
		ps, err := c.Punches(context.Background())
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("err %v, want %v", err, tc.wantErr)
		}
		if tc.wantErr == nil && (len(ps) != 2 || ps[0].UserID != "777" || len(ps[0].Raw) != 49) {
			t.Fatalf("49-byte punches %+v", ps)
		}
		if tc.wantErr != nil && (!strings.Contains(err.Error(), "24 bytes per record") || ps != nil) {
			t.Fatalf("error should name the size: %v", err)
		}
	}
}

func TestMisalignedRecordsRejected(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	blob, _ := att40(t, 20, now.Add(-5*time.Hour))
	// Shift the records by 2 bytes, as a client or firmware with an offset bug would see them.
	shifted := append([]byte(nil), blob[:4]...)
	shifted = append(shifted, blob[6:]...)
	shifted = append(shifted, 0, 0)
	c := scripted(t, device.Options{}, func(p *peer) {
		p.serialAndTime(now)
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(20, 1))
		p.send(Packet{Cmd: CmdData, Session: p.sid, Reply: p.expect(CmdPrepareBuffer).Reply, Payload: shifted})
	})
	ps, err := c.Punches(context.Background())
	if !errors.Is(err, ErrImplausibleDates) || ps != nil {
		t.Fatalf("%d punches, %v", len(ps), err)
	}
	t.Log(err)
}

func TestUnknownEventCounted(t *testing.T) {
	got := make(chan device.Punch, 4)
	regd := make(chan struct{})
	c := scripted(t, device.Options{}, func(p *peer) {
		p.ok(p.expect(CmdOptionsRRQ), []byte("~SerialNumber=S1\x00"))
		r := p.expect(CmdRegEvent)
		if binary.LittleEndian.Uint32(r.Payload) != EFAttLog {
			t.Errorf("REG_EVENT mask % x", r.Payload)
		}
		p.ok(r, nil)
		close(regd)
		good, _ := EncodeAttEvent(12, Event{UserID: "4822257", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		bad, _ := EncodeAttEvent(36, Event{UserID: "X", Invalid: true, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		p.send(Packet{Cmd: CmdRegEvent, Session: EFAttLog, Payload: make([]byte, 17)},
			Packet{Cmd: CmdRegEvent, Session: EFAttLog, Reply: 1, Payload: bad},
			Packet{Cmd: CmdRegEvent, Session: EFAttLog, Reply: 2, Payload: good})
		for i := 0; i < 3; i++ {
			if a := p.expect(AckOK); a.Reply != uint16(i) {
				t.Errorf("ack %d reply %d", i, a.Reply)
			}
		}
		// Unregister when Listen ends.
		u := p.expect(CmdRegEvent)
		if binary.LittleEndian.Uint32(u.Payload) != 0 {
			t.Errorf("unregister mask % x", u.Payload)
		}
		p.ok(u, nil)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx, func(p device.Punch) { got <- p }) }()
	<-regd
	p := <-got
	if p.UserID != "4822257" || p.Clock != "S1" {
		t.Errorf("punch %+v", p)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.UnknownEvents != 1 || st.LastUnknownLen != 17 || st.InvalidEvents != 1 || st.Events != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeadConnectionMidRead(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	blob, _ := att40(t, 100, now.Add(-5*time.Hour))
	c := scripted(t, device.Options{}, func(p *peer) {
		p.serialAndTime(now)
		p.ok(p.expect(CmdGetFreeSizes), sizesWith(100, 1))
		pb := p.expect(CmdPrepareBuffer)
		size := binary.LittleEndian.AppendUint32([]byte{0}, uint32(len(blob)))
		p.ok(pb, size)
		rb := p.expect(CmdReadBuffer)
		p.send(Packet{Cmd: CmdPrepareData, Session: p.sid, Reply: rb.Reply, Payload: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(len(blob))), 1024)},
			Packet{Cmd: CmdData, Reply: rb.Reply, Payload: blob[:1024]})
		// and the clock goes away
	})
	ps, err := c.Punches(context.Background())
	if err == nil || ps != nil || !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "read attendance at byte 1024 of 4004") {
		t.Fatalf("%d punches, %v", len(ps), err)
	}
	if _, err := c.Time(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after death: %v", err)
	}
}

// fakeBus is a pty master answering as several clocks on one RS485 line: each id answers only
// frames addressed to it, once the line is free (half duplex).
func fakeBus(t *testing.T, rw io.ReadWriter, ids map[uint8]uint16, retryOnce bool) {
	sr := NewSerialFrameReader(rw)
	var mu sync.Mutex
	retried := map[uint8]bool{}
	for {
		id, p, err := sr.Next()
		if err != nil {
			return
		}
		sid, ok := ids[id]
		if !ok {
			continue // another device id: not ours, stay silent
		}
		mu.Lock()
		var out []byte
		switch {
		case retryOnce && !retried[id] && p.Cmd == CmdGetTime:
			retried[id] = true
			out = AppendSerial(nil, id, Packet{Cmd: AckRetry, Session: sid, Reply: p.Reply})
		case p.Cmd == CmdConnect:
			out = AppendSerial(nil, id, Packet{Cmd: AckOK, Session: sid, Reply: p.Reply})
		case p.Cmd == CmdGetTime:
			// The time carries the device id in its seconds so callers can tell who answered.
			out = AppendSerial(nil, id, Packet{Cmd: AckOK, Session: sid, Reply: p.Reply,
				Payload: binary.LittleEndian.AppendUint32(nil, EncodeTime(time.Date(2026, 1, 1, 0, 0, int(id), 0, time.UTC)))})
		default:
			out = AppendSerial(nil, id, Packet{Cmd: AckOK, Session: sid, Reply: p.Reply})
		}
		mu.Unlock()
		// A frame for id 9 nobody opened, then the answer.
		noise := AppendSerial(nil, 9, Packet{Cmd: AckOK, Session: 1})
		if _, err := rw.Write(append(noise, out...)); err != nil {
			return
		}
	}
}

func TestRS485TwoClocksOneLine(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skip("no pty:", err)
	}
	defer master.Close()
	defer slave.Close()
	go fakeBus(t, master, map[uint8]uint16{1: 0x1111, 2: 0x2222}, true)
	ctx := context.Background()
	o := device.Options{Timeout: 2 * time.Second, Location: time.UTC}
	c1, err := DialSerial(ctx, slave.Name(), 115200, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := DialSerial(ctx, slave.Name(), 115200, 2, o)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Session() != 0x1111 || c2.Session() != 0x2222 {
		t.Fatalf("sessions %#x %#x", c1.Session(), c2.Session())
	}
	if _, err := DialSerial(ctx, slave.Name(), 115200, 1, o); !errors.Is(err, ErrSerialInUse) {
		t.Fatalf("second session for id 1: %v", err)
	}
	if _, err := DialSerial(ctx, slave.Name(), 9600, 3, o); !errors.Is(err, ErrSerialInUse) {
		t.Fatalf("other baud: %v", err)
	}
	var wg sync.WaitGroup
	for _, c := range []*Client{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				tm, err := c.Time(ctx)
				if err != nil {
					t.Error(c.Name(), err)
					return
				}
				if want := int(c.t.(*serialTransport).id); tm.Second() != want {
					t.Errorf("%s got the answer of clock %d", c.Name(), tm.Second())
					return
				}
			}
		}()
	}
	wg.Wait()
	if c1.Stats().Retransmits == 0 || c2.Stats().Retransmits == 0 {
		t.Errorf("ACK_RETRY should have caused a resend: %+v %+v", c1.Stats(), c2.Stats())
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	// The port stays open for clock 2 until it closes too.
	if _, err := c2.Time(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	portsMu.Lock()
	n := len(ports)
	portsMu.Unlock()
	if n != 0 {
		t.Fatalf("%d ports still open", n)
	}
}

func TestOneSessionPerClockPerProcess(t *testing.T) {
	c := scripted(t, device.Options{}, func(p *peer) {
		p.ok(p.expect(CmdExit), nil)
	})
	if _, err := DialTCP(context.Background(), c.Name(), device.Options{}); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), c.Name()) {
		t.Fatalf("second session: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Released: a new dial is attempted (and refused by the closed listener, not by us).
	if _, err := DialTCP(context.Background(), c.Name(), device.Options{Timeout: time.Second}); errors.Is(err, ErrInUse) || err == nil {
		t.Fatalf("after close: %v", err)
	}
}
