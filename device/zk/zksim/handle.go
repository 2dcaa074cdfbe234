package zksim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"time"

	"github.com/jinbi/punchd/device/zk"
)

type transport int

const (
	overTCP transport = iota
	overUDP
	overSerial
)

func (t transport) String() string {
	switch t {
	case overTCP:
		return "tcp"
	case overUDP:
		return "udp"
	default:
		return "serial"
	}
}

// link is one way back to a client: a TCP connection, a UDP peer or a serial port.
type link struct {
	kind  transport
	name  string
	id    uint8 // serial device id written in replies
	write func([]byte) error
	drop  func() // TCP: close the connection; others: nothing to close
	// badSums, when set and true, damages the checksum of every packet framed (Faults.BadChecksums).
	badSums func() bool
}

// wrap puts an inner packet (already checksummed, possibly corrupted) in the transport's wrapper.
func (l *link) wrap(inner []byte) []byte {
	switch l.kind {
	case overTCP:
		b := make([]byte, 8, 8+len(inner))
		copy(b, []byte{0x50, 0x50, 0x82, 0x7D})
		binary.LittleEndian.PutUint32(b[4:], uint32(len(inner)))
		return append(b, inner...)
	case overSerial:
		b := make([]byte, 8, 8+len(inner))
		b[0], b[1], b[2], b[3] = l.id, l.id, 0x81, 0x7E
		binary.LittleEndian.PutUint16(b[4:], uint16(len(inner)))
		b = append(b, inner...)
		binary.LittleEndian.PutUint16(b[6:], zk.Checksum(b))
		return b
	default:
		return inner
	}
}

func (l *link) frame(dst []byte, p zk.Packet) []byte {
	start := len(dst)
	switch l.kind {
	case overTCP:
		dst = zk.AppendTCP(dst, p)
		start += zk.TCPHeaderSize
	case overSerial:
		dst = zk.AppendSerial(dst, l.id, p)
		start += zk.SerialHeaderSize
	default:
		dst = p.AppendInner(dst)
	}
	if l.badSums != nil && l.badSums() {
		dst[start+2] ^= 0xFF // the inner checksum (§1.2): what a clock with a broken checksum routine sends
	}
	return dst
}

// session is a client's session, created by CONNECT (§1.5).
type session struct {
	id        uint16
	key       any
	link      *link
	authed    bool
	hasLast   bool
	lastReply uint16
	cached    []byte // the last reply's frame; after a multi-packet transfer only the final ACK
	events    uint32
	buf       []byte // the dataset prepared by PREPARE_BUFFER
	unacked   int
}

// errDropped tells a serve loop that the fault dropped the connection.
var errDropped = errors.New("zksim: connection dropped by fault")

// handle runs one packet from a client through the firmware's session and reply-id rules.
// It returns errDropped when the serve loop must end the connection.
func (s *Sim) handle(ctx context.Context, key any, l *link, p zk.Packet) error {
	s.busy.Lock()
	defer s.busy.Unlock()

	s.mu.Lock()
	se := s.sessions[key]
	if p.Cmd == zk.CmdConnect {
		if s.faults.Busy {
			s.stats.BusyIgnored++
			s.mu.Unlock()
			s.log.Debug("busy: CONNECT ignored", "peer", l.name)
			return nil
		}
		if se == nil {
			id := uint16(s.cfg.Now().Unix() & 0xFFFF)
			for id == 0 || id == s.lastSessionID || s.sessionIDUsed(id) {
				id++
			}
			s.lastSessionID = id
			se = &session{id: id, key: key, link: l}
			s.sessions[key] = se
		}
		se.authed = s.cfg.CommKey == 0
		se.hasLast = false
		se.buf = nil
		s.stats.Connects++
		s.mu.Unlock()
		if err := sleep(ctx, s.cfg.ReplyDelay); err != nil {
			return err
		}
		code := uint16(zk.AckOK)
		if !se.authed {
			code = zk.AckUnauth
		}
		last, err := s.send(se, zk.Packet{Cmd: code, Session: se.id, Reply: p.Reply})
		return s.finish(se, p, last, err)
	}
	if se == nil || p.Session != se.id {
		s.stats.UnknownSession++
		s.mu.Unlock()
		s.log.Debug("unknown session: packet ignored", "peer", l.name, "packet", p.String())
		return nil
	}
	if p.Cmd == zk.AckOK { // a client acknowledging a realtime event
		if se.unacked > 0 {
			se.unacked--
		}
		s.stats.EventsAcked++
		s.mu.Unlock()
		return nil
	}
	if p.Cmd >= zk.AckOK && p.Cmd <= zk.AckUnauth || p.Cmd >= zk.AckErrorData {
		s.mu.Unlock()
		return nil // other reply codes from a client mean nothing to the device
	}
	if se.hasLast {
		switch {
		case p.Reply == se.lastReply:
			s.stats.Replays++
			cached := se.cached
			s.mu.Unlock()
			if err := sleep(ctx, s.cfg.ReplyDelay); err != nil {
				return err
			}
			if cached != nil {
				return se.link.write(cached)
			}
			return nil
		case p.Reply < se.lastReply && se.lastReply != 0xFFFF:
			s.stats.StaleDropped++
			s.mu.Unlock()
			s.log.Debug("stale reply id dropped", "peer", l.name, "reply", p.Reply, "last", se.lastReply)
			return nil
		}
	}
	s.lastActivity = s.cfg.Now()
	if s.disabled && s.disableTimeout > 0 {
		s.disableUntil = s.lastActivity.Add(s.disableTimeout)
	}
	s.mu.Unlock()
	if err := sleep(ctx, s.cfg.ReplyDelay); err != nil {
		return err
	}
	last, err := s.exec(ctx, se, p)
	return s.finish(se, p, last, err)
}

// finish caches the last reply frame under the request's reply id.
func (s *Sim) finish(se *session, p zk.Packet, last []byte, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(err, errDropped) {
		delete(s.sessions, se.key)
		return err
	}
	se.hasLast = true
	se.lastReply = p.Reply
	se.cached = last
	return err
}

func (s *Sim) sessionIDUsed(id uint16) bool {
	for _, o := range s.sessions {
		if o.id == id {
			return true
		}
	}
	return false
}

// send frames and writes one reply, returning the frame for the replay cache.
func (s *Sim) send(se *session, p zk.Packet) ([]byte, error) {
	b := se.link.frame(nil, p)
	return b, se.link.write(b)
}

func (s *Sim) reply(se *session, req zk.Packet, code uint16, payload []byte) ([]byte, error) {
	return s.send(se, zk.Packet{Cmd: code, Session: se.id, Reply: req.Reply, Payload: payload})
}

// exec runs one command and sends its reply; it returns the frame to cache.
func (s *Sim) exec(ctx context.Context, se *session, p zk.Packet) ([]byte, error) {
	s.mu.Lock()
	authed := se.authed
	s.mu.Unlock()
	if !authed && p.Cmd != zk.CmdAuth {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		return s.reply(se, p, zk.AckUnauth, nil)
	}
	s.mu.Lock()
	s.stats.Commands++
	s.mu.Unlock()

	switch p.Cmd {
	case zk.CmdAuth:
		ok := false
		if len(p.Payload) == 4 {
			want := zk.CommKey(s.cfg.CommKey, se.id, p.Payload[2])
			ok = want[0] == p.Payload[0] && want[1] == p.Payload[1] && want[3] == p.Payload[3]
		}
		s.mu.Lock()
		se.authed = ok
		s.mu.Unlock()
		if !ok {
			return s.reply(se, p, zk.AckUnauth, nil)
		}
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdExit:
		b, err := s.reply(se, p, zk.AckOK, nil)
		s.mu.Lock()
		delete(s.sessions, se.key)
		if len(s.sessions) == 0 {
			s.disabled = false
		}
		s.mu.Unlock()
		return b, err

	case zk.CmdGetVersion:
		v := s.cfg.Firmware
		if len(p.Payload) == 1 && p.Payload[0] == 0 {
			v = s.cfg.Platform
		}
		return s.reply(se, p, zk.AckOK, append([]byte(v), 0))

	case zk.CmdOptionsRRQ:
		name, _, _ := bytes.Cut(p.Payload, []byte{0})
		v, ok := s.option(string(name))
		if !ok {
			return s.reply(se, p, zk.AckError, nil)
		}
		return s.reply(se, p, zk.AckOK, append([]byte(string(name)+"="+v), 0))

	case zk.CmdOptionsWRQ:
		kv, _, _ := bytes.Cut(p.Payload, []byte{0})
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" || strings.HasPrefix(k, "~") {
			return s.reject(se, p)
		}
		s.mu.Lock()
		s.options[k] = v
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdGetPinWidth:
		return s.reply(se, p, zk.AckOK, []byte{byte(s.cfg.PINWidth)})

	case zk.CmdGetFreeSizes:
		full := s.freeSizes().Encode(92)
		if len(p.Payload) == 1 {
			i := int(p.Payload[0])
			if i*4+4 > len(full) {
				return s.reject(se, p)
			}
			return s.reply(se, p, zk.AckOK, full[i*4:i*4+4])
		}
		return s.reply(se, p, zk.AckOK, full[:s.cfg.FreeSizesLen])

	case zk.CmdGetTime:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], zk.EncodeTime(s.Now()))
		return s.reply(se, p, zk.AckOK, b[:])

	case zk.CmdSetTime:
		if len(p.Payload) != 4 || !zk.TimeValid(binary.LittleEndian.Uint32(p.Payload)) {
			return s.reject(se, p)
		}
		t := zk.DecodeTime(binary.LittleEndian.Uint32(p.Payload), s.cfg.Location)
		s.SetOffset(t.Sub(s.cfg.Now().Truncate(time.Second)))
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdDisableDevice:
		var timeout time.Duration
		switch len(p.Payload) {
		case 0:
		case 4:
			timeout = time.Duration(binary.LittleEndian.Uint32(p.Payload)) * time.Second
		default:
			return s.reject(se, p)
		}
		s.mu.Lock()
		s.disabled = true
		s.disableTimeout = timeout
		s.disableUntil = time.Time{}
		if timeout > 0 {
			s.disableUntil = s.cfg.Now().Add(timeout)
		}
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdEnableDevice:
		s.mu.Lock()
		s.disabled = false
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdClearAttLog:
		s.ClearLog()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdClearData:
		s.mu.Lock()
		switch {
		case len(p.Payload) == 0:
			s.users, s.records = nil, nil
		case p.Payload[0] == 1:
			s.records = nil
		case p.Payload[0] == 5:
			s.users = nil
		}
		s.attBlob, s.userBlob = nil, nil
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdRegEvent:
		if len(p.Payload) != 4 && len(p.Payload) != 2 {
			return s.reject(se, p)
		}
		var mask uint32
		if len(p.Payload) == 4 {
			mask = binary.LittleEndian.Uint32(p.Payload)
		} else {
			mask = uint32(binary.LittleEndian.Uint16(p.Payload))
		}
		s.mu.Lock()
		se.events = mask
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdStateRRQ:
		return s.send(se, zk.Packet{Cmd: zk.AckOK, Session: 0, Reply: p.Reply}) // state 0: waiting

	case zk.CmdPrepareBuffer:
		if len(p.Payload) != 11 {
			return s.reject(se, p)
		}
		blob, ok, err := s.dataset(binary.LittleEndian.Uint16(p.Payload[1:]))
		if err != nil || !ok {
			return s.reply(se, p, zk.AckError, nil)
		}
		s.mu.Lock()
		se.buf = blob
		s.mu.Unlock()
		if len(blob) <= 1024 {
			return s.reply(se, p, zk.CmdData, blob)
		}
		var b [13]byte
		binary.LittleEndian.PutUint32(b[1:], uint32(len(blob)))
		binary.LittleEndian.PutUint32(b[5:], uint32(len(blob)))
		binary.LittleEndian.PutUint32(b[9:], crc32.ChecksumIEEE(blob))
		return s.reply(se, p, zk.AckOK, b[:])

	case zk.CmdReadBuffer:
		s.mu.Lock()
		buf := se.buf
		s.mu.Unlock()
		if len(p.Payload) != 8 || buf == nil {
			return s.reject(se, p)
		}
		off, n := int64(binary.LittleEndian.Uint32(p.Payload)), int64(binary.LittleEndian.Uint32(p.Payload[4:]))
		if n == 0 || off+n > int64(len(buf)) {
			return s.reject(se, p)
		}
		chunk := buf[off : off+n]
		s.mu.Lock()
		s.stats.BufferBytes += int(n)
		s.stats.ReadBuffers++
		s.mu.Unlock()
		if n <= 1024 {
			b := se.link.frame(nil, zk.Packet{Cmd: zk.CmdData, Session: se.id, Reply: p.Reply, Payload: chunk})
			return b, se.link.write(s.noisy(b))
		}
		return s.transfer(ctx, se, p, chunk, -1)

	case zk.CmdFreeData:
		s.mu.Lock()
		se.buf = nil
		s.mu.Unlock()
		return s.reply(se, p, zk.AckOK, nil)

	case zk.CmdAttLogRRQ, zk.CmdUserTempRRQ:
		blob, ok, err := s.dataset(p.Cmd)
		if err != nil || !ok {
			return s.reply(se, p, zk.AckError, nil)
		}
		// The legacy read reports the byte count in the final ACK's session field (§1.6).
		return s.transfer(ctx, se, p, blob, int(uint16(len(blob))))

	case zk.CmdRefreshData, zk.CmdRefreshOption, zk.CmdEnableClock, zk.CmdStartVerify,
		zk.CmdCancelCapture, zk.CmdTestVoice, zk.CmdResume, zk.CmdClearLCD, zk.CmdWriteLCD, zk.CmdUnlock:
		return s.reply(se, p, zk.AckOK, nil)

	default:
		return s.reply(se, p, zk.AckUnknown, nil)
	}
}

func (s *Sim) reject(se *session, p zk.Packet) ([]byte, error) {
	s.mu.Lock()
	s.stats.ProtocolRejects++
	s.mu.Unlock()
	return s.reply(se, p, zk.AckError, nil)
}

// dataset returns the blob a read command asks for; ok is false when it is empty (the firmware
// answers ACK_ERROR then, §2.6).
func (s *Sim) dataset(cmd uint16) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cmd {
	case zk.CmdAttLogRRQ:
		if len(s.records) == 0 {
			return nil, false, nil
		}
		b, err := s.attBlobLocked()
		return b, err == nil, err
	case zk.CmdUserTempRRQ:
		if len(s.users) == 0 {
			return nil, false, nil
		}
		b, err := s.userBlobLocked()
		return b, err == nil, err
	}
	return nil, false, nil // templates (DB_RRQ) and anything else: this clock holds none
}

func (s *Sim) option(name string) (string, bool) {
	switch name {
	case "~SerialNumber":
		return s.cfg.Serial, true
	case "~Platform":
		return s.cfg.Platform, true
	case "~DeviceName":
		return s.cfg.DeviceName, true
	case "MAC":
		return s.cfg.MAC, true
	case "~PIN2Width":
		return itoa(s.cfg.PINWidth), true
	case "~ZKFPVersion":
		return "10", true
	case "~OEMVendor":
		return "ZKTeco Inc.", true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.options[name]
	return v, ok
}

func (s *Sim) freeSizes() zk.FreeSizes {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := zk.FreeSizes{
		Users: len(s.users), Records: len(s.records), OpLogs: 0,
		FingerCap: s.cfg.FingerCap, UserCap: s.cfg.UserCap, RecordCap: s.cfg.RecordCap, FaceCap: s.cfg.FaceCap,
	}
	for _, u := range s.users {
		if u.Privilege&^1 != 0 {
			f.Admins++
		}
		if u.Password != "" {
			f.Passwords++
		}
	}
	if f.RecordCap < f.Records {
		f.RecordCap = f.Records
	}
	if f.UserCap < f.Users {
		f.UserCap = f.Users
	}
	f.FingerAvail = f.FingerCap - f.Fingers
	f.UserAvail = f.UserCap - f.Users
	f.RecordAvail = f.RecordCap - f.Records
	return f
}

// transfer sends data as PREPARE_DATA + N×DATA + ACK_OK (§2.6a step 4). Every frame carries the
// request's reply id; DATA frames carry the packet index in the session field; the final ACK
// carries the session id on TCP and the last packet index on UDP and serial (§11), or
// finalSession when it is ≥ 0 (the legacy read's byte count). Pacing is slept before each packet
// after the first, as the firmware's main loop does.
func (s *Sim) transfer(ctx context.Context, se *session, req zk.Packet, data []byte, finalSession int) ([]byte, error) {
	l := se.link
	psize := 1024
	if l.kind == overTCP {
		psize = s.cfg.PacketSize
	}
	n := (len(data) + psize - 1) / psize
	var prep [8]byte
	binary.LittleEndian.PutUint32(prep[:], uint32(len(data)))
	binary.LittleEndian.PutUint32(prep[4:], uint32(psize))
	if err := l.write(l.frame(nil, zk.Packet{Cmd: zk.CmdPrepareData, Session: se.id, Reply: req.Reply, Payload: prep[:]})); err != nil {
		return nil, err
	}
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	pace := pacer{every: s.cfg.Pacing, next: time.Now()}
	// Without pacing the frames of a transfer are written in large batches: the bytes on the wire
	// are the same, and a write per 1 KB packet would measure the scheduler, not the protocol.
	batch := s.cfg.Pacing == 0 && l.kind != overUDP // datagrams stay one packet each
	out := s.wbuf[:0]                               // reused: transfers run one at a time under s.busy
	if need := min(n*(psize+24)+64, 512*1024); batch && cap(out) < need {
		out = make([]byte, 0, need)
	}
	defer func() { s.wbuf = out[:0] }()
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		err := l.write(out)
		out = out[:0]
		return err
	}
	var frame []byte
	for i := 0; i < n; i++ {
		if err := pace.wait(ctx); err != nil {
			return nil, err
		}
		if f.DropAfterPackets > 0 && i == f.DropAfterPackets {
			s.mu.Lock()
			s.stats.Dropped++
			if f.Once {
				s.faults.DropAfterPackets = 0
			}
			s.mu.Unlock()
			if err := flush(); err != nil {
				return nil, err
			}
			s.log.Info("fault: dropping the connection mid-transfer", "peer", l.name, "after_packets", i, "of", n)
			if l.drop != nil {
				l.drop()
			}
			return nil, errDropped
		}
		chunk := data[i*psize : min((i+1)*psize, len(data))]
		p := zk.Packet{Cmd: zk.CmdData, Session: uint16(i), Reply: req.Reply, Payload: chunk}
		if f.CorruptPacket == i+1 || s.chance(f.CorruptEvery) {
			inner := p.AppendInner(nil)
			inner[len(inner)-1] ^= 0xA5 // the checksum stays that of the original bytes
			frame = l.wrap(inner)
			s.mu.Lock()
			s.stats.Corrupted++
			if f.Once {
				s.faults.CorruptPacket = 0
			}
			s.mu.Unlock()
			s.log.Info("fault: corrupted a data packet", "peer", l.name, "packet", i+1, "of", n)
		} else if batch {
			out = l.frame(out, p)
			if len(out) >= 256*1024 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			continue
		} else {
			frame = l.frame(frame[:0], p)
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if err := l.write(frame); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := pace.wait(ctx); err != nil {
		return nil, err
	}
	ackSession := se.id
	if l.kind != overTCP {
		ackSession = uint16(n - 1)
	}
	if finalSession >= 0 {
		ackSession = uint16(finalSession)
	}
	s.mu.Lock()
	s.stats.Transfers++
	s.stats.DataPackets += n
	s.mu.Unlock()
	return s.send(se, zk.Packet{Cmd: zk.AckOK, Session: ackSession, Reply: req.Reply})
}

// noisy returns frame b as the CorruptEvery fault lets it through: usually b itself, one time in
// CorruptEvery a copy with a payload byte flipped (its checksum then fails). b stays intact for
// the replay cache.
func (s *Sim) noisy(b []byte) []byte {
	s.mu.Lock()
	n := s.faults.CorruptEvery
	s.mu.Unlock()
	if !s.chance(n) {
		return b
	}
	s.mu.Lock()
	s.stats.Corrupted++
	s.mu.Unlock()
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 0xA5 // the last payload byte; on serial the wrapper checksum fails too
	return c
}

// pacer spaces the packets of a transfer every `every` on average: a timer that wakes late is
// made up for on the following packets (so n packets take n × every, the clock's floor, and the
// time above it belongs to the client), but never by more than a quarter period, so packets never
// arrive back to back.
type pacer struct {
	every time.Duration
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.every <= 0 {
		return ctx.Err()
	}
	p.next = p.next.Add(p.every)
	now := time.Now()
	if earliest := now.Add(p.every * 3 / 4); p.next.Before(earliest) {
		p.next = earliest
	}
	return sleep(ctx, p.next.Sub(now))
}
