package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/jinbi/punchd/device"
)

// ErrClockUnsupported: the daemon's driver for the clock cannot do what was asked.
var ErrClockUnsupported = errors.New("api: not supported by the clock's driver")

// clockHandlers serves /v1/clocks/{name}/…: the clock commands run on the daemon's connection.
func clockHandlers(mux *http.ServeMux, co ClockOwner, h func(func(*http.Request) (any, error)) http.HandlerFunc) {
	with := func(f func(ctx context.Context, c device.Clock) (any, error)) http.HandlerFunc {
		return h(func(r *http.Request) (any, error) {
			c, err := co.Clock(r.Context(), r.PathValue("name"))
			if err != nil {
				return nil, err
			}
			return f(r.Context(), c)
		})
	}
	mux.HandleFunc("GET /v1/clocks/{name}/info", with(func(ctx context.Context, c device.Clock) (any, error) { return c.Info(ctx) }))
	mux.HandleFunc("GET /v1/clocks/{name}/punches", with(func(ctx context.Context, c device.Clock) (any, error) { return c.Punches(ctx) }))
	mux.HandleFunc("POST /v1/clocks/{name}/log", logHandler(co, h))
	mux.HandleFunc("GET /v1/clocks/{name}/users", with(func(ctx context.Context, c device.Clock) (any, error) {
		ur, ok := c.(device.UserReader)
		if !ok {
			return nil, fmt.Errorf("read users: %w", ErrClockUnsupported)
		}
		return ur.Users(ctx)
	}))
	mux.HandleFunc("GET /v1/clocks/{name}/time", with(func(ctx context.Context, c device.Clock) (any, error) {
		tg, ok := c.(device.TimeGetter)
		if !ok {
			return nil, fmt.Errorf("read time: %w", ErrClockUnsupported)
		}
		t, err := tg.Time(ctx)
		return clockTime{t}, err
	}))
	mux.HandleFunc("PUT /v1/clocks/{name}/time", h(func(r *http.Request) (any, error) {
		var body clockTime
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		c, err := co.Clock(r.Context(), r.PathValue("name"))
		if err != nil {
			return nil, err
		}
		ts, ok := c.(device.TimeSetter)
		if !ok {
			return nil, fmt.Errorf("set time: %w", ErrClockUnsupported)
		}
		return body, ts.SetTime(r.Context(), body.Time)
	}))
}

// logRequest is the body of POST /v1/clocks/{name}/log: device.LogReader's arguments.
type logRequest struct {
	Since device.Mark `json:"since"`
	Full  bool        `json:"full"`
}

// logLine is one line of the reply to POST /v1/clocks/{name}/log (JSON lines): a progress line
// once a chunk (flushed as it is written), then the punches one a line, then the rest of the log
// (or the error): neither side holds the whole log as one JSON text.
type logLine struct {
	Progress *logProgress  `json:"progress,omitempty"`
	Punch    *device.Punch `json:"punch,omitempty"`
	Log      *device.Log   `json:"log,omitempty"` // without its punches
	Error    string        `json:"error,omitempty"`
}

type logProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// logHandler reads the clock's log on the daemon's connection and streams how far the read is,
// so that `clock dump` shows the same progress whoever holds the clock. A failure before the
// first line is an ordinary error reply; after it, an error line.
func logHandler(co ClockOwner, h func(func(*http.Request) (any, error)) http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req logRequest
		if err := decode(r, &req); err != nil {
			h(func(*http.Request) (any, error) { return nil, err })(w, r)
			return
		}
		c, err := co.Clock(r.Context(), r.PathValue("name"))
		if err != nil {
			h(func(*http.Request) (any, error) { return nil, err })(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		rc := http.NewResponseController(w)
		enc := json.NewEncoder(w)
		send := func(l logLine) {
			// A client gone is seen by the read through the request's context.
			if enc.Encode(l) == nil && l.Punch == nil {
				rc.Flush()
			}
		}
		if ps, ok := c.(device.ProgressSetter); ok {
			ps.SetProgress(func(done, total int) { send(logLine{Progress: &logProgress{done, total}}) })
		}
		var l device.Log
		if lr, ok := c.(device.LogReader); ok {
			l, err = lr.ReadLog(r.Context(), req.Since, req.Full)
		} else {
			l.Punches, err = c.Punches(r.Context())
		}
		if err != nil {
			send(logLine{Error: err.Error()})
			return
		}
		for i := range l.Punches {
			send(logLine{Punch: &l.Punches[i]})
		}
		l.Punches = nil
		send(logLine{Log: &l})
	}
}

type clockTime struct {
	Time time.Time `json:"time"`
}

var _ ClockOwner = (*Client)(nil)

// Clock implements ClockOwner: a clock whose calls go to the daemon's socket. Times come back
// with the offset the daemon read them in; a punch crosses whole (Raw too), a user without its
// password. A read of the log reports its progress as the daemon's read goes.
func (c *Client) Clock(ctx context.Context, name string) (device.Clock, error) {
	return &remoteClock{c: c, path: "/v1/clocks/" + url.PathEscape(name)}, nil
}

type remoteClock struct {
	c        *Client
	path     string
	progress func(done, total int)
}

var (
	_ device.LogReader      = (*remoteClock)(nil)
	_ device.ProgressSetter = (*remoteClock)(nil)
	_ device.UserReader     = (*remoteClock)(nil)
	_ device.TimeGetter     = (*remoteClock)(nil)
	_ device.TimeSetter     = (*remoteClock)(nil)
)

// SetProgress implements device.ProgressSetter: fn is told of the daemon's read as its lines arrive.
func (r *remoteClock) SetProgress(fn func(done, total int)) { r.progress = fn }

// ReadLog implements device.LogReader on the daemon's connection.
func (r *remoteClock) ReadLog(ctx context.Context, since device.Mark, full bool) (device.Log, error) {
	body, err := r.c.stream(ctx, "POST", r.path+"/log", logRequest{Since: since, Full: full})
	if err != nil {
		return device.Log{}, err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	var punches []device.Punch
	for {
		var l logLine
		if err := dec.Decode(&l); err != nil {
			return device.Log{}, fmt.Errorf("daemon socket %s: POST %s/log: the reply ended before the log: %w", r.c.Path, r.path, err)
		}
		switch {
		case l.Error != "":
			return device.Log{}, fmt.Errorf("%w: %s", ErrRemote, l.Error)
		case l.Punch != nil:
			punches = append(punches, *l.Punch)
		case l.Log != nil:
			l.Log.Punches = punches
			return *l.Log, nil
		case l.Progress != nil && r.progress != nil:
			r.progress(l.Progress.Done, l.Progress.Total)
		}
	}
}

func (r *remoteClock) Info(ctx context.Context) (info device.Info, err error) {
	return info, r.c.do(ctx, "GET", r.path+"/info", nil, &info)
}

func (r *remoteClock) Punches(ctx context.Context) (ps []device.Punch, err error) {
	return ps, r.c.do(ctx, "GET", r.path+"/punches", nil, &ps)
}

// Users implements device.UserReader; passwords and raw name bytes do not cross the socket.
func (r *remoteClock) Users(ctx context.Context) (us []device.User, err error) {
	return us, r.c.do(ctx, "GET", r.path+"/users", nil, &us)
}

func (r *remoteClock) Time(ctx context.Context) (time.Time, error) {
	var t clockTime
	return t.Time, r.c.do(ctx, "GET", r.path+"/time", nil, &t)
}

func (r *remoteClock) SetTime(ctx context.Context, t time.Time) error {
	return r.c.do(ctx, "PUT", r.path+"/time", clockTime{t}, nil)
}

func (*remoteClock) Close() error { return nil }
