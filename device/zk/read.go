package zk

import (
	"bytes"
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
	// MinChunk is the smallest READ_BUFFER a failing read shrinks to: one packet, which the clock
	// answers inline (CMD_DATA, no PREPARE_DATA).
	MinChunk = 1024

	fctUser = 5
	// chunkGiveUp is how many requests in a row may fail without moving a byte before a read
	// gives up; two of them timing out ends it sooner (the clock is gone, not noisy).
	chunkGiveUp = 8
)

// prepareBuffer builds the 11-byte PREPARE_BUFFER payload.
func prepareBuffer(cmd uint16, fct uint32) []byte {
	b := make([]byte, 11)
	b[0] = 1
	binary.LittleEndian.PutUint16(b[1:], cmd)
	binary.LittleEndian.PutUint32(b[3:], fct)
	return b
}

// prepare sends PREPARE_BUFFER. It returns the size of the dataset the clock buffered, or the
// dataset itself when the clock sent it inline (≤ 1024 bytes). A refusal is a *prepErr so the
// caller can fall back to a legacy command.
func (c *Client) prepare(ctx context.Context, what string, cmd uint16, fct uint32) (size int, inline []byte, err error) {
	r, err := c.exchange(ctx, CmdPrepareBuffer, prepareBuffer(cmd, fct))
	if err != nil {
		return 0, nil, fmt.Errorf("prepare %s buffer: %w", what, err)
	}
	switch r.Cmd {
	case CmdData: // small dataset, sent inline
		return len(r.Payload), append([]byte(nil), r.Payload...), nil
	case AckOK:
	default:
		return 0, nil, &prepErr{fmt.Errorf("prepare %s buffer: %w: %s", what, ErrRefused, ackName(r.Cmd))}
	}
	if len(r.Payload) < 5 {
		return 0, nil, fmt.Errorf("prepare %s buffer: %w: ACK_OK with %d bytes, want the 13-byte size block", what, ErrShort, len(r.Payload))
	}
	size = int(binary.LittleEndian.Uint32(r.Payload[1:]))
	if size == 0 {
		return 0, nil, fmt.Errorf("prepare %s buffer: %w: the clock counts entries but announces 0 bytes", what, ErrEmpty)
	}
	if size > 64<<20 {
		return 0, nil, fmt.Errorf("prepare %s buffer: %w: clock announces %d bytes", what, ErrProtocol, size)
	}
	return size, nil, nil
}

// freeData releases the clock's buffer. The data is complete by then; a failed FREE_DATA only
// leaves the buffer allocated until the session ends.
func (c *Client) freeData(ctx context.Context, what string) error {
	if _, err := c.simple(ctx, CmdFreeData, nil); err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("free %s buffer: %w", what, err)
		}
		c.log.Warn("FREE_DATA failed", "what", what, "err", err)
	}
	return nil
}

// readBuffered reads one whole dataset with PREPARE_BUFFER / READ_BUFFER / FREE_DATA. The result
// is the blob (u32 total + data).
func (c *Client) readBuffered(ctx context.Context, what string, cmd uint16, fct uint32) ([]byte, error) {
	size, blob, err := c.prepare(ctx, what, cmd, fct)
	if err != nil || blob != nil {
		return blob, err
	}
	var rs readStats
	blob, err = c.readRange(ctx, what, 0, size, make([]byte, 0, size), &rs)
	if err != nil {
		return nil, err
	}
	return blob, c.freeData(ctx, what)
}

// readStats counts what the chunked reads of one operation moved and retried.
type readStats struct{ bytes, retries int }

// readRange appends bytes off..off+n of the prepared buffer to dst (see readRangeTo).
func (c *Client) readRange(ctx context.Context, what string, off, n int, dst []byte, rs *readStats) ([]byte, error) {
	err := c.readRangeTo(ctx, what, off, n, rs, func(b []byte) error { dst = append(dst, b...); return nil })
	return dst, err
}

// readRangeTo hands bytes off..off+n of the prepared buffer to emit as they arrive, in READ_BUFFER
// chunks; emit must not keep the slice, and an error from it ends the read. A chunk that fails (a
// lost or corrupted packet, a timeout) keeps the packets that arrived whole and in order, and the
// read goes on from there with half the chunk, down to one packet (MinChunk); each success
// doubles it again, up to the transport's chunk. It gives up after chunkGiveUp failures in a row
// that moved nothing, or two timeouts in a row.
func (c *Client) readRangeTo(ctx context.Context, what string, off, n int, rs *readStats, emit func([]byte) error) error {
	maxChunk := c.t.chunkSize()
	chunk := maxChunk
	end := off + n
	buf := make([]byte, 0, min(maxChunk, n))
	done, idle, timeouts, req := 0, 0, 0, 0
	for off < end {
		ask := min(chunk, end-off)
		req++
		var err error
		buf, err = c.readChunk(ctx, off, ask, buf[:0])
		got := len(buf)
		off += got
		done += got
		rs.bytes += got
		if got > 0 {
			if eerr := emit(buf); eerr != nil {
				return eerr
			}
		}
		if err == nil {
			idle, timeouts = 0, 0
			if chunk < maxChunk {
				chunk = min(2*chunk, maxChunk)
			}
			c.logProgress(what, done, n, ask, req)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrRefused) || errors.Is(err, ErrProtocol) {
			return fmt.Errorf("read %s at byte %d of %d: %w", what, done, n, err)
		}
		if got > 0 {
			idle = 0
		} else {
			idle++
		}
		if errors.Is(err, ErrTimeout) {
			timeouts++
		} else {
			timeouts = 0
		}
		if idle >= chunkGiveUp || timeouts >= 2 {
			return fmt.Errorf("read %s at byte %d of %d (%d requests failed in a row): %w", what, done, n, idle, err)
		}
		rs.retries++
		c.st.chunkRetries.Add(1)
		chunk = max(chunk/2, MinChunk)
		c.log.Debug("chunk failed; asking again from the last good byte with a smaller chunk",
			"what", what, "offset", off, "got", got, "asked", ask, "next_chunk", chunk, "err", err)
	}
	return nil
}

// logProgress logs a finished chunk at Debug and tells the progress hook how many attendance
// records of the read have arrived.
func (c *Client) logProgress(what string, done, total, chunk, req int) {
	c.log.Debug("chunk read", "what", what, "bytes", done, "of", total, "chunk", chunk, "request", req)
	if c.progress != nil && what == "attendance" && c.recordSize > 0 {
		c.progress(done/c.recordSize, total/c.recordSize)
	}
}

// readChunk sends one READ_BUFFER and appends what arrived whole and in order to dst: on an error
// dst still holds the good prefix of the chunk.
func (c *Client) readChunk(ctx context.Context, off, n int, dst []byte) ([]byte, error) {
	req := make([]byte, 8)
	binary.LittleEndian.PutUint32(req, uint32(off))
	binary.LittleEndian.PutUint32(req[4:], uint32(n))
	// A resend with the same reply id (a datagram timeout, a corrupted inline reply) is answered
	// from the clock's cache: the data itself for one packet, only the final ACK after a
	// multi-packet transfer — which fails this chunk, and the next request has a new reply id.
	r, err := c.exchange(ctx, CmdReadBuffer, req)
	if err != nil {
		return dst, err
	}
	if r.Cmd == AckOK {
		return dst, fmt.Errorf("%w: ACK_OK without data (a replayed final ACK?)", ErrTruncated)
	}
	return c.collect(ctx, r, n, dst)
}

// collect gathers a data reply that began with first: inline CMD_DATA, or PREPARE_DATA + N×DATA +
// ACK_OK. want is the expected length (-1 when only the clock knows). DATA packets carry their
// index in the session field (§1.6): a gap (a packet lost, or dropped for its checksum) ends the
// transfer at once with the packets before it appended to dst. A clock whose first data packet
// carries the session id instead is taken not to number them and is not checked. The final ACK's session field is not checked (§11); on a datagram link
// the data is complete without it (it may be the datagram that was lost).
func (c *Client) collect(ctx context.Context, first Packet, want int, dst []byte) ([]byte, error) {
	total := want
	switch first.Cmd {
	case CmdData:
		if want <= MinChunk || first.Session != 0 {
			if want >= 0 && len(first.Payload) != want {
				return dst, fmt.Errorf("%w: inline data of %d bytes, asked for %d", ErrTruncated, len(first.Payload), want)
			}
			return append(dst, first.Payload...), nil
		}
		// Packet 0 of a transfer whose PREPARE_DATA was lost: the size is the one asked for.
	case CmdPrepareData:
		if len(first.Payload) < 4 {
			return dst, fmt.Errorf("%w: PREPARE_DATA with %d bytes", ErrShort, len(first.Payload))
		}
		total = int(binary.LittleEndian.Uint32(first.Payload))
		if want >= 0 && total != want {
			return dst, fmt.Errorf("%w: PREPARE_DATA announces %d bytes, asked for %d", ErrProtocol, total, want)
		}
		if total > 64<<20 {
			return dst, fmt.Errorf("%w: PREPARE_DATA announces %d bytes", ErrProtocol, total)
		}
	default:
		return dst, fmt.Errorf("%w: %s", ErrRefused, ackName(first.Cmd))
	}
	if cap(dst)-len(dst) < total {
		dst = append(make([]byte, 0, len(dst)+total), dst...)
	}
	base := len(dst)
	buf := dst
	numbered, idx := true, 0
	add := func(p Packet) error {
		if idx == 0 && p.Session != 0 && p.Session == c.Session() {
			numbered = false // a clock that puts its session id there, not the packet index
		}
		if numbered && int(p.Session) != idx {
			return fmt.Errorf("%w: data packet %d arrived where %d was due (lost or dropped) after %d of %d bytes", ErrTruncated, p.Session, idx, len(buf)-base, total)
		}
		if len(buf)-base+len(p.Payload) > total {
			return fmt.Errorf("%w: data overruns the announced %d bytes", ErrProtocol, total)
		}
		idx++
		buf = append(buf, p.Payload...)
		return nil
	}
	if first.Cmd == CmdData {
		if err := add(first); err != nil {
			return buf, err
		}
	}
	for {
		if len(buf)-base == total && c.t.lossy() {
			return buf, nil
		}
		t0 := time.Now()
		p, err := c.next(ctx, first.Reply, c.packetWait())
		if err == nil && c.t.lossy() {
			c.gap += (time.Since(t0) - c.gap) / 8
		}
		if err != nil {
			return buf, fmt.Errorf("after %d of %d bytes: %w", len(buf)-base, total, err)
		}
		switch p.Cmd {
		case CmdData:
			if err := add(p); err != nil {
				return buf, err
			}
		case AckOK:
			if len(buf)-base != total {
				return buf, fmt.Errorf("%w: received %d of %d announced bytes", ErrTruncated, len(buf)-base, total)
			}
			return buf, nil
		default:
			return buf, fmt.Errorf("%w: %s after %d of %d bytes", ErrRefused, ackName(p.Cmd), len(buf)-base, total)
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

// Punches reads the whole attendance log, in the clock's order. Records with impossible dates or
// fields are skipped and logged (see ReadLog); when most records are, the read fails.
func (c *Client) Punches(ctx context.Context) ([]device.Punch, error) {
	l, err := c.ReadLog(ctx, device.Mark{}, true)
	if err != nil {
		return nil, err
	}
	if len(l.Skipped) > 0 {
		c.log.Warn("attendance records skipped", "count", len(l.Skipped), "of", l.Mark.Count, "records", device.SkippedSummary(l.Skipped, 10))
	}
	return l.Punches, nil
}

// ReadLog implements device.LogReader. After PREPARE_BUFFER it asks for the records from the
// mark's last one on (READ_BUFFER with an offset) and checks that this record is byte for byte
// the one the mark holds: then only the records after it cross the wire. Otherwise — the log was
// cleared, shrunk or rewritten, the record size changed, full is set or the mark is zero — the
// rest of the buffer is read too and the whole log returned.
//
// Records are judged one by one (implausibleRecord): a record with an impossible date is skipped
// as bad_date, one whose user id holds control bytes or nothing as malformed. When more than half
// of the records read are implausible the layout itself is wrong (a record size the clock
// misreports) and the read fails with ErrImplausibleDates; a tail read that would fail so is
// judged again over the whole log.
func (c *Client) ReadLog(ctx context.Context, since device.Mark, full bool) (device.Log, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return device.Log{}, c.wrap("read attendance", err)
	}
	defer unlock()
	var out device.Log
	err = c.resumable(ctx, "attendance", func() (err error) { out, err = c.readLog(ctx, since, full); return })
	if err != nil {
		return device.Log{}, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return out, nil
}

// StreamLog implements device.LogStreamer. A read from a mark goes as ReadLog does (the records
// after a mark still in its place are few, and a log found rewritten is read whole there) and is
// handed to fn at once. A whole read — full set, or no mark — decodes the records as the
// READ_BUFFER chunks arrive and hands them to fn every device.StreamBatch records, holding at
// most one batch, a chunk and a partial record. A clock that sends its log in one piece (inline
// or by the legacy command) or in 8-byte records (read with the user table, which needs the
// clock's buffer) is read whole as ReadLog does and handed over in batches.
func (c *Client) StreamLog(ctx context.Context, since device.Mark, full bool, fn func([]device.Punch) error) (device.Log, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return device.Log{}, c.wrap("read attendance", err)
	}
	defer unlock()
	var out device.Log
	err = c.resumable(ctx, "attendance", func() (err error) { out, err = c.streamLog(ctx, since, full, fn); return })
	if err != nil {
		return device.Log{}, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return out, nil
}

func (c *Client) streamLog(ctx context.Context, since device.Mark, full bool, fn func([]device.Punch) error) (device.Log, error) {
	whole := func() (device.Log, error) {
		l, err := c.readLog(ctx, since, full)
		if err != nil {
			return device.Log{}, err
		}
		for ps := l.Punches; len(ps) > 0; {
			n := min(len(ps), device.StreamBatch)
			if err := fn(ps[:n]); err != nil {
				return device.Log{}, err
			}
			ps = ps[n:]
		}
		l.Punches = nil
		return l, nil
	}
	if !full && since.Count > 0 {
		return whole()
	}
	sn, clockNow, err := c.logHeader(ctx)
	if err != nil {
		return device.Log{}, err
	}
	p, err := c.prepareAttLog(ctx)
	if err != nil || p.count == 0 {
		return device.Log{}, err
	}
	if p.blob != nil || p.recSize == AttRecord8 {
		if p.blob == nil {
			if err := c.freeData(ctx, "attendance"); err != nil {
				return device.Log{}, err
			}
		}
		return whole()
	}
	var (
		out  device.Log
		rs   readStats
		size = p.recSize
		dec  = c.newLogDecoder(sn, size, clockNow)
		head = make([]byte, 0, 4) // the buffer's u32 length
		pend []byte               // records not handed over yet, and a partial one
		idx  int                  // the index of pend's first record in the log
		last []byte               // the last record handed over
		bad  int
	)
	hand := func(final bool) error {
		for {
			k := len(pend) / size
			if k == 0 || (!final && k < device.StreamBatch) {
				return nil
			}
			k = min(k, device.StreamBatch)
			recs := pend[:k*size]
			sk := dec.check(recs, idx)
			if idx == 0 && len(sk)*2 > k {
				return fmt.Errorf("check attendance (%d records of %d bytes; the first %d): %w: %d of them, first is %s",
					p.count, size, k, ErrImplausibleDates, len(sk), device.SkippedSummary(sk[:1], 1))
			}
			for i := range sk {
				sk[i].Raw = bytes.Clone(sk[i].Raw) // not the batch's buffer, which goes with the batch
			}
			if since.Count > idx && since.Count <= idx+k && bytes.Equal(recs[(since.Count-1-idx)*size:(since.Count-idx)*size], since.Last) {
				out.New = since.Count
			}
			ps := dec.punches(recs, idx, sk)
			out.Skipped = append(out.Skipped, sk...)
			bad, idx, last = bad+len(sk), idx+k, recs[(k-1)*size:]
			pend = append(make([]byte, 0, cap(pend)), pend[k*size:]...) // the punches' Raw keep the old one
			if err := fn(ps); err != nil {
				return err
			}
		}
	}
	err = c.readRangeTo(ctx, "attendance", 0, p.size, &rs, func(b []byte) error {
		if n := min(cap(head)-len(head), len(b)); n > 0 {
			head, b = append(head, b[:n]...), b[n:]
			if len(head) == cap(head) && int64(binary.LittleEndian.Uint32(head)) != int64(p.size-4) {
				return fmt.Errorf("split attendance log: %w: data blob announces %d bytes, holds %d", ErrTruncated, binary.LittleEndian.Uint32(head), p.size-4)
			}
		}
		pend = append(pend, b...)
		return hand(false)
	})
	if err == nil {
		err = hand(true)
	}
	if err != nil {
		return device.Log{}, err
	}
	if err := c.freeData(ctx, "attendance"); err != nil {
		return device.Log{}, err
	}
	c.st.unmappedID.Add(uint64(dec.unmapped))
	if bad*2 > p.count {
		return device.Log{}, fmt.Errorf("check attendance (%d records of %d bytes): %w: %d of %d records, first is %s (the plausible ones were handed over)",
			p.count, size, ErrImplausibleDates, bad, p.count, device.SkippedSummary(out.Skipped[:1], 1))
	}
	out.Bytes, out.Retries = rs.bytes, rs.retries
	out.Mark = device.Mark{Count: p.count, Last: bytes.Clone(last)}
	return out, nil
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

// SetProgress sets a function told, after each chunk of an attendance read, how many of the
// records being read have arrived; nil for none. It is called from the goroutine doing the read:
// set it before reading, keep it quick.
func (c *Client) SetProgress(fn func(done, total int)) { c.progress = fn }

// AttRecords reads the raw attendance records and their size, without the date checks or the
// uid mapping (for diagnostics).
func (c *Client) AttRecords(ctx context.Context) ([]AttRecord, int, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, 0, c.wrap("read attendance", err)
	}
	defer unlock()
	a, err := c.attLog(ctx, device.Mark{}, true)
	if err == nil && a.records != nil {
		var recs []AttRecord
		var size int
		if recs, size, err = DecodeAttLog(a.blob(), a.count); err == nil {
			return recs, size, nil
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("clock %s: %w", c.t.name(), err)
	}
	return []AttRecord{}, 0, nil
}

// attRead is the raw result of an attendance read: the records' bytes from index from on.
type attRead struct {
	count, size int // records on the clock and bytes per record
	from        int // index of records[0:size]
	records     []byte
	tail        bool // from is the mark's last record, verified
	stats       readStats
}

// blob rebuilds the u32-prefixed blob of a whole read.
func (a attRead) blob() []byte {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(a.records)), uint32(len(a.records)))
	return append(b, a.records...)
}

func (a attRead) record(i int) []byte { return a.records[(i-a.from)*a.size : (i-a.from+1)*a.size] }

// attLog reads the log's records: only from the mark's last record on when it is still in its
// place (and full is not set), else all of them. When the count changes between GET_FREE_SIZES
// and PREPARE_BUFFER (someone punched), the size does not split; it asks again (twice at most).
// A nil records means an empty log.
func (c *Client) attLog(ctx context.Context, since device.Mark, full bool) (attRead, error) {
	p, err := c.prepareAttLog(ctx)
	if err != nil || p.count == 0 {
		return attRead{}, err
	}
	a := attRead{count: p.count, size: p.recSize}
	blob := p.blob
	if blob == nil {
		recSize, size := p.recSize, p.size
		if !full && since.Count > 0 && since.Count <= p.count && len(since.Last) == recSize {
			a.from = since.Count - 1
		}
		off := 0
		if a.from > 0 {
			off = 4 + a.from*recSize
		}
		body, err := c.readRange(ctx, "attendance", off, size-off, make([]byte, 0, size-off), &a.stats)
		if err != nil {
			return attRead{}, err
		}
		switch {
		case a.from == 0:
			blob = body
		case bytes.Equal(body[:recSize], since.Last):
			a.records, a.tail = body, true
		default:
			c.log.Info("the clock's log changed since the last read (cleared, shrunk or rewritten): reading it whole",
				"was", since.Count, "now", p.count)
			head, err := c.readRange(ctx, "attendance", 0, off, make([]byte, 0, size), &a.stats)
			if err != nil {
				return attRead{}, err
			}
			blob, a.from = append(head, body...), 0
		}
		if err := c.freeData(ctx, "attendance"); err != nil {
			return attRead{}, err
		}
	}
	if !a.tail {
		_, body, err := splitBlob(blob)
		if err != nil {
			return attRead{}, fmt.Errorf("split attendance log: %w", err)
		}
		a.records = body
	}
	return a, nil
}

// preparedLog is the clock's attendance log made ready to read: count records of recSize bytes
// in a buffer of size bytes (the u32 length and the records), or the whole blob when the clock
// sent it at once (inline, or the legacy command). A zero count is an empty log.
type preparedLog struct {
	count, size, recSize int
	blob                 []byte
}

// prepareAttLog asks the clock to buffer its attendance log and learns the record size. When the
// count changes between GET_FREE_SIZES and PREPARE_BUFFER (someone punched), the size does not
// split; it asks again (twice at most).
func (c *Client) prepareAttLog(ctx context.Context) (preparedLog, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		fs, err := c.freeSizes(ctx)
		if err != nil {
			return preparedLog{}, fmt.Errorf("read free sizes: %w", err)
		}
		if fs.Records == 0 {
			return preparedLog{}, nil
		}
		size, blob, err := c.prepare(ctx, "attendance", CmdAttLogRRQ, 0)
		if isPrepareRefusal(err) {
			c.log.Info("PREPARE_BUFFER refused, using legacy ATTLOG_RRQ", "err", err)
			blob, err = c.readLegacy(ctx, "attendance", CmdAttLogRRQ, nil)
			size = len(blob)
		}
		if err != nil {
			return preparedLog{}, err
		}
		recSize, err := recordSizeOf(size-4, fs.Records)
		if err != nil {
			lastErr = fmt.Errorf("split attendance log: %w", err)
			fs2, ferr := c.freeSizes(ctx)
			if ferr != nil || fs2.Records == fs.Records {
				return preparedLog{}, lastErr
			}
			c.log.Info("record count changed during the read, reading again", "before", fs.Records, "after", fs2.Records)
			continue
		}
		c.recordSize = recSize
		return preparedLog{count: fs.Records, size: size, recSize: recSize, blob: blob}, nil
	}
	return preparedLog{}, lastErr
}

// recordSizeOf is the record size a log of n bytes and count records has, if it is a known one.
func recordSizeOf(n, count int) (int, error) {
	if count <= 0 || n <= 0 || n%count != 0 {
		return 0, fmt.Errorf("%w: %d bytes do not split into %d records (%.2f bytes each)", ErrUnknownRecordSize, n, count, float64(n)/float64(max(count, 1)))
	}
	switch size := n / count; size {
	case AttRecord8, AttRecord16, AttRecord40, AttRecord49:
		return size, nil
	default:
		return 0, fmt.Errorf("%w: %d bytes per record (%d bytes / %d records)", ErrUnknownRecordSize, size, n, count)
	}
}

// isPrepareRefusal tells a refused PREPARE_BUFFER (legacy fallback applies) from a refused chunk.
func isPrepareRefusal(err error) bool {
	var pe *prepErr
	return errors.As(err, &pe)
}

type prepErr struct{ error }

func (e *prepErr) Unwrap() error { return e.error }

// logHeader reads what a read of the log needs besides the records: the serial number the
// punches carry and the clock's time the dates are judged against.
func (c *Client) logHeader(ctx context.Context) (string, time.Time, error) {
	sn, err := c.serialNumber(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read option ~SerialNumber: %w", err)
	}
	clockNow, _, err := c.getTime(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read time: %w", err)
	}
	return sn, clockNow, nil
}

func (c *Client) readLog(ctx context.Context, since device.Mark, full bool) (device.Log, error) {
	sn, clockNow, err := c.logHeader(ctx)
	if err != nil {
		return device.Log{}, err
	}
	a, err := c.attLog(ctx, since, full)
	if err != nil {
		return device.Log{}, err
	}
	out := device.Log{Bytes: a.stats.bytes, Retries: a.stats.retries}
	if a.records == nil {
		out.Punches = []device.Punch{}
		return out, nil
	}
	out.Mark = device.Mark{Count: a.count, Last: bytes.Clone(a.record(a.count - 1))}
	switch {
	case a.tail:
		out.From, out.New = since.Count, since.Count
	case since.Count > 0 && since.Count <= a.count && bytes.Equal(a.record(since.Count-1), since.Last):
		out.New = since.Count
	}
	dec := c.newLogDecoder(sn, a.size, clockNow)
	recs := a.records[(out.From-a.from)*a.size:]
	skipped := dec.check(recs, out.From)
	bad := len(skipped)
	if n := a.count - out.From; bad*2 > n && a.tail {
		// Mostly implausible new records after a good mark: judge the whole log before refusing it.
		c.log.Info("most new records are implausible; reading the whole log to judge it", "bad", bad, "of", n)
		return c.readLog(ctx, since, true)
	}
	if n := a.count - out.From; bad*2 > n {
		return device.Log{}, fmt.Errorf("check attendance (%d records of %d bytes): %w: %d of %d records, first is %s",
			a.count, a.size, ErrImplausibleDates, bad, n, device.SkippedSummary(skipped[:1], 1))
	}
	if a.size == AttRecord8 {
		if err := dec.mapUIDs(ctx); err != nil {
			return device.Log{}, err
		}
	}
	out.Punches, out.Skipped = dec.punches(recs, out.From, skipped), skipped
	c.st.unmappedID.Add(uint64(dec.unmapped))
	return out, nil
}

// logDecoder turns a clock's attendance records into punches, a batch at a time: it judges each
// record (recordCheck) and decodes the plausible ones.
type logDecoder struct {
	c        *Client
	sn       string
	size     int
	chk      recordCheck
	ids      *idCache
	td       timeDecoder
	byUID    map[uint16]string // 8-byte records: the user table's uid -> user id
	unmapped int               // 8-byte records whose uid the user table lacks
}

func (c *Client) newLogDecoder(sn string, size int, clockNow time.Time) *logDecoder {
	// The later of the clock's time and ours: a clock set behind its own records (or a host whose
	// clock runs ahead) must not turn every pull into a rejected one.
	limitNow := clockNow
	if host := time.Now().In(c.opts.Location); host.After(limitNow) {
		limitNow = time.Date(host.Year(), host.Month(), host.Day(), host.Hour(), host.Minute(), host.Second(), 0, c.opts.Location)
	}
	return &logDecoder{c: c, sn: sn, size: size, chk: newRecordCheck(size, limitNow), ids: &idCache{}, td: timeDecoder{loc: c.opts.Location}}
}

// mapUIDs reads the user table that 8-byte records (a uid, no user id) are read with.
func (d *logDecoder) mapUIDs(ctx context.Context) error {
	users, err := d.c.readUsers(ctx)
	if err != nil {
		return fmt.Errorf("read users to map 8-byte records: %w", err)
	}
	d.byUID = make(map[uint16]string, len(users))
	for _, u := range users {
		d.byUID[u.UID] = u.UserID
	}
	return nil
}

// check lists the implausible records of recs, the records from index from of the log on.
func (d *logDecoder) check(recs []byte, from int) []device.Skipped {
	var skipped []device.Skipped
	for i := 0; i*d.size < len(recs); i++ {
		r, _ := decodeAttRecord(recs[i*d.size:(i+1)*d.size], d.ids)
		if reason, detail := d.chk.implausible(r); reason != "" {
			skipped = append(skipped, device.Skipped{Index: from + i, Reason: reason, Detail: detail, Raw: r.Raw})
		}
	}
	return skipped
}

// punches decodes recs, the records from index from on, but the skipped ones (check's list).
// The punches' Raw points into recs.
func (d *logDecoder) punches(recs []byte, from int, skipped []device.Skipped) []device.Punch {
	n := len(recs) / d.size
	ps := make([]device.Punch, 0, n-len(skipped))
	next := 0 // into skipped
	for i := range n {
		if next < len(skipped) && skipped[next].Index == from+i {
			next++
			continue
		}
		r, _ := decodeAttRecord(recs[i*d.size:(i+1)*d.size], d.ids)
		id := r.UserID
		if d.size == AttRecord8 {
			var ok bool
			if id, ok = d.byUID[r.UID]; !ok {
				// A punch by a user since deleted: keep it under the internal index rather
				// than lose it, and say so.
				id = strconv.Itoa(int(r.UID))
				if d.unmapped++; d.unmapped <= 10 {
					d.c.log.Warn("8-byte record with a uid not in the user table; using the uid as user id", "uid", r.UID, "record", from+i)
				}
			}
		}
		ps = append(ps, device.Punch{
			Clock: d.sn, UserID: id, Time: d.td.decode(r.Time),
			State: r.State, Verify: r.Verify, WorkCode: r.WorkCode, Raw: r.Raw,
		})
	}
	return ps
}

// recordCheck judges one record: a day that does not exist, a year before 2001 (what zeros and
// shifted bytes decode to), more than a day after the clock's own time (or this computer's), or —
// for string user ids — control bytes or nothing where an id should be, which is what a wrong
// record size produces.
type recordCheck struct {
	size     int
	clockNow time.Time
	limit    uint32
}

func newRecordCheck(size int, clockNow time.Time) recordCheck {
	d := recordCheck{size: size, clockNow: clockNow, limit: EncodeTime(clockNow.Add(24 * time.Hour))}
	if clockNow.Year() < 2001 {
		d.limit = ^uint32(0) // the clock's own time is unset; judge only by the absolute rules
	}
	return d
}

// implausible says why r cannot be a real punch (a device.Skip* reason and a detail), or "".
func (d recordCheck) implausible(r AttRecord) (reason, detail string) {
	y, mo, day, h, mi, s := TimeFields(r.Time)
	switch {
	case day > daysIn(y, time.Month(mo)):
		return device.SkipBadDate, fmt.Sprintf("day %04d-%02d-%02d does not exist", y, mo, day)
	case y < 2001:
		return device.SkipBadDate, fmt.Sprintf("year %d", y)
	case r.Time > d.limit:
		return device.SkipBadDate, fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d is more than a day after the clock's (or this computer's) time %s", y, mo, day, h, mi, s, d.clockNow.Format("2006-01-02 15:04:05"))
	case (d.size == AttRecord40 || d.size == AttRecord49) && !printableID(r.UserID):
		return device.SkipMalformed, fmt.Sprintf("user id %q has control bytes (misaligned records?)", r.UserID)
	case d.size != AttRecord8 && r.UserID == "":
		return device.SkipMalformed, "no user id"
	}
	return "", ""
}

// checkDates applies the read's rule to decoded records: an error when more than half of them are
// implausible.
func checkDates(recs []AttRecord, size int, clockNow time.Time) error {
	d := newRecordCheck(size, clockNow)
	bad, first := 0, ""
	for i, r := range recs {
		if reason, detail := d.implausible(r); reason != "" {
			if bad++; bad == 1 {
				first = fmt.Sprintf("record %d: %s", i, detail)
			}
		}
	}
	if bad*2 > len(recs) {
		return fmt.Errorf("%w: %d of %d records, first is %s", ErrImplausibleDates, bad, len(recs), first)
	}
	return nil
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
