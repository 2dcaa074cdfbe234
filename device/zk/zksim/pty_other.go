//go:build !linux

package zksim

import (
	"errors"
	"os"
	"time"
)

// PTY is a pseudo-terminal pair; the simulator serves one on Linux only.
type PTY struct {
	Master *os.File
	Path   string
}

// OpenPTY fails where the simulator has no raw pty (it sets the line discipline the Linux way).
func OpenPTY() (*PTY, error) { return nil, errors.New("zksim: a pty is served on Linux only") }

func (p *PTY) Read(b []byte) (int, error)        { return p.Master.Read(b) }
func (p *PTY) Write(b []byte) (int, error)       { return p.Master.Write(b) }
func (p *PTY) SetReadDeadline(t time.Time) error { return p.Master.SetReadDeadline(t) }
func (p *PTY) Close() error                      { return p.Master.Close() }
