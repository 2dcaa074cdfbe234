package pull

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jinbi/punchd/device"
)

// fakeClock is an in-process clock holding a log; it can be made to fail.
type fakeClock struct {
	mu      *sync.Mutex
	punches *[]device.Punch
	failOn  *int // fail the Nth Punches call (1-based) across sessions; 0 = never
	calls   *int
	cleared *int
	offset  time.Duration
}

func (f *fakeClock) Info(ctx context.Context) (device.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return device.Info{Serial: "SIM1", Records: len(*f.punches), RecordCap: 100, Time: time.Now().Add(f.offset)}, nil
}

func (f *fakeClock) Punches(ctx context.Context) ([]device.Punch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.calls++
	if *f.failOn != 0 && *f.calls == *f.failOn {
		return nil, errors.New("link dropped mid-transfer")
	}
	return append([]device.Punch(nil), *f.punches...), nil
}

func (f *fakeClock) ClearLog(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.punches = nil
	*f.cleared++
	return nil
}

func (f *fakeClock) Close() error { return nil }

type recSink struct {
	mu    sync.Mutex
	pulls []Pull
}

func (s *recSink) Pulled(ctx context.Context, r Pull) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls = append(s.pulls, r)
	return nil
}

func (s *recSink) Realtime(ctx context.Context, clock string, p device.Punch) error { return nil }

func (s *recSink) Mark(string) (int, string) { return 0, "" }

func (s *recSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pulls)
}

func TestLoopPullsReconnectsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		log := []device.Punch{{Clock: "SIM1", UserID: "1", Time: time.Now().Add(-time.Hour)}}
		failOn, calls, cleared := 2, 0, 0
		opens := 0
		open := func(ctx context.Context, url string, opts device.Options) (device.Clock, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			if opens == 2 {
				return nil, errors.New("connection refused")
			}
			return &fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}, nil
		}
		sink := &recSink{}
		l := New(Config{Name: "c1", PollInterval: time.Minute}, sink, open, nil, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()

		// First pull at once, second (failing) after a minute, then reconnect: a failed open, back-off,
		// a good open and an immediate pull.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if got := sink.count(); got < 3 {
			t.Fatalf("pulls after 10 minutes = %d, want several despite one failed read and one failed connect", got)
		}
		if opens < 3 {
			t.Fatalf("opens = %d, want a reconnect after the failed read", opens)
		}
		if cleared != 0 {
			t.Fatalf("log cleared %d times without clear_log configured", cleared)
		}
		mu.Unlock()
		cancel()
		<-done
		mu.Lock()
	})
}

// TestLoopLogsTransitions: an unreachable clock is logged once at WARN with the reason, its retries
// at DEBUG, and its recovery once at INFO with how long it was down; pulls while up log no WARN.
func TestLoopLogsTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		log := []device.Punch{{Clock: "SIM1", UserID: "1", Time: time.Now().Add(-time.Hour)}}
		failOn, calls, cleared := 3, 0, 0
		opens := 0
		open := func(ctx context.Context, url string, opts device.Options) (device.Clock, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			if opens <= 4 { // down at start: four refused connects
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			}
			return &fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}, nil
		}
		var buf syncBuffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		l := New(Config{Name: "c1", PollInterval: time.Minute}, &recSink{}, open, nil, logger, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()
		// Four failed connects (back-off 1s, 2s, 4s, 8s at most), the first pull, a second good one,
		// the third failing (down again), a reconnect and pulls until the end.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		cancel()
		<-done

		var got []string
		for line := range strings.Lines(buf.String()) {
			lvl, msg := field(line, "level"), field(line, "msg")
			if msg == "pulled" {
				continue
			}
			got = append(got, lvl+" "+msg)
			if msg == "clock down" && (field(line, "reason") == "" || field(line, "err") == "") {
				t.Errorf("clock down without its reason: %s", line)
			}
			if strings.HasPrefix(msg, "clock up") && field(line, "down_for") == "" {
				t.Errorf("recovery without how long it was down: %s", line)
			}
		}
		want := []string{
			"WARN clock down", "DEBUG clock still down", "DEBUG clock still down", "DEBUG clock still down",
			"INFO clock up",
			"WARN clock down", "INFO clock up again",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("log:\n%s\nwant:\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), buf.String())
		}
	})
}

// field is the value of key in a slog text line ("" when absent).
func field(line, key string) string {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, `"`) {
		if v, err := strconv.QuotedPrefix(rest); err == nil {
			u, _ := strconv.Unquote(v)
			return u
		}
	}
	v, _, _ := strings.Cut(strings.TrimRight(rest, "\n"), " ")
	return v
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoopClearsOnlyOldCommittedLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		log := []device.Punch{{Clock: "SIM1", UserID: "1", Time: time.Now().Add(-time.Hour)}}
		failOn, calls, cleared := 0, 0, 0
		open := func(ctx context.Context, url string, opts device.Options) (device.Clock, error) {
			return &fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}, nil
		}
		sink := &recSink{}
		cfg := Config{Name: "c1", PollInterval: time.Minute, ClearLog: true, ClearOlderThan: 2 * time.Hour}
		cfg.Options.Location = time.UTC
		l := New(cfg, sink, open, nil, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()

		time.Sleep(30 * time.Second)
		synctest.Wait()
		mu.Lock()
		c0 := cleared
		mu.Unlock()
		if c0 != 0 {
			t.Fatalf("cleared a log whose newest punch is 1h old with clear_older_than=2h")
		}
		// Two hours on, the same (committed) punch is old enough.
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		mu.Lock()
		c1 := cleared
		mu.Unlock()
		if c1 != 1 {
			t.Fatalf("cleared = %d, want 1 once every punch is committed and older than 2h", c1)
		}
		sink.mu.Lock()
		first := sink.pulls[0]
		var clearedFlags []bool
		for _, p := range sink.pulls {
			clearedFlags = append(clearedFlags, p.Cleared)
		}
		sink.mu.Unlock()
		if len(first.Punches) != 1 {
			t.Fatalf("the punch was not committed before clearing: %+v", first)
		}
		// The pull after the clear says the loop cleared the log (no alert for punchd's own clear),
		// and only that one.
		marked := 0
		for i, c := range clearedFlags {
			if c {
				marked++
				if i == 0 || len(sink.pulls[i].Punches) != 0 {
					t.Errorf("pull %d marked Cleared: %+v", i, sink.pulls[i])
				}
			}
		}
		if marked != 1 {
			t.Errorf("pulls marked Cleared: %v, want exactly the one after the clear", clearedFlags)
		}
		cancel()
		<-done
	})
}

func TestReason(t *testing.T) {
	sentinel := errors.New("zk: bad checksum")
	Reasons[sentinel] = "checksum"
	defer delete(Reasons, sentinel)
	cases := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{errors.Join(errors.New("read chunk 3/7"), sentinel), "checksum"},
		{errors.New("something"), "other"},
	}
	for _, c := range cases {
		if got := Reason(c.err); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// tailClock is a fakeClock that can also hand over the tail of its log.
type tailClock struct {
	fakeClock
	tails *int
}

func (c *tailClock) PunchesFrom(ctx context.Context, from int) ([]device.Punch, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.tails++
	all := *c.punches
	return append([]device.Punch(nil), all[min(from, len(all)):]...), len(all), nil
}

type markSink struct {
	recSink
	n   int
	key string
}

func (s *markSink) Mark(string) (int, string) { return s.n, s.key }

func TestReadLogTailOrWhole(t *testing.T) {
	var mu sync.Mutex
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	log := []device.Punch{{Clock: "S", UserID: "1", Time: base}, {Clock: "S", UserID: "2", Time: base.Add(time.Minute)},
		{Clock: "S", UserID: "3", Time: base.Add(2 * time.Minute)}}
	failOn, calls, cleared, tails := 0, 0, 0, 0
	clk := &tailClock{fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}, &tails}

	// The mark is record 2 of the log: only record 3 is read out.
	sink := &markSink{n: 2, key: log[1].Key()}
	l := New(Config{Name: "c1"}, sink, nil, nil, nil, nil)
	ps, from, err := l.readLog(t.Context(), clk)
	if err != nil || from != 2 || len(ps) != 1 || ps[0].UserID != "3" || calls != 0 {
		t.Fatalf("grown log: %d punches from %d (%v), whole reads %d", len(ps), from, err, calls)
	}
	// The record at the mark changed (cleared and refilled): the whole log is read.
	sink.key = log[0].Key()
	ps, from, err = l.readLog(t.Context(), clk)
	if err != nil || from != 0 || len(ps) != 3 || calls != 1 {
		t.Fatalf("changed log: %d punches from %d (%v), whole reads %d", len(ps), from, err, calls)
	}
	// Fewer records than the mark: the whole log.
	sink.n, sink.key = 5, log[2].Key()
	if ps, from, err = l.readLog(t.Context(), clk); err != nil || from != 0 || len(ps) != 3 {
		t.Fatalf("shrunk log: %d punches from %d (%v)", len(ps), from, err)
	}
}
