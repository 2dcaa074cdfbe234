package zksim

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal pair: serve the Master with ServeSerial and give Path (the slave) to
// the client as its serial port. The simulator keeps the slave open so the master does not see
// EIO between client sessions.
type PTY struct {
	Master *os.File
	Path   string
	slave  *os.File
}

// OpenPTY opens a pty in raw mode (no echo, no line discipline, 8N1), as a serial line behaves.
func OpenPTY() (*PTY, error) {
	m, sl, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("zksim: open pty: %w", err)
	}
	for _, f := range []*os.File{sl, m} {
		if err := makeRaw(int(f.Fd())); err != nil {
			m.Close()
			sl.Close()
			return nil, fmt.Errorf("zksim: pty raw mode: %w", err)
		}
	}
	// Fd() above put the master in blocking mode, where Close cannot interrupt a Read. Serve a
	// non-blocking duplicate instead, which os.NewFile hands to the runtime poller.
	nfd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(nfd, true)
	}
	m.Close()
	if err != nil {
		sl.Close()
		return nil, fmt.Errorf("zksim: pty non-blocking master: %w", err)
	}
	return &PTY{Master: os.NewFile(uintptr(nfd), "/dev/ptmx"), Path: sl.Name(), slave: sl}, nil
}

// Read reads from the master.
func (p *PTY) Read(b []byte) (int, error) { return p.Master.Read(b) }

// Write writes to the master.
func (p *PTY) Write(b []byte) (int, error) { return p.Master.Write(b) }

// SetReadDeadline sets the master's read deadline (a serial frame that stalls is discarded).
func (p *PTY) SetReadDeadline(t time.Time) error { return p.Master.SetReadDeadline(t) }

// Close closes both ends.
func (p *PTY) Close() error {
	return errors.Join(p.Master.Close(), p.slave.Close())
}

func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
