// Package zksim is the device side of the ZK protocol: a simulated ZKTeco-family time clock that
// serves TCP, UDP and a pty (serial wrapper) on loopback, for cmd/zkclock and for tests.
//
// It behaves as the firmware notes in shared/zk-protocol.md describe (§1.5–1.7, §2, §3, §8), not as
// any client expects: sessions are created only by CONNECT and unknown sessions are ignored, a
// repeated reply id replays the cached last reply (after a multi-packet transfer that is only the
// final ACK), a lower reply id and a bad checksum are dropped silently, a comm key gates every
// command behind AUTH, an empty log answers ACK_ERROR, UDP is limited to 1032-byte datagrams and
// 1024-byte data packets, and multi-packet data carries the packet index in the session field.
// Like the real device it runs one command at a time (one main loop) and serves one TCP client at
// a time. ServeBus puts several clocks on one RS485 line (one pty), addressed by device id.
//
// Timing: by default packets leave as fast as the socket takes them (frames of an unpaced TCP or
// serial transfer are written in batches; the bytes on the wire are the same). Config.Pacing and
// Config.ReplyDelay give a real clock's timing (~20 ms per data packet, a few ms per reply), which
// the npm clients need: they handle one TCP frame per read event.
//
// It also generates realistic office data (Generate), writes and loads the ground truth as JSON,
// injects punches (realtime events) and faults (pacing, a dropped connection, a corrupted packet,
// a busy clock, impossible dates, a cleared log, clock drift).
//
// It owns no client logic and must not import the client in device/zk beyond the frame and record
// codec, which both sides share.
package zksim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jinbi/punchd/device/zk"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Config is the clock to simulate. Zero fields take the defaults of Default.
type Config struct {
	Serial     string // ~SerialNumber
	Firmware   string // GET_VERSION
	Platform   string // ~Platform
	DeviceName string // ~DeviceName
	MAC        string
	PINWidth   int // ~PIN2Width and GET_PINWIDTH; default 24 when some id needs it, else 9

	UserSize     int    // bytes per user entry: 72 (default) or 28
	RecordSize   int    // bytes per attendance record: 40 (default), 16 or 8
	FreeSizesLen int    // GET_FREE_SIZES reply length: 92 (default) or 80
	CommKey      uint32 // 0 = none
	DeviceID     uint8  // serial wrapper id; default 1
	RS485        bool   // ignore serial frames addressed to another device id
	PacketSize   int    // CMD_DATA payload per packet over TCP; default 1008 (UDP and serial: 1024)
	EventLen     int    // EF_ATTLOG payload length; default 36
	UserCap      int    // default 3000
	RecordCap    int    // default 100000 (raised to the record count if smaller)
	FingerCap    int    // default 10000
	FaceCap      int    // default 0
	Pacing       time.Duration
	ReplyDelay   time.Duration
	Offset       time.Duration  // the clock's time = host time + Offset
	Location     *time.Location // the clock's zone; default Asia/Shanghai
	Data         Data
	Faults       Faults
	Logger       *slog.Logger
	Now          func() time.Time // host clock; default time.Now
	WriteTimeout time.Duration    // give up on a client that does not read; default 10s
	// SerialFrameTimeout discards a serial frame that started but did not finish in time; default 500ms.
	SerialFrameTimeout time.Duration
}

// Faults are injected misbehaviours; set them at start (Config.Faults) or at run time (SetFaults).
type Faults struct {
	// DropAfterPackets closes the connection after this many CMD_DATA packets of a multi-packet
	// transfer (UDP and serial: stops sending and forgets the session). 0 = off.
	DropAfterPackets int
	// CorruptPacket flips one payload byte of this CMD_DATA packet (1-based) of a multi-packet
	// transfer, leaving its checksum wrong. 0 = off.
	CorruptPacket int
	// Once clears DropAfterPackets and CorruptPacket after they fired once.
	Once bool
	// Busy makes the clock ignore CONNECT, as the firmware does while someone uses its keypad.
	Busy bool
	// CorruptEvery damages data packets (CMD_DATA, inline or in a transfer) at random, one in this
	// many on average, as a noisy line does: the packet leaves with a wrong checksum, and the
	// clock's replay cache keeps the good one. 0 = off.
	CorruptEvery int
	// LoseEvery loses UDP datagrams at random, in both directions, one in this many on average.
	// 0 = off.
	LoseEvery int
	// Seed makes the random faults repeatable; 0 is a fixed default seed.
	Seed uint64
	// BadChecksums makes every packet the clock sends carry a wrong checksum (a broken firmware
	// or a line that garbles everything): a client sees answers, none of them usable.
	BadChecksums bool
}

// Errors of this package.
var (
	// ErrConfig is wrapped by New for a config that cannot be served.
	ErrConfig = errors.New("zksim: bad config")
	// ErrUnknownUser is returned by InjectPunch for a user id not in the user table.
	ErrUnknownUser = errors.New("zksim: unknown user")
	// ErrNotLoopback is returned by ListenTCP/ListenUDP for an address that is not loopback.
	ErrNotLoopback = errors.New("zksim: refusing a non-loopback listen address")
)

// Default returns the defaults New applies to zero fields.
func Default() Config {
	return Config{
		Serial:       "CQZ7224460327",
		Firmware:     "Ver 6.60 Apr 28 2015",
		Platform:     "ZEM600_TFT",
		DeviceName:   "iClock360",
		MAC:          "00:17:61:10:4b:2e",
		UserSize:     zk.UserRecord72,
		RecordSize:   zk.AttRecord40,
		FreeSizesLen: 92,
		DeviceID:     1,
		PacketSize:   1008,
		EventLen:     36,
		UserCap:      3000,
		RecordCap:    100000,
		FingerCap:    10000,
		WriteTimeout: 10 * time.Second,

		SerialFrameTimeout: 500 * time.Millisecond,
	}
}

// Stats count what the simulator saw; tests use them to tell "dropped silently" from "lost".
type Stats struct {
	Connects        int // CONNECT packets answered
	Commands        int // commands executed
	Replays         int // repeated reply ids answered from the cache
	StaleDropped    int // lower reply ids dropped
	BadChecksum     int // packets dropped for a bad checksum
	UnknownSession  int // packets dropped for an unknown session
	Oversize        int // UDP datagrams over 1032 bytes dropped
	Unauthorized    int // commands answered ACK_UNAUTH
	BusyIgnored     int // CONNECTs ignored while busy
	Transfers       int // multi-packet transfers completed
	DataPackets     int // CMD_DATA packets sent in multi-packet transfers
	Dropped         int // connections dropped by the fault
	Corrupted       int // packets corrupted by the fault
	EventsSent      int
	EventsAcked     int
	SerialRetries   int // ACK_RETRY sent for broken serial frames
	SerialOtherID   int // serial frames for another device id ignored
	SerialTimeouts  int // serial frames discarded because they did not finish in time
	TCPConnections  int // TCP connections accepted
	ProtocolRejects int // commands answered ACK_ERROR for a malformed payload
	Lost            int // UDP datagrams lost by the LoseEvery fault
	BufferBytes     int // bytes of prepared buffers sent in answer to READ_BUFFER (record data moved)
	ReadBuffers     int // READ_BUFFER requests answered with data
}

// Sim is a simulated clock. Its methods are safe for concurrent use. Commands from all transports
// run one at a time, as on the device's single main loop.
type Sim struct {
	cfg Config
	log *slog.Logger
	gbk interface{ Bytes([]byte) ([]byte, error) }

	busy sync.Mutex // the device main loop: held while a command runs or an event is sent
	wbuf []byte     // frames of a transfer being batched; used only under busy

	rndMu sync.Mutex // the random faults' source
	rnd   *rand.Rand

	mu             sync.Mutex // state below
	users          []User
	records        []Record
	offset         time.Duration
	faults         Faults
	stats          Stats
	sessions       map[any]*session
	options        map[string]string
	disabled       bool
	disableUntil   time.Time
	disableTimeout time.Duration
	lastActivity   time.Time
	attBlob        []byte // cached encoded log (nil = stale)
	userBlob       []byte
	lastSessionID  uint16
}

// New validates cfg, applies defaults and encodes the data once to catch bad content early.
func New(cfg Config) (*Sim, error) {
	d := Default()
	if cfg.Serial == "" {
		cfg.Serial = d.Serial
	}
	if cfg.Firmware == "" {
		cfg.Firmware = d.Firmware
	}
	if cfg.Platform == "" {
		cfg.Platform = d.Platform
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName = d.DeviceName
	}
	if cfg.MAC == "" {
		cfg.MAC = d.MAC
	}
	for _, p := range []struct {
		v   *int
		def int
	}{{&cfg.UserSize, d.UserSize}, {&cfg.RecordSize, d.RecordSize}, {&cfg.FreeSizesLen, d.FreeSizesLen},
		{&cfg.PacketSize, d.PacketSize}, {&cfg.EventLen, d.EventLen}, {&cfg.UserCap, d.UserCap},
		{&cfg.RecordCap, d.RecordCap}, {&cfg.FingerCap, d.FingerCap}} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	if cfg.DeviceID == 0 {
		cfg.DeviceID = d.DeviceID
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.SerialFrameTimeout == 0 {
		cfg.SerialFrameTimeout = d.SerialFrameTimeout
	}
	if cfg.Location == nil {
		cfg.Location = defaultLocation()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PINWidth == 0 {
		cfg.PINWidth = 9
		for _, u := range cfg.Data.Users {
			if len(u.UserID) > 9 {
				cfg.PINWidth = 24
			}
		}
	}
	switch {
	case cfg.UserSize != 72 && cfg.UserSize != 28:
		return nil, fmt.Errorf("%w: user size %d (want 72 or 28)", ErrConfig, cfg.UserSize)
	case cfg.RecordSize != 40 && cfg.RecordSize != 16 && cfg.RecordSize != 8:
		return nil, fmt.Errorf("%w: record size %d (want 40, 16 or 8)", ErrConfig, cfg.RecordSize)
	case cfg.FreeSizesLen != 92 && cfg.FreeSizesLen != 80:
		return nil, fmt.Errorf("%w: free-sizes length %d (want 92 or 80)", ErrConfig, cfg.FreeSizesLen)
	case cfg.PacketSize < 1 || cfg.PacketSize > 64*1024-8:
		return nil, fmt.Errorf("%w: packet size %d (want 1..%d)", ErrConfig, cfg.PacketSize, 64*1024-8)
	case cfg.PINWidth < 1 || cfg.PINWidth > 24:
		return nil, fmt.Errorf("%w: PIN width %d (want 1..24)", ErrConfig, cfg.PINWidth)
	case cfg.Pacing < 0 || cfg.ReplyDelay < 0:
		return nil, fmt.Errorf("%w: negative pacing or reply delay", ErrConfig)
	case cfg.Faults.DropAfterPackets < 0 || cfg.Faults.CorruptPacket < 0 || cfg.Faults.CorruptEvery < 0 || cfg.Faults.LoseEvery < 0:
		return nil, fmt.Errorf("%w: negative fault packet number", ErrConfig)
	}
	if _, err := zk.EncodeAttEvent(cfg.EventLen, zk.Event{UserID: "1", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		return nil, fmt.Errorf("%w: event length %d: %v", ErrConfig, cfg.EventLen, err)
	}
	s := &Sim{
		cfg:      cfg,
		log:      cfg.Logger,
		gbk:      simplifiedchinese.GBK.NewEncoder(),
		users:    append([]User(nil), cfg.Data.Users...),
		records:  append([]Record(nil), cfg.Data.Records...),
		offset:   cfg.Offset,
		faults:   cfg.Faults,
		sessions: map[any]*session{},
		options:  map[string]string{},
	}
	s.seed(cfg.Faults.Seed)
	seen := map[string]bool{}
	for i, u := range s.users {
		if seen[u.UserID] {
			return nil, fmt.Errorf("%w: users[%d]: duplicate user id %q", ErrConfig, i, u.UserID)
		}
		seen[u.UserID] = true
		if u.UID == 0 {
			s.users[i].UID = uint16(i + 1)
		}
	}
	for i, r := range s.records {
		if !seen[r.UserID] {
			return nil, fmt.Errorf("%w: records[%d]: user id %q is not in the user table", ErrConfig, i, r.UserID)
		}
	}
	s.mu.Lock()
	_, err1 := s.userBlobLocked()
	_, err2 := s.attBlobLocked()
	s.mu.Unlock()
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return s, nil
}

// Config returns the effective configuration (after defaults).
func (s *Sim) Config() Config { return s.cfg }

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// SetFaults replaces the injected faults (and reseeds the random ones).
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	s.seed(f.Seed)
}

func (s *Sim) seed(seed uint64) {
	if seed == 0 {
		seed = 1
	}
	s.rndMu.Lock()
	s.rnd = rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	s.rndMu.Unlock()
}

// chance is true one time in n on average (never for n ≤ 0).
func (s *Sim) chance(n int) bool {
	if n <= 0 {
		return false
	}
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	return s.rnd.IntN(n) == 0
}

func (s *Sim) badSums() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.BadChecksums
}

// lose says whether the LoseEvery fault takes this datagram, and counts it.
func (s *Sim) lose() bool {
	s.mu.Lock()
	n := s.faults.LoseEvery
	s.mu.Unlock()
	if !s.chance(n) {
		return false
	}
	s.mu.Lock()
	s.stats.Lost++
	s.mu.Unlock()
	return true
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetOffset sets the clock's drift: its time = host time + d.
func (s *Sim) SetOffset(d time.Duration) {
	s.mu.Lock()
	s.offset = d
	s.mu.Unlock()
}

// Offset returns the clock's drift from the host.
func (s *Sim) Offset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// Now is the clock's own time, in its zone.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time {
	return s.cfg.Now().Add(s.offset).In(s.cfg.Location).Truncate(time.Second)
}

// Disabled reports whether the clock is disabled (DISABLEDEVICE) and its idle timeout has not run out.
func (s *Sim) Disabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disabledLocked()
}

func (s *Sim) disabledLocked() bool {
	if !s.disabled {
		return false
	}
	if !s.disableUntil.IsZero() && s.cfg.Now().After(s.disableUntil) {
		s.disabled = false
		return false
	}
	return true
}

// Data returns a copy of the clock's content.
func (s *Sim) Data() Data {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Data{Users: append([]User(nil), s.users...), Records: append([]Record(nil), s.records...)}
}

// Truth returns the ground truth: what a faithful reader of this clock must return now.
func (s *Sim) Truth() GroundTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	gt := GroundTruth{
		Info: TruthInfo{
			Serial: s.cfg.Serial, Firmware: s.cfg.Firmware, Platform: s.cfg.Platform,
			DeviceName: s.cfg.DeviceName, MAC: s.cfg.MAC, PINWidth: s.cfg.PINWidth,
			RecordSize: s.cfg.RecordSize, UserSize: s.cfg.UserSize,
			Users: len(s.users), Records: len(s.records), Timezone: s.cfg.Location.String(),
			CommKey: s.cfg.CommKey,
		},
		Users:   make([]TruthUser, 0, len(s.users)),
		Records: make([]TruthRecord, 0, len(s.records)),
	}
	for _, u := range s.users {
		gt.Users = append(gt.Users, TruthUser{UserID: u.UserID, Name: u.Name, Privilege: u.Privilege, Card: u.Card})
	}
	for _, r := range s.records {
		t := r.Time.In(s.cfg.Location)
		// The clock keeps whole seconds in its own zone; the truth says exactly that.
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, s.cfg.Location)
		gt.Records = append(gt.Records, TruthRecord{UserID: r.UserID, Time: t, State: r.State, Verify: r.Verify, WorkCode: r.WorkCode})
	}
	return gt
}

// RecordBytes returns the i-th attendance record (from 0) as the clock sends it, and the record
// count: what a reader's mark holds after reading the log up to it (benchmarks start from it
// without a whole read).
func (s *Sim) RecordBytes(i int) ([]byte, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	blob, err := s.attBlobLocked()
	if err != nil {
		return nil, 0, err
	}
	size := s.cfg.RecordSize
	if i < 0 || i >= len(s.records) {
		return nil, len(s.records), fmt.Errorf("%w: record %d of %d", ErrConfig, i, len(s.records))
	}
	return append([]byte(nil), blob[4+i*size:4+(i+1)*size]...), len(s.records), nil
}

// ClearLog erases the attendance log, as CLEAR_ATTLOG does.
func (s *Sim) ClearLog() {
	s.mu.Lock()
	s.records = nil
	s.attBlob = nil
	s.mu.Unlock()
}

// SetUsers replaces the user table, as enrolling, deleting or promoting users at the keypad does.
// A user without a UID gets the next free one.
func (s *Sim) SetUsers(users []User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := uint16(0)
	for _, u := range users {
		next = max(next, u.UID)
	}
	s.users = append([]User(nil), users...)
	for i := range s.users {
		if s.users[i].UID == 0 {
			next++
			s.users[i].UID = next
		}
	}
	s.userBlob, s.attBlob = nil, nil
}

// BadDates selects the kind of impossible record AppendBadDates adds.
type BadDates int

const (
	// Year2000 records carry packed time 0 (2000-01-01 00:00:00), as after a dead clock battery.
	Year2000 BadDates = iota + 1
	// FarFuture records are dated 2099.
	FarFuture
)

// AppendBadDates appends n records of the first user with impossible dates.
func (s *Sim) AppendBadDates(kind BadDates, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.users) == 0 {
		return fmt.Errorf("%w: no users to date wrongly", ErrUnknownUser)
	}
	var t time.Time
	switch kind {
	case Year2000:
		t = time.Date(2000, 1, 1, 0, 0, 0, 0, s.cfg.Location)
	case FarFuture:
		t = time.Date(2099, 7, 15, 9, 0, 0, 0, s.cfg.Location)
	default:
		return fmt.Errorf("%w: unknown bad-date kind %d", ErrConfig, kind)
	}
	for i := 0; i < n; i++ {
		s.records = append(s.records, Record{UserID: s.users[i%len(s.users)].UserID, Time: t.Add(time.Duration(i) * time.Minute), Verify: 1})
	}
	s.attBlob = nil
	return nil
}

// InjectPunch appends a record for userID at t (the clock's wall time in its zone is taken from t)
// and sends a realtime EF_ATTLOG event to every session registered for it. It waits for a running
// command to finish, as the device does.
func (s *Sim) InjectPunch(userID string, t time.Time, state, verify uint8) error {
	s.mu.Lock()
	found := false
	for _, u := range s.users {
		if u.UserID == userID {
			found = true
			break
		}
	}
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownUser, userID)
	}
	s.mu.Unlock()
	t = t.In(s.cfg.Location).Truncate(time.Second)
	payload, err := zk.EncodeAttEvent(s.cfg.EventLen, zk.Event{UserID: userID, Verify: verify, State: state, Time: t})
	if err != nil {
		return fmt.Errorf("zksim: inject punch for %q: %w", userID, err)
	}

	s.busy.Lock()
	defer s.busy.Unlock()
	s.mu.Lock()
	s.records = append(s.records, Record{UserID: userID, Time: t, State: state, Verify: verify})
	s.attBlob = nil
	var targets []*session
	for _, se := range s.sessions {
		if se.events&zk.EFAttLog != 0 && se.authed {
			targets = append(targets, se)
		}
	}
	s.mu.Unlock()
	for _, se := range targets {
		p := zk.Packet{Cmd: zk.CmdRegEvent, Session: zk.EFAttLog, Reply: 0, Payload: payload}
		if err := se.link.write(se.link.frame(nil, p)); err != nil {
			s.log.Debug("event not delivered", "session", se.id, "err", err)
			continue
		}
		s.mu.Lock()
		s.stats.EventsSent++
		se.unacked++
		s.mu.Unlock()
	}
	return nil
}

// userBlobLocked returns the encoded user table (u32 total + entries).
func (s *Sim) userBlobLocked() ([]byte, error) {
	if s.userBlob != nil {
		return s.userBlob, nil
	}
	recs := make([][]byte, 0, len(s.users))
	for i, u := range s.users {
		name, err := s.gbk.Bytes([]byte(u.Name))
		if err != nil {
			return nil, fmt.Errorf("users[%d] %q: name %q has no GBK encoding: %w", i, u.UserID, u.Name, err)
		}
		b, err := zk.EncodeUserRecord(s.cfg.UserSize, zk.UserRecord{UID: u.UID, Privilege: u.Privilege, Password: u.Password, Name: name, Card: u.Card, Group: u.Group, UserID: u.UserID})
		if err != nil {
			return nil, fmt.Errorf("users[%d] %q: %w", i, u.UserID, err)
		}
		recs = append(recs, b)
	}
	s.userBlob = zk.EncodeBlob(recs)
	return s.userBlob, nil
}

// attBlobLocked returns the encoded attendance log (u32 total + records).
func (s *Sim) attBlobLocked() ([]byte, error) {
	if s.attBlob != nil {
		return s.attBlob, nil
	}
	uids := make(map[string]uint16, len(s.users))
	for _, u := range s.users {
		uids[u.UserID] = u.UID
	}
	size := s.cfg.RecordSize
	out := make([]byte, 4, 4+size*len(s.records))
	for i, r := range s.records {
		t := r.Time.In(s.cfg.Location)
		if t.Year() < 2000 || t.Year() > 2133 {
			return nil, fmt.Errorf("records[%d]: time %s outside the clock's range 2000..2133", i, t.Format(time.RFC3339))
		}
		b, err := zk.EncodeAttRecord(size, zk.AttRecord{UID: uids[r.UserID], UserID: r.UserID, Verify: r.Verify, State: r.State, Time: zk.EncodeTime(t), WorkCode: r.WorkCode})
		if err != nil {
			return nil, fmt.Errorf("records[%d] %q: %w", i, r.UserID, err)
		}
		out = append(out, b...)
	}
	putU32(out, uint32(len(out)-4))
	s.attBlob = out
	return out, nil
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func itoa(n int) string { return strconv.Itoa(n) }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
