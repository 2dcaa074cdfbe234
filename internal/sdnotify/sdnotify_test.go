package sdnotify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/sdnotify"
)

// listen opens a fake systemd notify socket and returns its name and a
// function that reads the next datagram (failing after a generous deadline).
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read notification: %v", err)
		}
		return string(buf[:n])
	}
}

func TestNotifyPathSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	next := listen(t, sock)
	t.Setenv("NOTIFY_SOCKET", sock)
	n, err := sdnotify.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("NOTIFY_SOCKET") != "" {
		t.Error("FromEnv left NOTIFY_SOCKET for child processes")
	}
	steps := []struct {
		send func() error
		want string
	}{
		{n.Ready, "READY=1"},
		{func() error { return n.Status("pulling 2 clocks\nsecond line") }, "STATUS=pulling 2 clocks second line"},
		{n.Watchdog, "WATCHDOG=1"},
		{n.Stopping, "STOPPING=1"},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatal(err)
		}
		if got := next(); got != s.want {
			t.Errorf("got %q, want %q", got, s.want)
		}
	}
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	got := next()
	us, ok := strings.CutPrefix(got, "RELOADING=1\nMONOTONIC_USEC=")
	if v, err := strconv.ParseInt(us, 10, 64); !ok || err != nil || v <= 0 {
		t.Errorf("reloading: got %q", got)
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@punchd-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	next := listen(t, name)
	n := sdnotify.New(name, 0)
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
}

func TestDisabledIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := sdnotify.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	var nilN *sdnotify.Notifier
	for _, x := range []*sdnotify.Notifier{n, nilN, {}} {
		if x.Enabled() || x.Ready() != nil || x.Watchdog() != nil || x.WatchdogInterval() != 0 {
			t.Fatal("a disabled notifier must do nothing and report no error")
		}
		if err := x.RunWatchdog(context.Background(), func() bool { return true }); err != nil {
			t.Fatalf("RunWatchdog without watchdog: %v", err)
		}
	}
}

func TestNotifyMissingSocketErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent")
	err := sdnotify.New(sock, 0).Ready()
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Fatalf("want an error naming %s, got %v", sock, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	cases := []struct {
		usec, pid string
		want      time.Duration
		bad       bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, false},
		{"30000000", me, 30 * time.Second, false},
		{"30000000", "1", 0, false}, // meant for pid 1, not us
		{"soon", "", 0, true},
		{"0", "", 0, true},
		{"30000000", "x", 0, true},
	}
	for _, c := range cases {
		t.Run(c.usec+"/"+c.pid, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", c.usec)
			t.Setenv("WATCHDOG_PID", c.pid)
			got, err := sdnotify.WatchdogInterval()
			if c.bad != errors.Is(err, sdnotify.ErrBadWatchdogEnv) {
				t.Fatalf("err = %v, want bad=%v", err, c.bad)
			}
			if got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestRunWatchdogOverSocket runs the real loop against a fake systemd: it
// pings while healthy, says why and stops pinging when a loop stalls, and
// resumes when it recovers.
func TestRunWatchdogOverSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	next := listen(t, sock)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "20000") // 20 ms: pings every 10 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n, err := sdnotify.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if n.WatchdogInterval() != 20*time.Millisecond {
		t.Fatalf("interval %v", n.WatchdogInterval())
	}
	var healthy atomic.Bool
	healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, healthy.Load) }()

	for range 3 {
		if got := next(); got != "WATCHDOG=1" {
			t.Fatalf("healthy: got %q", got)
		}
	}
	healthy.Store(false)
	// Pings already sent may still be queued; after them comes the status.
	for {
		got := next()
		if got == "WATCHDOG=1" {
			continue
		}
		if !strings.HasPrefix(got, "STATUS=unhealthy") {
			t.Fatalf("unhealthy: got %q", got)
		}
		break
	}
	healthy.Store(true)
	if got := next(); got != "WATCHDOG=1" {
		t.Fatalf("recovered: got %q", got)
	}
	if got := next(); got != "STATUS=running" {
		t.Fatalf("recovered: got %q", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunWatchdog returned %v", err)
	}
}
