// Package api is the daemon's local API for punchctl: JSON over HTTP on a local socket only its
// owner may open — a unix socket (mode 0600), or on Windows a named pipe whose DACL admits only
// SYSTEM, the Administrators and the daemon's own account. bbolt holds an exclusive lock while the
// daemon runs, so every command that needs the store while the daemon is up goes through here.
//
// It owns the wire format, the socket and its default address ([DefaultAddress]); the daemon
// supplies a Backend. It must not import the store or bbolt: the Backend is the only way in. The
// per-platform halves are listen_unix.go and listen_windows.go.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// Backend is what the daemon offers the CLI. Implementations must be safe for concurrent use.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Roster(ctx context.Context) ([]attendance.Person, error)
	PutRoster(ctx context.Context, people []attendance.Person) error
	ClockUsers(ctx context.Context) ([]device.User, error)
	Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error)
	AddRegistration(ctx context.Context, r attendance.Registration) (attendance.Registration, error)
	RevokeRegistration(ctx context.Context, id, by, reason string) (attendance.Registration, error)
	Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error)
	// The units' own records (issue 10): marks of units without a clock, findings on site and the
	// cross-check of villages' marks against the clocks.
	SetMarks(ctx context.Context, marks []attendance.DayMark) error
	Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error)
	AddFinding(ctx context.Context, f attendance.Finding) (attendance.Finding, error)
	Findings(ctx context.Context, from, to attendance.Date) ([]attendance.Finding, error)
	RevokeFinding(ctx context.Context, id, by, reason string) (attendance.Finding, error)
	Conflicts(ctx context.Context, from, to attendance.Date) ([]attendance.Conflict, error)
}

// Backuper is a Backend that can stream a consistent copy of its store (a hot backup).
type Backuper interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// ClockOwner is a Backend that holds the connections to its clocks. A clock serves one client at a
// time, so while the daemon runs, punchctl's clock commands go through it: the daemon runs each
// between its own pulls of that clock.
type ClockOwner interface {
	// Clock returns the clock configured under name; its calls run on the daemon's connection and
	// its Close does nothing. It is safe for concurrent use.
	Clock(ctx context.Context, name string) (device.Clock, error)
}

// Status is the daemon's state as `punchctl status` shows it.
type Status struct {
	Version      string        `json:"version"`
	Started      time.Time     `json:"started"`
	Site         string        `json:"site"`
	Store        string        `json:"store"`
	Clocks       []ClockStatus `json:"clocks"`
	Outbox       int           `json:"outbox"`
	OutboxOldest time.Time     `json:"outbox_oldest,omitzero"`
	MQTT         bool          `json:"mqtt_connected"`
	MissingYears []int         `json:"calendar_missing_years,omitempty"`
	EventsSince  string        `json:"events_since"`
}

// ClockStatus is one clock's state.
type ClockStatus struct {
	Name      string    `json:"name"`
	Serial    string    `json:"serial,omitempty"`
	Up        bool      `json:"up"`
	Since     time.Time `json:"since,omitzero"` // when it last went up or down
	LastPull  time.Time `json:"last_pull,omitzero"`
	Records   int       `json:"records"`
	Capacity  int       `json:"capacity"`
	OffsetSec float64   `json:"offset_seconds"`
	Realtime  bool      `json:"realtime"`
	LastError string    `json:"last_error,omitempty"`
}

// In is s with every time in loc (the site's zone, as `punchctl status` shows them): the daemon
// sends instants, in whatever zone its clock reads them.
func (s Status) In(loc *time.Location) Status {
	in := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.In(loc)
	}
	s.Started, s.OutboxOldest = in(s.Started), in(s.OutboxOldest)
	s.Clocks = slices.Clone(s.Clocks)
	for i, c := range s.Clocks {
		s.Clocks[i].Since, s.Clocks[i].LastPull = in(c.Since), in(c.LastPull)
	}
	return s
}

// Error is the body of every non-2xx reply.
type Error struct {
	Error string `json:"error"`
}

var (
	// ErrNotRunning: no daemon answers on the socket.
	ErrNotRunning = errors.New("api: daemon not running")
	// ErrDenied: a daemon listens on the socket, but this user may not open it.
	ErrDenied = errors.New("permission denied")
	// ErrRemote: the daemon answered with an error; the message is the daemon's.
	ErrRemote = errors.New("api: daemon refused")
)

// Handler serves the API for b.
func Handler(b Backend, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	h := func(f func(r *http.Request) (any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v, err := f(r)
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				log.Warn("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(Error{err.Error()})
				return
			}
			json.NewEncoder(w).Encode(v)
		}
	}
	mux.HandleFunc("GET /v1/status", h(func(r *http.Request) (any, error) { return b.Status(r.Context()) }))
	mux.HandleFunc("GET /v1/roster", h(func(r *http.Request) (any, error) { return b.Roster(r.Context()) }))
	mux.HandleFunc("PUT /v1/roster", h(func(r *http.Request) (any, error) {
		var people []attendance.Person
		if err := decode(r, &people); err != nil {
			return nil, err
		}
		return len(people), b.PutRoster(r.Context(), people)
	}))
	mux.HandleFunc("GET /v1/clock-users", h(func(r *http.Request) (any, error) { return b.ClockUsers(r.Context()) }))
	mux.HandleFunc("GET /v1/registrations", h(func(r *http.Request) (any, error) {
		from, to, err := timeRange(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return b.Registrations(r.Context(), from, to)
	}))
	mux.HandleFunc("POST /v1/registrations", h(func(r *http.Request) (any, error) {
		var reg attendance.Registration
		if err := decode(r, &reg); err != nil {
			return nil, err
		}
		return b.AddRegistration(r.Context(), reg)
	}))
	mux.HandleFunc("POST /v1/registrations/{id}/revoke", h(func(r *http.Request) (any, error) {
		var body struct{ By, Reason string }
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return b.RevokeRegistration(r.Context(), r.PathValue("id"), body.By, body.Reason)
	}))
	mux.HandleFunc("GET /v1/days", h(func(r *http.Request) (any, error) {
		from, to, err := dateRange(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return b.Days(r.Context(), from, to)
	}))
	if a, ok := b.(Accounts); ok {
		accountRoutes(mux, a, h)
	}
	if co, ok := b.(ClockOwner); ok {
		clockHandlers(mux, co, h)
	}
	mux.HandleFunc("PUT /v1/marks", h(func(r *http.Request) (any, error) {
		var marks []attendance.DayMark
		if err := decode(r, &marks); err != nil {
			return nil, err
		}
		return len(marks), b.SetMarks(r.Context(), marks)
	}))
	mux.HandleFunc("GET /v1/marks", h(func(r *http.Request) (any, error) {
		from, to, err := dateRange(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return b.Marks(r.Context(), r.URL.Query().Get("unit"), from, to)
	}))
	mux.HandleFunc("POST /v1/findings", h(func(r *http.Request) (any, error) {
		var f attendance.Finding
		if err := decode(r, &f); err != nil {
			return nil, err
		}
		return b.AddFinding(r.Context(), f)
	}))
	mux.HandleFunc("GET /v1/findings", h(func(r *http.Request) (any, error) {
		from, to, err := dateRange(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return b.Findings(r.Context(), from, to)
	}))
	mux.HandleFunc("POST /v1/findings/{id}/revoke", h(func(r *http.Request) (any, error) {
		var body struct{ By, Reason string }
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return b.RevokeFinding(r.Context(), r.PathValue("id"), body.By, body.Reason)
	}))
	mux.HandleFunc("GET /v1/conflicts", h(func(r *http.Request) (any, error) {
		from, to, err := dateRange(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return b.Conflicts(r.Context(), from, to)
	}))
	if bk, ok := b.(Backuper); ok {
		mux.HandleFunc("GET /v1/backup", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			if _, err := bk.Backup(r.Context(), w); err != nil {
				// Headers are gone; a short body is what the client detects (it checks the copy).
				log.Error("api backup", "err", err)
			}
		})
	}
	return withActor(mux)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func dateRange(q url.Values) (from, to attendance.Date, err error) {
	if from, err = attendance.ParseDate(q.Get("from")); err != nil {
		return from, to, fmt.Errorf("from: %w", err)
	}
	if to, err = attendance.ParseDate(q.Get("to")); err != nil {
		return from, to, fmt.Errorf("to: %w", err)
	}
	return from, to, nil
}

func timeRange(q url.Values) (from, to time.Time, err error) {
	if from, err = time.Parse(time.RFC3339, q.Get("from")); err != nil {
		return from, to, fmt.Errorf("from: %q is not RFC 3339", q.Get("from"))
	}
	if to, err = time.Parse(time.RFC3339, q.Get("to")); err != nil {
		return from, to, fmt.Errorf("to: %q is not RFC 3339", q.Get("to"))
	}
	return from, to, nil
}

// Client talks to a daemon's socket. It implements Backend.
type Client struct {
	Path string
	hc   *http.Client
}

var _ Backend = (*Client)(nil)

// Dial returns a client for the socket at path if a daemon answers there; else ErrDenied when the
// socket refuses this user (its error says who may open it), or ErrNotRunning.
func Dial(ctx context.Context, path string) (*Client, error) {
	c, err := dial(ctx, path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("daemon socket %s: %w: run punchctl as %s", path, ErrDenied, mayOpen)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (socket %s: %v)", ErrNotRunning, path, err)
	}
	c.Close()
	return &Client{Path: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, path) },
	}}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	body, err := c.stream(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(body).Decode(out)
}

// stream sends in as JSON and returns the body of a 2xx reply for the caller to read and close;
// an error reply is ErrRemote with the daemon's message.
func (c *Client) stream(ctx context.Context, method, path string, in any) (io.ReadCloser, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://punchd"+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(ActorHeader, LocalUser())
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("daemon socket %s: %s %s: %w", c.Path, method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e Error
		json.NewDecoder(resp.Body).Decode(&e)
		return nil, fmt.Errorf("%w: %s", ErrRemote, e.Error)
	}
	return resp.Body, nil
}

// Status implements Backend.
func (c *Client) Status(ctx context.Context) (s Status, err error) {
	return s, c.do(ctx, "GET", "/v1/status", nil, &s)
}

// Roster implements Backend.
func (c *Client) Roster(ctx context.Context) (p []attendance.Person, err error) {
	return p, c.do(ctx, "GET", "/v1/roster", nil, &p)
}

// PutRoster implements Backend.
func (c *Client) PutRoster(ctx context.Context, people []attendance.Person) error {
	return c.do(ctx, "PUT", "/v1/roster", people, nil)
}

// ClockUsers implements Backend.
func (c *Client) ClockUsers(ctx context.Context) (u []device.User, err error) {
	return u, c.do(ctx, "GET", "/v1/clock-users", nil, &u)
}

// Registrations implements Backend.
func (c *Client) Registrations(ctx context.Context, from, to time.Time) (r []attendance.Registration, err error) {
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	return r, c.do(ctx, "GET", "/v1/registrations?"+q.Encode(), nil, &r)
}

// AddRegistration implements Backend.
func (c *Client) AddRegistration(ctx context.Context, reg attendance.Registration) (r attendance.Registration, err error) {
	return r, c.do(ctx, "POST", "/v1/registrations", reg, &r)
}

// RevokeRegistration implements Backend.
func (c *Client) RevokeRegistration(ctx context.Context, id, by, reason string) (r attendance.Registration, err error) {
	body := struct{ By, Reason string }{by, reason}
	return r, c.do(ctx, "POST", "/v1/registrations/"+url.PathEscape(id)+"/revoke", body, &r)
}

// Days implements Backend.
func (c *Client) Days(ctx context.Context, from, to attendance.Date) (d []attendance.Day, err error) {
	q := url.Values{"from": {from.String()}, "to": {to.String()}}
	return d, c.do(ctx, "GET", "/v1/days?"+q.Encode(), nil, &d)
}

func (c *Client) SetMarks(ctx context.Context, marks []attendance.DayMark) error {
	return c.do(ctx, "PUT", "/v1/marks", marks, nil)
}
func (c *Client) Marks(ctx context.Context, unit string, from, to attendance.Date) (m []attendance.DayMark, err error) {
	q := url.Values{"unit": {unit}, "from": {from.String()}, "to": {to.String()}}
	return m, c.do(ctx, "GET", "/v1/marks?"+q.Encode(), nil, &m)
}
func (c *Client) AddFinding(ctx context.Context, f attendance.Finding) (out attendance.Finding, err error) {
	return out, c.do(ctx, "POST", "/v1/findings", f, &out)
}
func (c *Client) Findings(ctx context.Context, from, to attendance.Date) (f []attendance.Finding, err error) {
	q := url.Values{"from": {from.String()}, "to": {to.String()}}
	return f, c.do(ctx, "GET", "/v1/findings?"+q.Encode(), nil, &f)
}
func (c *Client) RevokeFinding(ctx context.Context, id, by, reason string) (f attendance.Finding, err error) {
	body := struct{ By, Reason string }{by, reason}
	return f, c.do(ctx, "POST", "/v1/findings/"+url.PathEscape(id)+"/revoke", body, &f)
}
func (c *Client) Conflicts(ctx context.Context, from, to attendance.Date) (cs []attendance.Conflict, err error) {
	q := url.Values{"from": {from.String()}, "to": {to.String()}}
	return cs, c.do(ctx, "GET", "/v1/conflicts?"+q.Encode(), nil, &cs)
}

// Backup streams the daemon's hot backup of its store into w.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://punchd/v1/backup", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("daemon socket %s: backup: %w", c.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: backup: HTTP %d", ErrRemote, resp.StatusCode)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("daemon socket %s: backup after %d bytes: %w", c.Path, n, err)
	}
	return n, nil
}
