package winsvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// The service's log file under config.Paths.Logs: punchd.log, then punchd.log.1 (the newest
// rotated) to punchd.log.5 (the oldest kept): at most 60 MB in all.
const (
	LogName    = "punchd.log"
	LogMaxSize = 10 << 20 // bytes in one file
	LogKeep    = 5        // rotated files kept beside it
)

// LogFile is a log file rotated by size: a write that would take it past max bytes first moves
// it to name.1 (name.1 to name.2, …, the oldest of keep is removed) and starts it again, so the
// logs never take more than (keep+1)·max bytes. A single line longer than max still goes whole
// into a file of its own.
//
// The rotation is done by the write that needs it, under the lock: no goroutine is left behind
// and no file is renamed while open (Windows refuses that). Write is safe for concurrent use.
type LogFile struct {
	path string
	max  int64
	keep int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenLog opens (appending) or creates dir/name, making dir if needed.
func OpenLog(dir, name string, max int64, keep int) (*LogFile, error) {
	if max <= 0 || keep < 0 {
		return nil, fmt.Errorf("log file %s: size %d and keep %d: want size > 0, keep >= 0", name, max, keep)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	l := &LogFile{path: filepath.Join(dir, name), max: max, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the file being written.
func (l *LogFile) Path() string { return l.path }

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past its size. When the rotation
// fails (a rotated file held open by an editor, say) the lines go on into the current file:
// a log that grows beats a log that stops; the failure is returned with the write.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fmt.Errorf("log file %s: %w", l.path, fs.ErrClosed)
	}
	var rotErr error
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		rotErr = l.rotate()
		if l.f == nil {
			return 0, rotErr
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, errors.Join(err, rotErr)
}

// rotate shifts the files down by one and starts the log again. On failure the current file is
// reopened (appending) so that writing goes on.
func (l *LogFile) rotate() error {
	if err := l.f.Close(); err != nil {
		l.f = nil
		return fmt.Errorf("log file %s: close to rotate: %w", l.path, err)
	}
	l.f = nil
	err := l.shift()
	if oerr := l.open(); oerr != nil {
		return errors.Join(err, oerr)
	}
	return err
}

func (l *LogFile) shift() error {
	if l.keep == 0 {
		if err := os.Remove(l.path); err != nil {
			return fmt.Errorf("log file %s: rotate: %w", l.path, err)
		}
		return nil
	}
	oldest := l.rotated(l.keep)
	if err := os.Remove(oldest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("log file %s: rotate: %w", l.path, err)
	}
	for i := l.keep - 1; i >= 1; i-- {
		if err := os.Rename(l.rotated(i), l.rotated(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("log file %s: rotate: %w", l.path, err)
		}
	}
	if err := os.Rename(l.path, l.rotated(1)); err != nil {
		return fmt.Errorf("log file %s: rotate: %w", l.path, err)
	}
	return nil
}

// rotated is the name of the i-th rotated file (1 = the newest).
func (l *LogFile) rotated(i int) string { return l.path + "." + strconv.Itoa(i) }

// Close closes the file; later writes fail.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
