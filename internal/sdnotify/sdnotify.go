// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): one
// datagram of newline-separated KEY=VALUE assignments to the unix socket
// named by $NOTIFY_SOCKET, a path or, with a leading '@', a Linux abstract
// socket.
//
// It tells systemd when punchd is ready (Type=notify), reloading, stopping,
// a human-readable status, and feeds the watchdog (WatchdogSec=). The
// watchdog loop pings only while a health function says the daemon's loops
// are turning: a daemon whose loops are deadlocked stops pinging and is
// restarted by systemd instead of being kept alive by a bare ticker.
//
// Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op returning nil,
// so the daemon runs the same under a terminal, a test, or a supervisor.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Errors.
var (
	// ErrBadWatchdogEnv means $WATCHDOG_USEC or $WATCHDOG_PID does not parse.
	ErrBadWatchdogEnv = errors.New("sdnotify: bad watchdog environment")
)

// Notifier sends notifications to one socket. The zero value and a nil
// *Notifier are disabled: every call returns nil. Safe for concurrent use.
type Notifier struct {
	socket   string        // "" = disabled
	watchdog time.Duration // 0 = no watchdog requested
}

// New returns a Notifier for the socket path (a leading '@' names an
// abstract socket) with the given watchdog interval (0 for none).
func New(socket string, watchdog time.Duration) *Notifier {
	return &Notifier{socket: socket, watchdog: watchdog}
}

// FromEnv builds a Notifier from $NOTIFY_SOCKET, $WATCHDOG_USEC and
// $WATCHDOG_PID, and unsets them (as sd_notify's unset_environment does) so
// that child processes do not talk to systemd in the daemon's name. An
// unset $NOTIFY_SOCKET gives a disabled Notifier and no error.
func FromEnv() (*Notifier, error) {
	n := &Notifier{socket: os.Getenv("NOTIFY_SOCKET")}
	wd, err := WatchdogInterval()
	_ = os.Unsetenv("NOTIFY_SOCKET")
	_ = os.Unsetenv("WATCHDOG_USEC")
	_ = os.Unsetenv("WATCHDOG_PID")
	if err != nil {
		return n, err
	}
	n.watchdog = wd
	return n, nil
}

// WatchdogInterval reads the watchdog interval systemd asks for from
// $WATCHDOG_USEC. It is 0 when the watchdog is off or meant for another
// process ($WATCHDOG_PID set to a pid that is not ours).
func WatchdogInterval() (time.Duration, error) {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("%w: WATCHDOG_PID=%q", ErrBadWatchdogEnv, pid)
		}
		if p != os.Getpid() {
			return 0, nil
		}
	}
	us, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || us == 0 {
		return 0, fmt.Errorf("%w: WATCHDOG_USEC=%q", ErrBadWatchdogEnv, usec)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// WatchdogInterval is the interval systemd asked for; 0 when none.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil || n.socket == "" {
		return 0
	}
	return n.watchdog
}

// Notify sends state (e.g. "READY=1\nSTATUS=…") as one datagram.
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	addr := &net.UnixAddr{Name: n.socket, Net: "unixgram"} // Go maps a leading '@' to the abstract namespace
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sdnotify: dial %s: %w", n.socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", n.socket, err)
	}
	return nil
}

// Ready tells systemd start-up is finished: call it once the store is open
// and the listeners are up, and again at the end of a reload.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Reloading tells systemd a reload (SIGHUP) started; call Ready when it
// ends. MONOTONIC_USEC is required by Type=notify-reload (systemd ≥ 253) and
// harmless before.
func (n *Notifier) Reloading() error {
	return n.Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicUsec(), 10))
}

// Stopping tells systemd the daemon is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sets the one-line status shown by systemctl status.
func (n *Notifier) Status(s string) error { return n.Notify("STATUS=" + oneLine(s)) }

// Watchdog feeds the watchdog once.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// RunWatchdog feeds the watchdog every half interval while healthy()
// returns true, until ctx ends. While healthy() is false it does not feed it
// (systemd then restarts the daemon after WatchdogSec) and sets the status
// once to say so. It returns nil at once when no watchdog was requested, and
// ctx.Err() when ctx ends.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy func() bool) error {
	iv := n.WatchdogInterval()
	if iv <= 0 {
		return nil
	}
	return runWatchdog(ctx, iv/2, healthy, n.Watchdog, n.Status)
}

// runWatchdog is RunWatchdog with its sends injected, for tests. Send
// errors do not stop the loop: systemd may be restarting its socket, and a
// missed ping is what the watchdog is for.
func runWatchdog(ctx context.Context, every time.Duration, healthy func() bool, ping func() error, status func(string) error) error {
	t := time.NewTicker(every)
	defer t.Stop()
	wasHealthy := true
	for {
		if healthy() {
			_ = ping()
			if !wasHealthy {
				_ = status("running")
			}
			wasHealthy = true
		} else if wasHealthy {
			_ = status("unhealthy: a loop stopped beating; not feeding the watchdog")
			wasHealthy = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}
