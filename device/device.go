// Package device defines what punchd needs from a time clock: the Clock interface, the Punch it
// yields, optional abilities found by type assertion, and a registry that builds a driver from a URL.
//
// It owns no wire protocol: drivers live in subpackages (device/zk) and register their URL schemes
// here. It must not import the store, the rules or anything above it.
package device

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Punch is one attendance record as the clock holds it, normalised: the user id is a string exactly
// as the clock shows it ("A1023" stays "A1023"), the time is the clock's wall time read in the
// configured zone. Raw keeps the record bytes as they came off the wire.
type Punch struct {
	Clock    string    // the clock's serial number (~SerialNumber)
	UserID   string    // the user id (PIN2) as a string
	Time     time.Time // local wall time in the clock's configured zone
	State    uint8     // in/out key as pressed (0 in, 1 out, 2 break out, 3 break in, 4 OT in, 5 OT out, …)
	Verify   uint8     // verify mode (0 password, 1 fingerprint, 2/4 card, 15 face, …)
	WorkCode uint32
	Raw      []byte // the record bytes as read (record or event payload)
}

// Verify methods: how a person proved who they were at the clock (VerifyMethod).
const (
	VerifyPassword    = "password"
	VerifyFingerprint = "fingerprint"
	VerifyCard        = "card"
	VerifyFace        = "face"
	VerifyPalm        = "palm"
	VerifyOther       = "other" // a code this table does not know (combined modes, vendor codes)
)

// VerifyMethod names a ZK verify code: 0 password, 1 fingerprint, 2 and 4 card, 15 face, 25 palm
// (../shared/zk-protocol.md §3; the same codes arrive in ZK PUSH ATTLOG lines). Firmware adds
// combined modes, so anything else is VerifyOther; Punch.Verify keeps the raw code.
func VerifyMethod(code uint8) string {
	switch code {
	case 0:
		return VerifyPassword
	case 1:
		return VerifyFingerprint
	case 2, 4:
		return VerifyCard
	case 15:
		return VerifyFace
	case 25:
		return VerifyPalm
	}
	return VerifyOther
}

// Key is the identity of a punch for deduplication: the same record read twice, or once by the pull
// and once as a realtime event, has the same key.
func (p Punch) Key() string {
	return fmt.Sprintf("%s|%s|%s|%d|%d", p.Clock, p.UserID, p.Time.Format("2006-01-02T15:04:05"), p.State, p.Verify)
}

// Info is what a clock says about itself.
type Info struct {
	Serial     string `json:"serial"`
	Firmware   string `json:"firmware"`
	Platform   string `json:"platform"`
	DeviceName string `json:"device_name"`
	MAC        string `json:"mac"`
	PINWidth   int    `json:"pin_width"`

	Users         int `json:"users"`
	UserCapacity  int `json:"user_capacity"`
	Fingers       int `json:"fingers"`
	FingerCap     int `json:"finger_capacity"`
	Records       int `json:"records"`
	RecordCap     int `json:"record_capacity"`
	Faces         int `json:"faces"`
	FaceCap       int `json:"face_capacity"`
	Admins        int `json:"admins"`
	OpLogs        int `json:"oplogs"`
	RecordSize    int `json:"record_size,omitempty"`     // bytes per attendance record, once known
	UserEntrySize int `json:"user_entry_size,omitempty"` // bytes per user entry, once known

	Time time.Time `json:"time"` // the clock's wall time in the configured zone, when read
}

// User is one entry of the clock's user table.
type User struct {
	UID       uint16 `json:"uid"` // device-internal index; not the employee id
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Privilege uint8  `json:"privilege"`
	Password  string `json:"-"`
	Card      uint32 `json:"card"`
	Group     uint8  `json:"group"`
	RawName   []byte `json:"-"`
}

// IDHex is a user id's bytes in hex when they are not valid UTF-8, else "": JSON would turn the
// bad bytes into U+FFFD, and two such ids would read alike.
func IDHex(id string) string {
	if utf8.ValidString(id) {
		return ""
	}
	return hex.EncodeToString([]byte(id))
}

// userJSON is User on the wire: the id's bytes in hex beside it when they are not text.
type userJSON struct {
	plainUser
	UserIDHex string `json:"user_id_hex,omitempty"`
}

type plainUser User

// MarshalJSON keeps an id that is not valid UTF-8 whole, as user_id_hex (IDHex).
func (u User) MarshalJSON() ([]byte, error) {
	return json.Marshal(userJSON{plainUser(u), IDHex(u.UserID)})
}

// UnmarshalJSON restores the id from user_id_hex when it is there.
func (u *User) UnmarshalJSON(b []byte) error {
	var j userJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.UserIDHex != "" {
		id, err := hex.DecodeString(j.UserIDHex)
		if err != nil {
			return fmt.Errorf("user_id_hex %q: %w", j.UserIDHex, err)
		}
		j.UserID = string(id)
	}
	*u = User(j.plainUser)
	return nil
}

// Clock is a connected time clock. Implementations serialise calls internally: one Clock may be
// used from several goroutines (a realtime listener and a periodic pull share one connection,
// because a clock serves one client at a time). Every method honours ctx: cancelling it makes a
// blocked call return promptly with ctx.Err() wrapped.
type Clock interface {
	// Info reads identity, counts and capacities, and the clock's time.
	Info(ctx context.Context) (Info, error)
	// Punches reads the whole attendance log, in the clock's order. It returns the exact log or an
	// error, never a partial list presented as complete.
	Punches(ctx context.Context) ([]Punch, error)
	// Close ends the session (EXIT) and releases the transport.
	Close() error
}

// Mark is where a read of a clock's log ended: how many records the log held and the raw bytes of
// the last one. A later read uses it to move only what follows (LogReader).
type Mark struct {
	Count int    // records on the clock
	Last  []byte // the last record's bytes as read; nil for an empty log
}

// Reasons a record read from a clock is skipped instead of becoming a punch (they are the reason
// labels of punchd_punches_rejected_total).
const (
	SkipBadDate   = "bad_date"  // a date that cannot be real: no such day, before 2001, after the clock's time
	SkipMalformed = "malformed" // a record whose fields do not decode (control bytes or nothing as the user id)
)

// Skipped is one record read but not turned into a punch.
type Skipped struct {
	Index  int    // position in the clock's log, from 0
	Reason string // SkipBadDate or SkipMalformed
	Detail string // what was wrong, for the operator
	Raw    []byte
}

// SkippedSummary names skipped records by position for a log line or a message ("record 7: year
// 2000 (bad_date); …"), at most max of them, then how many more.
func SkippedSummary(sk []Skipped, max int) string {
	var b strings.Builder
	for i, s := range sk {
		if i == max {
			fmt.Fprintf(&b, "; and %d more", len(sk)-max)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "record %d: %s (%s)", s.Index, s.Detail, s.Reason)
	}
	return b.String()
}

// Log is what one read of a clock's attendance log returned.
type Log struct {
	// Punches are the good records read, in the clock's order: the whole log, or only the records
	// after the mark given (a tail read).
	Punches []Punch
	// Skipped are the records read that did not become punches, in the clock's order.
	Skipped []Skipped
	// From is the index in the clock's log of the first record read; New the index of the first
	// record the mark given did not cover (0 when the mark no longer matched the log: cleared or
	// rewritten). A tail read has From = New; a whole read has From 0.
	From, New int
	// Mark is where the log ends now; hand it to the next read.
	Mark Mark
	// Bytes is how many bytes of record data crossed the wire; Retries how many chunks were
	// asked for again.
	Bytes, Retries int
}

// LogReader is a clock that can read its log from a mark: only the records after it cross the
// wire when the record the mark ends with is still in its place (the log only grows between
// clears); else, or when full is set or the mark is zero, the whole log is read. Records with
// impossible dates or fields are skipped and listed, unless most of them are (then the layout is
// wrong and the read fails).
type LogReader interface {
	ReadLog(ctx context.Context, since Mark, full bool) (Log, error)
}

// ProgressSetter is a clock that reports how far a read of its log is: fn is told, from the
// reading goroutine, that done of total records have arrived, once a chunk. It is set before a
// read, not during one.
type ProgressSetter interface {
	SetProgress(fn func(done, total int))
}

// LogStreamer is a LogReader that can hand a whole log over in batches as it is read: the punches
// decoded from the chunks that arrived go to fn, in the clock's order, at most about StreamBatch
// at a time, before the next chunk is asked for. A never-cleared clock's log (tens of thousands
// of records) is then never held whole. fn must not keep the slice past its return; an error
// from it ends the read with that error. The Log returned has everything but the punches: the
// skipped records, From, New, the mark and the byte counts. A tail read (the mark still in its
// place, and full not set) moves little and comes as one batch.
//
// The layout is judged on the first batch (when most of its records are implausible the read
// fails before fn is called); a whole log most of whose records prove implausible fails at the
// end, after the plausible ones were handed to fn.
type LogStreamer interface {
	StreamLog(ctx context.Context, since Mark, full bool, fn func([]Punch) error) (Log, error)
}

// StreamBatch is about how many punches a LogStreamer hands over at once.
const StreamBatch = 4096

// UserReader is a clock that can list its users.
type UserReader interface {
	Users(ctx context.Context) ([]User, error)
}

// TimeGetter is a clock whose time can be read.
type TimeGetter interface {
	Time(ctx context.Context) (time.Time, error)
}

// TimeSetter is a clock whose time can be set.
type TimeSetter interface {
	SetTime(ctx context.Context, t time.Time) error
}

// Listener is a clock that pushes punches as they happen. Listen registers for attendance events
// and calls fn for each one until ctx is cancelled or the link is found dead (heartbeat), returning
// the reason. Other methods may be called on the same Clock while Listen runs.
type Listener interface {
	Listen(ctx context.Context, fn func(Punch)) error
}

// LogClearer is a clock whose attendance log can be erased. Callers must only use it after every
// punch is durably committed; punchd never calls it unless configured.
type LogClearer interface {
	ClearLog(ctx context.Context) error
}

// Options are the settings that come from config rather than the URL. Query parameters in the URL
// (comm_key, encoding, timeout, tz) override them.
type Options struct {
	CommKey  uint32
	Encoding string         // code page of names on the clock; default "gbk"
	Location *time.Location // the zone the clock's wall time is read in; default time.Local
	Timeout  time.Duration  // per request / per chunk; default 5s
	// Heartbeat is how often a realtime listener checks that the clock still answers; 0 = the
	// driver's default.
	Heartbeat time.Duration
	Logger    *slog.Logger
}

// Driver builds a Clock from a parsed URL and connects it.
type Driver func(ctx context.Context, u *url.URL, opts Options) (Clock, error)

var (
	// ErrUnknownScheme is returned by Open for a URL whose scheme has no registered driver.
	ErrUnknownScheme = errors.New("device: unknown clock URL scheme")
	// ErrBadURL is returned by Open for a URL or option that cannot be used.
	ErrBadURL = errors.New("device: bad clock URL")
)

var (
	regMu   sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available under a URL scheme. It panics on a duplicate, as it is called
// from init functions.
func Register(scheme string, d Driver) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := drivers[scheme]; dup {
		panic("device: driver registered twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(drivers))
	for s := range drivers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open parses rawURL, applies its query parameters over opts and connects with the driver of its
// scheme.
func Open(ctx context.Context, rawURL string, opts Options) (Clock, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadURL, rawURL, err)
	}
	regMu.RLock()
	d, ok := drivers[u.Scheme]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q in %q (known: %v)", ErrUnknownScheme, u.Scheme, rawURL, Schemes())
	}
	opts, err = ApplyQuery(u, opts)
	if err != nil {
		return nil, err
	}
	return d(ctx, u, opts)
}

// SerialPort reads the port a serial clock URL names: an absolute device path
// (zk+serial:///dev/ttyUSB0) or a Windows port name (zk+serial://COM3; COM10 and above too, which
// the driver opens as \\.\COM10). Drivers and the config check both ask here.
func SerialPort(u *url.URL) (string, error) {
	switch {
	case u.Host != "" && u.Path == "" && isCOMPort(u.Host):
		return strings.ToUpper(u.Host), nil
	case u.Host == "" && strings.HasPrefix(u.Path, "/") && !isCOMPort(strings.TrimPrefix(u.Path, "/")):
		return u.Path, nil
	case u.Host == "" && isCOMPort(strings.TrimPrefix(u.Path, "/")):
		return strings.ToUpper(strings.TrimPrefix(u.Path, "/")), nil // zk+serial:///COM3 said the Unix way
	}
	return "", fmt.Errorf("%w %q: not a serial port: want zk+serial:///dev/ttyUSB0 (Linux) or zk+serial://COM3 (Windows), with ?baud=115200&id=1",
		ErrBadURL, u.Redacted())
}

// isCOMPort says whether s is a Windows serial port name, COM1 to COM256.
func isCOMPort(s string) bool {
	if len(s) < 4 || !strings.EqualFold(s[:3], "COM") {
		return false
	}
	n, err := strconv.Atoi(s[3:])
	return err == nil && n >= 1 && n <= 256 && s[3] != '0' && s[3] != '+'
}

// SerialParams reads a serial clock URL's line settings: baud (default 115200) and id, the clock's
// device id on an RS485 line (1..254, default 1). Drivers and the config check both ask here.
func SerialParams(u *url.URL) (baud, id int, err error) {
	q := u.Query()
	baud, id = 115200, 1
	if v := q.Get("baud"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, 0, fmt.Errorf("%w %q: baud=%q is not a positive number", ErrBadURL, u.Redacted(), v)
		}
		baud = n
	}
	if v := q.Get("id"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 254 {
			return 0, 0, fmt.Errorf("%w %q: id=%q is not a device id 1..254", ErrBadURL, u.Redacted(), v)
		}
		id = n
	}
	return baud, id, nil
}

// ApplyQuery fills opts from the URL's query (comm_key, encoding, timeout, tz) and defaults.
func ApplyQuery(u *url.URL, opts Options) (Options, error) {
	q := u.Query()
	if v := q.Get("comm_key"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return opts, fmt.Errorf("%w %q: comm_key=%q is not a number 0..4294967295", ErrBadURL, u.Redacted(), v)
		}
		opts.CommKey = uint32(n)
	}
	if v := q.Get("encoding"); v != "" {
		opts.Encoding = v
	}
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return opts, fmt.Errorf("%w %q: timeout=%q is not a positive duration", ErrBadURL, u.Redacted(), v)
		}
		opts.Timeout = d
	}
	if v := q.Get("tz"); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil {
			return opts, fmt.Errorf("%w %q: tz=%q: %v", ErrBadURL, u.Redacted(), v, err)
		}
		opts.Location = loc
	}
	return opts.WithDefaults(), nil
}

// WithDefaults fills what o leaves unset: GBK names, the local zone, a 5 s timeout, no logging.
// Every driver and ApplyQuery take their defaults from here.
func (o Options) WithDefaults() Options {
	if o.Encoding == "" {
		o.Encoding = "gbk"
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
