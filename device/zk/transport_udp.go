package zk

import (
	"context"
	"net"
	"sync"
)

// udpTransport carries one inner packet per datagram on a connected socket: the local port stays
// the same for the whole session, as the clock keys UDP sessions by sender address (§1.8).
type udpTransport struct {
	addr string
	conn *net.UDPConn
	wmu  sync.Mutex
	wbuf []byte
	rbuf []byte
}

func dialUDP(ctx context.Context, addr string) (*udpTransport, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	conn := c.(*net.UDPConn)
	_ = conn.SetReadBuffer(4 << 20) // a chunk arrives as a burst of datagrams
	return &udpTransport{addr: addr, conn: conn, rbuf: make([]byte, 64*1024)}, nil
}

func (t *udpTransport) send(ctx context.Context, p Packet) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.wbuf = p.AppendInner(t.wbuf[:0])
	return writeCtx(ctx, t.conn, t.wbuf)
}

func (t *udpTransport) recv() (Packet, error) {
	for {
		n, err := t.conn.Read(t.rbuf)
		if err != nil {
			return Packet{}, err
		}
		if n < HeaderSize {
			continue // not a ZK packet; the clock never sends these
		}
		b := make([]byte, n)
		copy(b, t.rbuf[:n])
		return ParseInner(b)
	}
}

func (t *udpTransport) acquire(context.Context) (func(), error) { return func() {}, nil }
func (t *udpTransport) close() error                            { return t.conn.Close() }
func (t *udpTransport) chunkSize() int                          { return UDPChunk }
func (t *udpTransport) datagram() bool                          { return true }
func (t *udpTransport) lossy() bool                             { return true }
func (t *udpTransport) name() string                            { return t.addr }
func (t *udpTransport) maxPayload() int                         { return MaxUDPPayload }
