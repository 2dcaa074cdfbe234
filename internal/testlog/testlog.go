// Package testlog is for tests only: a Buffer that loggers and other goroutines write to while the
// test reads what they wrote. It must not be imported outside tests.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects what is written to it; its methods may be called from any goroutine.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines are the lines written so far, without surrounding blank space; none when nothing but
// blank space was written.
func (l *Buffer) Lines() []string {
	s := strings.TrimSpace(l.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
