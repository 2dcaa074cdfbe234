package push

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zkpush"
	"github.com/jinbi/punchd/sync/pull"
)

type fakeSink struct {
	mu    sync.Mutex
	pulls []pull.Pull
	mark  device.Mark
	users []device.User // the stored table
}

func (f *fakeSink) Pulled(ctx context.Context, r pull.Pull) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, r)
	f.mark = r.Mark
	if r.Users != nil {
		f.users = r.Users
	}
	return nil
}

func (f *fakeSink) ClockUsers(string) ([]device.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users, nil
}

func (f *fakeSink) Mark(string) device.Mark { f.mu.Lock(); defer f.mu.Unlock(); return f.mark }

type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string)                             { e.mu.Lock(); e.got = append(e.got, s); e.mu.Unlock() }
func (e *events) ClockUp(clock string, up bool)            { e.add(fmt.Sprintf("up %s %v", clock, up)) }
func (e *events) ClockError(clock, reason string)          { e.add("error " + clock + " " + reason) }
func (e *events) PullFailed(string, string, time.Duration) {}
func (e *events) Pulled(clock string, r pull.Pull) {
	e.add(fmt.Sprintf("pulled %s %d", clock, len(r.Punches)))
}
func (e *events) RealtimeConnected(string, bool) {}
func (e *events) Beat(string)                    {}
func (e *events) list() string                   { e.mu.Lock(); defer e.mu.Unlock(); return strings.Join(e.got, "; ") }

// Uploads continue the clock's log from its mark (so ingest takes them as a tail), heartbeats mark
// the clock synced at most every SyncEvery, and a device silent for SilentAfter is reported down,
// then up when it calls again.
func TestUploadsHeartbeatsAndSilence(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sink, obs := &fakeSink{}, &events{}
	s, err := New([]Clock{{Name: "tuishui", URL: "zk+push://127.0.0.1:0?sn=PUSH0001"}}, sink, clock, nil, obs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := device.Punch{Clock: "PUSH0001", UserID: "1", Time: now, Raw: []byte("1\t2026-03-02 08:00:00\t0\t1")}
	if err := s.Upload(t.Context(), "tuishui", "PUSH0001", []device.Punch{p, p}, []device.Skipped{{Index: 1, Reason: device.SkipMalformed}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(t.Context(), "tuishui", "PUSH0001", []device.Punch{p}, []device.Skipped{{Index: 0, Reason: device.SkipBadDate}}); err != nil {
		t.Fatal(err)
	}
	second := sink.pulls[1]
	if second.From != 3 || second.New != 3 || second.Mark.Count != 5 || string(second.Mark.Last) != string(p.Raw) ||
		second.Skipped[0].Index != 3 || second.Info.Serial != "PUSH0001" {
		t.Fatalf("second upload as a pull: %+v", second)
	}
	s.Seen(t.Context(), "tuishui", "PUSH0001") // just committed: nothing
	now = now.Add(time.Minute)
	s.Seen(t.Context(), "tuishui", "PUSH0001")
	if len(sink.pulls) != 3 || len(sink.pulls[2].Punches) != 0 || sink.pulls[2].Mark.Count != 5 {
		t.Fatalf("heartbeats committed %d pulls, want one empty one after a minute", len(sink.pulls)-2)
	}

	observer{s, map[string]string{"PUSH0001": "tuishui"}}.Request("PUSH0001", "getrequest", "ok")
	now = now.Add(SilentAfter - time.Second)
	s.checkSilent()
	now = now.Add(time.Second)
	s.checkSilent()
	s.checkSilent() // once
	observer{s, map[string]string{"PUSH0001": "tuishui"}}.Request("PUSH0001", "getrequest", "ok")
	want := "up tuishui true; pulled tuishui 2; up tuishui true; pulled tuishui 1; up tuishui true; pulled tuishui 0; error tuishui timeout; up tuishui false; up tuishui true"
	if got := obs.list(); got != want {
		t.Errorf("observer saw\n%s\nwant\n%s", got, want)
	}
}

// An OPERLOG upload's user changes are applied to the stored table and go to ingest as the clock's
// whole table, without moving the log's mark or claiming the clock synced past its last upload.
func TestUsersFromTheOperationLog(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	sink := &fakeSink{users: []device.User{{UserID: "1", Name: "a"}, {UserID: "2", Name: "b"}}}
	s, err := New([]Clock{{Name: "tuishui", URL: "zk+push://127.0.0.1:0?sn=PUSH0001"}}, sink, func() time.Time { return now }, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := device.Punch{Clock: "PUSH0001", UserID: "1", Time: now, Raw: []byte("x")}
	if err := s.Upload(t.Context(), "tuishui", "PUSH0001", []device.Punch{p}, nil); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Minute)
	changes := []zkpush.UserChange{{User: device.User{UserID: "2"}, Removed: true}, {User: device.User{UserID: "1", Name: "a", Privilege: 14}}}
	if err := s.Users(t.Context(), "tuishui", "PUSH0001", changes); err != nil {
		t.Fatal(err)
	}
	r := sink.pulls[1]
	if fmt.Sprint(r.Users) != fmt.Sprint([]device.User{{UserID: "1", Name: "a", Privilege: 14}}) || len(r.Punches) != 0 ||
		r.Mark.Count != 1 || string(r.Mark.Last) != "x" || r.From != 1 || r.New != 1 || r.Info.Serial != "PUSH0001" ||
		!r.At.Add(-r.Duration).Equal(now.Add(-10*time.Minute)) {
		t.Errorf("the user changes as a pull: %+v", r)
	}
}
