package api

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// On Windows the socket is a named pipe, not AF_UNIX: a pipe's security descriptor is given when
// it is created (no moment with a looser ACL, no file to chmod, nothing stale left behind by a
// crash), pipes exist on every Windows punchd runs on (AF_UNIX needs Windows 10 1803), they refuse
// remote clients (FILE_PIPE_REJECT_REMOTE_CLIENTS), and Wine implements them, so the tests run
// under Wine too. docs/windows.md says so for the operator.

// pipePrefix starts every local named pipe's name.
const pipePrefix = `\\.\pipe\`

// DefaultAddress is the pipe of a daemon whose store is in dir when [api] socket is not set:
// \\.\pipe\punchd-XXXXXXXX, the hash of the store's directory (case folded, as Windows compares
// paths), so that two stores never share one pipe and punchctl --config finds its own daemon.
func DefaultAddress(dir string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(filepath.Clean(dir))))
	return fmt.Sprintf(`%spunchd-%08x`, pipePrefix, h.Sum32())
}

// mayOpen says who may open the pipe, for ErrDenied's message.
const mayOpen = "an Administrator (elevated) or as the account punchd runs as"

// errNotPipe: an [api] socket on Windows that is not a named pipe.
var errNotPipe = errors.New(`on Windows the API socket is a named pipe, \\.\pipe\NAME`)

// dial connects to the named pipe at path, waiting at most a second for a free instance.
func dial(ctx context.Context, path string) (net.Conn, error) {
	if !strings.HasPrefix(path, pipePrefix) {
		return nil, errNotPipe
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return winio.DialPipeContext(ctx, path)
}

// Listen creates the named pipe at path, open to SYSTEM, the Administrators and this process's
// account only, and refuses when a daemon already serves it. Closing the listener removes the pipe.
func Listen(path string) (net.Listener, error) {
	if !strings.HasPrefix(path, pipePrefix) {
		return nil, fmt.Errorf("api socket %s: %w", path, errNotPipe)
	}
	if c, err := dial(context.Background(), path); err == nil {
		c.Close()
		return nil, fmt.Errorf("api socket %s: another daemon is listening", path)
	}
	sd, err := ownerOnly()
	if err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sd})
	if err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	return ln, nil
}

// ownerOnly is the pipe's security descriptor in SDDL: a protected DACL (nothing inherited)
// granting all access to LocalSystem, the built-in Administrators and the account this process
// runs as, and nothing to anyone else.
func ownerOnly() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("this process's account: %w", err)
	}
	return "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + u.User.Sid.String() + ")", nil
}
