package zksim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func shanghai() *time.Location { return defaultLocation() }

// decodeLog turns a log blob back into truth records with the codec, mapping 8-byte uids through
// the simulator's user table.
func decodeLog(t *testing.T, s *Sim, blob []byte) []TruthRecord {
	t.Helper()
	gt := s.Truth()
	recs, size, err := zk.DecodeAttLog(blob, len(gt.Records))
	if err != nil {
		t.Fatalf("decode log: %v", err)
	}
	if size != s.Config().RecordSize {
		t.Fatalf("record size %d, configured %d", size, s.Config().RecordSize)
	}
	byUID := map[uint16]string{}
	for _, u := range s.Data().Users {
		byUID[u.UID] = u.UserID
	}
	out := make([]TruthRecord, len(recs))
	for i, r := range recs {
		id := r.UserID
		if size == 8 {
			id = byUID[r.UID]
		}
		out[i] = TruthRecord{UserID: id, Time: zk.DecodeTime(r.Time, s.Config().Location), State: r.State, Verify: r.Verify, WorkCode: r.WorkCode}
	}
	return out
}

func sameRecords(t *testing.T, got, want []TruthRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.UserID != w.UserID || !g.Time.Equal(w.Time) || g.State != w.State || g.Verify != w.Verify || g.WorkCode != w.WorkCode {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestConnectAndExit(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 5, Days: 3, Seed: 1})})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	p := c.connect()
	if p.Cmd != zk.AckOK || p.Reply != 0 {
		t.Fatalf("CONNECT reply %v", p)
	}
	if p := c.cmd(zk.CmdExit, nil); p.Cmd != zk.AckOK || p.Session != c.sid {
		t.Fatalf("EXIT reply %v", p)
	}
}

func TestReplyIDReplayAndDrop(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 5, Days: 3, Seed: 1})})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	first := c.cmd(zk.CmdGetFreeSizes, nil)
	cmds := s.Stats().Commands

	// Same reply id: the cached reply comes back and nothing runs again.
	c.sendPacket(zk.Packet{Cmd: zk.CmdGetFreeSizes, Session: c.sid, Reply: c.reply})
	again := c.recv()
	if again.Cmd != first.Cmd || again.Reply != first.Reply || !bytes.Equal(again.Payload, first.Payload) {
		t.Fatalf("replay %v, want %v", again, first)
	}
	if st := s.Stats(); st.Replays != 1 || st.Commands != cmds {
		t.Fatalf("stats after replay: %+v (commands before %d)", st, cmds)
	}
	// A replay of CLEAR_ATTLOG with the reply id of GET_FREE_SIZES must not clear the log.
	c.sendPacket(zk.Packet{Cmd: zk.CmdClearAttLog, Session: c.sid, Reply: c.reply})
	if p := c.recv(); !bytes.Equal(p.Payload, first.Payload) {
		t.Fatalf("replayed reply %v", p)
	}
	if len(s.Data().Records) == 0 {
		t.Fatal("a repeated reply id executed CLEAR_ATTLOG")
	}

	// Lower reply id: dropped; the next reply on the wire belongs to the next command.
	c.cmd(zk.CmdGetPinWidth, nil)
	c.sendPacket(zk.Packet{Cmd: zk.CmdClearAttLog, Session: c.sid, Reply: c.reply - 1})
	if p := c.cmd(zk.CmdGetVersion, nil); !strings.HasPrefix(string(p.Payload), "Ver 6.60") {
		t.Fatalf("GET_VERSION after a stale packet: %v %q", p, p.Payload)
	}
	if st := s.Stats(); st.StaleDropped != 1 {
		t.Fatalf("stale drops %d, want 1", st.StaleDropped)
	}
	if len(s.Data().Records) == 0 {
		t.Fatal("a stale reply id executed CLEAR_ATTLOG")
	}
}

func TestReplayAfterMultiPacketIsFinalACK(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 20, Records: 300, Seed: 2})})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	c.readDataset(zk.CmdAttLogRRQ, 65472) // leaves FREE_DATA as last; prepare again
	p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	size := binary.LittleEndian.Uint32(p.Payload[1:])
	var rb [8]byte
	binary.LittleEndian.PutUint32(rb[4:], size)
	c.readChunk(rb[:], int(size))
	c.sendPacket(zk.Packet{Cmd: zk.CmdReadBuffer, Session: c.sid, Reply: c.reply, Payload: rb[:]})
	ack := c.recv()
	if ack.Cmd != zk.AckOK || ack.Reply != c.reply || len(ack.Payload) != 0 {
		t.Fatalf("replay of a multi-packet read: %v, want only the final ACK_OK", ack)
	}
	if p := c.cmd(zk.CmdGetPinWidth, nil); p.Cmd != zk.AckOK {
		t.Fatalf("next command after replay: %v", p)
	}
}

func TestSilentDrops(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 5, Days: 2, Seed: 1})})
	tcp, udp := startSim(t, s)
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			addr := tcp
			if network == "udp" {
				addr = udp
			}
			before := s.Stats()
			c := dialRaw(t, network, addr)
			// Unknown session before CONNECT.
			c.sendPacket(zk.Packet{Cmd: zk.CmdGetTime, Session: 0x1234, Reply: 1})
			c.connect()
			// Bad checksum.
			var bad []byte
			if network == "udp" {
				bad = zk.Packet{Cmd: zk.CmdClearAttLog, Session: c.sid, Reply: 1}.AppendInner(nil)
				bad[2] ^= 0xFF
			} else {
				bad = zk.AppendTCP(nil, zk.Packet{Cmd: zk.CmdClearAttLog, Session: c.sid, Reply: 1})
				bad[10] ^= 0xFF
			}
			c.sendRaw(bad)
			// Wrong session after CONNECT.
			c.sendPacket(zk.Packet{Cmd: zk.CmdClearAttLog, Session: c.sid + 1, Reply: 1})
			if p := c.cmd(zk.CmdGetPinWidth, nil); p.Cmd != zk.AckOK || len(p.Payload) != 1 {
				t.Fatalf("GET_PINWIDTH %v", p)
			}
			st := s.Stats()
			if st.BadChecksum-before.BadChecksum != 1 || st.UnknownSession-before.UnknownSession != 2 {
				t.Fatalf("stats %+v (before %+v)", st, before)
			}
			if len(s.Data().Records) == 0 {
				t.Fatal("a dropped packet cleared the log")
			}
		})
	}
}

func TestUnauthGating(t *testing.T) {
	s := mustSim(t, Config{CommKey: 12, Data: genData(t, GenConfig{People: 5, Days: 2, Seed: 1})})
	tcp, udp := startSim(t, s)
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			addr := tcp
			if network == "udp" {
				addr = udp
			}
			c := dialRaw(t, network, addr)
			if p := c.connect(); p.Cmd != zk.AckUnauth {
				t.Fatalf("CONNECT with a comm key set: %v", p)
			}
			for _, cmd := range []uint16{zk.CmdGetTime, zk.CmdGetFreeSizes, zk.CmdPrepareBuffer, zk.CmdExit} {
				if p := c.cmd(cmd, nil); p.Cmd != zk.AckUnauth {
					t.Fatalf("command %d before AUTH: %v", cmd, p)
				}
			}
			wrong := zk.CommKey(45, c.sid, 50)
			if p := c.cmd(zk.CmdAuth, wrong[:]); p.Cmd != zk.AckUnauth {
				t.Fatalf("AUTH with the wrong key: %v", p)
			}
			right := zk.CommKey(12, c.sid, 77) // any B: the device reads it from byte 2
			if p := c.cmd(zk.CmdAuth, right[:]); p.Cmd != zk.AckOK {
				t.Fatalf("AUTH with the right key: %v", p)
			}
			if p := c.cmd(zk.CmdGetTime, nil); p.Cmd != zk.AckOK || len(p.Payload) != 4 {
				t.Fatalf("GET_TIME after AUTH: %v", p)
			}
		})
	}
}

func TestCommKeyVector(t *testing.T) {
	// §2.3: key 12, session 0x45CF gives 61 4d 32 3c; the simulator must accept exactly that.
	s := mustSim(t, Config{CommKey: 12})
	l := &link{kind: overTCP, write: func([]byte) error { return nil }}
	se := &session{id: 0x45CF, key: l, link: l}
	s.sessions[l] = se
	last, err := s.exec(context.Background(), se, zk.Packet{Cmd: zk.CmdAuth, Session: 0x45CF, Reply: 1, Payload: []byte{0x61, 0x4d, 0x32, 0x3c}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := zk.ParseInner(last[8:])
	if err != nil || p.Cmd != zk.AckOK {
		t.Fatalf("AUTH 61 4d 32 3c: %v %v", p, err)
	}
}

func TestEmptyLogAndPrepareBufferLength(t *testing.T) {
	d := genData(t, GenConfig{People: 3, Days: 1, Seed: 1})
	d.Records = nil
	s := mustSim(t, Config{Data: d})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	if p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0}); p.Cmd != zk.AckError {
		t.Fatalf("PREPARE_BUFFER on an empty log: %v", p)
	}
	if p := c.cmd(zk.CmdAttLogRRQ, nil); p.Cmd != zk.AckError {
		t.Fatalf("ATTLOG_RRQ on an empty log: %v", p)
	}
	if p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 9, 0, 5, 0, 0, 0, 0, 0, 0}); p.Cmd != zk.AckError {
		t.Fatalf("PREPARE_BUFFER with 10 bytes: %v", p)
	}
	if p := c.cmd(zk.CmdReadBuffer, []byte{0, 0, 0, 0, 4, 0, 0, 0}); p.Cmd != zk.AckError {
		t.Fatalf("READ_BUFFER without a prepared buffer: %v", p)
	}
	if p := c.cmd(zk.CmdOptionsRRQ, []byte("~NoSuchOption\x00")); p.Cmd != zk.AckError {
		t.Fatalf("unknown option: %v", p)
	}
	p := c.cmd(zk.CmdOptionsRRQ, []byte("~SerialNumber\x00"))
	if p.Cmd != zk.AckOK || string(p.Payload) != "~SerialNumber="+s.Config().Serial+"\x00" {
		t.Fatalf("~SerialNumber: %v %q", p, p.Payload)
	}
	fs := c.cmd(zk.CmdGetFreeSizes, nil)
	f, err := zk.DecodeFreeSizes(fs.Payload)
	if err != nil || len(fs.Payload) != 92 || f.Users != 3 || f.Records != 0 || f.RecordCap != 100000 {
		t.Fatalf("free sizes %+v (%d bytes) %v", f, len(fs.Payload), err)
	}
}

func TestReadAllSizesTCPAndUDP(t *testing.T) {
	cases := []struct {
		name       string
		recordSize int
		userSize   int
		records    int
	}{
		{"40-bytes-5000", 40, 72, 5000},
		{"40-bytes-inline", 40, 72, 25},
		{"40-bytes-1024-boundary", 40, 72, 1020 / 40},
		{"16-bytes", 16, 72, 3000},
		{"8-bytes-28-byte-users", 8, 28, 2000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			numeric := tc.recordSize == 16 || tc.userSize == 28
			maxName := 24
			if tc.userSize == 28 {
				maxName = 8
			}
			d := genData(t, GenConfig{People: 40, Records: tc.records, Seed: 7, NumericIDs: numeric, MaxNameBytes: maxName})
			s := mustSim(t, Config{RecordSize: tc.recordSize, UserSize: tc.userSize, Data: d})
			tcp, udp := startSim(t, s)
			for _, network := range []string{"tcp", "udp"} {
				addr, chunk := tcp, 65472
				if network == "udp" {
					addr, chunk = udp, 16384
				}
				c := dialRaw(t, network, addr)
				c.connect()
				blob := c.readDataset(zk.CmdAttLogRRQ, chunk)
				sameRecords(t, decodeLog(t, s, blob), s.Truth().Records)

				ublob := c.readDataset(zk.CmdUserTempRRQ, chunk)
				users, size, err := zk.DecodeUsers(ublob, len(d.Users))
				if err != nil || size != tc.userSize {
					t.Fatalf("%s users: size %d, %v", network, size, err)
				}
				dec := simplifiedchinese.GBK.NewDecoder()
				for i, u := range users {
					name, _ := dec.Bytes(u.Name)
					if u.UserID != d.Users[i].UserID || string(name) != d.Users[i].Name || u.Card != d.Users[i].Card {
						t.Fatalf("%s user %d: %+v (%s), want %+v", network, i, u, name, d.Users[i])
					}
				}
			}
		})
	}
}

func TestInlineBoundary(t *testing.T) {
	// 25 records of 40 bytes = 1004 bytes with the length prefix: inline CMD_DATA; 26 = 1044: ACK_OK + size.
	for _, n := range []int{25, 26} {
		s := mustSim(t, Config{Data: genData(t, GenConfig{People: 10, Records: n, Seed: 3})})
		tcp, _ := startSim(t, s)
		c := dialRaw(t, "tcp", tcp)
		c.connect()
		p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0})
		wantInline := 4+40*n <= 1024
		if (p.Cmd == zk.CmdData) != wantInline {
			t.Fatalf("%d records: PREPARE_BUFFER answered %v, inline=%v", n, p, wantInline)
		}
	}
}

func TestUDPLimits(t *testing.T) {
	s := mustSim(t, Config{PacketSize: 4096, Data: genData(t, GenConfig{People: 30, Records: 2000, Seed: 4})})
	_, udp := startSim(t, s)
	c := dialRaw(t, "udp", udp)
	c.connect()
	// A 1033-byte datagram is not accepted.
	c.sendPacket(zk.Packet{Cmd: zk.CmdGetTime, Session: c.sid, Reply: 1, Payload: make([]byte, 1025)})
	c.reply = 1
	if p := c.cmd(zk.CmdGetPinWidth, nil); p.Cmd != zk.AckOK {
		t.Fatalf("after an oversize datagram: %v", p)
	}
	if s.Stats().Oversize != 1 {
		t.Fatalf("oversize datagrams counted %d", s.Stats().Oversize)
	}
	// Data packets are 1024 bytes over UDP whatever the TCP packet size (readChunk checks ≤ psize and
	// recvErr checks the 1032-byte datagram limit).
	blob := c.readDataset(zk.CmdAttLogRRQ, 16384)
	sameRecords(t, decodeLog(t, s, blob), s.Truth().Records)
}

func TestLegacyAttLogRead(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 10, Records: 700, Seed: 5})})
	tcp, udp := startSim(t, s)
	for _, network := range []string{"tcp", "udp"} {
		addr := tcp
		if network == "udp" {
			addr = udp
		}
		c := dialRaw(t, network, addr)
		c.connect()
		p := c.cmd(zk.CmdAttLogRRQ, nil)
		if p.Cmd != zk.CmdPrepareData {
			t.Fatalf("ATTLOG_RRQ answered %v", p)
		}
		total := int(binary.LittleEndian.Uint32(p.Payload))
		var blob []byte
		for i := 0; len(blob) < total; i++ {
			d := c.recv()
			if d.Cmd != zk.CmdData || int(d.Session) != i {
				t.Fatalf("packet %d: %v", i, d)
			}
			blob = append(blob, d.Payload...)
		}
		ack := c.recv()
		if ack.Cmd != zk.AckOK || ack.Session != uint16(total) {
			t.Fatalf("final ACK %v, want byte count %d in the session field", ack, uint16(total))
		}
		sameRecords(t, decodeLog(t, s, blob), s.Truth().Records)
	}
}

func TestTimeGetSet(t *testing.T) {
	host := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	s := mustSim(t, Config{Offset: -90 * time.Second, Now: func() time.Time { return host }})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	p := c.cmd(zk.CmdGetTime, nil)
	got := zk.DecodeTime(binary.LittleEndian.Uint32(p.Payload), s.Config().Location)
	if want := host.Add(-90 * time.Second); !got.Equal(want) {
		t.Fatalf("clock time %v, want %v", got, want)
	}
	set := host.Add(time.Hour).In(s.Config().Location)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], zk.EncodeTime(set))
	if p := c.cmd(zk.CmdSetTime, b[:]); p.Cmd != zk.AckOK {
		t.Fatalf("SET_TIME %v", p)
	}
	if s.Offset() != time.Hour {
		t.Fatalf("offset after SET_TIME %v", s.Offset())
	}
	if p := c.cmd(zk.CmdSetTime, []byte{1, 2}); p.Cmd != zk.AckError {
		t.Fatalf("SET_TIME with 2 bytes: %v", p)
	}
}

func TestDisableTimeoutAndEnable(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	s := mustSim(t, Config{Now: func() time.Time { return now }})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	c.cmd(zk.CmdDisableDevice, []byte{60, 0, 0, 0})
	if !s.Disabled() {
		t.Fatal("not disabled")
	}
	now = now.Add(61 * time.Second) // read by the sim only inside the next call
	if s.Disabled() {
		t.Fatal("still disabled after its idle timeout")
	}
	c.cmd(zk.CmdDisableDevice, nil)
	c.cmd(zk.CmdEnableDevice, nil)
	if s.Disabled() {
		t.Fatal("disabled after ENABLEDEVICE")
	}
}

func TestRealtimeEvents(t *testing.T) {
	for _, n := range []int{36, 32, 12} {
		d := genData(t, GenConfig{People: 5, Days: 1, Seed: 1, NumericIDs: n == 12})
		s := mustSim(t, Config{EventLen: n, Data: d})
		tcp, _ := startSim(t, s)
		c := dialRaw(t, "tcp", tcp)
		c.connect()
		if p := c.cmd(zk.CmdRegEvent, []byte{1, 0, 0, 0}); p.Cmd != zk.AckOK {
			t.Fatalf("REG_EVENT %v", p)
		}
		at := time.Date(2026, 11, 25, 8, 29, 13, 0, s.Config().Location)
		if err := s.InjectPunch(d.Users[1].UserID, at, 0, 1); err != nil {
			t.Fatal(err)
		}
		ev := c.recv()
		if ev.Cmd != zk.CmdRegEvent || ev.Session != zk.EFAttLog || ev.Reply != 0 || len(ev.Payload) != n {
			t.Fatalf("event frame %v", ev)
		}
		e, err := zk.DecodeAttEvent(ev.Payload, s.Config().Location)
		if err != nil || e.UserID != d.Users[1].UserID || !e.Time.Equal(at) || e.Verify != 1 {
			t.Fatalf("event %+v %v", e, err)
		}
		c.sendPacket(zk.Packet{Cmd: zk.AckOK, Session: c.sid, Reply: 0})
		waitFor(t, "event ACK", func() bool { return s.Stats().EventsAcked == 1 })
		if got := s.Truth().Records; !got[len(got)-1].Time.Equal(at) {
			t.Fatal("injected punch not in the log")
		}
		if err := s.InjectPunch("nobody", at, 0, 1); !errors.Is(err, ErrUnknownUser) {
			t.Fatalf("unknown user: %v", err)
		}
	}
}

func TestFaultDropMidTransfer(t *testing.T) {
	s := mustSim(t, Config{Faults: Faults{DropAfterPackets: 3}, Data: genData(t, GenConfig{People: 20, Records: 1000, Seed: 1})})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	size := binary.LittleEndian.Uint32(p.Payload[1:])
	var rb [8]byte
	binary.LittleEndian.PutUint32(rb[4:], size)
	if p := c.cmd(zk.CmdReadBuffer, rb[:]); p.Cmd != zk.CmdPrepareData {
		t.Fatalf("READ_BUFFER %v", p)
	}
	for i := 0; i < 3; i++ {
		if d := c.recv(); d.Cmd != zk.CmdData {
			t.Fatalf("packet %d: %v", i, d)
		}
	}
	if _, err := c.recvErr(); !errors.Is(err, io.EOF) && !errors.Is(err, zk.ErrTruncated) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("after 3 packets: %v, want the connection closed", err)
	}
	if s.Stats().Dropped != 1 {
		t.Fatalf("drops %d", s.Stats().Dropped)
	}
}

func TestFaultCorruptPacketOnce(t *testing.T) {
	s := mustSim(t, Config{Faults: Faults{CorruptPacket: 2, Once: true}, Data: genData(t, GenConfig{People: 20, Records: 1000, Seed: 1})})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	size := int(binary.LittleEndian.Uint32(p.Payload[1:]))
	var rb [8]byte
	binary.LittleEndian.PutUint32(rb[4:], uint32(size))
	c.cmd(zk.CmdReadBuffer, rb[:])
	packets := (size + 1007) / 1008
	bad := 0
	for i := 0; i < packets+1; i++ {
		_, err := c.recvErr()
		if errors.Is(err, zk.ErrChecksum) {
			if i != 1 {
				t.Fatalf("packet %d corrupted, want packet 2", i+1)
			}
			bad++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if bad != 1 {
		t.Fatalf("%d corrupted packets", bad)
	}
	// Asked again with a new reply id, the chunk comes back clean.
	blob := c.readChunk(rb[:], size)
	sameRecords(t, decodeLog(t, s, blob), s.Truth().Records)
}

func TestFaultBusyIgnoresConnect(t *testing.T) {
	s := mustSim(t, Config{Faults: Faults{Busy: true}})
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.sendPacket(zk.Packet{Cmd: zk.CmdConnect})
	waitFor(t, "busy CONNECT", func() bool { return s.Stats().BusyIgnored == 1 })
	s.SetFaults(Faults{})
	c.sendPacket(zk.Packet{Cmd: zk.CmdConnect, Reply: 7})
	if p := c.recv(); p.Cmd != zk.AckOK || p.Reply != 7 {
		t.Fatalf("CONNECT after busy: %v (a reply to the ignored CONNECT would have reply id 0)", p)
	}
}

func TestBadDatesAndClearedLog(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 5, Records: 50, Seed: 1})})
	if err := s.AppendBadDates(Year2000, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendBadDates(FarFuture, 2); err != nil {
		t.Fatal(err)
	}
	tcp, _ := startSim(t, s)
	c := dialRaw(t, "tcp", tcp)
	c.connect()
	got := decodeLog(t, s, c.readDataset(zk.CmdAttLogRRQ, 65472))
	if got[50].Time.Year() != 2000 || got[54].Time.Year() != 2099 {
		t.Fatalf("bad dates served as %v and %v", got[50].Time, got[54].Time)
	}
	s.ClearLog()
	if p := c.cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0}); p.Cmd != zk.AckError {
		t.Fatalf("after ClearLog: %v", p)
	}
}

func TestTCPOneClientAtATime(t *testing.T) {
	s := mustSim(t, Config{})
	tcp, _ := startSim(t, s)
	a := dialRaw(t, "tcp", tcp)
	a.connect()
	b := dialRaw(t, "tcp", tcp)
	b.sendPacket(zk.Packet{Cmd: zk.CmdConnect})
	a.cmd(zk.CmdGetPinWidth, nil) // the first client is still served
	if n := s.Stats().Connects; n != 1 {
		t.Fatalf("%d CONNECTs answered while the first client holds the clock", n)
	}
	a.conn.Close()
	if p := b.recv(); p.Cmd != zk.AckOK {
		t.Fatalf("second client after the first left: %v", p)
	}
}

func TestNonLoopbackRefused(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.0.0.5:4370", ":4370"} {
		if _, err := ListenTCP(addr); !errors.Is(err, ErrNotLoopback) {
			t.Fatalf("ListenTCP(%q): %v", addr, err)
		}
		if _, err := ListenUDP(addr); !errors.Is(err, ErrNotLoopback) {
			t.Fatalf("ListenUDP(%q): %v", addr, err)
		}
	}
}

func TestSerialOverPTY(t *testing.T) {
	for _, rs485 := range []bool{false, true} {
		s := mustSim(t, Config{DeviceID: 3, RS485: rs485, Data: genData(t, GenConfig{People: 10, Records: 600, Seed: 9})})
		p, err := OpenPTY()
		if err != nil {
			t.Skipf("no pty on this machine: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.ServeSerial(ctx, p) }()
		port, err := os.OpenFile(p.Path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fr := zk.NewSerialFrameReader(port)
		send := func(id uint8, pk zk.Packet) { port.Write(zk.AppendSerial(nil, id, pk)) }
		recv := func() (uint8, zk.Packet) {
			id, pk, err := fr.Next()
			if err != nil {
				t.Fatal(err)
			}
			return id, pk
		}
		if rs485 {
			send(4, zk.Packet{Cmd: zk.CmdConnect}) // another clock on the bus
		}
		send(3, zk.Packet{Cmd: zk.CmdConnect, Reply: 1})
		id, pk := recv()
		if id != 3 || pk.Cmd != zk.AckOK || pk.Reply != 1 {
			t.Fatalf("serial CONNECT: id %d %v", id, pk)
		}
		sid := pk.Session
		// A frame broken on the line is answered ACK_RETRY.
		broken := zk.AppendSerial(nil, 3, zk.Packet{Cmd: zk.CmdGetTime, Session: sid, Reply: 2})
		broken[6] ^= 0xFF // the wrapper checksum
		port.Write(broken)
		if _, pk := recv(); pk.Cmd != zk.AckRetry || pk.Reply != 2 {
			t.Fatalf("broken frame answered %v", pk)
		}
		send(3, zk.Packet{Cmd: zk.CmdAttLogRRQ, Session: sid, Reply: 2})
		_, prep := recv()
		total := int(binary.LittleEndian.Uint32(prep.Payload))
		var blob []byte
		n := 0
		for len(blob) < total {
			_, d := recv()
			if d.Cmd != zk.CmdData || int(d.Session) != n || len(d.Payload) > 1024 {
				t.Fatalf("serial data packet %d: %v", n, d)
			}
			blob = append(blob, d.Payload...)
			n++
		}
		if _, ack := recv(); ack.Cmd != zk.AckOK {
			t.Fatalf("serial final ACK %v", ack)
		}
		sameRecords(t, decodeLog(t, s, blob), s.Truth().Records)
		if rs485 && s.Stats().SerialOtherID != 1 {
			t.Fatalf("frames for other ids ignored: %d", s.Stats().SerialOtherID)
		}
		port.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
}

func TestServeBusTwoClocksOnePTY(t *testing.T) {
	a := mustSim(t, Config{DeviceID: 1, Data: genData(t, GenConfig{People: 8, Records: 120, Seed: 1})})
	b := mustSim(t, Config{DeviceID: 2, Serial: "BUS0000000002", Data: genData(t, GenConfig{People: 9, Records: 90, Seed: 2})})
	if err := ServeBus(context.Background(), nil, a, mustSim(t, Config{DeviceID: 1})); !errors.Is(err, ErrConfig) {
		t.Fatalf("two clocks with one id: %v", err)
	}
	p, err := OpenPTY()
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeBus(ctx, p, a, b) }()
	port, err := os.OpenFile(p.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	fr := zk.NewSerialFrameReader(port)
	recv := func() (uint8, zk.Packet) {
		id, pk, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		return id, pk
	}
	port.Write(zk.AppendSerial(nil, 9, zk.Packet{Cmd: zk.CmdConnect})) // nobody on the bus has id 9
	for _, s := range []*Sim{a, b} {
		id := s.Config().DeviceID
		port.Write(zk.AppendSerial(nil, id, zk.Packet{Cmd: zk.CmdConnect, Reply: 1}))
		gotID, pk := recv()
		if gotID != id || pk.Cmd != zk.AckOK {
			t.Fatalf("clock %d CONNECT: id %d %v", id, gotID, pk)
		}
		port.Write(zk.AppendSerial(nil, id, zk.Packet{Cmd: zk.CmdOptionsRRQ, Session: pk.Session, Reply: 2, Payload: []byte("~SerialNumber\x00")}))
		gotID, opt := recv()
		if gotID != id || string(opt.Payload) != "~SerialNumber="+s.Config().Serial+"\x00" {
			t.Fatalf("clock %d serial: id %d %q", id, gotID, opt.Payload)
		}
	}
	if a.Stats().SerialOtherID != 1 || b.Stats().SerialOtherID != 1 {
		t.Fatalf("frame for id 9: ignored %d/%d times", a.Stats().SerialOtherID, b.Stats().SerialOtherID)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSerialHalfFrameTimesOut(t *testing.T) {
	s := mustSim(t, Config{SerialFrameTimeout: 30 * time.Millisecond})
	p, err := OpenPTY()
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeSerial(ctx, p) }()
	port, err := os.OpenFile(p.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	frame := zk.AppendSerial(nil, 1, zk.Packet{Cmd: zk.CmdConnect, Reply: 1})
	port.Write(frame[:10]) // the line went quiet mid-frame
	waitFor(t, "the half frame to be discarded", func() bool { return s.Stats().SerialTimeouts == 1 })
	port.Write(frame)
	_, pk, err := zk.NewSerialFrameReader(port).Next()
	if err != nil || pk.Cmd != zk.AckOK || pk.Reply != 1 {
		t.Fatalf("CONNECT after a discarded half frame: %v %v", pk, err)
	}
	if st := s.Stats(); st.SerialRetries != 0 {
		t.Fatalf("a timed-out half frame was answered: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
