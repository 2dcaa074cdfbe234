package zk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Command numbers (§2.1).
const (
	CmdDBRRQ          = 7
	CmdUserWRQ        = 8
	CmdUserTempRRQ    = 9
	CmdUserTempWRQ    = 10
	CmdOptionsRRQ     = 11
	CmdOptionsWRQ     = 12
	CmdAttLogRRQ      = 13
	CmdClearData      = 14
	CmdClearAttLog    = 15
	CmdDeleteUser     = 18
	CmdDeleteUserTemp = 19
	CmdClearAdmin     = 20
	CmdUnlock         = 31
	CmdClearOpLog     = 33
	CmdOpLogRRQ       = 34
	CmdGetFreeSizes   = 50
	CmdEnableClock    = 57
	CmdStartVerify    = 60
	CmdStartEnroll    = 61
	CmdCancelCapture  = 62
	CmdStateRRQ       = 64
	CmdWriteLCD       = 66
	CmdClearLCD       = 67
	CmdGetPinWidth    = 69
	CmdDoorStateRRQ   = 75
	CmdGetTime        = 201
	CmdSetTime        = 202
	CmdRegEvent       = 500

	CmdConnect       = 1000
	CmdExit          = 1001
	CmdEnableDevice  = 1002
	CmdDisableDevice = 1003
	CmdRestart       = 1004
	CmdPowerOff      = 1005
	CmdSleep         = 1006
	CmdResume        = 1007
	CmdRefreshData   = 1013
	CmdRefreshOption = 1014
	CmdTestVoice     = 1017
	CmdGetVersion    = 1100
	CmdChangeSpeed   = 1101
	CmdAuth          = 1102

	CmdPrepareData   = 1500
	CmdData          = 1501
	CmdFreeData      = 1502
	CmdPrepareBuffer = 1503
	CmdReadBuffer    = 1504
)

// Reply codes (§2.1, §2.13).
const (
	AckOK        = 2000
	AckError     = 2001
	AckData      = 2002
	AckRetry     = 2003
	AckRepeat    = 2004
	AckUnauth    = 2005
	AckUnknown   = 0xFFFF
	AckErrorCmd  = 0xFFFD
	AckErrorInit = 0xFFFC
	AckErrorData = 0xFFFB
)

// Realtime event flags (§2.11), sent as the REG_EVENT mask and found in an event's session field.
const (
	EFAttLog       = 1
	EFFinger       = 2
	EFEnrollUser   = 4
	EFEnrollFinger = 8
	EFButton       = 16
	EFUnlock       = 32
	EFStartup      = 64
	EFVerify       = 128
	EFFPFtr        = 256
	EFAlarm        = 512
	EFHIDNum       = 1024
	EFWriteCard    = 2048
	EFEmptyCard    = 4096
	EFDelTemplate  = 8192
	EFAlarmOff     = 16384
)

// Wire sizes.
const (
	HeaderSize       = 8          // inner packet header
	TCPHeaderSize    = 8          // 50 50 82 7D + u32 length
	SerialHeaderSize = 8          // id id 81 7E + u16 length + u16 checksum
	MaxUDPPayload    = 1024       // the device accepts 8+1024 bytes per datagram (§1.7)
	MaxTCPInner      = 128 * 1024 // generous bound on one TCP frame (the firmware sends ≤ 64 KiB)
	MaxSerialInner   = 0xFFFF     // the serial length field is a u16
)

// Errors of this package. Codec errors are returned bare; client errors wrap them with the clock
// and the step (`clock 127.0.0.1:4370: read attendance chunk 3/7: …`). Compare with errors.Is.
var (
	// ErrShort: a packet, record or reply is shorter than its layout needs.
	ErrShort = errors.New("zk: short packet")
	// ErrChecksum: an inner (or serial wrapper) checksum does not match; the device drops such
	// packets silently, and so do we after logging.
	ErrChecksum = errors.New("zk: bad checksum")
	// ErrBadMagic: a TCP stream does not start with 50 50 82 7D where a frame should begin; the
	// stream is out of step and the connection must be dropped.
	ErrBadMagic = errors.New("zk: bad TCP frame magic")
	// ErrOversize: a frame announces a length beyond any the protocol uses.
	ErrOversize = errors.New("zk: frame too large")
	// ErrTruncated: fewer bytes arrived than announced (blob length, PREPARE_DATA size, a stream
	// that ended mid-frame).
	ErrTruncated = errors.New("zk: truncated transfer")
	// ErrUnknownRecordSize: total/count gives a record size this package has no layout for.
	ErrUnknownRecordSize = errors.New("zk: unknown record size")
	// ErrUnknownEventLength: a realtime EF_ATTLOG payload has a length with no known layout.
	ErrUnknownEventLength = errors.New("zk: unknown event length")
	// ErrBadTime: date/time fields that name no calendar time (month 13, 30 February …).
	ErrBadTime = errors.New("zk: invalid date/time")
	// ErrFieldTooLong: a string does not fit its fixed-width field (or holds a NUL).
	ErrFieldTooLong = errors.New("zk: field too long")
	// ErrTimeout: the clock did not answer within the per-request (per-chunk) timeout.
	ErrTimeout = errors.New("zk: timeout")
	// ErrNoAnswer: the clock never answered CONNECT (unreachable, or busy: the firmware ignores
	// CONNECT while someone uses the keypad or menu).
	ErrNoAnswer = errors.New("zk: no answer to connect (clock unreachable or busy at its keypad)")
	// ErrBusy is ErrNoAnswer under the name callers look for.
	ErrBusy = ErrNoAnswer
	// ErrUnauthorized: the clock wants a comm key and rejected the one configured.
	ErrUnauthorized = errors.New("zk: comm key rejected (wrong comm_key?)")
	// ErrRefused: the clock answered a command with ACK_ERROR / ACK_UNKNOWN / another failure code.
	ErrRefused = errors.New("zk: command refused")
	// ErrEmpty: a read that should carry data came back empty (the clock counts records but
	// announces a 0-byte buffer).
	ErrEmpty = errors.New("zk: empty reply")
	// ErrImplausibleDates: a whole attendance read was rejected because more than half of its
	// records are impossible (dates before 2001, far in the future or invalid, or user ids with
	// control bytes: shifted as a wrong record size would shift them). A few such records are
	// skipped instead (device.Log.Skipped).
	ErrImplausibleDates = errors.New("zk: implausible dates in attendance log")
	// ErrProtocol: the clock answered with something the protocol does not allow at that point.
	ErrProtocol = errors.New("zk: protocol violation")
	// ErrClosed: the client was closed, or its connection died.
	ErrClosed = errors.New("zk: connection closed")
	// ErrInUse: this process already has a session with the clock (a clock serves one client at
	// a time; its TCP backlog is 1, so a second session would only time out).
	ErrInUse = errors.New("zk: clock already in use by this process")
	// ErrSerialInUse is ErrInUse for a serial port: the same device id opened twice, or the port
	// asked for at another baud rate than the one it is open at.
	ErrSerialInUse = ErrInUse
	// ErrAlreadyListening: Listen was called while another Listen runs on the same client.
	ErrAlreadyListening = errors.New("zk: already listening")
)

// Packet is an inner packet (§1.1). Session and Reply are the header fields as sent; the device
// overloads Session in multi-packet data (packet index) and events (event flag), see §1.6.
type Packet struct {
	Cmd, Session, Reply uint16
	Payload             []byte
}

// String names the packet for logs.
func (p Packet) String() string {
	return fmt.Sprintf("cmd=%d session=%#04x reply=%d len=%d", p.Cmd, p.Session, p.Reply, len(p.Payload))
}

// Checksum is the §1.2 one's-complement sum over b, little-endian words, odd last byte as a plain
// value. Callers pass the bytes with the checksum field already zeroed.
func Checksum(b []byte) uint16 {
	return ^fold(onesSum(b, 0))
}

// onesSum adds b to a running one's-complement sum as little-endian 16-bit words (an odd last
// byte as the low byte of a zero-padded word). Eight bytes at a time: a one's-complement sum of
// 64-bit words folds to the same 16-bit sum as the words themselves (RFC 1071).
func onesSum(b []byte, sum uint64) uint64 {
	for len(b) >= 8 {
		v := binary.LittleEndian.Uint64(b)
		s := sum + v
		if s < sum {
			s++ // end-around carry
		}
		sum = s
		b = b[8:]
	}
	sum = uint64(fold32(sum))
	for len(b) >= 2 {
		sum += uint64(b[0]) | uint64(b[1])<<8
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0])
	}
	return sum
}

func fold32(s uint64) uint32 {
	s = (s & 0xFFFFFFFF) + (s >> 32)
	s = (s & 0xFFFFFFFF) + (s >> 32)
	return uint32(s)
}

func fold(s uint64) uint16 {
	s = uint64(fold32(s))
	for s > 0xFFFF {
		s = (s & 0xFFFF) + (s >> 16)
	}
	return uint16(s)
}

// AppendInner appends the 8-byte header, with its checksum computed, and the payload.
func (p Packet) AppendInner(dst []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint16(dst, p.Cmd)
	dst = append(dst, 0, 0)
	dst = binary.LittleEndian.AppendUint16(dst, p.Session)
	dst = binary.LittleEndian.AppendUint16(dst, p.Reply)
	dst = append(dst, p.Payload...)
	binary.LittleEndian.PutUint16(dst[start+2:], Checksum(dst[start:]))
	return dst
}

// ParseInner decodes an inner packet and verifies its checksum. On ErrChecksum the packet is still
// returned so the caller can log what it dropped. The payload aliases b.
func ParseInner(b []byte) (Packet, error) {
	if len(b) < HeaderSize {
		return Packet{}, fmt.Errorf("%w: inner packet of %d bytes, need at least %d", ErrShort, len(b), HeaderSize)
	}
	p := Packet{
		Cmd:     binary.LittleEndian.Uint16(b[0:]),
		Session: binary.LittleEndian.Uint16(b[4:]),
		Reply:   binary.LittleEndian.Uint16(b[6:]),
		Payload: b[HeaderSize:],
	}
	want := binary.LittleEndian.Uint16(b[2:])
	if got := innerChecksum(b); got != want {
		return p, fmt.Errorf("%w: %v carries %#04x, computed %#04x", ErrChecksum, p, want, got)
	}
	return p, nil
}

// innerChecksum computes the checksum of an inner packet as if its checksum field were zero,
// without modifying b: a zero word adds nothing to the sum, so skipping it is the same.
func innerChecksum(b []byte) uint16 {
	sum := uint64(b[0]) | uint64(b[1])<<8
	return ^fold(onesSum(b[4:], sum))
}

var tcpMagic = [4]byte{0x50, 0x50, 0x82, 0x7D}

// AppendTCP appends p in the TCP wrapper (§1.3): 50 50 82 7D, u32 LE inner length, inner packet.
func AppendTCP(dst []byte, p Packet) []byte {
	dst = append(dst, tcpMagic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(HeaderSize+len(p.Payload)))
	return p.AppendInner(dst)
}

// FrameReader reassembles TCP frames from a byte stream, whatever the read boundaries: split
// frames, several frames in one read, an event between reply packets.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte
}

// NewTCPFrameReader reads TCP-wrapped frames from r.
func NewTCPFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64*1024)}
}

// Next returns the next frame. ErrBadMagic and ErrOversize mean the stream is out of step (drop
// the connection). ErrChecksum means this frame was consumed and is bad (the packet is returned
// for logging); the stream stays in step and Next may be called again. A stream that ends
// mid-frame gives ErrTruncated; a clean end between frames gives io.EOF. The returned payload is
// valid until the next call.
func (f *FrameReader) Next() (Packet, error) {
	var hdr [TCPHeaderSize]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Packet{}, fmt.Errorf("%w: stream ended inside a TCP frame header", ErrTruncated)
		}
		return Packet{}, err
	}
	if [4]byte(hdr[:4]) != tcpMagic {
		return Packet{}, fmt.Errorf("%w: % x", ErrBadMagic, hdr[:4])
	}
	n := binary.LittleEndian.Uint32(hdr[4:])
	if n < HeaderSize {
		return Packet{}, fmt.Errorf("%w: TCP frame announces %d inner bytes, need at least %d", ErrShort, n, HeaderSize)
	}
	if n > MaxTCPInner {
		return Packet{}, fmt.Errorf("%w: TCP frame announces %d inner bytes (max %d)", ErrOversize, n, MaxTCPInner)
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Packet{}, fmt.Errorf("%w: stream ended inside a %d-byte TCP frame", ErrTruncated, n)
		}
		return Packet{}, err
	}
	return ParseInner(f.buf)
}

// AppendSerial appends p in the serial wrapper (§8): id, id, 81 7E, u16 LE inner length, u16 LE
// checksum over the wrapper (checksum zeroed) and the inner packet.
func AppendSerial(dst []byte, id uint8, p Packet) []byte {
	start := len(dst)
	dst = append(dst, id, id, 0x81, 0x7E)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(HeaderSize+len(p.Payload)))
	dst = append(dst, 0, 0)
	dst = p.AppendInner(dst)
	binary.LittleEndian.PutUint16(dst[start+6:], Checksum(dst[start:]))
	return dst
}

// SerialFrameReader reads serial-wrapped frames, resynchronising on garbage: a line that carried
// noise, a half frame from before the port was opened, or a frame whose wrapper checksum fails is
// skipped byte by byte until a valid wrapper is found.
type SerialFrameReader struct {
	r    io.Reader
	buf  []byte // unconsumed bytes
	tmp  []byte
	errs int // frames skipped since the last good one
}

// NewSerialFrameReader reads serial frames from r.
func NewSerialFrameReader(r io.Reader) *SerialFrameReader {
	return &SerialFrameReader{r: r, tmp: make([]byte, 4096)}
}

// Reset drops buffered bytes; used after a timeout so a half frame does not poison the next reply.
func (s *SerialFrameReader) Reset() { s.buf = s.buf[:0] }

// Skipped reports how many garbage bytes or bad frames were skipped since the last good frame.
func (s *SerialFrameReader) Skipped() int { return s.errs }

// Next returns the next frame whose serial wrapper is valid, with the device id from the wrapper.
// ErrChecksum means the wrapper was valid but the inner checksum was not (the packet is returned).
// Read errors are returned as they come; buffered bytes are kept for the next call.
func (s *SerialFrameReader) Next() (uint8, Packet, error) {
	s.errs = 0
	for {
		// Find a plausible wrapper start.
		for len(s.buf) >= 4 && !(s.buf[0] == s.buf[1] && s.buf[2] == 0x81 && s.buf[3] == 0x7E) {
			s.buf = s.buf[1:]
			s.errs++
		}
		if len(s.buf) >= SerialHeaderSize {
			n := int(binary.LittleEndian.Uint16(s.buf[4:]))
			if n < HeaderSize {
				s.buf = s.buf[1:]
				s.errs++
				continue
			}
			if len(s.buf) >= SerialHeaderSize+n {
				frame := s.buf[:SerialHeaderSize+n]
				want := binary.LittleEndian.Uint16(frame[6:])
				var hdr [SerialHeaderSize]byte
				copy(hdr[:], frame[:SerialHeaderSize])
				hdr[6], hdr[7] = 0, 0
				sum := checksumParts(hdr[:], frame[SerialHeaderSize:])
				if sum != want {
					s.buf = s.buf[1:]
					s.errs++
					continue
				}
				id := frame[0]
				inner := make([]byte, n)
				copy(inner, frame[SerialHeaderSize:])
				s.buf = s.buf[SerialHeaderSize+n:]
				p, err := ParseInner(inner)
				return id, p, err
			}
		}
		// Need more bytes. Compact so the buffer does not grow without bound.
		if cap(s.buf)-len(s.buf) < len(s.tmp) && len(s.buf) > 0 {
			nb := make([]byte, len(s.buf), 2*len(s.buf)+len(s.tmp))
			copy(nb, s.buf)
			s.buf = nb
		}
		m, err := s.r.Read(s.tmp)
		s.buf = append(s.buf, s.tmp[:m]...)
		if err != nil {
			if m > 0 {
				continue // use what came with the error first
			}
			if errors.Is(err, io.EOF) && len(s.buf) > 0 {
				return 0, Packet{}, fmt.Errorf("%w: serial stream ended with %d unframed bytes", ErrTruncated, len(s.buf))
			}
			return 0, Packet{}, err
		}
	}
}

// checksumParts is Checksum over a‖b without concatenating them; a must have even length.
func checksumParts(a, b []byte) uint16 {
	return ^fold(onesSum(b, uint64(fold(onesSum(a, 0)))))
}

// EncodeTime packs t's wall-clock fields (in t's own location) as §2.8: every month 31 days, years
// from 2000. Years before 2000 encode as 2000-01-01 00:00:00; callers that care check the range
// (2000–2133) first.
func EncodeTime(t time.Time) uint32 {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 2000 {
		return 0
	}
	return ((uint32(y-2000)*12*31+uint32(mo-1)*31+uint32(d-1))*24+uint32(h))*3600 + uint32(mi)*60 + uint32(s)
}

// TimeFields splits a packed time into its calendar fields without normalising them.
func TimeFields(v uint32) (year, month, day, hour, min, sec int) {
	sec = int(v % 60)
	v /= 60
	min = int(v % 60)
	v /= 60
	hour = int(v % 24)
	v /= 24
	day = int(v%31) + 1
	v /= 31
	month = int(v%12) + 1
	v /= 12
	year = 2000 + int(v)
	return
}

// TimeValid reports whether a packed time names a real calendar day (not 30 February).
func TimeValid(v uint32) bool {
	y, mo, d, _, _, _ := TimeFields(v)
	return d <= daysIn(y, time.Month(mo))
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// DecodeTime unpacks a §2.8 time as wall time in loc. An impossible day (31 April) is normalised
// by time.Date; use TimeValid to detect it.
func DecodeTime(v uint32, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.Local
	}
	y, mo, d, h, mi, s := TimeFields(v)
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, loc)
}

// CommKey computes the CMD_AUTH payload for a comm key (§2.3). ticks is the free byte B; 50 in
// every known client.
func CommKey(key uint32, session uint16, ticks byte) [4]byte {
	var k uint32
	for i := 0; i < 32; i++ {
		if key&(1<<i) != 0 {
			k |= 1 << (31 - i)
		}
	}
	k += uint32(session)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], k)
	b[0] ^= 'Z'
	b[1] ^= 'K'
	b[2] ^= 'S'
	b[3] ^= 'O'
	b = [4]byte{b[2], b[3], b[0], b[1]}
	return [4]byte{b[0] ^ ticks, b[1] ^ ticks, ticks, b[3] ^ ticks}
}
