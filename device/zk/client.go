package zk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/jinbi/punchd/device"
)

var (
	_ device.Clock       = (*Client)(nil)
	_ device.UserReader  = (*Client)(nil)
	_ device.TimeGetter  = (*Client)(nil)
	_ device.TimeSetter  = (*Client)(nil)
	_ device.Listener    = (*Client)(nil)
	_ device.LogClearer  = (*Client)(nil)
	_ device.LogReader   = (*Client)(nil)
	_ device.LogStreamer = (*Client)(nil)
)

func init() {
	device.Register("zk+tcp", func(ctx context.Context, u *url.URL, o device.Options) (device.Clock, error) {
		return DialTCP(ctx, hostPort(u), o)
	})
	device.Register("zk+udp", func(ctx context.Context, u *url.URL, o device.Options) (device.Clock, error) {
		return DialUDP(ctx, hostPort(u), o)
	})
	device.Register("zk+serial", func(ctx context.Context, u *url.URL, o device.Options) (device.Clock, error) {
		path, err := device.SerialPort(u)
		if err != nil {
			return nil, err
		}
		baud, id, err := device.SerialParams(u)
		if err != nil {
			return nil, err
		}
		return DialSerial(ctx, path, baud, uint8(id), o)
	})
}

// DefaultPort is the ZK protocol port, used when a URL names none.
const DefaultPort = "4370"

func hostPort(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), DefaultPort)
	}
	return u.Host
}

// DefaultHeartbeat is how often Listen checks the link (GET_TIME) when Client.Heartbeat is zero.
const DefaultHeartbeat = 25 * time.Second

// transport moves inner packets to and from one clock.
type transport interface {
	// send writes one packet; it honours ctx (deadline / cancel) for the write.
	send(ctx context.Context, p Packet) error
	// recv blocks for the next packet. ErrChecksum means one bad packet was dropped and the
	// transport is still usable; any other error is final.
	recv() (Packet, error)
	// acquire gives exclusive use of a shared medium (an RS485 bus) for one operation.
	acquire(ctx context.Context) (release func(), err error)
	close() error
	chunkSize() int  // READ_BUFFER chunk length
	datagram() bool  // retransmit with the same reply id on a timeout
	lossy() bool     // packets get lost (UDP): resend after a few round trips, not the whole timeout
	name() string    // how errors name the clock
	maxPayload() int // largest payload the clock accepts in one request
}

// Stats counts what a client saw on the wire; metrics read them.
type Stats struct {
	Commands       uint64 // commands sent (not counting retransmissions)
	Retransmits    uint64 // same-reply-id resends (UDP/serial timeouts, ACK_RETRY)
	ChunkRetries   uint64 // READ_BUFFER chunks asked for again
	BadChecksums   uint64 // packets dropped for a bad checksum
	StrayPackets   uint64 // replies to an earlier, abandoned request, dropped
	Events         uint64 // realtime events received (all kinds)
	EventsDropped  uint64 // events dropped because nobody was listening fast enough
	UnknownEvents  uint64 // EF_ATTLOG payloads of unknown length or with impossible times
	InvalidEvents  uint64 // EF_ATTLOG events the clock flagged invalid/repeat (not delivered)
	UnmappedUIDs   uint64 // 8-byte records whose uid is not in the user table
	LastUnknownLen int    // length of the last unknown EF_ATTLOG payload
}

type stats struct {
	commands, retransmits, chunkRetries, badChecksums, strays       atomic.Uint64
	events, eventsDropped, unknownEvents, invalidEvents, unmappedID atomic.Uint64
	lastUnknownLen                                                  atomic.Int64
}

// Client is a connected ZK clock. It is safe for concurrent use: calls are serialised (one command
// in flight, as the clock serves one at a time); Listen may run beside them on the same
// connection. One background goroutine reads the connection and routes realtime events (ACKed at
// once) apart from replies.
type Client struct {
	// Heartbeat is how often Listen checks that the clock still answers; zero means
	// DefaultHeartbeat. Set it before calling Listen.
	Heartbeat time.Duration

	t       transport
	opts    device.Options
	log     *slog.Logger
	enc     encoding.Encoding
	sem     chan struct{} // one operation at a time
	session atomic.Uint32 // set once, from the CONNECT reply; read by the reader for event ACKs
	reply   uint16        // reply id of the last command sent

	replies   chan reply
	events    chan Packet
	dead      chan struct{}
	deadErr   error
	closeOnce sync.Once
	closed    atomic.Bool
	listening atomic.Bool

	serialNo   string
	release    func() // frees the process-wide claim on the clock's address
	timer      *time.Timer
	recordSize int // bytes per attendance record, once a read has shown it
	userSize   int // bytes per user entry, once known
	st         stats

	// On a lossy link (UDP): the smoothed round trip of answered commands and the smoothed gap
	// between data packets, from which the waits before a resend are set (used under sem).
	srtt, gap time.Duration
	progress  func(done, total int)
}

// reply is a packet from the clock for the request in flight; bad marks one dropped for its
// checksum (Packet holds what its header said), so the waiter can ask again at once.
type reply struct {
	p   Packet
	bad bool
}

// DialTCP connects to a clock at host:port over TCP.
func DialTCP(ctx context.Context, addr string, opts device.Options) (*Client, error) {
	opts, err := fillOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("clock %s: %w", addr, err)
	}
	release, err := claim("tcp|" + addr)
	if err != nil {
		return nil, fmt.Errorf("clock %s: connect: %w", addr, err)
	}
	t, err := dialTCP(ctx, addr, opts.Timeout)
	if err != nil {
		release()
		return nil, fmt.Errorf("clock %s: connect: %w", addr, err)
	}
	return start(ctx, t, opts, release)
}

// DialUDP opens a UDP session with a clock at host:port (one local port for the whole session,
// as the clock keys sessions by sender address).
func DialUDP(ctx context.Context, addr string, opts device.Options) (*Client, error) {
	opts, err := fillOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("clock %s: %w", addr, err)
	}
	release, err := claim("udp|" + addr)
	if err != nil {
		return nil, fmt.Errorf("clock %s: connect: %w", addr, err)
	}
	t, err := dialUDP(ctx, addr)
	if err != nil {
		release()
		return nil, fmt.Errorf("clock %s: connect: %w", addr, err)
	}
	return start(ctx, t, opts, release)
}

// DialSerial opens a session with clock id on a serial port (RS232, or RS485 shared with other
// clocks: the port is opened once per process and access is serialised).
func DialSerial(ctx context.Context, path string, baud int, id uint8, opts device.Options) (*Client, error) {
	name := fmt.Sprintf("%s#%d", path, id)
	opts, err := fillOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("clock %s: %w", name, err)
	}
	t, err := openSerial(path, baud, id)
	if err != nil {
		return nil, fmt.Errorf("clock %s: open: %w", name, err)
	}
	return start(ctx, t, opts, nil)
}

func fillOptions(o device.Options) (device.Options, error) {
	o = o.WithDefaults()
	if _, err := htmlindex.Get(o.Encoding); err != nil {
		return o, fmt.Errorf("%w: unknown encoding %q", device.ErrBadURL, o.Encoding)
	}
	return o, nil
}

var (
	openMu sync.Mutex
	open   = map[string]bool{}
)

// claim marks a network address as in use by this process until release.
func claim(key string) (release func(), err error) {
	openMu.Lock()
	defer openMu.Unlock()
	if open[key] {
		return nil, ErrInUse
	}
	open[key] = true
	return func() {
		openMu.Lock()
		delete(open, key)
		openMu.Unlock()
	}, nil
}

// start runs the reader and CONNECT; release (may be nil) runs when the client ends, or now if
// it never starts.
func start(ctx context.Context, t transport, opts device.Options, release func()) (*Client, error) {
	enc, _ := htmlindex.Get(opts.Encoding)
	c := &Client{
		t:       t,
		opts:    opts,
		log:     opts.Logger.With("device", t.name()),
		enc:     enc,
		sem:     make(chan struct{}, 1),
		replies: make(chan reply, 1024),
		events:  make(chan Packet, 256),
		dead:    make(chan struct{}),
		release: release,
	}
	c.Heartbeat = opts.Heartbeat
	go c.readLoop()
	if err := c.connect(ctx, false); err != nil {
		c.shutdown(err)
		return nil, err
	}
	return c, nil
}

// Name is how the client names its clock in errors and logs (host:port, or path#id).
func (c *Client) Name() string { return c.t.name() }

// Session is the session id the clock gave on CONNECT.
func (c *Client) Session() uint16 { return uint16(c.session.Load()) }

// Stats returns a snapshot of the wire counters.
func (c *Client) Stats() Stats {
	return Stats{
		Commands: c.st.commands.Load(), Retransmits: c.st.retransmits.Load(), ChunkRetries: c.st.chunkRetries.Load(),
		BadChecksums: c.st.badChecksums.Load(), StrayPackets: c.st.strays.Load(), Events: c.st.events.Load(),
		EventsDropped: c.st.eventsDropped.Load(), UnknownEvents: c.st.unknownEvents.Load(),
		InvalidEvents: c.st.invalidEvents.Load(), UnmappedUIDs: c.st.unmappedID.Load(),
		LastUnknownLen: int(c.st.lastUnknownLen.Load()),
	}
}

// wrap names the clock and the step.
func (c *Client) wrap(step string, err error) error {
	return fmt.Errorf("clock %s: %s: %w", c.t.name(), step, err)
}

// readLoop is the one reader of the connection: events are ACKed and queued for Listen,
// everything else goes to the pending request.
func (c *Client) readLoop() {
	for {
		p, err := c.t.recv()
		if err != nil {
			if errors.Is(err, ErrChecksum) {
				c.st.badChecksums.Add(1)
				c.log.Debug("dropped packet with bad checksum", "err", err)
				// Tell the request in flight, if it is its reply: it asks again instead of
				// waiting out a timeout. The header may be what was damaged; then nobody
				// waits for that reply id and the marker is dropped as a stray.
				select {
				case c.replies <- reply{p: Packet{Cmd: p.Cmd, Session: p.Session, Reply: p.Reply}, bad: true}:
				default:
				}
				continue
			}
			if c.closed.Load() {
				err = ErrClosed
			}
			c.shutdown(err)
			return
		}
		if p.Cmd == CmdRegEvent {
			c.st.events.Add(1)
			// ACK at once, echoing the queue index, so the clock moves on to the next event.
			ack := Packet{Cmd: AckOK, Session: c.Session(), Reply: p.Reply}
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
			if err := c.t.send(ctx, ack); err != nil {
				c.log.Warn("event ack failed", "err", err)
			}
			cancel()
			select {
			case c.events <- p:
			default:
				c.st.eventsDropped.Add(1)
			}
			continue
		}
		select {
		case c.replies <- reply{p: p}:
		case <-c.dead:
			return
		}
	}
}

// shutdown records why the connection ended and releases the transport (once).
func (c *Client) shutdown(err error) {
	c.closeOnce.Do(func() {
		if err == nil {
			err = ErrClosed
		}
		c.deadErr = err
		// The address is released before dead is closed: a caller that sees the session end
		// (and redials at once, as after a dropped connection) never finds it still claimed.
		c.t.close()
		if c.release != nil {
			c.release()
		}
		close(c.dead)
	})
}

func (c *Client) deadError() error {
	if errors.Is(c.deadErr, ErrClosed) {
		return c.deadErr
	}
	// One sentinel: the call failed because the connection is closed (the cause is in the text;
	// the call that met it returned it already), so it counts under one reason, "closed".
	return fmt.Errorf("%w: %v", ErrClosed, c.deadErr)
}

// lock takes the client (one operation at a time) and the medium.
func (c *Client) lock(ctx context.Context) (func(), error) {
	select {
	case <-c.dead:
		return nil, c.deadError()
	default:
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.dead:
		return nil, c.deadError()
	}
	rel, err := c.t.acquire(ctx)
	if err != nil {
		<-c.sem
		return nil, err
	}
	return func() { rel(); <-c.sem }, nil
}

// errCorrupt: the reply to the request in flight arrived with a bad checksum and was dropped.
var errCorrupt = fmt.Errorf("%w: the reply arrived damaged", ErrChecksum)

// next waits for the next reply packet carrying reply id want. Packets for other reply ids are
// leftovers of abandoned requests and are dropped; a damaged one for want is errCorrupt. timeout
// bounds the wait (per packet).
func (c *Client) next(ctx context.Context, want uint16, timeout time.Duration) (Packet, error) {
	// One timer per client, reused: next runs only under the client's lock, thousands of times
	// in a large read.
	if c.timer == nil {
		c.timer = time.NewTimer(timeout)
	} else {
		c.timer.Reset(timeout)
	}
	timer := c.timer
	defer timer.Stop()
	take := func(r reply) (Packet, error, bool) {
		if r.p.Reply != want {
			c.st.strays.Add(1)
			c.log.Debug("dropped stray packet", "packet", r.p.String(), "want_reply", want, "damaged", r.bad)
			return Packet{}, nil, false
		}
		if r.bad {
			return Packet{}, errCorrupt, true
		}
		return r.p, nil, true
	}
	for {
		select {
		case r := <-c.replies:
			if p, err, ok := take(r); ok {
				return p, err
			}
		case <-timer.C:
			return Packet{}, fmt.Errorf("%w after %v", ErrTimeout, timeout)
		case <-ctx.Done():
			return Packet{}, ctx.Err()
		case <-c.dead:
			// Drain what arrived before the end.
			select {
			case r := <-c.replies:
				if p, err, ok := take(r); ok {
					return p, err
				}
				continue
			default:
			}
			return Packet{}, c.deadError()
		}
	}
}

// exchange sends a new command (fresh reply id) and returns the first reply. On a datagram
// transport a timeout resends the same packet (same reply id: the clock replays its cached reply
// instead of running the command twice); so does a damaged reply on any transport, and ACK_RETRY
// (serial FIFO overflow).
func (c *Client) exchange(ctx context.Context, cmd uint16, payload []byte) (Packet, error) {
	c.reply++ // wraps 65535 → 0, and 65535 itself is sent, as the firmware expects (§1.5)
	p := Packet{Cmd: cmd, Session: c.Session(), Reply: c.reply, Payload: payload}
	return c.roundTrip(ctx, p)
}

func (c *Client) roundTrip(ctx context.Context, p Packet) (Packet, error) {
	tries := 1
	if c.t.datagram() {
		tries = 3
	}
	return c.roundTripN(ctx, p, tries)
}

// roundTripN sends p and waits for its first reply, sending it up to tries times on timeouts
// (and up to three times for damaged replies or ACK_RETRY). On a lossy link the waits start at a
// few round trips and double, within the same total as tries full timeouts.
func (c *Client) roundTripN(ctx context.Context, p Packet, tries int) (Packet, error) {
	c.st.commands.Add(1)
	var lastErr error
	budget := time.Duration(tries) * c.opts.Timeout
	wait := c.resendWait()
	sawBad := false
	for attempt := 0; attempt < max(tries, 3) || c.t.lossy() && budget > 0; attempt++ {
		if attempt > 0 {
			c.st.retransmits.Add(1)
		}
		sent := time.Now()
		if err := c.t.send(ctx, p); err != nil {
			if ctx.Err() != nil {
				return Packet{}, ctx.Err()
			}
			select {
			case <-c.dead:
				return Packet{}, c.deadError()
			default:
			}
			return Packet{}, err
		}
		w := c.opts.Timeout
		switch {
		case c.t.lossy():
			w = min(wait, budget)
			wait = min(2*wait, c.opts.Timeout)
		case attempt+1 < tries:
			w = c.resendWait()
		}
		r, err := c.next(ctx, p.Reply, w)
		budget -= time.Since(sent)
		if err != nil {
			if errors.Is(err, ErrChecksum) {
				sawBad = true
			}
			if errors.Is(err, ErrTimeout) && sawBad {
				err = fmt.Errorf("%w (no undamaged reply came)", errCorrupt) // it answers: not a silent clock
			}
			lastErr = err
			if errors.Is(err, ErrTimeout) && (attempt+1 < tries || c.t.lossy() && budget > 0) || errors.Is(err, ErrChecksum) && attempt+1 < max(tries, 3) {
				continue
			}
			if errors.Is(err, ErrChecksum) && c.t.lossy() && budget > 0 {
				continue
			}
			return Packet{}, err
		}
		if attempt == 0 {
			c.observeRTT(time.Since(sent)) // Karn: only replies to a packet sent once
		}
		if r.Cmd == AckRetry {
			lastErr = fmt.Errorf("%w: clock asked for a resend (ACK_RETRY)", ErrRefused)
			continue
		}
		if r.Cmd == AckUnauth && p.Cmd != CmdAuth && p.Cmd != CmdConnect {
			return r, fmt.Errorf("%w: clock answered ACK_UNAUTH", ErrUnauthorized)
		}
		return r, nil
	}
	return Packet{}, lastErr
}

// observeRTT folds a round trip into the smoothed one (datagram links only).
func (c *Client) observeRTT(d time.Duration) {
	if !c.t.lossy() {
		return
	}
	if c.srtt == 0 {
		c.srtt = d
	} else {
		c.srtt += (d - c.srtt) / 8
	}
}

// resendWait is how long a datagram request waits for its first reply before it is sent again:
// four smoothed round trips, at least 2 ms, at most the configured timeout (all of it until a
// round trip has been measured).
func (c *Client) resendWait() time.Duration {
	if c.srtt == 0 {
		return c.opts.Timeout
	}
	return min(max(4*c.srtt, 2*time.Millisecond), c.opts.Timeout)
}

// packetWait is how long a multi-packet transfer waits for its next packet: the configured timeout
// on a stream; on a datagram link, where a lost packet never comes, four times the larger of the
// smoothed packet gap and round trip (at least 2 ms).
func (c *Client) packetWait() time.Duration {
	if !c.t.lossy() || c.srtt == 0 {
		return c.opts.Timeout
	}
	return min(max(4*max(c.gap, c.srtt), 2*time.Millisecond), c.opts.Timeout)
}

// ackName names reply codes in errors.
func ackName(cmd uint16) string {
	switch cmd {
	case AckOK:
		return "ACK_OK"
	case AckError:
		return "ACK_ERROR"
	case AckData:
		return "ACK_DATA"
	case AckRetry:
		return "ACK_RETRY"
	case AckRepeat:
		return "ACK_REPEAT"
	case AckUnauth:
		return "ACK_UNAUTH"
	case AckUnknown:
		return "ACK_UNKNOWN"
	case AckErrorCmd:
		return "ACK_ERROR_CMD"
	case AckErrorInit:
		return "ACK_ERROR_INIT"
	case AckErrorData:
		return "ACK_ERROR_DATA"
	case CmdData:
		return "CMD_DATA"
	case CmdPrepareData:
		return "CMD_PREPARE_DATA"
	}
	return "reply " + strconv.Itoa(int(cmd))
}

// simple runs a command that must answer ACK_OK and returns the payload.
func (c *Client) simple(ctx context.Context, cmd uint16, payload []byte) ([]byte, error) {
	r, err := c.exchange(ctx, cmd, payload)
	if err != nil {
		return nil, err
	}
	if r.Cmd != AckOK {
		return nil, fmt.Errorf("%w: %s", ErrRefused, ackName(r.Cmd))
	}
	return r.Payload, nil
}

// connect runs CONNECT (and AUTH when the clock wants the comm key). The first CONNECT goes with
// reply id 0 and session 0; a reconnect keeps counting up (a clock that kept the session would
// drop a lower reply id) and still sends session 0.
func (c *Client) connect(ctx context.Context, again bool) error {
	if again {
		c.reply++
	} else {
		c.reply = 0
	}
	p := Packet{Cmd: CmdConnect, Reply: c.reply}
	r, err := c.roundTrip(ctx, p)
	if err != nil {
		if errors.Is(err, ErrTimeout) {
			return c.wrap("connect", fmt.Errorf("%w (%v)", ErrNoAnswer, err))
		}
		if errors.Is(err, ErrChecksum) {
			// Not busy, not unreachable: it answers, and every answer is damaged.
			return c.wrap("connect", fmt.Errorf("the clock answers, but every reply failed its checksum (%d dropped): %w", c.st.badChecksums.Load(), err))
		}
		return c.wrap("connect", err)
	}
	c.session.Store(uint32(r.Session)) // the only place the session id is taken from (§1.6)
	switch r.Cmd {
	case AckOK:
		return nil
	case AckUnauth:
	default:
		return c.wrap("connect", fmt.Errorf("%w: %s", ErrRefused, ackName(r.Cmd)))
	}
	if c.opts.CommKey == 0 {
		return c.wrap("connect", fmt.Errorf("%w: the clock requires a comm key and none is configured (comm_key=…)", ErrUnauthorized))
	}
	key := CommKey(c.opts.CommKey, c.Session(), 50)
	r, err = c.exchange(ctx, CmdAuth, key[:])
	if err != nil {
		return c.wrap("auth", err)
	}
	if r.Cmd != AckOK {
		return c.wrap("auth", fmt.Errorf("%w: %s to comm key %d", ErrUnauthorized, ackName(r.Cmd), c.opts.CommKey))
	}
	return nil
}

// reconnect opens a new session on the same transport (datagram links keep their socket or
// port; a clock that restarted or dropped the session answers a fresh CONNECT).
func (c *Client) reconnect(ctx context.Context) error {
	if err := c.connect(ctx, true); err != nil {
		return err
	}
	c.serialNo = ""
	return nil
}

// Close ends the session (EXIT) and closes the transport. It does not wait longer than the
// request timeout for a call in progress.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	var err error
	if unlock, lerr := c.lock(ctx); lerr == nil {
		if _, e := c.simple(ctx, CmdExit, nil); e != nil && !errors.Is(e, ErrClosed) {
			err = c.wrap("exit", e)
		}
		unlock()
	}
	c.shutdown(ErrClosed)
	return err
}

// op runs f holding the client, naming the step on error.
func (c *Client) op(ctx context.Context, step string, f func() error) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return c.wrap(step, err)
	}
	defer unlock()
	if err := f(); err != nil {
		return c.wrap(step, err)
	}
	return nil
}

// Option reads one option ("~SerialNumber", "MAC" …). An option the clock does not know gives ""
// and no error.
func (c *Client) Option(ctx context.Context, name string) (string, error) {
	var v string
	err := c.op(ctx, "read option "+name, func() (err error) { v, err = c.option(ctx, name); return })
	return v, err
}

func (c *Client) option(ctx context.Context, name string) (string, error) {
	r, err := c.exchange(ctx, CmdOptionsRRQ, append([]byte(name), 0))
	if err != nil {
		return "", err
	}
	if r.Cmd != AckOK {
		return "", nil
	}
	s := cString(r.Payload)
	if k, v, ok := strings.Cut(s, "="); ok && k == name {
		return v, nil
	}
	return s, nil
}

func (c *Client) freeSizes(ctx context.Context) (FreeSizes, error) {
	b, err := c.simple(ctx, CmdGetFreeSizes, nil)
	if err != nil {
		return FreeSizes{}, err
	}
	return DecodeFreeSizes(b)
}

// FreeSizes reads the counts and capacities (GET_FREE_SIZES).
func (c *Client) FreeSizes(ctx context.Context) (FreeSizes, error) {
	var f FreeSizes
	err := c.op(ctx, "read free sizes", func() (err error) { f, err = c.freeSizes(ctx); return })
	return f, err
}

func (c *Client) getTime(ctx context.Context) (time.Time, uint32, error) {
	b, err := c.simple(ctx, CmdGetTime, nil)
	if err != nil {
		return time.Time{}, 0, err
	}
	if len(b) < 4 {
		return time.Time{}, 0, fmt.Errorf("%w: GET_TIME reply of %d bytes", ErrShort, len(b))
	}
	v := binary.LittleEndian.Uint32(b)
	return DecodeTime(v, c.opts.Location), v, nil
}

// Time reads the clock's wall time, in the configured zone.
func (c *Client) Time(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := c.op(ctx, "read time", func() (err error) { t, _, err = c.getTime(ctx); return })
	return t, err
}

// SetTime sets the clock's wall time to t as seen in the configured zone, then REFRESHDATA.
func (c *Client) SetTime(ctx context.Context, t time.Time) error {
	lt := t.In(c.opts.Location)
	if y := lt.Year(); y < 2000 || y > 2133 {
		return c.wrap("set time", fmt.Errorf("%w: year %d outside the clock's 2000..2133", ErrBadTime, y))
	}
	v := EncodeTime(lt)
	return c.op(ctx, "set time", func() error {
		if _, err := c.simple(ctx, CmdSetTime, binary.LittleEndian.AppendUint32(nil, v)); err != nil {
			return err
		}
		_, err := c.simple(ctx, CmdRefreshData, nil)
		return err
	})
}

// DisableDevice locks the clock's keypad and sensor ("Working…"). With idle > 0 the clock
// re-enables itself after that long without session activity, so a client that dies cannot leave
// it locked.
func (c *Client) DisableDevice(ctx context.Context, idle time.Duration) error {
	var payload []byte
	if idle > 0 {
		payload = binary.LittleEndian.AppendUint32(nil, uint32((idle+time.Second-1)/time.Second))
	}
	return c.op(ctx, "disable device", func() error { _, err := c.simple(ctx, CmdDisableDevice, payload); return err })
}

// EnableDevice unlocks the clock after DisableDevice.
func (c *Client) EnableDevice(ctx context.Context) error {
	return c.op(ctx, "enable device", func() error { _, err := c.simple(ctx, CmdEnableDevice, nil); return err })
}

// ClearLog erases the attendance log (CLEAR_ATTLOG, then REFRESHDATA). Only call it after every
// punch is durably stored.
func (c *Client) ClearLog(ctx context.Context) error {
	return c.op(ctx, "clear attendance log", func() error {
		if _, err := c.simple(ctx, CmdClearAttLog, nil); err != nil {
			return err
		}
		_, err := c.simple(ctx, CmdRefreshData, nil)
		return err
	})
}

// Info reads identity, counts, capacities and time. Options the clock does not know are left empty.
func (c *Client) Info(ctx context.Context) (device.Info, error) {
	var info device.Info
	unlock, err := c.lock(ctx)
	if err != nil {
		return info, c.wrap("read info", err)
	}
	defer unlock()
	r, err := c.exchange(ctx, CmdGetVersion, nil)
	if err != nil {
		return info, c.wrap("read firmware version", err)
	}
	if r.Cmd == AckOK {
		info.Firmware = cString(r.Payload)
	}
	for _, o := range []struct {
		name string
		dst  *string
	}{{"~SerialNumber", &info.Serial}, {"~Platform", &info.Platform}, {"~DeviceName", &info.DeviceName}, {"MAC", &info.MAC}} {
		if *o.dst, err = c.option(ctx, o.name); err != nil {
			return info, c.wrap("read option "+o.name, err)
		}
	}
	if info.Serial != "" {
		c.serialNo = info.Serial
	}
	r, err = c.exchange(ctx, CmdGetPinWidth, nil)
	if err != nil {
		return info, c.wrap("read PIN width", err)
	}
	if r.Cmd == AckOK && len(r.Payload) >= 1 {
		info.PINWidth = int(r.Payload[0])
	} else {
		w, err := c.option(ctx, "~PIN2Width")
		if err != nil {
			return info, c.wrap("read option ~PIN2Width", err)
		}
		info.PINWidth, _ = strconv.Atoi(strings.TrimSpace(w))
	}
	fs, err := c.freeSizes(ctx)
	if err != nil {
		return info, c.wrap("read free sizes", err)
	}
	info.Users, info.UserCapacity, info.Fingers, info.FingerCap = fs.Users, fs.UserCap, fs.Fingers, fs.FingerCap
	info.Records, info.RecordCap, info.Faces, info.FaceCap = fs.Records, fs.RecordCap, fs.Faces, fs.FaceCap
	info.Admins, info.OpLogs = fs.Admins, fs.OpLogs
	info.RecordSize, info.UserEntrySize = c.recordSize, c.userSize
	if info.Time, _, err = c.getTime(ctx); err != nil {
		return info, c.wrap("read time", err)
	}
	return info, nil
}

func (c *Client) serialNumber(ctx context.Context) (string, error) {
	if c.serialNo != "" {
		return c.serialNo, nil
	}
	s, err := c.option(ctx, "~SerialNumber")
	if err != nil {
		return "", err
	}
	c.serialNo = s
	return s, nil
}

// decodeName turns code-page bytes into a string; bytes the code page cannot map become U+FFFD.
func (c *Client) decodeName(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s, err := c.enc.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(s) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}
