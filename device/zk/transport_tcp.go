package zk

import (
	"bytes"
	"context"
	"net"
	"sync"
	"time"
)

// tcpTransport carries TCP-wrapped frames (§1.3) on one connection.
type tcpTransport struct {
	addr string
	conn net.Conn
	fr   *FrameReader
	wmu  sync.Mutex
	wbuf []byte
}

func dialTCP(ctx context.Context, addr string, timeout time.Duration) (*tcpTransport, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &tcpTransport{addr: addr, conn: conn, fr: NewTCPFrameReader(conn)}, nil
}

func (t *tcpTransport) send(ctx context.Context, p Packet) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.wbuf = AppendTCP(t.wbuf[:0], p)
	return writeCtx(ctx, t.conn, t.wbuf)
}

// writeCtx writes b with the context's deadline on the conn; cancelling sets a past deadline so a
// blocked write returns at once.
func writeCtx(ctx context.Context, conn net.Conn, b []byte) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	conn.SetWriteDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := conn.Write(b)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (t *tcpTransport) recv() (Packet, error) {
	p, err := t.fr.Next()
	// The frame reader reuses its buffer; the packet outlives this call.
	p.Payload = bytes.Clone(p.Payload)
	return p, err
}

func (t *tcpTransport) acquire(context.Context) (func(), error) { return func() {}, nil }
func (t *tcpTransport) close() error                            { return t.conn.Close() }
func (t *tcpTransport) chunkSize() int                          { return TCPChunk }
func (t *tcpTransport) datagram() bool                          { return false }
func (t *tcpTransport) lossy() bool                             { return false }
func (t *tcpTransport) name() string                            { return t.addr }
func (t *tcpTransport) maxPayload() int                         { return 64 * 1024 }
