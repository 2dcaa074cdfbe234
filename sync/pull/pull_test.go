package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/testlog"
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

func (s *recSink) Mark(string) device.Mark { return device.Mark{} }

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
		var buf testlog.Buffer
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
	closed := errors.New("zk: connection closed")
	reasons := []ErrorReason{{sentinel, "checksum"}, {closed, "closed"}}
	both := fmt.Errorf("%w: %w", closed, sentinel) // an error that is both: the first rule decides
	cases := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{errors.Join(errors.New("read chunk 3/7"), sentinel), "checksum"},
		{errors.New("something"), "other"},
		{closed, "closed"},
		{both, "checksum"},
		{nil, ""},
	}
	for range 50 { // the order is the list's, not a map's: the same answer every time
		if got := Reason(both, reasons); got != "checksum" {
			t.Fatalf("Reason(%v) = %q, want checksum every time", both, got)
		}
	}
	for _, c := range cases {
		if got := Reason(c.err, reasons); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// markClock is a fakeClock that reads from a mark: it records what it was asked.
type markClock struct {
	fakeClock
	asked []bool // full, per ReadLog
}

func (c *markClock) ReadLog(ctx context.Context, since device.Mark, full bool) (device.Log, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, full)
	all := *c.punches
	from := 0
	if !full && since.Count > 0 && since.Count <= len(all) {
		from = since.Count
	}
	return device.Log{Punches: append([]device.Punch(nil), all[from:]...), From: from, New: from, Mark: device.Mark{Count: len(all), Last: []byte{byte(len(all))}}}, nil
}

type markSink struct {
	recSink
	mark device.Mark
	fail bool
}

func (s *markSink) Mark(string) device.Mark { return s.mark }

func (s *markSink) Pulled(ctx context.Context, r Pull) error {
	if s.fail {
		return errors.New("disk full")
	}
	s.mark = r.Mark
	return s.recSink.Pulled(ctx, r)
}

// The first read of a loop and every read after FullPullInterval (or a failed commit) is a whole
// read; the others read from the mark.
func TestReadLogTailOrWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		log := []device.Punch{{Clock: "S", UserID: "1", Time: base}, {Clock: "S", UserID: "2", Time: base.Add(time.Minute)}}
		failOn, calls, cleared := 0, 0, 0
		clk := &markClock{fakeClock: fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}}
		sink := &markSink{mark: device.Mark{Count: 2, Last: []byte{2}}}
		l := New(Config{Name: "c1", FullPullInterval: time.Hour}, sink, nil, nil, nil, nil)
		ctx := t.Context()
		pull := func(want bool, wantPunches int) {
			t.Helper()
			if err := l.pullOnce(ctx, clk, false); err != nil {
				t.Fatal(err)
			}
			if got := clk.asked[len(clk.asked)-1]; got != want {
				t.Fatalf("read %d: full=%v, want %v", len(clk.asked), got, want)
			}
			if r := sink.pulls[len(sink.pulls)-1]; r.Full != want || len(r.Punches) != wantPunches {
				t.Fatalf("read %d: pull full=%v with %d punches, want %v and %d", len(clk.asked), r.Full, len(r.Punches), want, wantPunches)
			}
		}
		pull(true, 2) // the first read of this process
		mu.Lock()
		log = append(log, device.Punch{Clock: "S", UserID: "3", Time: base.Add(2 * time.Minute)})
		mu.Unlock()
		pull(false, 1) // only what is new
		time.Sleep(59 * time.Minute)
		pull(false, 0)
		time.Sleep(time.Minute)
		pull(true, 3) // the hour is up
		sink.fail = true
		if err := l.pullOnce(ctx, clk, false); err == nil {
			t.Fatal("a failed commit reported as a pull")
		}
		sink.fail = false
		pull(true, 3) // doubt after the failed commit
		pull(false, 0)
		if calls != 0 {
			t.Fatalf("%d whole reads through Punches from a clock that reads from a mark", calls)
		}
	})
}

// An operator's command runs on the loop's connection between its pulls; without a connection it
// is refused at once.
func TestLoopDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		log := []device.Punch{{Clock: "SIM1", UserID: "1", Time: time.Now().Add(-time.Hour)}}
		failOn, calls, cleared := 0, 0, 0
		open := func(ctx context.Context, url string, opts device.Options) (device.Clock, error) {
			return &fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}, nil
		}
		l := New(Config{Name: "c1", PollInterval: time.Minute}, &recSink{}, open, nil, nil, nil)
		clk := l.Clock()
		if _, err := clk.Info(t.Context()); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Info before the loop runs: %v, want ErrNotConnected", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()
		synctest.Wait()

		info, err := clk.Info(t.Context())
		if err != nil || info.Serial != "SIM1" || info.Records != 1 {
			t.Fatalf("Info through the loop = %+v, %v", info, err)
		}
		ps, err := clk.Punches(t.Context())
		if err != nil || len(ps) != 1 {
			t.Fatalf("Punches through the loop = %v, %v", ps, err)
		}
		if tm, err := clk.(device.TimeGetter).Time(t.Context()); err != nil || tm.IsZero() {
			t.Fatalf("Time through the loop (from Info) = %v, %v", tm, err)
		}
		if _, err := clk.(device.UserReader).Users(t.Context()); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Users of a driver without a user table: %v, want ErrUnsupported", err)
		}
		// A caller that gives up gets its context's error.
		gone, stop := context.WithCancel(t.Context())
		stop()
		if _, err := clk.Info(gone); !errors.Is(err, context.Canceled) {
			t.Fatalf("Info with a cancelled context: %v", err)
		}
		cancel()
		<-done
		if _, err := clk.Info(t.Context()); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Info after the loop stopped: %v, want ErrNotConnected", err)
		}
	})
}

// streamClock is a markClock that streams whole reads in batches of two punches.
type streamClock struct{ markClock }

func (c *streamClock) StreamLog(ctx context.Context, since device.Mark, full bool, fn func([]device.Punch) error) (device.Log, error) {
	l, err := c.ReadLog(ctx, since, full)
	if err != nil {
		return device.Log{}, err
	}
	for ps := l.Punches; len(ps) > 0; ps = ps[min(2, len(ps)):] {
		if err := fn(ps[:min(2, len(ps))]); err != nil {
			return device.Log{}, err
		}
	}
	l.Punches = nil
	return l, nil
}

// stageSink is a markSink that stages.
type stageSink struct {
	markSink
	batches [][]device.Punch
}

func (s *stageSink) Stage(ctx context.Context, clock string, ps []device.Punch) error {
	s.batches = append(s.batches, slices.Clone(ps))
	return nil
}

// A whole read of a clock that streams goes to a Sink that stages batch by batch, and the Pulled
// that ends it says how many; a read from the mark comes in Pulled as before.
func TestWholeReadStaged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		var log []device.Punch
		for i := range 5 {
			log = append(log, device.Punch{Clock: "S", UserID: strconv.Itoa(i), Time: base.Add(time.Duration(i) * time.Minute)})
		}
		failOn, calls, cleared := 0, 0, 0
		clk := &streamClock{markClock{fakeClock: fakeClock{mu: &mu, punches: &log, failOn: &failOn, calls: &calls, cleared: &cleared}}}
		sink := &stageSink{}
		l := New(Config{Name: "c1"}, sink, nil, nil, nil, nil)
		if err := l.pullOnce(t.Context(), clk, false); err != nil {
			t.Fatal(err)
		}
		r := sink.pulls[0]
		if len(sink.batches) != 3 || len(r.Punches) != 0 || r.Staged != 5 || !r.Full || r.Mark.Count != 5 {
			t.Fatalf("whole read: %d batches staged, pull with %d punches, staged %d, full %v, mark %d",
				len(sink.batches), len(r.Punches), r.Staged, r.Full, r.Mark.Count)
		}
		mu.Lock()
		log = append(log, device.Punch{Clock: "S", UserID: "9", Time: base.Add(time.Hour)})
		mu.Unlock()
		if err := l.pullOnce(t.Context(), clk, false); err != nil {
			t.Fatal(err)
		}
		if r := sink.pulls[1]; len(sink.batches) != 3 || len(r.Punches) != 1 || r.Staged != 0 || r.Full {
			t.Fatalf("tail read: %d batches staged, pull with %d punches, staged %d, full %v", len(sink.batches), len(r.Punches), r.Staged, r.Full)
		}
	})
}
