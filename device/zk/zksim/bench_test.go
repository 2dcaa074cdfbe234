package zksim

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk"
)

const benchRecords = 100000

// BenchmarkSimServe100k reads 100,000 40-byte records over loopback TCP from the simulator with
// no pacing, with a raw reader (CONNECT, PREPARE_BUFFER, READ_BUFFER chunks of 65472 checked
// frame by frame, FREE_DATA, decode): the simulator's own ceiling, which bounds every client.
func BenchmarkSimServe100k(b *testing.B) {
	d := genData(b, GenConfig{People: 200, Records: benchRecords, Seed: 1})
	s := mustSim(b, Config{Data: d})
	tcp, _ := startSim(b, s)
	var blob []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := dialRaw(b, "tcp", tcp)
		c.connect()
		blob = c.readDataset(zk.CmdAttLogRRQ, 65472)
		recs, _, err := zk.DecodeAttLog(blob, benchRecords)
		if err != nil || len(recs) != benchRecords {
			b.Fatalf("%d records, %v", len(recs), err)
		}
		c.cmd(zk.CmdExit, nil)
		c.conn.Close()
	}
	b.StopTimer()
	b.SetBytes(int64(len(blob)))
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(benchRecords/perOp, "records/s")
	b.ReportMetric(float64(len(blob))/perOp/1e6, "MB/s")
}

// BenchmarkLoopbackFloor moves the same 4,000,004 bytes over a loopback TCP socket with nothing
// else: the floor any protocol read is measured against.
func BenchmarkLoopbackFloor(b *testing.B) {
	const size = 4 + 40*benchRecords
	payload := make([]byte, size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write(payload)
			c.Close()
		}
	}()
	buf := make([]byte, 64*1024)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, c, buf)
		c.Close()
		if err != nil || n != size {
			b.Fatalf("%d bytes, %v", n, err)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(benchRecords/perOp, "records/s")
	b.ReportMetric(size/perOp/1e6, "MB/s")
}

// BenchmarkSimServePaced reads 5,000 records with a real clock's 20 ms pacing and reports the
// overhead above the pacing floor (sleeps × pacing).
func BenchmarkSimServePaced(b *testing.B) {
	const n = 5000
	const pacing = 20 * time.Millisecond
	d := genData(b, GenConfig{People: 60, Records: n, Seed: 1})
	s := mustSim(b, Config{Data: d, Pacing: pacing})
	tcp, _ := startSim(b, s)
	size := 4 + 40*n
	sleeps := 0
	for off := 0; off < size; off += 65472 {
		sleeps += (min(65472, size-off)+1007)/1008 + 1 // before each data packet and the final ACK
	}
	floor := time.Duration(sleeps) * pacing
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := dialRaw(b, "tcp", tcp)
		c.connect()
		c.readDataset(zk.CmdAttLogRRQ, 65472)
		c.conn.Close()
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric((perOp-floor).Seconds()*1000, "overhead-ms")
	b.ReportMetric(100*float64(perOp-floor)/float64(floor), "overhead-%")
}
