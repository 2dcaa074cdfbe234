package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
)

// wholeSecondClock is a clock that, like a real one, keeps whole seconds: it runs at the host's
// rate, shifted by offset, and its reading is cut to the second. The host's time is hostClock.
type wholeSecondClock struct {
	host   *hostClock
	mu     sync.Mutex
	offset time.Duration
}

func (c *wholeSecondClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.host.Now().Add(c.offset).Truncate(time.Second)
}

func (c *wholeSecondClock) Info(context.Context) (device.Info, error) {
	return device.Info{Serial: "FAKE1", Time: c.now()}, nil
}
func (c *wholeSecondClock) Punches(context.Context) ([]device.Punch, error) { return nil, nil }
func (c *wholeSecondClock) Close() error                                    { return nil }
func (c *wholeSecondClock) Time(context.Context) (time.Time, error)         { return c.now(), nil }
func (c *wholeSecondClock) SetTime(_ context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = t.Truncate(time.Second).Sub(c.host.Now()) // the clock is set to the whole second
	return nil
}

// hostClock is this computer's time in the test: every reading is a millisecond later.
type hostClock struct {
	mu sync.Mutex
	t  time.Time
}

func (h *hostClock) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t = h.t.Add(time.Millisecond)
	return h.t
}

var fakeClocks = struct {
	sync.Mutex
	m map[string]*wholeSecondClock
}{m: map[string]*wholeSecondClock{}}

func init() {
	device.Register("fakeclock", func(_ context.Context, u *url.URL, _ device.Options) (device.Clock, error) {
		fakeClocks.Lock()
		defer fakeClocks.Unlock()
		return fakeClocks.m[u.Host], nil
	})
}

// runWithNow runs punchctl with an injected host clock.
func runWithNow(t *testing.T, now func() time.Time, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ConfigPath: "/nonexistent", Now: now, Logger: slog.New(slog.DiscardHandler)}
	c, rest, ok := lookup(args)
	if !ok {
		t.Fatalf("no command %q", args)
	}
	if err := e.runCommand(context.Background(), c, rest); err != nil {
		return 1, out.String(), err.Error()
	}
	return 0, out.String(), errb.String()
}

// TestClockTimeSetReadsZero: right after --set, with the host 0.9 s into a second, the offset
// reads 0 (it used to read -1 s: the clock's whole seconds against the host's fraction).
func TestClockTimeSetReadsZero(t *testing.T) {
	host := &hostClock{t: time.Date(2026, 5, 6, 4, 0, 0, 900_000_000, time.UTC)}
	clk := &wholeSecondClock{host: host, offset: 300 * time.Second}
	fakeClocks.Lock()
	fakeClocks.m["set-zero"] = clk
	fakeClocks.Unlock()

	code, out, errs := runWithNow(t, host.Now, "clock", "time", "--clock", "fakeclock://set-zero", "--set", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var tj struct {
		Set          bool    `json:"set"`
		Offset       float64 `json:"offset_seconds"`
		OffsetBefore float64 `json:"offset_seconds_before"`
		ClockTime    string  `json:"clock_time"`
		HostTime     string  `json:"host_time"`
	}
	if err := json.Unmarshal([]byte(out), &tj); err != nil {
		t.Fatal(err)
	}
	ct, err1 := time.Parse(time.RFC3339, tj.ClockTime)
	ht, err2 := time.Parse(time.RFC3339, tj.HostTime)
	if !tj.Set || tj.Offset != 0 || tj.OffsetBefore != 300 || err1 != nil || err2 != nil || !ct.Equal(ht) {
		t.Errorf("after --set: %s; want offset 0 (before 300) and clock time = host time", out)
	}
	code, out, _ = runWithNow(t, host.Now, "clock", "time", "--clock", "fakeclock://set-zero")
	if code != 0 || !strings.Contains(out, "0s (in step with this computer)") {
		t.Errorf("text after --set:\n%s", out)
	}
	code, out, _ = runWithNow(t, host.Now, "clock", "info", "--clock", "fakeclock://set-zero", "--json")
	if code != 0 || !strings.Contains(out, `"offset_seconds":0`) {
		t.Errorf("info after --set: %s", out)
	}
}

// TestClockURLRedacted: the comm key of a URL is not printed by clock info / time, nor in errors.
func TestClockURLRedacted(t *testing.T) {
	host := &hostClock{t: time.Date(2026, 5, 6, 4, 0, 0, 0, time.UTC)}
	fakeClocks.Lock()
	fakeClocks.m["keyed"] = &wholeSecondClock{host: host}
	fakeClocks.Unlock()
	const u = "fakeclock://keyed?timeout=2s&comm_key=918273&encoding=gbk"
	const shown = "fakeclock://keyed?timeout=2s&comm_key=xxx&encoding=gbk"
	for _, args := range [][]string{
		{"clock", "info", "--clock", u, "--json"},
		{"clock", "info", "--clock", u},
		{"clock", "time", "--clock", u, "--json"},
	} {
		code, out, errs := runWithNow(t, host.Now, args...)
		if code != 0 || strings.Contains(out+errs, "918273") || !strings.Contains(out, shown) {
			t.Errorf("%q: exit %d, output %s %s; want the URL as %s", args, code, out, errs, shown)
		}
	}
	// The URL in an error is redacted too.
	code, _, errs := runCmd(t, "", "clock", "info", "--clock", "zk+nope://127.0.0.1:1?comm_key=918273")
	if code != 1 || strings.Contains(errs, "918273") || !strings.Contains(errs, "comm_key=xxx") {
		t.Errorf("error: exit %d %q", code, errs)
	}

	for in, want := range map[string]string{
		"zk+tcp://10.0.0.5:4370":                               "zk+tcp://10.0.0.5:4370",
		"zk+tcp://10.0.0.5:4370?comm_key=12":                   "zk+tcp://10.0.0.5:4370?comm_key=xxx",
		"zk+serial:///dev/ttyUSB0?baud=115200&comm_key=7&id=1": "zk+serial:///dev/ttyUSB0?baud=115200&comm_key=xxx&id=1",
		"zk+udp://h:4370?encoding=gbk":                         "zk+udp://h:4370?encoding=gbk",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
