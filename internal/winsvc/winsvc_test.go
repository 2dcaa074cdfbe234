package winsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestServeStop: a stop cancels the daemon's context, and serve returns once the daemon has
// returned, with its error.
func TestServeStop(t *testing.T) {
	stopped := errors.New("stopped cleanly with this error")
	cmds := make(chan command)
	done := make(chan error, 1)
	go func() {
		done <- serve(func(ctx context.Context, _ <-chan os.Signal) error {
			<-ctx.Done()
			return stopped
		}, cmds)
	}()
	cmds <- cmdStop
	if err := <-done; !errors.Is(err, stopped) {
		t.Fatalf("serve = %v, want the daemon's %v", err, stopped)
	}
}

// TestServeReload: a reload reaches the daemon as SIGHUP, as main sends it on Linux.
func TestServeReload(t *testing.T) {
	cmds := make(chan command)
	got := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(func(ctx context.Context, reload <-chan os.Signal) error {
			got <- <-reload
			<-ctx.Done()
			return nil
		}, cmds)
	}()
	cmds <- cmdReload
	if sig := <-got; sig != syscall.SIGHUP {
		t.Errorf("the daemon got %v, want SIGHUP", sig)
	}
	cmds <- cmdStop
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServeDaemonFails: a daemon that ends by itself (a config that does not load) ends serve
// with its error, which the service reports as a failure to restart.
func TestServeDaemonFails(t *testing.T) {
	bad := errors.New("config punchd.toml: clock[0].url: bad")
	err := serve(func(context.Context, <-chan os.Signal) error { return bad }, make(chan command))
	if !errors.Is(err, bad) {
		t.Fatalf("serve = %v, want %v", err, bad)
	}
}

func TestArgs(t *testing.T) {
	got := Args(`C:\ProgramData\punchd\punchd.toml`)
	if strings.Join(got, "|") != `--config|C:\ProgramData\punchd\punchd.toml` {
		t.Errorf("Args = %q", got)
	}
}

// TestLogFileRotates: past the size, the file moves to .1, .1 to .2, and the oldest beyond keep
// goes; no line is split across files and no file is over the size.
func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	const max, keep = 1000, 3
	l, err := OpenLog(filepath.Join(dir, "logs"), LogName, max, keep)
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) string { return fmt.Sprintf("line %04d %s\n", i, strings.Repeat("x", 89)) } // 100 bytes
	const lines = 75                                                                                // 7.5 files' worth
	for i := range lines {
		if _, err := l.Write([]byte(line(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
	if len(names) != keep+1 {
		t.Fatalf("files %q, want %s and %d rotated", names, LogName, keep)
	}
	// Newest first: punchd.log has lines 70..74, .1 60..69, .2 50..59, .3 40..49.
	next := lines
	for i := 0; i <= keep; i++ {
		name := l.Path()
		if i > 0 {
			name = fmt.Sprintf("%s.%d", l.Path(), i)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > max {
			t.Errorf("%s: %d bytes, over the size %d", name, len(data), max)
		}
		n := len(data) / 100
		var want strings.Builder
		for j := next - n; j < next; j++ {
			want.WriteString(line(j))
		}
		if string(data) != want.String() {
			t.Errorf("%s holds\n%s\nwant lines %d..%d", name, data, next-n, next-1)
		}
		if n == 0 || (i > 0 && n != max/100) {
			t.Errorf("%s: %d lines", name, n)
		}
		next -= n
	}
}

// TestLogFileAppends: a restarted service appends to its log, and counts what is there toward
// the size.
func TestLogFileAppends(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"first run\n", "second run\n"} {
		l, err := OpenLog(dir, LogName, 15, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	cur, _ := os.ReadFile(filepath.Join(dir, LogName))
	old, _ := os.ReadFile(filepath.Join(dir, LogName+".1"))
	if string(old) != "first run\n" || string(cur) != "second run\n" {
		t.Errorf("after two runs: %s.1 %q, %s %q", LogName, old, LogName, cur)
	}
	l, _ := OpenLog(dir, LogName, 15, 1)
	l.Close()
	if _, err := l.Write([]byte("late\n")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestLogFileLongLine: a line longer than the size is written whole, in a file of its own.
func TestLogFileLongLine(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLog(dir, LogName, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("y", 25) + "\n"
	for _, s := range []string{"short\n", long, "after\n"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for name, want := range map[string]string{LogName + ".2": "short\n", LogName + ".1": long, LogName: "after\n"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestOpenLogRefusesNoSize(t *testing.T) {
	if _, err := OpenLog(t.TempDir(), LogName, 0, 1); err == nil {
		t.Error("OpenLog with size 0 succeeded")
	}
}

// sink is an event log in memory.
type sink struct {
	mu     sync.Mutex
	events []string
}

func (s *sink) add(kind string, eid uint32, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, fmt.Sprintf("%s %d %s", kind, eid, msg))
	return nil
}
func (s *sink) Warning(eid uint32, msg string) error { return s.add("warning", eid, msg) }
func (s *sink) Error(eid uint32, msg string) error   { return s.add("error", eid, msg) }

// TestEventHandler: warnings and errors become events with their attributes (groups included),
// without time or level; info and debug stay in the file.
func TestEventHandler(t *testing.T) {
	s := &sink{}
	var file bytes.Buffer
	log := slog.New(slog.NewMultiHandler(slog.NewTextHandler(&file, &slog.HandlerOptions{Level: slog.LevelDebug}), NewEventHandler(s)))
	clock := log.With("clock", "dangzhengban")
	clock.Debug("dial", "addr", "192.168.1.201:4370")
	clock.Info("clock up")
	clock.Warn("clock down", "err", errors.New("dial tcp: i/o timeout"), "retry_in", "30s")
	log.WithGroup("mqtt").With("broker", "tcp://127.0.0.1:1883").Error("publish failed", "topic", "punchd/jinbi/events/late")
	log.Warn("no clock configured")
	want := []string{
		`warning 2 clock down  clock=dangzhengban err="dial tcp: i/o timeout" retry_in=30s`,
		`error 3 publish failed  mqtt.broker=tcp://127.0.0.1:1883 mqtt.topic=punchd/jinbi/events/late`,
		`warning 2 no clock configured`,
	}
	if strings.Join(s.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(s.events, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(file.String(), "\n"); n != 5 {
		t.Errorf("the file got %d lines, want all 5:\n%s", n, file.String())
	}
}

// TestDirSDDL: the access list names SYSTEM and Administrators only, protected from inheritance,
// inherited by files and directories below.
func TestDirSDDL(t *testing.T) {
	if !strings.HasPrefix(DirSDDL, "D:P(") {
		t.Errorf("DirSDDL %q is not a protected DACL", DirSDDL)
	}
	aces := strings.Split(strings.TrimSuffix(strings.TrimPrefix(DirSDDL, "D:P("), ")"), ")(")
	var who []string
	for _, ace := range aces {
		f := strings.Split(ace, ";")
		if len(f) != 6 || f[0] != "A" || f[1] != "OICI" || f[2] != "FA" {
			t.Errorf("ACE %q: want an allow, inherited by objects and containers, full access", ace)
			continue
		}
		who = append(who, f[5])
	}
	if strings.Join(who, ",") != "SY,BA" {
		t.Errorf("DirSDDL grants %v, want SYSTEM and Administrators only", who)
	}
}
