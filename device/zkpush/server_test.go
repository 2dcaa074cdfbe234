package zkpush_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zkpush"
	"github.com/jinbi/punchd/device/zkpush/pushsim"
)

var cst = time.FixedZone("CST", 8*3600)

// sink records what the server commits; failNext makes the next Upload fail.
type sink struct {
	mu       sync.Mutex
	punches  []device.Punch
	skipped  []device.Skipped
	users    []zkpush.UserChange
	seen     int
	failNext bool
}

func (s *sink) Upload(ctx context.Context, clock, serial string, ps []device.Punch, sk []device.Skipped) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if clock != "dangzhengban" || serial != "PUSH0001" {
		return fmt.Errorf("upload for clock %q serial %q", clock, serial)
	}
	if s.failNext {
		s.failNext = false
		return errors.New("disk full")
	}
	s.punches = append(s.punches, ps...)
	s.skipped = append(s.skipped, sk...)
	return nil
}

func (s *sink) Users(ctx context.Context, clock, serial string, cs []zkpush.UserChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext {
		s.failNext = false
		return errors.New("disk full")
	}
	s.users = append(s.users, cs...)
	return nil
}

func (s *sink) Seen(ctx context.Context, clock, serial string) {
	s.mu.Lock()
	s.seen++
	s.mu.Unlock()
}

type stamps struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *stamps) GetMeta(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}
func (s *stamps) PutMeta(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) Request(serial, endpoint, result string) {
	c.mu.Lock()
	c.m[endpoint+"/"+result]++
	c.mu.Unlock()
}

func (c *counts) get(k string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.m[k] }

type rig struct {
	sink   *sink
	stamps *stamps
	counts *counts
	url    string
}

func newRig(t *testing.T, st *stamps) *rig {
	t.Helper()
	if st == nil {
		st = &stamps{m: map[string][]byte{}}
	}
	r := &rig{sink: &sink{}, stamps: st, counts: &counts{m: map[string]int{}}}
	srv := httptest.NewServer(zkpush.Handler(zkpush.Config{Devices: map[string]string{"PUSH0001": "dangzhengban"}, Location: cst,
		MaxBody: 64 << 10, Observer: r.counts}, r.sink, st))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func punchAt(i int) pushsim.Record {
	return pushsim.Record{UserID: fmt.Sprint(1000 + i%7), Time: time.Date(2026, 3, 2, 8, 0, 0, 0, cst).Add(time.Duration(i) * time.Minute), Verify: uint8(i % 2)}
}

// A device resends from the last stamp punchd acknowledged: everything at first, then only what
// is new, nothing after a restart of punchd, and again what a failed commit did not take.
func TestPushResendsFromTheAcknowledgedStamp(t *testing.T) {
	r := newRig(t, nil)
	dev, err := pushsim.New("PUSH0001", r.url, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 250 {
		dev.Punch(punchAt(i))
	}
	if n, err := dev.Sync(t.Context()); err != nil || n != 250 {
		t.Fatalf("first sync sent %d, %v; want 250", n, err)
	}
	if len(r.sink.punches) != 250 || r.sink.seen != 1 {
		t.Fatalf("committed %d punches, seen %d; want 250, 1", len(r.sink.punches), r.sink.seen)
	}
	p := r.sink.punches[1]
	if p.Clock != "PUSH0001" || p.UserID != "1001" || !p.Time.Equal(time.Date(2026, 3, 2, 8, 1, 0, 0, cst)) || p.Verify != 1 || string(p.Raw) != punchAt(1).Line() {
		t.Fatalf("punch 1 = %+v", p)
	}
	opts, err := dev.Handshake(t.Context())
	if err != nil || opts["ATTLOGStamp"] != "250" || opts["Stamp"] != "250" || opts["TimeZone"] != "8" || opts["Realtime"] != "1" {
		t.Fatalf("handshake options %v, %v", opts, err)
	}

	for i := 250; i < 255; i++ {
		dev.Punch(punchAt(i))
	}
	if n, err := dev.Sync(t.Context()); err != nil || n != 5 {
		t.Fatalf("second sync sent %d, %v; want the 5 new", n, err)
	}

	// punchd restarts (a new server, the same store): nothing to send again.
	r2 := newRig(t, r.stamps)
	dev2, _ := pushsim.New("PUSH0001", r2.url, 100)
	for i := range 255 {
		dev2.Punch(punchAt(i))
	}
	if n, err := dev2.Sync(t.Context()); err != nil || n != 0 {
		t.Fatalf("sync after a restart sent %d, %v; want 0", n, err)
	}

	// A commit that fails is not acknowledged: the device keeps the records and sends them again.
	dev2.Punch(punchAt(255))
	r2.sink.failNext = true
	if _, err := dev2.Sync(t.Context()); !errors.Is(err, pushsim.ErrRefused) {
		t.Fatalf("sync with a failing store: %v, want refused", err)
	}
	if n, err := dev2.Sync(t.Context()); err != nil || n != 1 || len(r2.sink.punches) != 1 {
		t.Fatalf("retry sent %d (%v), committed %d; want the one record", n, err, len(r2.sink.punches))
	}
	if r2.counts.get("cdata/store") != 1 {
		t.Errorf("the failed commit counted %d times under cdata/store, want 1", r2.counts.get("cdata/store"))
	}
}

// Bad bodies get the answer a device expects and a count, never a crash; good lines beside bad
// ones are kept.
func TestPushBadBodies(t *testing.T) {
	r := newRig(t, nil)
	dev, _ := pushsim.New("PUSH0001", r.url, 100)
	stranger, _ := pushsim.New("EVIL0001", r.url, 100)

	if _, err := stranger.Handshake(t.Context()); !errors.Is(err, pushsim.ErrRefused) {
		t.Errorf("handshake of an unknown serial: %v, want refused", err)
	}
	if status, reply, _ := stranger.Post(t.Context(), "ATTLOG", "1", punchAt(0).Line()); status != http.StatusForbidden || reply != "UNKNOWN DEVICE" {
		t.Errorf("upload of an unknown serial: %d %q", status, reply)
	}
	if r.counts.get("cdata/unknown_sn") != 2 || len(r.sink.punches) != 0 {
		t.Errorf("unknown serial: counted %d, committed %d", r.counts.get("cdata/unknown_sn"), len(r.sink.punches))
	}

	body := strings.Join([]string{
		punchAt(0).Line(),
		"1001\t2026-03-0",                 // truncated mid-date
		"1002",                            // truncated after the PIN
		"1003\t2026-02-30 08:00:00\t0\t1", // no such day
		"1004\t2026-03-02 25:61:00\t0\t1", // no such time
		"\t2026-03-02 08:00:00\t0\t1",     // no PIN
		"1005\t2026-03-02 08:05:00\tx\t1", // status not a number
		"",
		punchAt(1).Line(),
		"1006\t2026-03-02 08:09:00", // only PIN and time: kept
	}, "\n")
	status, reply, err := dev.Post(t.Context(), "ATTLOG", "10", body)
	if err != nil || status != http.StatusOK || reply != "OK" {
		t.Fatalf("mixed upload: %d %q %v, want OK (the good lines are kept, the bad ones cannot get better)", status, reply, err)
	}
	if len(r.sink.punches) != 3 {
		t.Errorf("committed %d punches, want 3", len(r.sink.punches))
	}
	reasons := map[string]int{}
	for _, s := range r.sink.skipped {
		reasons[s.Reason]++
	}
	if reasons[device.SkipMalformed] != 4 || reasons[device.SkipBadDate] != 2 {
		t.Errorf("skipped %v, want 4 malformed and 2 bad dates", reasons)
	}

	// 10 MB: refused whole (the device keeps it), counted, nothing committed, no crash.
	big := strings.Repeat(punchAt(2).Line()+"\n", 10<<20/len(punchAt(2).Line()))
	before := len(r.sink.punches)
	status, reply, err = dev.Post(t.Context(), "ATTLOG", "99999", big)
	if err != nil || status != http.StatusRequestEntityTooLarge || reply == "OK" {
		t.Errorf("10 MB upload: %d %q %v", status, reply, err)
	}
	if len(r.sink.punches) != before || r.counts.get("cdata/too_large") != 1 {
		t.Errorf("10 MB upload committed %d, counted %d", len(r.sink.punches)-before, r.counts.get("cdata/too_large"))
	}
	if opts, _ := dev.Handshake(t.Context()); opts["ATTLOGStamp"] != "10" {
		t.Errorf("stamp %q after the refused upload, want 10 (the last acknowledged)", opts["ATTLOGStamp"])
	}

	// A stamp that is not a number is not kept (it would be echoed into the options).
	if status, _, _ := dev.Post(t.Context(), "ATTLOG", "7\r\nRealtime=0", punchAt(3).Line()); status != http.StatusOK {
		t.Errorf("upload with a bad stamp: %d", status)
	}
	if opts, _ := dev.Handshake(t.Context()); opts["ATTLOGStamp"] != "10" || opts["Realtime"] != "1" {
		t.Errorf("options %v after a bad stamp", opts)
	}

	// Other tables are acknowledged, and the OPERLOG stamp kept; other paths are not found.
	if status, reply, _ := dev.Post(t.Context(), "OPERLOG", "3", "OPLOG 4\t0\t2026-03-02 08:00:00\t0\t0\t0\t0\n"); status != http.StatusOK || reply != "OK" {
		t.Errorf("OPERLOG upload: %d %q", status, reply)
	}
	if opts, _ := dev.Handshake(t.Context()); opts["OPERLOGStamp"] != "3" {
		t.Errorf("OPERLOGStamp %q, want 3", opts["OPERLOGStamp"])
	}
	resp, err := http.Get(r.url + "/iclock/fdata?SN=PUSH0001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || r.counts.get("other/bad_request") != 1 {
		t.Errorf("unknown path: %d, counted %d", resp.StatusCode, r.counts.get("other/bad_request"))
	}
}

// OPERLOG uploads: the terminal's user records and delete-user operations reach the Sink in the
// terminal's order, whatever else the body holds (other operations, templates); a line that cannot
// be read is skipped and the request counted as malformed_lines; a failed commit is not
// acknowledged, so the terminal sends the lines again; the first table is stated whole.
func TestPushOperLog(t *testing.T) {
	r := newRig(t, nil)
	dev, _ := pushsim.New("PUSH0001", r.url, 2)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, cst)
	dev.SetUsers([]pushsim.User{{UserID: "1001", Name: "张三"}, {UserID: "1002", Name: "李四", Privilege: 14, Card: 77}}, at)
	if _, err := dev.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	// One enrolled, one made an administrator, one removed.
	dev.SetUsers([]pushsim.User{{UserID: "1001", Name: "张三", Privilege: 14}, {UserID: "1003", Name: "王五"}}, at.Add(time.Hour))
	r.sink.failNext = true
	if _, err := dev.Sync(t.Context()); !errors.Is(err, pushsim.ErrRefused) {
		t.Fatalf("sync with a failing store: %v, want refused", err)
	}
	if _, err := dev.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.sink.users {
		if c.Removed {
			got = append(got, "-"+c.User.UserID)
		} else {
			got = append(got, fmt.Sprintf("%s:%s:%d:%d", c.User.UserID, c.User.Name, c.User.Privilege, c.User.Card))
		}
	}
	if want := "1001:张三:0:0 1002:李四:14:77 -1002 1001:张三:14:0 1003:王五:0:0"; strings.Join(got, " ") != want {
		t.Errorf("user changes %q, want %q", strings.Join(got, " "), want)
	}
	if opts, _ := dev.Handshake(t.Context()); opts["OPERLOGStamp"] != "8" || !strings.Contains(opts["TransFlag"], "EnrollUser") {
		t.Errorf("options %v: want OPERLOGStamp 8 (every line acknowledged) and user records asked for", opts)
	}
	if r.counts.get("cdata/store") != 1 {
		t.Errorf("the failed commit counted %d times, want 1", r.counts.get("cdata/store"))
	}

	r.sink.users = nil
	body := strings.Join([]string{
		"FP PIN=1001\tFID=6\tSize=4\tValid=1\tTMP=QUJD",    // a template: nothing about the table
		"OPLOG 4\t0\t2026-03-02 09:00:00\t0\t0\t0\t0",      // menu entered
		"OPLOG x\t0\t2026-03-02 09:00:00\t0",               // operation not a number
		"OPLOG 103\t0\t2026-03-02 09:01:00\t1003\t0\t0\t0", // delete, newer firmware's code
		"OPLOG 9\t0\t2026-03-02 09:01:00",                  // delete without the PIN
		"USER Name=nobody\tPri=0",                          // user without a PIN
		"USER PIN=1004\tName=赵六\tPri=x",                    // privilege not a number
		"PIN=1005\tName=孙七\tPrivilege=14\tCard=",           // the USERINFO form
	}, "\r\n")
	if status, reply, err := dev.Post(t.Context(), "OPERLOG", "20", body); err != nil || status != http.StatusOK || reply != "OK" {
		t.Fatalf("mixed OPERLOG upload: %d %q %v, want OK", status, reply, err)
	}
	if len(r.sink.users) != 2 || !r.sink.users[0].Removed || r.sink.users[0].User.UserID != "1003" ||
		r.sink.users[1].User.UserID != "1005" || r.sink.users[1].User.Privilege != 14 {
		t.Errorf("mixed upload gave %+v, want 1003 removed and 1005 an administrator", r.sink.users)
	}
	if r.counts.get("cdata/malformed_lines") != 1 {
		t.Errorf("malformed_lines counted %d, want 1", r.counts.get("cdata/malformed_lines"))
	}
}

// ApplyUserChanges: records replace or add, removals drop, the stored order is kept.
func TestApplyUserChanges(t *testing.T) {
	table := []device.User{{UserID: "1", Name: "a"}, {UserID: "2", Name: "b"}, {UserID: "3", Name: "c"}}
	got := zkpush.ApplyUserChanges(table, []zkpush.UserChange{
		{User: device.User{UserID: "2"}, Removed: true},
		{User: device.User{UserID: "4", Name: "d"}},
		{User: device.User{UserID: "1", Name: "a", Privilege: 14}},
		{User: device.User{UserID: "9"}, Removed: true},
	})
	if fmt.Sprint(got) != fmt.Sprint([]device.User{{UserID: "1", Name: "a", Privilege: 14}, {UserID: "3", Name: "c"}, {UserID: "4", Name: "d"}}) {
		t.Errorf("ApplyUserChanges = %+v", got)
	}
	if table[1].UserID != "2" {
		t.Errorf("the stored table was changed in place: %+v", table)
	}
}

func TestParseURL(t *testing.T) {
	addr, sn, err := zkpush.ParseURL("zk+push://0.0.0.0:8088?sn=CJDA193460013")
	if err != nil || addr != "0.0.0.0:8088" || sn != "CJDA193460013" {
		t.Fatalf("ParseURL = %q %q %v", addr, sn, err)
	}
	for _, bad := range []string{"zk+tcp://1.2.3.4:4370?sn=A", "zk+push://0.0.0.0?sn=A", "zk+push://0.0.0.0:8088", "zk+push://0.0.0.0:8088?sn=a%0Ab", "zk+push://0.0.0.0:99999?sn=A"} {
		if _, _, err := zkpush.ParseURL(bad); !errors.Is(err, zkpush.ErrBadURL) {
			t.Errorf("ParseURL(%q) = %v, want ErrBadURL", bad, err)
		}
	}
}
