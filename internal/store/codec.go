package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// maxUserID bounds a user id: ZK clocks hold at most 24 bytes; the margin keeps keys small.
const maxUserID = 64

func checkUserID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty user id", ErrInvalid)
	case len(id) > maxUserID:
		return fmt.Errorf("%w: user id %q longer than %d bytes", ErrInvalid, id, maxUserID)
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("%w: user id %q contains a NUL byte", ErrInvalid, id)
	}
	return nil
}

// userPrefix is "user 0x00", the start of every key of that user in a by-user bucket.
func userPrefix(id string) []byte {
	b := make([]byte, 0, len(id)+1+12)
	b = append(b, id...)
	return append(b, 0)
}

// timeKey maps unix seconds to 8 bytes that sort like the numbers (sign bit flipped).
func timeKey(b []byte, sec int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(sec)^(1<<63))
}

func timeFromKey(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// punchKey is the key of a punch inside its user's sub-bucket of punches:
// time | clock id | state | verify (12 bytes).
func punchKey(sec int64, clock uint16, state, verify uint8) []byte {
	k := timeKey(make([]byte, 0, 12), sec)
	k = binary.BigEndian.AppendUint16(k, clock)
	return append(k, state, verify)
}

type punchKeyParts struct {
	user          string
	sec           int64
	clock         uint16
	state, verify uint8
}

func parsePunchKey(user string, k []byte) (punchKeyParts, error) {
	if len(k) != 12 {
		return punchKeyParts{}, fmt.Errorf("malformed punch key %x of user %q", k, user)
	}
	return punchKeyParts{
		user:   user,
		sec:    timeFromKey(k[:8]),
		clock:  binary.BigEndian.Uint16(k[8:10]),
		state:  k[10],
		verify: k[11],
	}, nil
}

// Punch value flags.
const (
	pvRaw       = 1 << 0 // raw record present
	pvDiff      = 1 << 1 // raw stored as a difference from the template
	pvOffsetSec = 1 << 2 // the template offset is in seconds (else minutes)
)

// encodePunchValue is u8 flags | uvarint workcode | [uvarint raw len | zigzag offset | runs] or
// [uvarint raw len | raw bytes]. It encodes into buf and tmpl (scratch space, reused by the caller)
// and returns the value, which aliases buf.
func encodePunchValue(buf, tmpl []byte, p device.Punch, sec int64) (v, bufOut, tmplOut []byte) {
	v = append(buf[:0], 0)
	v = binary.AppendUvarint(v, uint64(p.WorkCode))
	if len(p.Raw) == 0 {
		return v, v, tmpl
	}
	v[0] |= pvRaw
	v = binary.AppendUvarint(v, uint64(len(p.Raw)))
	hdr := len(v)
	_, off := p.Time.Zone()
	if cap(tmpl) < len(p.Raw) {
		tmpl = make([]byte, len(p.Raw))
	}
	tmpl = tmpl[:len(p.Raw)]
	clear(tmpl)
	fillTemplate(tmpl, p.UserID, time.Unix(sec+int64(off), 0).UTC(), p.State, p.Verify, p.WorkCode)
	if off%60 == 0 {
		v = binary.AppendVarint(v, int64(off/60))
	} else {
		v[0] |= pvOffsetSec
		v = binary.AppendVarint(v, int64(off))
	}
	v = appendDiff(v, p.Raw, tmpl)
	if len(v)-hdr < len(p.Raw) {
		v[0] |= pvDiff
		return v, v, tmpl
	}
	v = append(v[:hdr], p.Raw...)
	v[0] &^= pvOffsetSec
	return v, v, tmpl
}

// carve returns n zeroed bytes from the arena (a fresh block when it is full), capped so that
// appending to them never touches a neighbour.
func carve(arena *[]byte, n int) []byte {
	if arena == nil {
		return make([]byte, n)
	}
	a := *arena
	if cap(a)-len(a) < n {
		a = make([]byte, 0, max(n, 16<<10))
	}
	l := len(a)
	a = a[:l+n]
	b := a[l : l+n : l+n]
	clear(b)
	*arena = a
	return b
}

// decodePunch rebuilds a punch from its key parts and value; Raw is carved from arena (nil:
// allocated).
func decodePunch(kp punchKeyParts, clock string, v []byte, loc *time.Location, arena *[]byte) (device.Punch, error) {
	p := device.Punch{
		Clock:  clock,
		UserID: kp.user,
		Time:   time.Unix(kp.sec, 0).In(loc),
		State:  kp.state,
		Verify: kp.verify,
	}
	if len(v) < 2 {
		return p, fmt.Errorf("punch value too short (%d bytes)", len(v))
	}
	flags, r := v[0], v[1:]
	wc, n := binary.Uvarint(r)
	if n <= 0 || wc > 0xFFFFFFFF {
		return p, fmt.Errorf("punch value: bad workcode")
	}
	p.WorkCode = uint32(wc)
	r = r[n:]
	if flags&pvRaw == 0 {
		if len(r) != 0 {
			return p, fmt.Errorf("punch value: %d trailing bytes", len(r))
		}
		return p, nil
	}
	rawLen, n := binary.Uvarint(r)
	if n <= 0 || rawLen > 1<<16 {
		return p, fmt.Errorf("punch value: bad raw length")
	}
	r = r[n:]
	if flags&pvDiff == 0 {
		if uint64(len(r)) != rawLen {
			return p, fmt.Errorf("punch value: raw is %d bytes, header says %d", len(r), rawLen)
		}
		p.Raw = carve(arena, len(r))
		copy(p.Raw, r)
		return p, nil
	}
	off, n := binary.Varint(r)
	if n <= 0 {
		return p, fmt.Errorf("punch value: bad template offset")
	}
	r = r[n:]
	if flags&pvOffsetSec == 0 {
		off *= 60
	}
	raw := carve(arena, int(rawLen))
	fillTemplate(raw, p.UserID, time.Unix(kp.sec+off, 0).UTC(), p.State, p.Verify, p.WorkCode)
	if err := applyDiff(raw, r); err != nil {
		return p, fmt.Errorf("punch value: %w", err)
	}
	p.Raw = raw
	return p, nil
}

// appendDiff encodes the bytes of raw that differ from tmpl (same length) as runs of
// uvarint skip | uvarint n | n bytes. Runs separated by fewer than 3 equal bytes are merged.
func appendDiff(d, raw, tmpl []byte) []byte {
	pos := 0
	for i := 0; i < len(raw); {
		if raw[i] == tmpl[i] {
			i++
			continue
		}
		start, end := i, i+1
		for j := end; j < len(raw); j++ {
			if raw[j] != tmpl[j] {
				end = j + 1
			} else if j-end >= 2 {
				break
			}
		}
		d = binary.AppendUvarint(d, uint64(start-pos))
		d = binary.AppendUvarint(d, uint64(end-start))
		d = append(d, raw[start:end]...)
		pos, i = end, end
	}
	return d
}

func applyDiff(raw, d []byte) error {
	pos := 0
	for len(d) > 0 {
		skip, n := binary.Uvarint(d)
		if n <= 0 {
			return fmt.Errorf("bad raw difference")
		}
		d = d[n:]
		cnt, n := binary.Uvarint(d)
		if n <= 0 || cnt > uint64(len(d)-n) {
			return fmt.Errorf("bad raw difference")
		}
		d = d[n:]
		if skip > uint64(len(raw)-pos) || cnt > uint64(len(raw)-pos)-skip {
			return fmt.Errorf("raw difference past the record end")
		}
		pos += int(skip)
		copy(raw[pos:], d[:cnt])
		pos += int(cnt)
		d = d[cnt:]
	}
	return nil
}

// fillTemplate writes into t (zeroed, len(t) bytes) the predicted record bytes of a punch for
// the layouts in shared/zk-protocol.md §2.11 and §3. It only needs to be deterministic: a wrong
// guess costs bytes, never correctness.
func fillTemplate(t []byte, user string, wall time.Time, state, verify uint8, workcode uint32) {
	n := len(t)
	packed := packTime(wall)
	put32 := func(off int, v uint32) {
		if off+4 <= n {
			binary.LittleEndian.PutUint32(t[off:], v)
		}
	}
	put6 := func(off int) {
		if off+6 <= n {
			y := wall.Year() - 2000
			t[off], t[off+1], t[off+2] = byte(y), byte(wall.Month()), byte(wall.Day())
			t[off+3], t[off+4], t[off+5] = byte(wall.Hour()), byte(wall.Minute()), byte(wall.Second())
		}
	}
	num := numericID(user)
	switch {
	case n == 8: // u16 uid | u8 verify | u32 packed | u8 state
		t[2] = verify
		put32(3, packed)
		t[7] = state
	case n == 16: // u32 user | u32 packed | u8 state | u8 verify | 2 reserved | u32 workcode
		put32(0, num)
		put32(4, packed)
		t[8], t[9] = state, verify
		put32(12, workcode)
	case n == 40 || n == 49: // u16 uid | 24 user | u8 verify | u32 packed | u8 state | u32 workcode | FF 00 00 00
		copy(t[2:26], user)
		t[26] = verify
		put32(27, packed)
		t[31] = state
		put32(32, workcode)
		t[36] = 0xFF
	case n == 10 || n == 14: // u16 user | u8 verify | u8 state | 6-byte time
		binary.LittleEndian.PutUint16(t, uint16(num))
		t[2], t[3] = verify, state
		put6(4)
	case n == 12: // u32 user | u8 verify | u8 state | 6-byte time
		put32(0, num)
		t[4], t[5] = verify, state
		put6(6)
	case n == 32 || n == 36 || n == 37 || n >= 52: // 24 user | u8 verify | u8 state | 6-byte time [| u32 workcode]
		copy(t[0:24], user)
		t[24], t[25] = verify, state
		put6(26)
		if n == 36 {
			put32(32, workcode)
		}
	}
}

// packTime is the ZK packed time of a wall time (shared/zk-protocol.md §2.8).
func packTime(w time.Time) uint32 {
	y := w.Year() - 2000
	if y < 0 {
		y = 0
	}
	return uint32(((y*12*31+(int(w.Month())-1)*31+(w.Day()-1))*86400 + (w.Hour()*60+w.Minute())*60 + w.Second()))
}

func numericID(s string) uint32 {
	var v uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + uint64(c-'0')
		if v > 0xFFFFFFFF {
			return 0
		}
	}
	return uint32(v)
}

// dateKey is u16 year | u8 month | u8 day.
func dateKey(b []byte, d attendance.Date) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(d.Year))
	return append(b, byte(d.Month), byte(d.Day))
}

func dateFromKey(b []byte) attendance.Date {
	return attendance.Date{Year: int(binary.BigEndian.Uint16(b)), Month: time.Month(b[2]), Day: int(b[3])}
}

func checkDate(d attendance.Date) error {
	if d.Year < 1 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 ||
		attendance.DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) != d {
		return fmt.Errorf("%w: date %04d-%02d-%02d does not exist", ErrInvalid, d.Year, d.Month, d.Day)
	}
	return nil
}

// hasPrefix reports whether k starts with p.
func hasPrefix(k, p []byte) bool { return bytes.HasPrefix(k, p) }
