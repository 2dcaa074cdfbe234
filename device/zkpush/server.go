package zkpush

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
)

// Sink commits what devices push. Methods are called from HTTP handlers, concurrently.
type Sink interface {
	// Upload commits the punches of one ATTLOG upload of a configured clock, with the lines that
	// did not become punches (Index counts the lines of this upload from 0). It must have committed
	// the punches durably before returning nil: only then is the upload acknowledged.
	Upload(ctx context.Context, clock, serial string, ps []device.Punch, skipped []device.Skipped) error
	// Users commits what one OPERLOG upload of a configured clock says about its user table
	// (enrolments, changes, removals, in order). Like Upload, it must have committed before it
	// returns nil: only then is the upload acknowledged.
	Users(ctx context.Context, clock, serial string, changes []UserChange) error
	// Seen says the device asked for commands: it is online and has sent what it held.
	Seen(ctx context.Context, clock, serial string)
}

// Stamps keeps, per device and table, the last stamp punchd acknowledged (the store's meta in
// production). A device resends everything after the stamp the handshake gives it.
type Stamps interface {
	GetMeta(key string) ([]byte, error)
	PutMeta(key string, v []byte) error
}

// Observer counts requests; methods must be safe for concurrent use.
type Observer interface {
	// Request counts one request by endpoint (cdata, getrequest, devicecmd, other) and result
	// (ok; malformed_lines: accepted, but some lines could not be read; or the reason it was
	// refused: unknown_sn, too_large, bad_request, store).
	Request(serial, endpoint, result string)
}

// Config is a server's settings.
type Config struct {
	Devices  map[string]string // serial number -> configured clock name: only these are served
	Location *time.Location    // the devices' wall time; also the TimeZone option sent to them
	MaxBody  int64             // the largest upload accepted; default 1 MiB
	Delay    time.Duration     // how often devices ask for commands (the Delay option); default 10s
	Logger   *slog.Logger
	Observer Observer
}

// Replies a device understands: it advances its stamp only on "OK".
const (
	replyOK      = "OK"
	replyUnknown = "UNKNOWN DEVICE"
	replyError   = "ERROR"
)

const stampKey = "zkpush.stamp/" // + serial + "/" + table

// Handler serves /iclock/… for the configured devices, committing uploads to sink.
func Handler(cfg Config, sink Sink, stamps Stamps) http.Handler {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Delay <= 0 {
		cfg.Delay = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	s := &server{cfg: cfg, sink: sink, stamps: stamps}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /iclock/cdata", s.device("cdata", s.handshake))
	mux.HandleFunc("POST /iclock/cdata", s.device("cdata", s.upload))
	mux.HandleFunc("GET /iclock/getrequest", s.device("getrequest", s.getrequest))
	mux.HandleFunc("POST /iclock/devicecmd", s.device("devicecmd", s.devicecmd))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		cfg.Observer.Request(r.URL.Query().Get("SN"), "other", "bad_request")
		http.Error(w, replyError, http.StatusNotFound)
	})
	return mux
}

type server struct {
	cfg    Config
	sink   Sink
	stamps Stamps
}

// request is one device request: who sent it and the body read so far.
type request struct {
	serial, clock string
	r             *http.Request
}

// device checks the serial number and the body's size before f runs, and counts the result.
func (s *server) device(endpoint string, f func(w io.Writer, q request) (status int, result string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		serial := r.URL.Query().Get("SN")
		clock, ok := s.cfg.Devices[serial]
		if !ok {
			s.cfg.Logger.Warn("push request from a serial number not configured: refused", "sn", serial, "path", r.URL.Path, "remote", r.RemoteAddr)
			s.cfg.Observer.Request(serial, endpoint, "unknown_sn")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, replyUnknown)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		var buf bytes.Buffer
		status, result := f(&buf, request{serial: serial, clock: clock, r: r})
		s.cfg.Observer.Request(serial, endpoint, result)
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	}
}

// handshake answers GET /iclock/cdata?SN=…&options=all with the options: the stamps punchd
// acknowledged (the device resends what follows), what to send, how often, in which zone.
func (s *server) handshake(w io.Writer, q request) (int, string) {
	att, err := s.stamp(q.serial, "ATTLOG")
	if err != nil {
		s.cfg.Logger.Error("read push stamp", "clock", q.clock, "err", err)
		io.WriteString(w, replyError)
		return http.StatusInternalServerError, "store"
	}
	op, err := s.stamp(q.serial, "OPERLOG")
	if err != nil {
		s.cfg.Logger.Error("read push stamp", "clock", q.clock, "err", err)
		io.WriteString(w, replyError)
		return http.StatusInternalServerError, "store"
	}
	_, off := time.Now().In(s.cfg.Location).Zone()
	lines := []string{
		"GET OPTION FROM: " + q.serial,
		"ATTLOGStamp=" + att, "OPERLOGStamp=" + op, // PUSH 2.x and later
		"Stamp=" + att, "OpStamp=" + op, // older firmware
		"ErrorDelay=30",
		"Delay=" + strconv.Itoa(int(s.cfg.Delay/time.Second)),
		"TransTimes=00:00;14:05",
		"TransInterval=1",
		"TransFlag=TransData AttLog\tOpLog\tEnrollUser\tChgUser", // user records with the operations
		"TimeZone=" + strconv.FormatFloat(float64(off)/3600, 'f', -1, 64),
		"Realtime=1",
		"Encrypt=0",
		"ServerVer=punchd",
	}
	io.WriteString(w, strings.Join(lines, "\r\n")+"\r\n")
	s.cfg.Logger.Info("push device handshake", "clock", q.clock, "sn", q.serial, "attlog_stamp", att, "pushver", q.r.URL.Query().Get("pushver"))
	return http.StatusOK, "ok"
}

// upload takes POST /iclock/cdata?SN=…&table=T&Stamp=N: ATTLOG lines become punches and OPERLOG
// lines changes of the user table, committed by the Sink; the stamp is saved after the commit.
// Other tables are acknowledged and dropped.
func (s *server) upload(w io.Writer, q request) (int, string) {
	table := q.r.URL.Query().Get("table")
	stamp := q.r.URL.Query().Get("Stamp")
	body, err := io.ReadAll(q.r.Body)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			s.cfg.Logger.Warn("push upload larger than accepted: refused (the device keeps it and retries)", "clock", q.clock, "table", table, "max_bytes", s.cfg.MaxBody)
			io.WriteString(w, replyError)
			return http.StatusRequestEntityTooLarge, "too_large"
		}
		io.WriteString(w, replyError)
		return http.StatusBadRequest, "bad_request"
	}
	result := "ok"
	switch table {
	case "ATTLOG":
		ps, skipped := s.parse(q, body)
		if err := s.sink.Upload(q.r.Context(), q.clock, q.serial, ps, skipped); err != nil {
			s.cfg.Logger.Error("commit pushed punches: not acknowledged, the device sends them again", "clock", q.clock, "punches", len(ps), "err", err)
			io.WriteString(w, replyError)
			return http.StatusInternalServerError, "store"
		}
	case "OPERLOG":
		changes, bad := s.operLog(q, body)
		if bad > 0 {
			result = "malformed_lines"
		}
		if len(changes) > 0 {
			if err := s.sink.Users(q.r.Context(), q.clock, q.serial, changes); err != nil {
				s.cfg.Logger.Error("commit pushed user changes: not acknowledged, the device sends them again", "clock", q.clock, "changes", len(changes), "err", err)
				io.WriteString(w, replyError)
				return http.StatusInternalServerError, "store"
			}
		}
	}
	if stamp != "" && !validStamp(stamp) {
		s.cfg.Logger.Warn("push upload with a stamp that is not a number: not kept", "clock", q.clock, "table", table, "stamp", stamp)
		stamp = ""
	}
	if stamp != "" && (table == "ATTLOG" || table == "OPERLOG") {
		if err := s.stamps.PutMeta(stampKey+q.serial+"/"+table, []byte(stamp)); err != nil {
			// The punches are committed: a lost stamp only costs a resend, which dedupes.
			s.cfg.Logger.Warn("save push stamp", "clock", q.clock, "table", table, "err", err)
		}
	}
	io.WriteString(w, replyOK)
	return http.StatusOK, result
}

// operLog reads an OPERLOG body's user records and removals, in order; a line that cannot be read
// is logged and skipped (sending it again would not mend it), and counted in bad.
func (s *server) operLog(q request, body []byte) (changes []UserChange, bad int) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), int(s.cfg.MaxBody)+1)
	for i := 0; sc.Scan(); i++ {
		c, ok, err := ParseOperLogLine(sc.Text())
		if err != nil {
			bad++
			s.cfg.Logger.Warn("OPERLOG line skipped", "clock", q.clock, "line", i, "text", truncate(sc.Text(), 200), "err", err)
			continue
		}
		if ok {
			changes = append(changes, c)
		}
	}
	return changes, bad
}

// truncate cuts s to at most n bytes for a log line (a fingerprint template is kilobytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parse turns an ATTLOG body into punches and the lines skipped, by reason.
func (s *server) parse(q request, body []byte) ([]device.Punch, []device.Skipped) {
	var ps []device.Punch
	var skipped []device.Skipped
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), int(s.cfg.MaxBody)+1)
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		p, err := ParseAttLog(line, q.serial, s.cfg.Location)
		if err != nil {
			reason := device.SkipMalformed
			if errors.Is(err, ErrBadDate) {
				reason = device.SkipBadDate
			}
			skipped = append(skipped, device.Skipped{Index: i, Reason: reason, Detail: err.Error(), Raw: []byte(line)})
			continue
		}
		ps = append(ps, p)
	}
	return ps, skipped
}

// getrequest answers a device asking for commands: none ("OK"). It is also the device's heartbeat.
func (s *server) getrequest(w io.Writer, q request) (int, string) {
	s.sink.Seen(q.r.Context(), q.clock, q.serial)
	io.WriteString(w, replyOK)
	return http.StatusOK, "ok"
}

// devicecmd acknowledges a device's report of command results (punchd sends none).
func (s *server) devicecmd(w io.Writer, q request) (int, string) {
	if _, err := io.Copy(io.Discard, q.r.Body); err != nil {
		io.WriteString(w, replyError)
		return http.StatusRequestEntityTooLarge, "too_large"
	}
	io.WriteString(w, replyOK)
	return http.StatusOK, "ok"
}

// stamp is the last acknowledged stamp of a table, "0" before the first (send everything).
func (s *server) stamp(serial, table string) (string, error) {
	v, err := s.stamps.GetMeta(stampKey + serial + "/" + table)
	if err != nil {
		return "", fmt.Errorf("push stamp %s/%s: %w", serial, table, err)
	}
	if len(v) == 0 {
		return "0", nil
	}
	return string(v), nil
}

// validStamp: a stamp is echoed into the handshake's lines, so only a plain number is kept.
func validStamp(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type nopObserver struct{}

func (nopObserver) Request(string, string, string) {}
