package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zkpush"
	"github.com/jinbi/punchd/internal/buildinfo"
)

// start runs zkclock with args and returns its printed endpoints once it says "ready".
func start(t *testing.T, args ...string) (map[string]string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	eps := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			break
		}
		k, v, _ := strings.Cut(line, " ")
		eps[k] = v
	}
	go io.Copy(io.Discard, pr)
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	if len(eps) == 0 {
		t.Fatalf("zkclock ended before ready: %v", stop())
	}
	return eps, stop
}

func TestRunServesAndWritesTruth(t *testing.T) {
	truth := filepath.Join(t.TempDir(), "truth.json")
	eps, stop := start(t, "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--pty", "--records", "300",
		"--people", "12", "--truth", truth, "--comm-key", "7", "--offset", "-2m")
	if eps["tcp"] == "" || eps["udp"] == "" || eps["pty"] == "" {
		t.Fatalf("endpoints %v", eps)
	}
	if _, err := os.Stat(eps["pty"]); err != nil {
		t.Fatalf("pty path: %v", err)
	}
	gt, err := zksim.LoadTruthFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	if len(gt.Records) != 300 || len(gt.Users) != 12 || gt.Info.CommKey != 7 {
		t.Fatalf("truth: %d records, %d users, info %+v", len(gt.Records), len(gt.Users), gt.Info)
	}
	c, err := net.Dial("tcp", eps["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(zk.AppendTCP(nil, zk.Packet{Cmd: zk.CmdConnect}))
	p, err := zk.NewTCPFrameReader(c).Next()
	if err != nil || p.Cmd != zk.AckUnauth || p.Session == 0 {
		t.Fatalf("CONNECT to a clock with a comm key: %v %v", p, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after cancel", err)
	}
}

func TestRunLoadsTruth(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "a.json")
	second := filepath.Join(dir, "b.json")
	_, stop := start(t, "--tcp", "127.0.0.1:0", "--udp", "", "--records", "50", "--truth", first, "--bad-dates", "year2000")
	stop()
	_, stop = start(t, "--tcp", "127.0.0.1:0", "--udp", "", "--load", first, "--truth", second)
	stop()
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if len(a) == 0 || string(a) != string(b) {
		t.Fatalf("loading a truth file and writing it again changed it (%d vs %d bytes)", len(a), len(b))
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--tcp", "0.0.0.0:4370", "--udp", ""},
		{"--tcp", "", "--udp", "192.168.1.10:4370"},
		{"--tcp", "", "--udp", ""},
		{"--tcp", "127.0.0.1:0", "--record-size", "49"},
		{"--tcp", "127.0.0.1:0", "--bad-dates", "yesterday"},
		{"--tcp", "127.0.0.1:0", "--tz", "Mars/Olympus"},
		{"--tcp", "127.0.0.1:0", "--load", "/nonexistent/truth.json"},
		{"--tcp", "127.0.0.1:0", "stray"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil {
			t.Fatalf("run %q succeeded", args)
		}
	}
}

func TestRunBusWritesTruthPerClock(t *testing.T) {
	dir := t.TempDir()
	eps, stop := start(t, "--tcp", "", "--udp", "", "--pty", "--bus", "2", "--device-id", "3", "--records", "40",
		"--truth", filepath.Join(dir, "t.json"))
	if eps["pty"] == "" || eps["bus"] != "ids 3..4" {
		t.Fatalf("endpoints %v", eps)
	}
	a, errA := zksim.LoadTruthFile(filepath.Join(dir, "t.id3.json"))
	b, errB := zksim.LoadTruthFile(filepath.Join(dir, "t.id4.json"))
	if errA != nil || errB != nil || a.Info.Serial == b.Info.Serial || len(b.Records) != 40 {
		t.Fatalf("bus truth: %v %v, serials %q %q", errA, errB, a.Info.Serial, b.Info.Serial)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunRealtimeEvery(t *testing.T) {
	eps, _ := start(t, "--tcp", "127.0.0.1:0", "--udp", "", "--records", "10", "--realtime-every", "20ms")
	c, err := net.Dial("tcp", eps["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fr := zk.NewTCPFrameReader(c)
	c.Write(zk.AppendTCP(nil, zk.Packet{Cmd: zk.CmdConnect}))
	p, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	c.Write(zk.AppendTCP(nil, zk.Packet{Cmd: zk.CmdRegEvent, Session: p.Session, Reply: 1, Payload: []byte{1, 0, 0, 0}}))
	for {
		p, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if p.Cmd == zk.CmdRegEvent {
			if p.Session != zk.EFAttLog || len(p.Payload) != 36 {
				t.Fatalf("event %v", p)
			}
			return
		}
	}
}

// TestMain lets TestExitStatus run main itself: the test binary re-executed with ZKCLOCK_MAIN=1 is zkclock.
func TestMain(m *testing.M) {
	if os.Getenv("ZKCLOCK_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestExitStatus: asking for help or the version is not a failure; a bad flag is.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"--version"}, 0, "zkclock " + buildinfo.Read().Version + " (revision "},
		{[]string{"--no-such-flag"}, 1, ""},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), "ZKCLOCK_MAIN=1")
		out, err := cmd.Output()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("zkclock %q: %v", tc.args, err)
		}
		if code != tc.code || !strings.HasPrefix(string(out), tc.out) {
			t.Errorf("zkclock %q: exit %d, stdout %q; want exit %d, stdout starting %q", tc.args, code, out, tc.code, tc.out)
		}
	}
}

// --clocks N serves N independent clocks over TCP in one process, each on its own port with its
// own serial number.
func TestRunManyClocks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"--tcp", "127.0.0.1:0", "--udp", "", "--clocks", "3", "--people", "4", "--days", "2", "--log-level", "error"}, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() { cancel(); <-done })
	var addrs []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() && sc.Text() != "ready" {
		if a, ok := strings.CutPrefix(sc.Text(), "tcp "); ok {
			addrs = append(addrs, a)
		}
	}
	go io.Copy(io.Discard, pr)
	if len(addrs) != 3 {
		t.Fatalf("endpoints %v, want 3 tcp", addrs)
	}
	serials := map[string]bool{}
	for _, a := range addrs {
		c, err := zk.DialTCP(context.Background(), a, device.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		c.Close()
		if err != nil || info.Records == 0 {
			t.Fatalf("%s: %+v %v", a, info, err)
		}
		serials[info.Serial] = true
	}
	if len(serials) != 3 {
		t.Fatalf("serial numbers %v, want 3 different", serials)
	}
}

// pushSink counts what a zkpush server committed.
type pushSink struct {
	mu    sync.Mutex
	n     int
	ch    chan int
	uch   chan int // users stated so far
	users []zkpush.UserChange
}

func (s *pushSink) Users(ctx context.Context, clock, serial string, cs []zkpush.UserChange) error {
	s.mu.Lock()
	s.users = append(s.users, cs...)
	n := len(s.users)
	s.mu.Unlock()
	select {
	case s.uch <- n:
	default:
	}
	return nil
}

func (s *pushSink) Upload(ctx context.Context, clock, serial string, ps []device.Punch, sk []device.Skipped) error {
	s.mu.Lock()
	s.n += len(ps)
	n := s.n
	s.mu.Unlock()
	select {
	case s.ch <- n:
	default:
	}
	return nil
}

func (s *pushSink) Seen(context.Context, string, string) {}

type memStamps struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memStamps) GetMeta(k string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[k], nil
}
func (m *memStamps) PutMeta(k string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k] = v
	return nil
}

// --push makes the simulated clock a PUSH terminal: its whole log reaches the iclock server.
func TestRunPush(t *testing.T) {
	sink := &pushSink{ch: make(chan int, 16), uch: make(chan int, 16)}
	srv := httptest.NewServer(zkpush.Handler(zkpush.Config{Devices: map[string]string{"PUSH0001": "c"}}, sink, &memStamps{m: map[string][]byte{}}))
	defer srv.Close()
	eps, stop := start(t, "--tcp", "", "--udp", "", "--push", srv.URL, "--push-every", "1h", "--records", "250", "--serial-number", "PUSH0001")
	if eps["push"] != srv.URL {
		t.Fatalf("endpoints %v", eps)
	}
	for n := range sink.ch {
		if n == 250 {
			break
		}
	}
	// The user table goes with the log, as the operation log states it: every user enrolled.
	for n := range sink.uch {
		if n == 60 {
			break
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.users) != 60 || sink.users[0].Removed || sink.users[0].User.UserID == "" || sink.users[0].User.Name == "" {
		t.Errorf("the terminal stated %d users (%+v...), want its 60 enrolled", len(sink.users), sink.users[:min(1, len(sink.users))])
	}
}
