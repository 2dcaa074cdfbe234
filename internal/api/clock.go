package api

import (
	"context"
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

type clockTime struct {
	Time time.Time `json:"time"`
}

var _ ClockOwner = (*Client)(nil)

// Clock implements ClockOwner: a clock whose calls go to the daemon's socket. Times come back
// with the offset the daemon read them in; a punch crosses whole (Raw too), a user without its
// password.
func (c *Client) Clock(ctx context.Context, name string) (device.Clock, error) {
	return remoteClock{c: c, path: "/v1/clocks/" + url.PathEscape(name)}, nil
}

type remoteClock struct {
	c    *Client
	path string
}

var (
	_ device.UserReader = remoteClock{}
	_ device.TimeGetter = remoteClock{}
	_ device.TimeSetter = remoteClock{}
)

func (r remoteClock) Info(ctx context.Context) (info device.Info, err error) {
	return info, r.c.do(ctx, "GET", r.path+"/info", nil, &info)
}

func (r remoteClock) Punches(ctx context.Context) (ps []device.Punch, err error) {
	return ps, r.c.do(ctx, "GET", r.path+"/punches", nil, &ps)
}

// Users implements device.UserReader; passwords and raw name bytes do not cross the socket.
func (r remoteClock) Users(ctx context.Context) (us []device.User, err error) {
	return us, r.c.do(ctx, "GET", r.path+"/users", nil, &us)
}

func (r remoteClock) Time(ctx context.Context) (time.Time, error) {
	var t clockTime
	return t.Time, r.c.do(ctx, "GET", r.path+"/time", nil, &t)
}

func (r remoteClock) SetTime(ctx context.Context, t time.Time) error {
	return r.c.do(ctx, "PUT", r.path+"/time", clockTime{t}, nil)
}

func (remoteClock) Close() error { return nil }
