package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

// logReader reads a log of three records in three chunks, the last one damaged, or fails after
// the first chunk.
type logReader struct {
	logOnly
	fail     bool
	progress func(done, total int)
}

func (r *logReader) SetProgress(fn func(done, total int)) { r.progress = fn }

func (r *logReader) ReadLog(ctx context.Context, since device.Mark, full bool) (device.Log, error) {
	for done := 1; done <= 3; done++ {
		r.progress(done, 3)
		if r.fail {
			return device.Log{}, errors.New("clock c3: read attendance chunk 2/3: connection reset")
		}
	}
	ps, _ := r.Punches(ctx)
	return device.Log{Punches: ps, Skipped: []device.Skipped{{Index: 2, Reason: device.SkipBadDate, Detail: "year 2000", Raw: []byte{9}}},
		From: since.Count, New: since.Count, Mark: device.Mark{Count: 3, Last: []byte{9}}, Bytes: 120}, nil
}

func (b *clockBackend) Clock(ctx context.Context, name string) (device.Clock, error) {
	switch name {
	case "c1":
		return logOnly{}, nil
	case "c3", "c4":
		return &logReader{fail: name == "c4"}, nil
	}
	return nil, fmt.Errorf("the daemon has no [[clock]] named %q", name)
}

// The clock routes: what the daemon's clock returns crosses whole; an unknown clock and an ability
// the driver lacks come back as the daemon's errors.
func TestClockOwnerRoutes(t *testing.T) {
	sock := testSocket(t)
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
	// A read of the log: its progress as the daemon's read goes, then the log whole (skipped
	// records too); a driver without LogReader gives its punches; a failure mid-read is the daemon's.
	l, err := clk.(device.LogReader).ReadLog(t.Context(), device.Mark{}, true)
	if err != nil || len(l.Punches) != 1 || l.Punches[0].UserID != "A1023" || l.Skipped != nil {
		t.Errorf("ReadLog of a driver without it = %+v, %v", l, err)
	}
	lr, _ := c.Clock(t.Context(), "c3")
	var seen []int
	lr.(device.ProgressSetter).SetProgress(func(done, total int) { seen = append(seen, done, total) })
	l, err = lr.(device.LogReader).ReadLog(t.Context(), device.Mark{Count: 2, Last: []byte{1}}, false)
	if err != nil || fmt.Sprint(seen) != "[1 3 2 3 3 3]" || len(l.Punches) != 1 || len(l.Skipped) != 1 || l.Skipped[0].Detail != "year 2000" ||
		l.From != 2 || l.Mark.Count != 3 || string(l.Mark.Last) != "\x09" || l.Bytes != 120 {
		t.Errorf("ReadLog = %+v, %v; progress %v", l, err, seen)
	}
	lr, _ = c.Clock(t.Context(), "c4")
	seen = nil
	lr.(device.ProgressSetter).SetProgress(func(done, total int) { seen = append(seen, done, total) })
	if _, err := lr.(device.LogReader).ReadLog(t.Context(), device.Mark{}, true); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "connection reset") || fmt.Sprint(seen) != "[1 3]" {
		t.Errorf("ReadLog failing mid-read: %v; progress %v", err, seen)
	}
	other, _ := c.Clock(t.Context(), "c2")
	if _, err := other.(device.LogReader).ReadLog(t.Context(), device.Mark{}, true); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `no [[clock]] named "c2"`) {
		t.Errorf("ReadLog of an unknown clock: %v", err)
	}
	if _, err := other.Info(t.Context()); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `no [[clock]] named "c2"`) {
		t.Errorf("Info of an unknown clock: %v", err)
	}
}
