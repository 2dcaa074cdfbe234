package zk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.bug.st/serial"
)

// This is the only file that knows go.bug.st/serial.

// errReadTimeout is what the port reader makes of go.bug.st/serial's (0, nil) on a read timeout.
var errReadTimeout = fmt.Errorf("%w: serial read", ErrTimeout)

// serialPoll bounds each port read so the port's reader notices a close and stale half frames.
const serialPoll = 100 * time.Millisecond

// portReader adapts a serial.Port to io.Reader semantics: the library returns (0, nil) when its
// read timeout passes; here that becomes errReadTimeout, in this one place.
type portReader struct{ p serial.Port }

func (r portReader) Read(b []byte) (int, error) {
	n, err := r.p.Read(b)
	if n == 0 && err == nil {
		return 0, errReadTimeout
	}
	return n, err
}

type serialIn struct {
	p   Packet
	err error
}

// sharedPort is one open serial port, shared by every clock on it (RS485 multi-drop): one reader
// routes frames by device id, and the bus semaphore lets one operation use the line at a time.
type sharedPort struct {
	path string
	baud int
	port serial.Port
	bus  chan struct{}
	wmu  sync.Mutex
	refs int // guarded by portsMu
	mu   sync.Mutex
	subs map[uint8]*serialTransport
}

var (
	portsMu sync.Mutex
	ports   = map[string]*sharedPort{}
)

func openSerial(path string, baud int, id uint8) (*serialTransport, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	sp := ports[path]
	if sp == nil {
		p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
		if err != nil {
			return nil, err
		}
		if err := p.SetReadTimeout(serialPoll); err != nil {
			p.Close()
			return nil, err
		}
		sp = &sharedPort{path: path, baud: baud, port: p, bus: make(chan struct{}, 1), subs: map[uint8]*serialTransport{}}
		ports[path] = sp
		go sp.readLoop()
	} else if sp.baud != baud {
		return nil, fmt.Errorf("%w: %s is open at %d baud, asked for %d", ErrSerialInUse, path, sp.baud, baud)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if _, dup := sp.subs[id]; dup {
		if sp.refs == 0 {
			sp.port.Close()
			delete(ports, path)
		}
		return nil, fmt.Errorf("%w: %s device id %d already has a session in this process", ErrSerialInUse, path, id)
	}
	t := &serialTransport{sp: sp, id: id, in: make(chan serialIn, 1024), quit: make(chan struct{}), label: fmt.Sprintf("%s#%d", path, id)}
	sp.subs[id] = t
	sp.refs++
	return t, nil
}

// readLoop reads frames off the port and hands each to the clock whose id it carries; frames for
// ids nobody opened are ignored (another clock on the bus answering someone else).
func (sp *sharedPort) readLoop() {
	sr := NewSerialFrameReader(portReader{sp.port})
	idle := 0
	for {
		id, p, err := sr.Next()
		switch {
		case errors.Is(err, errReadTimeout):
			// Silence on the line: a half frame older than a few polls will never complete.
			if idle++; idle >= 5 {
				sr.Reset()
				idle = 0
			}
			continue
		case err != nil && !errors.Is(err, ErrChecksum):
			sp.mu.Lock()
			for _, t := range sp.subs {
				t.deliver(serialIn{err: err})
			}
			sp.mu.Unlock()
			return
		}
		idle = 0
		sp.mu.Lock()
		t := sp.subs[id]
		sp.mu.Unlock()
		if t != nil {
			t.deliver(serialIn{p: p, err: err})
		}
	}
}

// serialTransport is one clock (device id) on a shared port.
type serialTransport struct {
	sp    *sharedPort
	id    uint8
	in    chan serialIn
	quit  chan struct{}
	once  sync.Once
	label string
	wbuf  []byte
}

func (t *serialTransport) deliver(m serialIn) {
	select {
	case t.in <- m:
	case <-t.quit:
	}
}

func (t *serialTransport) send(ctx context.Context, p Packet) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.sp.wmu.Lock()
	defer t.sp.wmu.Unlock()
	t.wbuf = AppendSerial(t.wbuf[:0], t.id, p)
	_, err := t.sp.port.Write(t.wbuf)
	return err
}

func (t *serialTransport) recv() (Packet, error) {
	select {
	case m := <-t.in:
		return m.p, m.err
	case <-t.quit:
		return Packet{}, ErrClosed
	}
}

func (t *serialTransport) acquire(ctx context.Context) (func(), error) {
	select {
	case t.sp.bus <- struct{}{}:
		return func() { <-t.sp.bus }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.quit:
		return nil, ErrClosed
	}
}

// close leaves the bus; the last clock on a port closes it, which also ends a blocked read.
func (t *serialTransport) close() error {
	var err error
	t.once.Do(func() {
		close(t.quit)
		portsMu.Lock()
		defer portsMu.Unlock()
		t.sp.mu.Lock()
		delete(t.sp.subs, t.id)
		t.sp.mu.Unlock()
		t.sp.refs--
		if t.sp.refs == 0 {
			delete(ports, t.sp.path)
			err = t.sp.port.Close()
		}
	})
	return err
}

func (t *serialTransport) chunkSize() int  { return UDPChunk }
func (t *serialTransport) datagram() bool  { return true }
func (t *serialTransport) lossy() bool     { return false }
func (t *serialTransport) name() string    { return t.label }
func (t *serialTransport) maxPayload() int { return MaxUDPPayload }
