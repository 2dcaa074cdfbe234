package zk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jinbi/punchd/device"
)

// Buffered-read parameters (§2.6).
const (
	TCPChunk = 0xFFC0 // READ_BUFFER length per request over TCP (65472)
	UDPChunk = 16384  // over UDP and serial

	fctUser    = 5
	chunkTries = 3
)

// prepareBuffer builds the 11-byte PREPARE_BUFFER payload.
func prepareBuffer(cmd uint16, fct uint32) []byte {
	b := make([]byte, 11)
	b[0] = 1
	binary.LittleEndian.PutUint16(b[1:], cmd)
	binary.LittleEndian.PutUint32(b[3:], fct)
	return b
}

// readBuffered reads one dataset with PREPARE_BUFFER / READ_BUFFER / FREE_DATA. The result is the
// blob (u32 total + data). A refusal of PREPARE_BUFFER itself is returned as ErrRefused so the
// caller can fall back to a legacy command.
func (c *Client) readBuffered(ctx context.Context, what string, cmd uint16, fct uint32) ([]byte, error) {
	r, err := c.exchange(ctx, CmdPrepareBuffer, prepareBuffer(cmd, fct))
	if err != nil {
		return nil, fmt.Errorf("prepare %s buffer: %w", what, err)
	}
	switch r.Cmd {
	case CmdData: // small dataset, sent inline
		return append([]byte(nil), r.Payload...), nil
	case AckOK:
	default:
		return nil, &prepErr{fmt.Errorf("prepare %s buffer: %w: %s", what, ErrRefused, ackName(r.Cmd))}
	}
	if len(r.Payload) < 5 {
		return nil, fmt.Errorf("prepare %s buffer: %w: ACK_OK with %d bytes, want the 13-byte size block", what, ErrShort, len(r.Payload))
	}
	size := int(binary.LittleEndian.Uint32(r.Payload[1:]))
	if size == 0 {
		return nil, fmt.Errorf("prepare %s buffer: %w: the clock counts entries but announces 0 bytes", what, ErrEmpty)
	}
	if size > 64<<20 {
		return nil, fmt.Errorf("prepare %s buffer: %w: clock announces %d bytes", what, ErrProtocol, size)
	}
	blob := make([]byte, 0, size)
	chunk := c.t.chunkSize()
	nChunks := (size + chunk - 1) / chunk
	for i := 0; i < nChunks; i++ {
		off := i * chunk
		n := min(chunk, size-off)
		var data []byte
		var err error
		for try := 1; ; try++ {
			data, err = c.readChunk(ctx, off, n, blob)
			if err == nil || try == chunkTries || ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrUnauthorized) {
				break
			}
			// A repeated reply id would only replay the cached final ACK: ask again with a new one.
			c.st.chunkRetries.Add(1)
			c.log.Warn("chunk failed, asking again", "what", what, "chunk", i+1, "of", nChunks, "try", try, "err", err)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s chunk %d/%d: %w", what, i+1, nChunks, err)
		}
		blob = data
	}
	if len(blob) != size {
		return nil, fmt.Errorf("read %s: %w: received %d bytes, clock announced %d", what, ErrTruncated, len(blob), size)
	}
	if _, err := c.simple(ctx, CmdFreeData, nil); err != nil {
		// The data is complete; a failed FREE_DATA only leaves the clock's buffer allocated
		// until the session ends.
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, fmt.Errorf("free %s buffer: %w", what, err)
		}
		c.log.Warn("FREE_DATA failed", "what", what, "err", err)
	}
	return blob, nil
}

// readChunk sends one READ_BUFFER and collects its data.
// readChunk appends the chunk to dst.
func (c *Client) readChunk(ctx context.Context, off, n int, dst []byte) ([]byte, error) {
	req := make([]byte, 8)
	binary.LittleEndian.PutUint32(req, uint32(off))
	binary.LittleEndian.PutUint32(req[4:], uint32(n))
	// No same-reply-id retransmission here: after a multi-packet answer the clock would replay
	// only its final ACK. A lost chunk is asked for again with a new reply id (readBuffered).
	c.reply++
	r, err := c.roundTripN(ctx, Packet{Cmd: CmdReadBuffer, Session: c.Session(), Reply: c.reply, Payload: req}, 1)
	if err != nil {
		return nil, err
	}
	if r.Cmd == AckOK {
		return nil, fmt.Errorf("%w: ACK_OK without data (a replayed final ACK?)", ErrTruncated)
	}
	return c.collect(ctx, r, n, dst)
}

// collect gathers a data reply that began with first: inline CMD_DATA, or PREPARE_DATA + N×DATA +
// ACK_OK. want is the expected length (-1 when only the clock knows). The session field of DATA
// packets (packet index) and of the final ACK is not checked (§1.6, §11).
func (c *Client) collect(ctx context.Context, first Packet, want int, dst []byte) ([]byte, error) {
	switch first.Cmd {
	case CmdData:
		if want >= 0 && len(first.Payload) != want {
			return nil, fmt.Errorf("%w: inline data of %d bytes, asked for %d", ErrTruncated, len(first.Payload), want)
		}
		return append(dst, first.Payload...), nil
	case CmdPrepareData:
	default:
		return nil, fmt.Errorf("%w: %s", ErrRefused, ackName(first.Cmd))
	}
	if len(first.Payload) < 4 {
		return nil, fmt.Errorf("%w: PREPARE_DATA with %d bytes", ErrShort, len(first.Payload))
	}
	total := int(binary.LittleEndian.Uint32(first.Payload))
	if want >= 0 && total != want {
		return nil, fmt.Errorf("%w: PREPARE_DATA announces %d bytes, asked for %d", ErrProtocol, total, want)
	}
	if total > 64<<20 {
		return nil, fmt.Errorf("%w: PREPARE_DATA announces %d bytes", ErrProtocol, total)
	}
	if cap(dst)-len(dst) < total {
		dst = append(make([]byte, 0, len(dst)+total), dst...)
	}
	base := len(dst)
	buf := dst
	for {
		p, err := c.next(ctx, first.Reply, c.opts.Timeout)
		if err != nil {
			return nil, fmt.Errorf("after %d of %d bytes: %w", len(buf)-base, total, err)
		}
		switch p.Cmd {
		case CmdData:
			if len(buf)-base+len(p.Payload) > total {
				return nil, fmt.Errorf("%w: data overruns the announced %d bytes", ErrProtocol, total)
			}
			buf = append(buf, p.Payload...)
		case AckOK:
			if len(buf)-base != total {
				return nil, fmt.Errorf("%w: received %d of %d announced bytes", ErrTruncated, len(buf)-base, total)
			}
			return buf, nil
		default:
			return nil, fmt.Errorf("%w: %s after %d of %d bytes", ErrRefused, ackName(p.Cmd), len(buf)-base, total)
		}
	}
}

// readLegacy reads with a direct command (ATTLOG_RRQ 13, USERTEMP_RRQ 9): PREPARE_DATA + DATA +
// ACK_OK, or inline CMD_DATA.
func (c *Client) readLegacy(ctx context.Context, what string, cmd uint16, payload []byte) ([]byte, error) {
	r, err := c.exchange(ctx, cmd, payload)
	if err != nil {
		return nil, fmt.Errorf("read %s (legacy command %d): %w", what, cmd, err)
	}
	b, err := c.collect(ctx, r, -1, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s (legacy command %d): %w", what, cmd, err)
	}
	return b, nil
}

// Punches reads the whole attendance log, in the clock's order: the exact log or an error.
func (c *Client) Punches(ctx context.Context) ([]device.Punch, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, c.wrap("read attendance", err)
	}
	defer unlock()
	var out []device.Punch
	err = c.resumable(ctx, "attendance", func() error { _, err := c.readPunches(ctx, &out, 0); return err })
	if err != nil {
		return nil, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return out, nil
}

// PunchesFrom implements device.TailReader: the whole log is transferred and checked as by
// Punches, but only the records from index from on become punches (the daemon's steady state:
// a log that only grew since the last pull).
func (c *Client) PunchesFrom(ctx context.Context, from int) ([]device.Punch, int, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, 0, c.wrap("read attendance", err)
	}
	defer unlock()
	var out []device.Punch
	total := 0
	err = c.resumable(ctx, "attendance", func() error {
		var err error
		total, err = c.readPunches(ctx, &out, max(from, 0))
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return out, total, nil
}

// resumable runs a whole read; on a datagram link (UDP, serial) whose clock stopped answering
// mid-read — it restarted, or forgot the session — it connects again and reads once more from
// the start. A TCP connection that dies is reported instead: the caller dials again.
func (c *Client) resumable(ctx context.Context, what string, read func() error) error {
	err := read()
	if err == nil || !c.t.datagram() || !errors.Is(err, ErrTimeout) || ctx.Err() != nil {
		return err
	}
	c.log.Warn("clock stopped answering mid-read; connecting again and reading once more", "what", what, "err", err)
	if cerr := c.reconnect(ctx); cerr != nil {
		return fmt.Errorf("%w (and reconnecting failed: %v)", err, cerr)
	}
	if err2 := read(); err2 != nil {
		return fmt.Errorf("after reconnecting: %w (first try: %v)", err2, err)
	}
	return nil
}

// AttRecords reads the raw attendance records and their size, without the date checks or the
// uid mapping (for diagnostics).
func (c *Client) AttRecords(ctx context.Context) ([]AttRecord, int, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, 0, c.wrap("read attendance", err)
	}
	defer unlock()
	blob, _, fs, err := c.readAttLog(ctx)
	if err == nil && blob != nil {
		var recs []AttRecord
		var size int
		if recs, size, err = DecodeAttLog(blob, fs.Records); err == nil {
			return recs, size, nil
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return []AttRecord{}, 0, nil
}

// readAttLog reads the log blob and checks that it splits into the counted records. When the
// count changes between GET_FREE_SIZES and the read (someone punched), the split fails; it reads
// again (twice at most). A nil blob means an empty log.
func (c *Client) readAttLog(ctx context.Context) ([]byte, int, FreeSizes, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		fs, err := c.freeSizes(ctx)
		if err != nil {
			return nil, 0, fs, fmt.Errorf("read free sizes: %w", err)
		}
		if fs.Records == 0 {
			return nil, 0, fs, nil
		}
		blob, err := c.readBuffered(ctx, "attendance", CmdAttLogRRQ, 0)
		if isPrepareRefusal(err) {
			c.log.Info("PREPARE_BUFFER refused, using legacy ATTLOG_RRQ", "err", err)
			blob, err = c.readLegacy(ctx, "attendance", CmdAttLogRRQ, nil)
		}
		if err != nil {
			return nil, 0, fs, err
		}
		size, _, err := attLogSize(blob, fs.Records)
		if err == nil {
			c.recordSize = size
			return blob, size, fs, nil
		}
		lastErr = fmt.Errorf("split attendance log: %w", err)
		fs2, ferr := c.freeSizes(ctx)
		if ferr != nil || fs2.Records == fs.Records {
			return nil, 0, fs, lastErr
		}
		c.log.Info("record count changed during the read, reading again", "before", fs.Records, "after", fs2.Records)
	}
	return nil, 0, FreeSizes{}, lastErr
}

// isPrepareRefusal tells a refused PREPARE_BUFFER (legacy fallback applies) from a refused chunk.
func isPrepareRefusal(err error) bool {
	var pe *prepErr
	return errors.As(err, &pe)
}

type prepErr struct{ error }

func (e *prepErr) Unwrap() error { return e.error }

func (c *Client) readPunches(ctx context.Context, out *[]device.Punch, from int) (int, error) {
	sn, err := c.serialNumber(ctx)
	if err != nil {
		return 0, fmt.Errorf("read option ~SerialNumber: %w", err)
	}
	clockNow, _, err := c.getTime(ctx)
	if err != nil {
		return 0, fmt.Errorf("read time: %w", err)
	}
	blob, size, fs, err := c.readAttLog(ctx)
	if err != nil {
		return 0, err
	}
	if blob == nil {
		*out = []device.Punch{}
		return 0, nil
	}
	var byUID map[uint16]string
	if size == AttRecord8 {
		users, err := c.readUsers(ctx)
		if err != nil {
			return 0, fmt.Errorf("read users to map 8-byte records: %w", err)
		}
		byUID = make(map[uint16]string, len(users))
		for _, u := range users {
			byUID[u.UID] = u.UserID
		}
	}
	var ps []device.Punch
	// The later of the clock's time and ours: a clock set behind its own records (or a host whose
	// clock runs ahead) must not turn every pull into a rejected one.
	limitNow := clockNow
	if host := time.Now().In(c.opts.Location); host.After(limitNow) {
		limitNow = time.Date(host.Year(), host.Month(), host.Day(), host.Hour(), host.Minute(), host.Second(), 0, c.opts.Location)
	}
	dc := newDateCheck(size, limitNow)
	td := timeDecoder{loc: c.opts.Location}
	unmapped := 0
	_, err = walkAttLog(blob, fs.Records, func(n int) { ps = make([]device.Punch, max(n-from, 0)) }, func(i int, r AttRecord) {
		dc.check(i, r) // every record: a misaligned or impossible log is refused whole
		if i < from {
			return
		}
		id := r.UserID
		if size == AttRecord8 {
			var ok bool
			if id, ok = byUID[r.UID]; !ok {
				// A punch by a user since deleted: keep it under the internal index rather
				// than lose it, and say so.
				id = strconv.Itoa(int(r.UID))
				if unmapped++; unmapped <= 10 {
					c.log.Warn("8-byte record with a uid not in the user table; using the uid as user id", "uid", r.UID, "record", i)
				}
			}
		}
		ps[i-from] = device.Punch{
			Clock: sn, UserID: id, Time: td.decode(r.Time),
			State: r.State, Verify: r.Verify, WorkCode: r.WorkCode, Raw: r.Raw,
		}
	})
	if err != nil {
		return 0, fmt.Errorf("split attendance log: %w", err)
	}
	if err := dc.err(); err != nil {
		return 0, fmt.Errorf("check attendance (%d records of %d bytes): %w", fs.Records, size, err)
	}
	c.st.unmappedID.Add(uint64(unmapped))
	if ps == nil {
		ps = []device.Punch{}
	}
	*out = ps
	return fs.Records, nil
}

// dateCheck rejects a whole read whose dates cannot be real: a day that does not exist, a year
// before 2001 (what zeros and shifted bytes decode to), more than a day after the clock's own
// time, or — for string user ids — control bytes where an id should be, which is what a wrong
// record size produces.
type dateCheck struct {
	size     int
	clockNow time.Time
	limit    uint32
	n, bad   int
	first    int
	why      string
}

func newDateCheck(size int, clockNow time.Time) *dateCheck {
	d := &dateCheck{size: size, clockNow: clockNow, limit: EncodeTime(clockNow.Add(24 * time.Hour)), first: -1}
	if clockNow.Year() < 2001 {
		d.limit = ^uint32(0) // the clock's own time is unset; judge only by the absolute rules
	}
	return d
}

func (d *dateCheck) check(i int, r AttRecord) {
	d.n++
	y, mo, day, h, mi, s := TimeFields(r.Time)
	var reason string
	switch {
	case day > daysIn(y, time.Month(mo)):
		reason = fmt.Sprintf("day %04d-%02d-%02d does not exist", y, mo, day)
	case y < 2001:
		reason = fmt.Sprintf("year %d", y)
	case r.Time > d.limit:
		reason = fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d is more than a day after the clock's (or this computer's) time %s", y, mo, day, h, mi, s, d.clockNow.Format("2006-01-02 15:04:05"))
	case (d.size == AttRecord40 || d.size == AttRecord49) && !printableID(r.UserID):
		reason = fmt.Sprintf("user id %q has control bytes (misaligned records?)", r.UserID)
	default:
		return
	}
	d.bad++
	if d.first < 0 {
		d.first, d.why = i, reason
	}
}

func (d *dateCheck) err() error {
	if d.bad == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d records, first is record %d: %s", ErrImplausibleDates, d.bad, d.n, d.first, d.why)
}

// checkDates runs the date check over decoded records.
func checkDates(recs []AttRecord, size int, clockNow time.Time) error {
	d := newDateCheck(size, clockNow)
	for i, r := range recs {
		d.check(i, r)
	}
	return d.err()
}

func printableID(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7F {
			return false
		}
	}
	return true
}

// Users reads the user table; names are decoded with the configured code page.
func (c *Client) Users(ctx context.Context) ([]device.User, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, c.wrap("read users", err)
	}
	defer unlock()
	var recs []UserRecord
	err = c.resumable(ctx, "users", func() (err error) { recs, err = c.readUsers(ctx); return })
	if err != nil {
		return nil, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	out := make([]device.User, len(recs))
	for i, u := range recs {
		out[i] = device.User{
			UID: u.UID, UserID: u.UserID, Name: c.decodeName(u.Name), Privilege: u.Privilege,
			Password: u.Password, Card: u.Card, Group: u.Group, RawName: u.Name,
		}
	}
	return out, nil
}

func (c *Client) readUsers(ctx context.Context) ([]UserRecord, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		fs, err := c.freeSizes(ctx)
		if err != nil {
			return nil, fmt.Errorf("read free sizes: %w", err)
		}
		if fs.Users == 0 {
			return []UserRecord{}, nil
		}
		blob, err := c.readBuffered(ctx, "users", CmdUserTempRRQ, fctUser)
		if err != nil && isPrepareRefusal(err) {
			c.log.Info("PREPARE_BUFFER refused, using legacy USERTEMP_RRQ", "err", err)
			blob, err = c.readLegacy(ctx, "users", CmdUserTempRRQ, []byte{fctUser})
		}
		if err != nil {
			return nil, err
		}
		users, size, err := DecodeUsers(blob, fs.Users)
		if err == nil {
			c.userSize = size
			return users, nil
		}
		lastErr = fmt.Errorf("split user table: %w", err)
		fs2, ferr := c.freeSizes(ctx)
		if ferr != nil || fs2.Users == fs.Users {
			return nil, lastErr
		}
	}
	return nil, lastErr
}
