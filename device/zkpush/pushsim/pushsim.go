// Package pushsim is a simulated ZK PUSH terminal for tests and cmd/zkclock --push: it holds an
// attendance log, a user table and an operation log and, like a terminal in ADMS mode, asks the
// server for its options, uploads every record after the ATTLOG stamp and every operation log
// line after the OPERLOG stamp the server acknowledged, and asks for commands.
//
// It talks to loopback servers only.
package pushsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of this package.
var (
	// ErrNotLoopback: the server URL is not on loopback.
	ErrNotLoopback = errors.New("pushsim: refusing a non-loopback server")
	// ErrRefused: the server did not answer OK.
	ErrRefused = errors.New("pushsim: server refused")
)

// Record is one attendance record on the terminal; Time is its wall time.
type Record struct {
	UserID   string
	Time     time.Time
	State    uint8
	Verify   uint8
	WorkCode uint32
}

// Line is the record as an ATTLOG line: PIN, date-time, status, verify, work code, two reserved.
func (r Record) Line() string {
	return fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t0\t0", r.UserID, r.Time.Format("2006-01-02 15:04:05"), r.State, r.Verify, r.WorkCode)
}

// User is one entry of the terminal's user table (privilege 14 is an administrator).
type User struct {
	UserID    string
	Name      string
	Privilege uint8
	Card      uint32
}

// line is the user as an OPERLOG user record.
func (u User) line() string {
	return fmt.Sprintf("USER PIN=%s\tName=%s\tPri=%d\tPasswd=\tCard=%d\tGrp=1\tTZ=0000000000000000", u.UserID, u.Name, u.Privilege, u.Card)
}

// Operation log codes the terminal writes (device/zkpush/PROTOCOL.md, "Operation log").
const (
	opDeleteUser = 9
	opEnrollUser = 30
)

// opLine is an operation record: code, the administrator (0: none), the time, the user concerned.
func opLine(code int, at time.Time, pin string) string {
	return fmt.Sprintf("OPLOG %d\t0\t%s\t%s\t0\t0\t0", code, at.Format("2006-01-02 15:04:05"), pin)
}

// Device is one simulated terminal. Its methods are safe for concurrent use.
type Device struct {
	serial string
	base   string
	batch  int
	hc     *http.Client

	mu      sync.Mutex
	records []Record
	users   []User
	opers   []string // the operation log: OPERLOG lines, uploaded after the OPERLOG stamp
}

// New returns a terminal with serial number serial that pushes to server (http://127.0.0.1:PORT),
// batch lines an upload (default 100).
func New(serial, server string, batch int) (*Device, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("pushsim: server %q is not an http:// URL", server)
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return nil, fmt.Errorf("%w: %s", ErrNotLoopback, server)
	}
	if batch <= 0 {
		batch = 100
	}
	return &Device{serial: serial, base: strings.TrimSuffix(server, "/"), batch: batch, hc: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Punch appends a record to the log (it is uploaded by the next Sync).
func (d *Device) Punch(r Record) {
	d.mu.Lock()
	d.records = append(d.records, r)
	d.mu.Unlock()
}

// Records is how many records the log holds.
func (d *Device) Records() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.records)
}

// SetUsers makes the terminal's user table users, as enrolments, changes and removals at its
// keypad would: each is written to its operation log (a new user: an enrol operation and the
// user's record; a changed one: its record; a removed one: a delete-user operation), which the
// next Sync uploads as OPERLOG. The first call states the whole table.
func (d *Device) SetUsers(users []User, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := make(map[string]User, len(d.users))
	for _, u := range d.users {
		old[u.UserID] = u
	}
	kept := make(map[string]bool, len(users))
	for _, u := range users {
		kept[u.UserID] = true
	}
	for _, u := range d.users {
		if !kept[u.UserID] {
			d.opers = append(d.opers, opLine(opDeleteUser, at, u.UserID))
		}
	}
	for _, u := range users {
		was, ok := old[u.UserID]
		switch {
		case !ok:
			d.opers = append(d.opers, opLine(opEnrollUser, at, u.UserID), u.line())
		case was != u:
			d.opers = append(d.opers, u.line())
		}
	}
	d.users = append([]User(nil), users...)
}

// Sync does what a terminal does on its schedule: the handshake, the upload of every record and
// then every operation log line after the stamps acknowledged (a stamp here is the count of lines
// acknowledged), one request for commands. It returns how many attendance records it uploaded.
func (d *Device) Sync(ctx context.Context) (int, error) {
	opts, err := d.Handshake(ctx)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	records := make([]string, len(d.records))
	for i, r := range d.records {
		records[i] = r.Line()
	}
	opers := append([]string(nil), d.opers...)
	d.mu.Unlock()
	sent, err := d.upload(ctx, "ATTLOG", stamp(opts, "ATTLOGStamp", "Stamp"), records)
	if err != nil {
		return sent, err
	}
	if _, err := d.upload(ctx, "OPERLOG", stamp(opts, "OPERLOGStamp", "OpStamp"), opers); err != nil {
		return sent, err
	}
	status, reply, err := d.get(ctx, "/iclock/getrequest", url.Values{})
	if err != nil {
		return sent, err
	}
	if status != http.StatusOK {
		return sent, fmt.Errorf("%w: getrequest: HTTP %d %q", ErrRefused, status, reply)
	}
	return sent, nil
}

// stamp is the count of lines the server acknowledged for a table, from the handshake's key (or
// the older firmware's); 0 for "None" or garbage: send everything.
func stamp(opts map[string]string, key, older string) int {
	v := opts[key]
	if v == "" {
		v = opts[older]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// upload sends the lines of a table after the first from, in batches, each with the stamp it
// brings the table to. It returns how many it sent.
func (d *Device) upload(ctx context.Context, table string, from int, lines []string) (int, error) {
	pending := lines[min(from, len(lines)):]
	sent := 0
	for len(pending) > 0 {
		n := min(d.batch, len(pending))
		status, reply, err := d.Post(ctx, table, strconv.Itoa(from+sent+n), strings.Join(pending[:n], "\n")+"\n")
		if err != nil {
			return sent, err
		}
		if status != http.StatusOK || !strings.HasPrefix(reply, "OK") {
			return sent, fmt.Errorf("%w: upload of %d %s lines: HTTP %d %q", ErrRefused, n, table, status, reply)
		}
		sent += n
		pending = pending[n:]
	}
	return sent, nil
}

// Handshake asks for the options (GET /iclock/cdata?options=all) and returns them by key.
func (d *Device) Handshake(ctx context.Context) (map[string]string, error) {
	status, body, err := d.get(ctx, "/iclock/cdata", url.Values{"options": {"all"}, "pushver": {"2.4.1"}, "language": {"83"}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: handshake: HTTP %d %q", ErrRefused, status, body)
	}
	opts := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if k, v, ok := strings.Cut(line, ": "); ok && k == "GET OPTION FROM" {
			opts[k] = v
		} else if k, v, ok := strings.Cut(line, "="); ok {
			opts[k] = v
		}
	}
	if opts["GET OPTION FROM"] != d.serial {
		return nil, fmt.Errorf("%w: handshake for %q, not this terminal: %q", ErrRefused, opts["GET OPTION FROM"], body)
	}
	return opts, nil
}

// Post uploads body as table with the stamp: POST /iclock/cdata?SN=…&table=…&Stamp=…. It returns
// the HTTP status and the reply.
func (d *Device) Post(ctx context.Context, table, stamp, body string) (int, string, error) {
	q := url.Values{"SN": {d.serial}, "table": {table}}
	if stamp != "" {
		q.Set("Stamp", stamp)
	}
	return d.do(ctx, "POST", "/iclock/cdata?"+q.Encode(), strings.NewReader(body))
}

func (d *Device) get(ctx context.Context, path string, q url.Values) (int, string, error) {
	q.Set("SN", d.serial)
	return d.do(ctx, "GET", path+"?"+q.Encode(), nil)
}

func (d *Device) do(ctx context.Context, method, path string, body io.Reader) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", "iClock Proxy/1.09")
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("pushsim %s: %s %s: %w", d.serial, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
