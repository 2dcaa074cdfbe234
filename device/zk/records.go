package zk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// FreeSizes is the GET_FREE_SIZES reply (§2.5), the firmware struct TFSizes.
type FreeSizes struct {
	Users, Fingers, Records, OpLogs, Admins, Passwords int
	FingerCap, UserCap, RecordCap                      int
	FingerAvail, UserAvail, RecordAvail                int
	Faces, FaceCap                                     int
}

// freeSizeIndex maps each field to its i32 index in the reply.
func (f *FreeSizes) fields() []struct {
	idx int
	v   *int
} {
	return []struct {
		idx int
		v   *int
	}{
		{4, &f.Users}, {6, &f.Fingers}, {8, &f.Records}, {10, &f.OpLogs}, {12, &f.Admins},
		{13, &f.Passwords}, {14, &f.FingerCap}, {15, &f.UserCap}, {16, &f.RecordCap},
		{17, &f.FingerAvail}, {18, &f.UserAvail}, {19, &f.RecordAvail}, {20, &f.Faces}, {22, &f.FaceCap},
	}
}

// DecodeFreeSizes decodes a 92-byte (current) or 80-byte (older firmware) reply; longer replies are
// accepted and their extra words ignored. Fields beyond the reply's length stay zero.
func DecodeFreeSizes(b []byte) (FreeSizes, error) {
	var f FreeSizes
	if len(b) < 80 {
		return f, fmt.Errorf("%w: free-sizes reply of %d bytes, need 80 or 92", ErrShort, len(b))
	}
	for _, fl := range f.fields() {
		if off := fl.idx * 4; off+4 <= len(b) {
			*fl.v = int(int32(binary.LittleEndian.Uint32(b[off:])))
		}
	}
	return f, nil
}

// Encode lays f out as an n-byte reply (92 or 80); fields that do not fit in n bytes are left out.
func (f FreeSizes) Encode(n int) []byte {
	if n < 0 {
		n = 0
	}
	b := make([]byte, n)
	for _, fl := range f.fields() {
		if off := fl.idx * 4; off+4 <= n {
			binary.LittleEndian.PutUint32(b[off:], uint32(int32(*fl.v)))
		}
	}
	return b
}

// AttRecord is one attendance record of the log (§3). UserID is empty for 8-byte records (they
// carry only UID; map it through the user table). Time is the packed §2.8 value. Raw is the
// record as read.
type AttRecord struct {
	UID      uint16
	UserID   string
	Verify   uint8
	State    uint8
	Time     uint32
	WorkCode uint32
	Raw      []byte
}

// Attendance record sizes with a known layout. 49 is a 40-byte record with 9 unknown bytes after it.
const (
	AttRecord8  = 8
	AttRecord16 = 16
	AttRecord40 = 40
	AttRecord49 = 49
)

// DecodeAttLog splits a log blob (u32 total + records) into records. The record size is
// total/count, never assumed: 8, 16, 40 and 49 are known; anything else is ErrUnknownRecordSize
// naming the size. count is the record count from GET_FREE_SIZES. Raw slices alias blob.
func DecodeAttLog(blob []byte, count int) ([]AttRecord, int, error) {
	var out []AttRecord
	size, err := walkAttLog(blob, count, func(n int) { out = make([]AttRecord, 0, n) }, func(_ int, r AttRecord) {
		out = append(out, r)
	})
	if err != nil {
		return nil, size, err
	}
	return out, size, nil
}

// attLogSize checks a log blob against the record count and returns the record size and the
// records' bytes.
func attLogSize(blob []byte, count int) (int, []byte, error) {
	total, body, err := splitBlob(blob)
	if err != nil {
		return 0, nil, err
	}
	if count <= 0 {
		if total == 0 {
			return 0, nil, nil
		}
		return 0, nil, fmt.Errorf("%w: %d bytes of attendance data but the clock counts %d records", ErrUnknownRecordSize, total, count)
	}
	if total%count != 0 {
		return 0, nil, fmt.Errorf("%w: %d bytes do not split into %d records (%.2f bytes each)", ErrUnknownRecordSize, total, count, float64(total)/float64(count))
	}
	size := total / count
	switch size {
	case AttRecord8, AttRecord16, AttRecord40, AttRecord49:
	default:
		return 0, nil, fmt.Errorf("%w: %d bytes per record (%d bytes / %d records)", ErrUnknownRecordSize, size, total, count)
	}
	return size, body, nil
}

// walkAttLog decodes a log blob record by record without building a slice of them: start is
// called with the record count once the size is known, then fn for each record in order.
func walkAttLog(blob []byte, count int, start func(n int), fn func(i int, r AttRecord)) (int, error) {
	size, body, err := attLogSize(blob, count)
	if err != nil || size == 0 {
		return size, err
	}
	start(count)
	ids := &idCache{}
	for i := 0; i < count; i++ {
		r, err := decodeAttRecord(body[i*size:(i+1)*size:(i+1)*size], ids)
		if err != nil {
			return size, fmt.Errorf("record %d: %w", i, err)
		}
		fn(i, r)
	}
	return size, nil
}

func splitBlob(blob []byte) (int, []byte, error) {
	if len(blob) < 4 {
		return 0, nil, fmt.Errorf("%w: data blob of %d bytes has no length prefix", ErrTruncated, len(blob))
	}
	total := binary.LittleEndian.Uint32(blob)
	if int64(total) != int64(len(blob)-4) {
		return 0, nil, fmt.Errorf("%w: data blob announces %d bytes, holds %d", ErrTruncated, total, len(blob)-4)
	}
	return int(total), blob[4:], nil
}

// decodeAttRecord decodes one record; ids, when not nil, shares user-id strings between records.
func decodeAttRecord(b []byte, ids *idCache) (AttRecord, error) {
	r := AttRecord{Raw: b}
	switch len(b) {
	case AttRecord8:
		r.UID = binary.LittleEndian.Uint16(b)
		r.Verify = b[2]
		r.Time = binary.LittleEndian.Uint32(b[3:])
		r.State = b[7]
	case AttRecord16:
		r.UserID = ids.getNum(binary.LittleEndian.Uint32(b))
		r.Time = binary.LittleEndian.Uint32(b[4:])
		r.State = b[8]
		r.Verify = b[9]
		r.WorkCode = binary.LittleEndian.Uint32(b[12:])
	case AttRecord40, AttRecord49:
		r.UID = binary.LittleEndian.Uint16(b)
		raw := b[2:26]
		if j := bytes.IndexByte(raw, 0); j >= 0 {
			raw = raw[:j]
		}
		r.UserID = ids.get(r.UID, raw)
		r.Verify = b[26]
		r.Time = binary.LittleEndian.Uint32(b[27:])
		r.State = b[31]
		r.WorkCode = binary.LittleEndian.Uint32(b[32:])
	default:
		return r, fmt.Errorf("%w: %d bytes per record", ErrUnknownRecordSize, len(b))
	}
	return r, nil
}

// EncodeAttRecord lays r out as a size-byte record (8, 16, 40 or 49). For 16-byte records UserID
// must be a decimal u32. The reserved tail of 40/49-byte records is copied from r.Raw when it has
// that size, else zero.
func EncodeAttRecord(size int, r AttRecord) ([]byte, error) {
	b := make([]byte, size)
	switch size {
	case AttRecord8:
		binary.LittleEndian.PutUint16(b, r.UID)
		b[2] = r.Verify
		binary.LittleEndian.PutUint32(b[3:], r.Time)
		b[7] = r.State
	case AttRecord16:
		id, err := strconv.ParseUint(r.UserID, 10, 32)
		if err != nil || strconv.FormatUint(id, 10) != r.UserID {
			return nil, fmt.Errorf("%w: user id %q does not fit a 16-byte record (decimal u32)", ErrFieldTooLong, r.UserID)
		}
		binary.LittleEndian.PutUint32(b, uint32(id))
		binary.LittleEndian.PutUint32(b[4:], r.Time)
		b[8] = r.State
		b[9] = r.Verify
		binary.LittleEndian.PutUint32(b[12:], r.WorkCode)
	case AttRecord40, AttRecord49:
		if len(r.Raw) == size {
			copy(b[36:], r.Raw[36:])
		}
		binary.LittleEndian.PutUint16(b, r.UID)
		if err := putString(b[2:26], r.UserID, "user id"); err != nil {
			return nil, err
		}
		b[26] = r.Verify
		binary.LittleEndian.PutUint32(b[27:], r.Time)
		b[31] = r.State
		binary.LittleEndian.PutUint32(b[32:], r.WorkCode)
	default:
		return nil, fmt.Errorf("%w: cannot encode %d-byte attendance records", ErrUnknownRecordSize, size)
	}
	return b, nil
}

// UserRecord is one entry of the user table (§2.7). Name is the raw code-page bytes up to the first
// NUL; decode it with the clock's encoding. UserID is the PIN2 as a string (decimal for 28-byte
// entries, where it is a u32).
type UserRecord struct {
	UID       uint16
	Privilege uint8
	Password  string
	Name      []byte
	Card      uint32
	Group     uint8
	UserID    string
}

// User entry sizes.
const (
	UserRecord28 = 28
	UserRecord72 = 72
)

// DecodeUsers splits a user blob (u32 total + entries) of count entries of 28 or 72 bytes.
func DecodeUsers(blob []byte, count int) ([]UserRecord, int, error) {
	total, body, err := splitBlob(blob)
	if err != nil {
		return nil, 0, err
	}
	if count <= 0 {
		if total == 0 {
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("%w: %d bytes of user data but the clock counts %d users", ErrUnknownRecordSize, total, count)
	}
	if total%count != 0 {
		return nil, 0, fmt.Errorf("%w: %d bytes do not split into %d user entries", ErrUnknownRecordSize, total, count)
	}
	size := total / count
	if size != UserRecord28 && size != UserRecord72 {
		return nil, 0, fmt.Errorf("%w: %d bytes per user entry (%d bytes / %d users)", ErrUnknownRecordSize, size, total, count)
	}
	out := make([]UserRecord, count)
	for i := range out {
		out[i] = decodeUser(body[i*size : (i+1)*size])
	}
	return out, size, nil
}

func decodeUser(b []byte) UserRecord {
	u := UserRecord{UID: binary.LittleEndian.Uint16(b), Privilege: b[2]}
	if len(b) == UserRecord72 {
		u.Password = cString(b[3:11])
		u.Name = cBytes(b[11:35])
		u.Card = binary.LittleEndian.Uint32(b[35:])
		u.Group = b[39]
		u.UserID = cString(b[48:72])
		return u
	}
	u.Password = cString(b[3:8])
	u.Name = cBytes(b[8:16])
	u.Card = binary.LittleEndian.Uint32(b[16:])
	u.Group = b[21]
	u.UserID = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[24:])), 10)
	return u
}

// EncodeUserRecord lays u out as a 28- or 72-byte entry. Strings that do not fit are an error.
func EncodeUserRecord(size int, u UserRecord) ([]byte, error) {
	b := make([]byte, size)
	binary.LittleEndian.PutUint16(b, u.UID)
	b[2] = u.Privilege
	switch size {
	case UserRecord72:
		if err := putString(b[3:11], u.Password, "password"); err != nil {
			return nil, err
		}
		if err := putString(b[11:35], string(u.Name), "name"); err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(b[35:], u.Card)
		b[39] = u.Group
		if err := putString(b[48:72], u.UserID, "user id"); err != nil {
			return nil, err
		}
	case UserRecord28:
		if err := putString(b[3:8], u.Password, "password"); err != nil {
			return nil, err
		}
		if err := putString(b[8:16], string(u.Name), "name"); err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(b[16:], u.Card)
		b[21] = u.Group
		id, err := strconv.ParseUint(u.UserID, 10, 32)
		if err != nil || strconv.FormatUint(id, 10) != u.UserID {
			return nil, fmt.Errorf("%w: user id %q does not fit a 28-byte entry (decimal u32)", ErrFieldTooLong, u.UserID)
		}
		binary.LittleEndian.PutUint32(b[24:], uint32(id))
	default:
		return nil, fmt.Errorf("%w: cannot encode %d-byte user entries", ErrUnknownRecordSize, size)
	}
	return b, nil
}

// Event is a realtime EF_ATTLOG event (§2.11). State has the validity flag (bit 7, 36-byte and
// longer layouts) removed and reported in Invalid. Raw is the payload as received.
type Event struct {
	UserID   string
	Verify   uint8
	State    uint8
	Invalid  bool // bit 7 of the state byte: the firmware marks an invalid or repeated punch
	Time     time.Time
	WorkCode uint32
	Raw      []byte
}

// DecodeAttEvent decodes an EF_ATTLOG payload of any known length: 10, 12, 14, 32, 36, 37 or ≥ 52.
// Other lengths give ErrUnknownEventLength naming the length; impossible date fields give
// ErrBadTime.
func DecodeAttEvent(payload []byte, loc *time.Location) (Event, error) {
	e := Event{Raw: payload}
	var tb []byte
	n := len(payload)
	switch {
	case n == 10 || n == 14:
		e.UserID = strconv.FormatUint(uint64(binary.LittleEndian.Uint16(payload)), 10)
		e.Verify, e.State = payload[2], payload[3]
		tb = payload[4:10]
	case n == 12:
		e.UserID = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(payload)), 10)
		e.Verify, e.State = payload[4], payload[5]
		tb = payload[6:12]
	case n == 32 || n == 36 || n == 37 || n >= 52:
		e.UserID = cString(payload[:24])
		e.Verify, e.State = payload[24], payload[25]
		tb = payload[26:32]
		if n >= 36 {
			e.Invalid = e.State&0x80 != 0
			e.State &^= 0x80
			e.WorkCode = binary.LittleEndian.Uint32(payload[32:])
		}
	default:
		return e, fmt.Errorf("%w: EF_ATTLOG payload of %d bytes", ErrUnknownEventLength, n)
	}
	t, err := eventTime(tb, loc)
	if err != nil {
		return e, err
	}
	e.Time = t
	return e, nil
}

func eventTime(b []byte, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.Local
	}
	y, mo, d, h, mi, s := 2000+int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, fmt.Errorf("%w: event time bytes % x", ErrBadTime, b)
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, loc), nil
}

// EncodeAttEvent lays e out as an EF_ATTLOG payload of the given length (one DecodeAttEvent
// accepts). Extra bytes beyond the known fields are copied from e.Raw when it has that length.
func EncodeAttEvent(length int, e Event) ([]byte, error) {
	b := make([]byte, length)
	if len(e.Raw) == length {
		copy(b, e.Raw)
	}
	y, mo, d := e.Time.Date()
	h, mi, s := e.Time.Clock()
	if y < 2000 || y > 2255 {
		return nil, fmt.Errorf("%w: event year %d outside 2000..2255", ErrBadTime, y)
	}
	tb := []byte{byte(y - 2000), byte(mo), byte(d), byte(h), byte(mi), byte(s)}
	switch {
	case length == 10 || length == 14:
		id, err := strconv.ParseUint(e.UserID, 10, 16)
		if err != nil || strconv.FormatUint(id, 10) != e.UserID {
			return nil, fmt.Errorf("%w: user id %q does not fit a %d-byte event (decimal u16)", ErrFieldTooLong, e.UserID, length)
		}
		binary.LittleEndian.PutUint16(b, uint16(id))
		b[2], b[3] = e.Verify, e.State
		copy(b[4:10], tb)
	case length == 12:
		id, err := strconv.ParseUint(e.UserID, 10, 32)
		if err != nil || strconv.FormatUint(id, 10) != e.UserID {
			return nil, fmt.Errorf("%w: user id %q does not fit a 12-byte event (decimal u32)", ErrFieldTooLong, e.UserID)
		}
		binary.LittleEndian.PutUint32(b, uint32(id))
		b[4], b[5] = e.Verify, e.State
		copy(b[6:12], tb)
	case length == 32 || length == 36 || length == 37 || length >= 52:
		if err := putString(b[:24], e.UserID, "user id"); err != nil {
			return nil, err
		}
		b[24], b[25] = e.Verify, e.State
		if length >= 36 {
			b[25] &^= 0x80
			if e.Invalid {
				b[25] |= 0x80
			}
			binary.LittleEndian.PutUint32(b[32:], e.WorkCode)
		}
		copy(b[26:32], tb)
	default:
		return nil, fmt.Errorf("%w: cannot encode a %d-byte EF_ATTLOG payload", ErrUnknownEventLength, length)
	}
	return b, nil
}

// EncodeBlob builds a data blob: u32 LE total length, then the records back to back.
func EncodeBlob(records [][]byte) []byte {
	n := 0
	for _, r := range records {
		n += len(r)
	}
	b := make([]byte, 4, 4+n)
	binary.LittleEndian.PutUint32(b, uint32(n))
	for _, r := range records {
		b = append(b, r...)
	}
	return b
}

// cString returns the bytes of b before the first NUL as a string.
func cString(b []byte) string { return string(cBytes(b)) }

// cBytes returns a copy of b up to the first NUL.
func cBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.Clone(b)
}

// putString writes s NUL-padded into dst; s must be shorter than dst if dst is to keep a NUL, but a
// full-width value is allowed (the firmware does the same for 24-character ids).
func putString(dst []byte, s, what string) error {
	if len(s) > len(dst) {
		return fmt.Errorf("%w: %s %q is %d bytes, field holds %d", ErrFieldTooLong, what, s, len(s), len(dst))
	}
	if bytes.IndexByte([]byte(s), 0) >= 0 {
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrFieldTooLong, what, s)
	}
	copy(dst, s)
	return nil
}

// timeDecoder turns packed times into time.Time like DecodeTime, calling time.Date once per day
// rather than once per record when the zone keeps one offset all that day (a log of 100,000
// records holds a few hundred days).
type timeDecoder struct {
	loc   *time.Location
	day   uint32
	base  time.Time
	fast  bool
	valid bool
}

func (d *timeDecoder) decode(v uint32) time.Time {
	day := v / 86400
	if !d.valid || day != d.day {
		d.day, d.valid = day, true
		d.base = DecodeTime(day*86400, d.loc)
		y, m, dd := d.base.Date()
		_, o1 := d.base.Zone()
		_, o2 := time.Date(y, m, dd, 23, 59, 59, 0, d.loc).Zone()
		d.fast = o1 == o2 && d.base.Hour() == 0 && TimeValid(day*86400)
	}
	if !d.fast {
		return DecodeTime(v, d.loc)
	}
	return d.base.Add(time.Duration(v%86400) * time.Second)
}

// idCache shares one string per user id across a log's records (a log of 100,000 records holds a
// few hundred ids). String ids are cached by the record's uid and checked against the bytes, so a
// uid reused for another id is still decoded right; numeric ids are cached by value.
type idCache struct {
	byUID []string
	num   map[uint32]string
}

func (c *idCache) get(uid uint16, raw []byte) string {
	if c == nil {
		return string(raw)
	}
	if int(uid) < len(c.byUID) {
		if s := c.byUID[uid]; s == string(raw) {
			return s
		}
	} else {
		c.byUID = append(c.byUID, make([]string, int(uid)+1-len(c.byUID))...)
	}
	s := string(raw)
	c.byUID[uid] = s
	return s
}

func (c *idCache) getNum(v uint32) string {
	if c == nil {
		return strconv.FormatUint(uint64(v), 10)
	}
	if s, ok := c.num[v]; ok {
		return s
	}
	if c.num == nil {
		c.num = map[uint32]string{}
	}
	s := strconv.FormatUint(uint64(v), 10)
	c.num[v] = s
	return s
}
