package zksim

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/jinbi/punchd/device/zk"
)

// MaxUDPDatagram is the largest datagram the device accepts (8-byte header + 1024, §1.7).
const MaxUDPDatagram = 1032

// ListenTCP listens on a loopback TCP address ("127.0.0.1:0" for any free port).
func ListenTCP(addr string) (net.Listener, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("zksim: listen tcp %s: %w", addr, err)
	}
	return ln, nil
}

// ListenUDP listens on a loopback UDP address.
func ListenUDP(addr string) (net.PacketConn, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("zksim: listen udp %s: %w", addr, err)
	}
	return pc, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("zksim: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q (use 127.0.0.1 or ::1)", ErrNotLoopback, addr)
	}
	return nil
}

// ServeTCP serves clients accepted on ln one at a time, as the device's listen backlog of 1 does:
// a second connection waits unserved until the first one ends. It returns nil when ctx ends (and
// closes ln), or the accept error.
func (s *Sim) ServeTCP(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("zksim: accept: %w", err)
		}
		s.serveTCPConn(ctx, c)
	}
}

func (s *Sim) serveTCPConn(ctx context.Context, c net.Conn) {
	s.mu.Lock()
	s.stats.TCPConnections++
	s.mu.Unlock()
	log := s.log.With("peer", c.RemoteAddr().String(), "transport", "tcp")
	log.Debug("client connected")
	l := &link{kind: overTCP, name: c.RemoteAddr().String(), badSums: s.badSums}
	var wmu sync.Mutex
	l.write = func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		_, err := c.Write(b)
		return err
	}
	l.drop = func() { c.Close() }
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		stop()
		c.Close()
		s.forget(l)
		log.Debug("client gone")
	}()
	fr := zk.NewTCPFrameReader(c)
	for {
		p, err := fr.Next()
		if errors.Is(err, zk.ErrChecksum) {
			s.countBadChecksum()
			log.Debug("bad checksum: packet dropped", "err", err)
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Debug("stream ended", "err", err)
			}
			return
		}
		if err := s.handle(ctx, l, l, p); err != nil {
			log.Debug("connection ended", "err", err)
			return
		}
	}
}

func (s *Sim) countBadChecksum() {
	s.mu.Lock()
	s.stats.BadChecksum++
	s.mu.Unlock()
}

// forget removes the session bound to key (a closed TCP connection or serial port).
func (s *Sim) forget(key any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[key]; ok {
		delete(s.sessions, key)
		if len(s.sessions) == 0 {
			s.disabled = false
		}
	}
}

// ServeUDP serves datagrams on pc until ctx ends (then it closes pc and returns nil). Sessions
// are keyed by the sender's address and port; datagrams over 1032 bytes are dropped.
func (s *Sim) ServeUDP(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	links := map[string]*link{}
	buf := make([]byte, 64*1024)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("zksim: udp read: %w", err)
		}
		if s.lose() {
			continue
		}
		if n > MaxUDPDatagram {
			s.mu.Lock()
			s.stats.Oversize++
			s.mu.Unlock()
			s.log.Debug("oversize datagram dropped", "peer", addr.String(), "bytes", n)
			continue
		}
		p, err := zk.ParseInner(buf[:n])
		if err != nil {
			if errors.Is(err, zk.ErrChecksum) {
				s.countBadChecksum()
			}
			s.log.Debug("datagram dropped", "peer", addr.String(), "err", err)
			continue
		}
		key := addr.String()
		l := links[key]
		if l == nil {
			to := addr
			l = &link{kind: overUDP, name: key, badSums: s.badSums, write: func(b []byte) error {
				if s.lose() {
					return nil
				}
				_, err := pc.WriteTo(b, to)
				return err
			}}
			links[key] = l
		}
		if err := s.handle(ctx, key, l, p); err != nil && !errors.Is(err, errDropped) {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Debug("udp reply failed", "peer", key, "err", err)
		}
	}
}

// ServeSerial serves the serial wrapper (§8) on rw, typically a pty master, until ctx ends or rw
// fails. Frames whose wrapper checksum is broken are answered with ACK_RETRY; on RS485 frames for
// another device id are ignored (on RS232 the id is not checked). If rw is an io.Closer it is
// closed when ctx ends.
func (s *Sim) ServeSerial(ctx context.Context, rw io.ReadWriter) error {
	return serveSerial(ctx, rw, []*Sim{s}, s.cfg.RS485)
}

// ServeBus serves several clocks on one RS485 line: each frame goes to the clock whose device id
// both id bytes name, frames for no clock on the bus are ignored, and the replies share the line.
// Device ids must differ.
func ServeBus(ctx context.Context, rw io.ReadWriter, sims ...*Sim) error {
	if len(sims) == 0 {
		return fmt.Errorf("%w: no clocks on the bus", ErrConfig)
	}
	seen := map[uint8]bool{}
	for _, s := range sims {
		if seen[s.cfg.DeviceID] {
			return fmt.Errorf("%w: two clocks with device id %d on one bus", ErrConfig, s.cfg.DeviceID)
		}
		seen[s.cfg.DeviceID] = true
	}
	return serveSerial(ctx, rw, sims, true)
}

func serveSerial(ctx context.Context, rw io.ReadWriter, sims []*Sim, rs485 bool) error {
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	var wmu sync.Mutex // one line, one writer at a time
	links := make([]*link, len(sims))
	for i, s := range sims {
		l := &link{kind: overSerial, name: fmt.Sprintf("serial id %d", s.cfg.DeviceID), id: s.cfg.DeviceID, badSums: s.badSums}
		l.write = func(b []byte) error {
			wmu.Lock()
			defer wmu.Unlock()
			_, err := rw.Write(b)
			return err
		}
		links[i] = l
		defer s.forget(l)
	}
	br := bufio.NewReaderSize(rw, 64*1024)
	dl, _ := rw.(readDeadliner)
	if dl != nil && dl.SetReadDeadline(time.Time{}) != nil {
		dl = nil // not pollable: frames cannot time out
	}
	for {
		hdr, inner, err := readSerialFrame(br, dl, sims[0].cfg.SerialFrameTimeout)
		if errors.Is(err, errFrameTimeout) {
			for _, s := range sims {
				s.mu.Lock()
				s.stats.SerialTimeouts++
				s.mu.Unlock()
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("zksim: serial read: %w", err)
		}
		target := -1
		for i, s := range sims {
			if !rs485 || hdr[0] == s.cfg.DeviceID && hdr[1] == s.cfg.DeviceID {
				target = i
				break
			}
		}
		if target < 0 {
			for _, s := range sims {
				s.mu.Lock()
				s.stats.SerialOtherID++
				s.mu.Unlock()
			}
			continue
		}
		s, l := sims[target], links[target]
		var h [8]byte
		copy(h[:], hdr)
		h[6], h[7] = 0, 0
		want := binary.LittleEndian.Uint16(hdr[6:])
		if zk.Checksum(append(h[:], inner...)) != want {
			// The firmware asks the PC to resend a frame that arrived broken.
			var reply uint16
			if len(inner) >= 8 {
				reply = binary.LittleEndian.Uint16(inner[6:])
			}
			s.mu.Lock()
			s.stats.SerialRetries++
			var sid uint16
			if se := s.sessions[any(l)]; se != nil {
				sid = se.id
			}
			s.mu.Unlock()
			if err := l.write(l.frame(nil, zk.Packet{Cmd: zk.AckRetry, Session: sid, Reply: reply})); err != nil && ctx.Err() == nil {
				return fmt.Errorf("zksim: serial write: %w", err)
			}
			continue
		}
		p, err := zk.ParseInner(inner)
		if err != nil {
			if errors.Is(err, zk.ErrChecksum) {
				s.countBadChecksum()
			}
			continue
		}
		if err := s.handle(ctx, any(l), l, p); err != nil && !errors.Is(err, errDropped) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("zksim: serial: %w", err)
		}
	}
}

// errFrameTimeout: a frame began but did not finish within the frame timeout.
var errFrameTimeout = errors.New("zksim: serial frame timed out")

// readDeadliner is a line whose reads can time out (a pty master, a serial port).
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// readSerialFrame finds the next wrapper (id id 81 7E), skipping noise, and returns its header and
// inner bytes without judging the checksum: the device answers a broken frame, it does not skip it.
// A frame that starts but does not finish within timeout is discarded (errFrameTimeout), as the
// firmware does; waiting for a frame to start has no limit. dl may be nil.
func readSerialFrame(br *bufio.Reader, dl readDeadliner, timeout time.Duration) ([]byte, []byte, error) {
	for {
		if dl != nil {
			dl.SetReadDeadline(time.Time{})
		}
		b, err := br.Peek(4)
		if err != nil {
			return nil, nil, err
		}
		if b[0] != b[1] || b[2] != 0x81 || b[3] != 0x7E {
			br.Discard(1)
			continue
		}
		if dl != nil {
			dl.SetReadDeadline(time.Now().Add(timeout))
		}
		hdr := make([]byte, 8)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, nil, frameErr(err)
		}
		n := int(binary.LittleEndian.Uint16(hdr[4:]))
		if n < zk.HeaderSize {
			continue
		}
		inner := make([]byte, n)
		if _, err := io.ReadFull(br, inner); err != nil {
			return nil, nil, frameErr(err)
		}
		return hdr, inner, nil
	}
}

func frameErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errFrameTimeout
	}
	return err
}
