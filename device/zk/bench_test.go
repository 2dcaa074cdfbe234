package zk_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// BenchmarkReadAttLog100k reads 100,000 40-byte records from the simulator over TCP loopback with
// no device pacing: connect, the whole attendance read (free sizes, time, buffered read, date
// checks, punches), exit.
func BenchmarkReadAttLog100k(b *testing.B) {
	const n = 100000
	data := gen(b, zksim.GenConfig{People: 200, Records: n, Seed: 1, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	sc := startSim(b, zksim.Config{RecordSize: 40, Data: data})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := zk.DialTCP(ctx, sc.tcp, opts())
		if err != nil {
			b.Fatal(err)
		}
		ps, err := c.Punches(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ps) != n {
			b.Fatalf("%d punches", len(ps))
		}
		c.Close()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(n/sec, "records/s")
	b.ReportMetric(float64(n*40)/sec/1e6, "MB/s")
}

// BenchmarkLoopbackRaw4MB moves the same bytes (100,000 × 40 bytes plus the 16-byte framing of
// each 1008-byte packet) over a TCP loopback socket in 64 KiB writes, with nothing else: the floor
// the client's read is compared with.
func BenchmarkLoopbackRaw4MB(b *testing.B) {
	const total = 100000 * 40
	frames := (total + 1007) / 1008
	wire := total + frames*16
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 64*1024)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			for sent := 0; sent < wire; sent += len(buf) {
				if _, err := c.Write(buf[:min(len(buf), wire-sent)]); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		m, err := io.Copy(io.Discard, c)
		if err != nil || m != int64(wire) {
			b.Fatal(m, err)
		}
		c.Close()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(total)/sec/1e6, "MB/s")
}

// BenchmarkReadAttLogPaced reads 5,000 40-byte records over TCP from a simulator paced like a real
// clock (20 ms after each data packet) and reports the client's overhead above the clock's own
// floor (data packets and transfers × pacing), which no client can beat.
func BenchmarkReadAttLogPaced(b *testing.B) {
	const n, pacing = 5000, 20 * time.Millisecond
	data := gen(b, zksim.GenConfig{People: 50, Records: n, Seed: 3, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	sc := startSim(b, zksim.Config{RecordSize: 40, Data: data, Pacing: pacing})
	ctx := context.Background()
	var floor time.Duration
	b.ResetTimer()
	for b.Loop() {
		before := sc.sim.Stats()
		c, err := zk.DialTCP(ctx, sc.tcp, opts())
		if err != nil {
			b.Fatal(err)
		}
		ps, err := c.Punches(ctx)
		if err != nil || len(ps) != n {
			b.Fatal(len(ps), err)
		}
		c.Close()
		after := sc.sim.Stats()
		floor += time.Duration(after.DataPackets-before.DataPackets+after.Transfers-before.Transfers) * pacing
	}
	over := (b.Elapsed() - floor).Seconds() / float64(b.N)
	b.ReportMetric(floor.Seconds()/float64(b.N), "floor_s/op")
	b.ReportMetric(over, "overhead_s/op")
}

// BenchmarkSimRawDrain100k is the same 100,000-record read by the thinnest possible client: the
// commands sent by hand and the frames only counted, no checks beyond the frame checksum, no
// decoding. It separates what the simulator costs from what the client adds.
func BenchmarkSimRawDrain100k(b *testing.B) {
	const n = 100000
	data := gen(b, zksim.GenConfig{People: 200, Records: n, Seed: 1, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, shanghai)})
	sc := startSim(b, zksim.Config{RecordSize: 40, Data: data})
	for b.Loop() {
		conn, err := net.Dial("tcp", sc.tcp)
		if err != nil {
			b.Fatal(err)
		}
		fr := zk.NewTCPFrameReader(conn)
		var sid, reply uint16
		cmd := func(c uint16, payload []byte) zk.Packet {
			if _, err := conn.Write(zk.AppendTCP(nil, zk.Packet{Cmd: c, Session: sid, Reply: reply, Payload: payload})); err != nil {
				b.Fatal(err)
			}
			p, err := fr.Next()
			if err != nil {
				b.Fatal(err)
			}
			reply++
			return p
		}
		sid = cmd(zk.CmdConnect, nil).Session
		ack := cmd(zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0})
		size := int(uint32(ack.Payload[1]) | uint32(ack.Payload[2])<<8 | uint32(ack.Payload[3])<<16 | uint32(ack.Payload[4])<<24)
		got := 0
		for off := 0; off < size; off += zk.TCPChunk {
			l := min(zk.TCPChunk, size-off)
			req := []byte{byte(off), byte(off >> 8), byte(off >> 16), byte(off >> 24), byte(l), byte(l >> 8), byte(l >> 16), byte(l >> 24)}
			p := cmd(zk.CmdReadBuffer, req)
			for p.Cmd != zk.AckOK {
				if p.Cmd == zk.CmdData {
					got += len(p.Payload)
				}
				if p, err = fr.Next(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if got != size {
			b.Fatalf("%d of %d bytes", got, size)
		}
		cmd(zk.CmdFreeData, nil)
		cmd(zk.CmdExit, nil)
		conn.Close()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(n/sec, "records/s")
	b.ReportMetric(float64(n*40)/sec/1e6, "MB/s")
}
