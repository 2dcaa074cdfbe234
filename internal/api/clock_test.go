package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
)

// clockBackend owns one clock, "c1", that can read its log and info only.
type clockBackend struct{ memBackend }

type logOnly struct{}

func (logOnly) Info(ctx context.Context) (device.Info, error) {
	return device.Info{Serial: "SN1", Records: 2, Time: time.Date(2026, 3, 2, 8, 0, 0, 0, time.FixedZone("", 8*3600))}, nil
}
func (logOnly) Punches(ctx context.Context) ([]device.Punch, error) {
	return []device.Punch{{Clock: "SN1", UserID: "A1023", Time: time.Date(2026, 3, 2, 8, 41, 0, 0, time.FixedZone("", 8*3600)), Verify: 1, Raw: []byte{1, 2, 3}}}, nil
}
func (logOnly) Close() error { return nil }

func (b *clockBackend) Clock(ctx context.Context, name string) (device.Clock, error) {
	if name != "c1" {
		return nil, fmt.Errorf("the daemon has no [[clock]] named %q", name)
	}
	return logOnly{}, nil
}

// The clock routes: what the daemon's clock returns crosses whole; an unknown clock and an ability
// the driver lacks come back as the daemon's errors.
func TestClockOwnerRoutes(t *testing.T) {
	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "punchd.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(&clockBackend{}, slog.New(slog.DiscardHandler))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := Dial(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	clk, _ := c.Clock(t.Context(), "c1")
	info, err := clk.Info(t.Context())
	if err != nil || info.Serial != "SN1" || info.Records != 2 || info.Time.Format(time.RFC3339) != "2026-03-02T08:00:00+08:00" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	ps, err := clk.Punches(t.Context())
	if err != nil || len(ps) != 1 || ps[0].UserID != "A1023" || string(ps[0].Raw) != "\x01\x02\x03" || ps[0].Time.Format(time.RFC3339) != "2026-03-02T08:41:00+08:00" {
		t.Fatalf("Punches = %+v, %v", ps, err)
	}
	if _, err := clk.(device.UserReader).Users(t.Context()); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Users of a driver without them: %v", err)
	}
	if err := clk.(device.TimeSetter).SetTime(t.Context(), time.Now()); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("SetTime of a driver without it: %v", err)
	}
	other, _ := c.Clock(t.Context(), "c2")
	if _, err := other.Info(t.Context()); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `no [[clock]] named "c2"`) {
		t.Errorf("Info of an unknown clock: %v", err)
	}
}
