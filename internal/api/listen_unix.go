//go:build !windows

package api

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultAddress is the socket of a daemon whose store is in dir when [api] socket is not set:
// punchd.sock beside the store, so that two stores never share one socket.
func DefaultAddress(dir string) string { return filepath.Join(dir, "punchd.sock") }

// mayOpen says who may open the socket, for ErrDenied's message.
const mayOpen = "root or as the user punchd runs as"

// dial connects to the unix socket at path, waiting at most a second.
func dial(ctx context.Context, path string) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second}
	return d.DialContext(ctx, "unix", path)
}

// Listen creates the unix socket at path with owner-only permissions, removing a stale one. The
// socket is made in a fresh directory only the owner can enter, set to 0600 there and renamed into
// place: it is never reachable with looser permissions, and no process-wide umask is changed under
// the feet of other goroutines creating files.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	if c, err := dial(context.Background(), path); err == nil {
		c.Close()
		return nil, fmt.Errorf("api socket %s: another daemon is listening", path)
	}
	_ = os.Remove(path)
	dir, err := os.MkdirTemp(filepath.Dir(path), ".punchd-socket-*") // 0700
	if err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	defer os.Remove(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // it will not be at tmp; Close removes path
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	return &socketListener{Listener: ln, path: path}, nil
}

// socketListener removes its socket file when closed.
type socketListener struct {
	net.Listener
	path string
	once sync.Once
}

func (l *socketListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { os.Remove(l.path) })
	return err
}
