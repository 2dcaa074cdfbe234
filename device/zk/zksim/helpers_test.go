package zksim

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk"
)

// startSim serves s over TCP and UDP on loopback until the test ends.
func startSim(t testing.TB, s *Sim) (tcpAddr, udpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { s.ServeTCP(ctx, ln); done <- struct{}{} }()
	go func() { s.ServeUDP(ctx, pc); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return ln.Addr().String(), pc.LocalAddr().String()
}

func mustSim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func genData(t testing.TB, g GenConfig) Data {
	t.Helper()
	d, err := Generate(g)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rawClient speaks raw frames to the simulator: no client logic, so tests see exactly what the
// device sends.
type rawClient struct {
	t     testing.TB
	conn  net.Conn
	udp   bool
	fr    *zk.FrameReader
	sid   uint16
	reply uint16
}

func dialRaw(t testing.TB, network, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawClient{t: t, conn: c, udp: network == "udp"}
	if !r.udp {
		r.fr = zk.NewTCPFrameReader(c)
	}
	return r
}

func (r *rawClient) sendPacket(p zk.Packet) {
	r.t.Helper()
	var b []byte
	if r.udp {
		b = p.AppendInner(nil)
	} else {
		b = zk.AppendTCP(nil, p)
	}
	r.sendRaw(b)
}

func (r *rawClient) sendRaw(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// recvErr reads one packet (with a generous deadline: a missing reply fails rather than hangs).
func (r *rawClient) recvErr() (zk.Packet, error) {
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var p zk.Packet
	var err error
	if r.udp {
		buf := make([]byte, 65536)
		n, rerr := r.conn.Read(buf)
		if rerr != nil {
			return p, rerr
		}
		if n > MaxUDPDatagram {
			r.t.Fatalf("device sent a %d-byte datagram (limit %d)", n, MaxUDPDatagram)
		}
		p, err = zk.ParseInner(buf[:n])
	} else {
		p, err = r.fr.Next()
	}
	p.Payload = bytes.Clone(p.Payload)
	return p, err
}

func (r *rawClient) recv() zk.Packet {
	r.t.Helper()
	p, err := r.recvErr()
	if err != nil {
		r.t.Fatalf("recv: %v", err)
	}
	return p
}

// cmd sends a command with the next reply id and returns the first reply.
func (r *rawClient) cmd(cmd uint16, payload []byte) zk.Packet {
	r.t.Helper()
	r.reply++
	r.sendPacket(zk.Packet{Cmd: cmd, Session: r.sid, Reply: r.reply, Payload: payload})
	p := r.recv()
	if p.Reply != r.reply {
		r.t.Fatalf("reply id %d to command %d sent with reply id %d", p.Reply, cmd, r.reply)
	}
	return p
}

func (r *rawClient) connect() zk.Packet {
	r.t.Helper()
	r.reply = 0
	r.sendPacket(zk.Packet{Cmd: zk.CmdConnect})
	p := r.recv()
	if p.Cmd != zk.AckOK && p.Cmd != zk.AckUnauth {
		r.t.Fatalf("CONNECT answered %v", p)
	}
	if p.Session == 0 {
		r.t.Fatal("CONNECT gave session 0")
	}
	r.sid = p.Session
	return p
}

// readDataset runs PREPARE_BUFFER + READ_BUFFER chunks + FREE_DATA and returns the blob and the
// packets of each multi-packet chunk, checking the framing rules as it goes.
func (r *rawClient) readDataset(what uint16, chunk int) []byte {
	r.t.Helper()
	req := []byte{1, byte(what), byte(what >> 8), 0, 0, 0, 0, 0, 0, 0, 0}
	if what == zk.CmdUserTempRRQ {
		req[3] = 5
	}
	p := r.cmd(zk.CmdPrepareBuffer, req)
	switch p.Cmd {
	case zk.CmdData:
		return p.Payload
	case zk.AckOK:
	default:
		r.t.Fatalf("PREPARE_BUFFER answered %v", p)
	}
	if len(p.Payload) != 13 {
		r.t.Fatalf("PREPARE_BUFFER ACK payload %d bytes, want 13", len(p.Payload))
	}
	size := int(binary.LittleEndian.Uint32(p.Payload[1:]))
	var blob []byte
	for off := 0; off < size; off += chunk {
		n := min(chunk, size-off)
		var rb [8]byte
		binary.LittleEndian.PutUint32(rb[:], uint32(off))
		binary.LittleEndian.PutUint32(rb[4:], uint32(n))
		blob = append(blob, r.readChunk(rb[:], n)...)
	}
	if p := r.cmd(zk.CmdFreeData, nil); p.Cmd != zk.AckOK {
		r.t.Fatalf("FREE_DATA answered %v", p)
	}
	return blob
}

func (r *rawClient) readChunk(req []byte, n int) []byte {
	r.t.Helper()
	p := r.cmd(zk.CmdReadBuffer, req)
	if n <= 1024 {
		if p.Cmd != zk.CmdData || len(p.Payload) != n {
			r.t.Fatalf("inline READ_BUFFER of %d answered %v", n, p)
		}
		return p.Payload
	}
	if p.Cmd != zk.CmdPrepareData || len(p.Payload) != 8 || int(binary.LittleEndian.Uint32(p.Payload)) != n {
		r.t.Fatalf("READ_BUFFER of %d answered %v", n, p)
	}
	psize := int(binary.LittleEndian.Uint32(p.Payload[4:]))
	out := make([]byte, 0, n)
	r.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; len(out) < n; i++ {
		var d zk.Packet
		if r.udp {
			d = r.recv()
		} else {
			var err error
			if d, err = r.fr.Next(); err != nil { // payload valid until the next call: appended at once
				r.t.Fatalf("data packet %d: %v", i, err)
			}
		}
		if d.Cmd != zk.CmdData || d.Reply != r.reply || int(d.Session) != i || len(d.Payload) > psize {
			r.t.Fatalf("data packet %d: %v (packet size %d)", i, d, psize)
		}
		out = append(out, d.Payload...)
	}
	ack := r.recv()
	last := uint16((n+psize-1)/psize - 1)
	want := r.sid
	if r.udp {
		want = last
	}
	if ack.Cmd != zk.AckOK || ack.Reply != r.reply || ack.Session != want {
		r.t.Fatalf("final ACK %v, want session field %d", ack, want)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
