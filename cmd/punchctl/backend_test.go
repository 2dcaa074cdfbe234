package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/pull"
)

// The fixture: a store the daemon's ingest engine filled, as punchd would leave it when stopped.
// 2026-03-09 is a Monday. 1001 张三 arrived 15 minutes late that morning; 1002 李四 never came.
// The clock "main" was pulled at 2026-03-10 10:00, so the 9th is final and its events are queued.

var bkZone = shanghai

var (
	bkPulledAt = time.Date(2026, 3, 10, 10, 0, 0, 0, bkZone)
	bkNow      = time.Date(2026, 3, 10, 11, 0, 0, 0, bkZone)
	bkDay      = attendance.Date{Year: 2026, Month: time.March, Day: 9}
)

type bkFixture struct {
	dir, cfgPath, dbPath, sock string
	cfg                        config.Config
}

// newBkFixture writes a config and a store into temp dirs. The socket lives in a short temp dir
// (a unix socket path is limited to 108 bytes); nothing listens there unless a test serves it.
func newBkFixture(t *testing.T) *bkFixture {
	t.Helper()
	f := newFixtureDirs(t)
	var err error
	f.cfgPath = writeFile(t, f.dir, "punchd.toml", fmt.Sprintf(`
[site]
name = "jinbi"
timezone = "Asia/Shanghai"
roster = ""
events_since = "2026-03-01"
[store]
path = %q
[api]
socket = %q
[mqtt]
topic_prefix = "punchd/jinbi"
[[clock]]
name = "main"
url = "zk+tcp://127.0.0.1:4370"
`, f.dbPath, f.sock))
	if f.cfg, err = config.Load(f.cfgPath); err != nil {
		t.Fatal(err)
	}
	var ps []device.Punch
	for _, hm := range []string{"08:45", "12:01", "14:29", "18:02"} {
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2026-03-09 "+hm, bkZone)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, device.Punch{Clock: "SN1", UserID: "1001", Time: tm, Verify: 1})
	}
	f.seed(t, []attendance.Person{
		{UserID: "1001", Name: "张三", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "1002", Name: "李四", Post: "副镇长", Unit: "党政办", Tracking: attendance.TrackClock},
	}, ps)
	return f
}

// seed fills the fixture's store as the daemon would have: the roster, then one pull of clock
// main (serial SN1) at bkPulledAt bringing ps, judged.
func (f *bkFixture) seed(t *testing.T, people []attendance.Person, ps []device.Punch) {
	t.Helper()
	db, err := store.Open(f.dbPath, store.Options{Location: bkZone, Now: func() time.Time { return bkPulledAt }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutRoster(people, nil); err != nil {
		t.Fatal(err)
	}
	cal, err := f.cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	eng := ingest.New(ingest.Config{Site: "jinbi", Prefix: "punchd/jinbi", Location: bkZone, Params: f.cfg.RulesParams(),
		EventsSince: attendance.Date{Year: 2026, Month: time.March, Day: 1}, Clocks: []string{"main"}},
		db, cal, func() time.Time { return bkPulledAt }, nil, nil, nil)
	ctx := context.Background()
	if err := eng.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Pulled(ctx, pull.Pull{Clock: "main", Info: device.Info{Serial: "SN1", Records: len(ps), RecordCap: 100000},
		Punches: ps, At: bkPulledAt}); err != nil {
		t.Fatal(err)
	}
}

// newFixtureDirs is a fixture's directories: the store and config in a temp dir, the socket in a
// short one (a unix socket path is limited to 108 bytes).
func newFixtureDirs(t *testing.T) *bkFixture {
	t.Helper()
	f := &bkFixture{dir: t.TempDir()}
	sockDir, err := os.MkdirTemp("", "pctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	f.sock = filepath.Join(sockDir, "punchd.sock")
	f.dbPath = filepath.Join(f.dir, "punchd.db")
	return f
}

// ctl runs one punchctl command as run does, with the clock set to now and --config given.
func (f *bkFixture) ctl(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ConfigPath: f.cfgPath, ConfigSet: true,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	c, rest, ok := lookup(args)
	if !ok {
		t.Fatalf("no command %q", args)
	}
	code := exitCode(c, e.runCommand(context.Background(), c, rest), &errb)
	return code, out.String(), errb.String()
}

// open reopens the store for a test to look at.
func (f *bkFixture) open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(f.dbPath, store.Options{Location: bkZone, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// serve runs the API on the fixture's socket over a store-backed backend (the daemon's place),
// until the test ends.
func (f *bkFixture) serve(t *testing.T) *storeBackend {
	t.Helper()
	return f.serveAs(t, func(sb *storeBackend) api.Backend { return sb })
}

// serveAs is serve with the backend that answers wrapped around the store's (a daemon's view).
func (f *bkFixture) serveAs(t *testing.T, wrap func(*storeBackend) api.Backend) *storeBackend {
	t.Helper()
	sb, err := openStoreBackend(context.Background(), f.cfg, backendOptions{Now: func() time.Time { return bkNow }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := api.Listen(f.sock)
	if err != nil {
		sb.Close()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler(wrap(sb), slog.New(slog.DiscardHandler))}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		sb.Close()
	})
	return sb
}

func TestOpenBackendChoosesStoreThenDaemon(t *testing.T) {
	f := newBkFixture(t)
	ctx := context.Background()

	var errb bytes.Buffer
	b, closeB, err := openBackend(ctx, f.cfg, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*storeBackend); !ok {
		t.Errorf("no daemon: backend is %T, want the store", b)
	}
	if want := "punchctl: daemon not running: using store " + f.dbPath + " directly\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	if err := closeB(); err != nil {
		t.Fatal(err)
	}

	// A stale socket file with nobody listening is "not running" too.
	if err := os.WriteFile(f.sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	b, closeB, err = openBackend(ctx, f.cfg, &errb)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	if _, ok := b.(*storeBackend); !ok {
		t.Errorf("stale socket: backend is %T, want the store", b)
	}
	closeB()
	os.Remove(f.sock)

	f.serve(t)
	errb.Reset()
	b, closeB, err = openBackend(ctx, f.cfg, &errb)
	if err != nil {
		t.Fatal(err)
	}
	defer closeB()
	if _, ok := b.(*api.Client); !ok {
		t.Errorf("daemon up: backend is %T, want the API client", b)
	}
	if want := "punchctl: via daemon socket " + f.sock + "\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	people, err := b.Roster(ctx)
	if err != nil || len(people) != 2 || people[0].Name != "张三" {
		t.Errorf("roster over the API = %+v, %v", people, err)
	}
}

func TestOpenBackendLockedAndMissing(t *testing.T) {
	f := newBkFixture(t)
	old := storeLockWait
	storeLockWait = 100 * time.Millisecond
	defer func() { storeLockWait = old }()

	// Another process (here: another handle) holds the store and no daemon answers.
	db, err := store.Open(f.dbPath, store.Options{Location: bkZone})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.ctl(t, bkNow, "register", "list", "--month", "2026-03")
	db.Close()
	if code != 1 || out != "" || strings.Count(errs, "\n") != 1 ||
		!strings.Contains(errs, "punchctl register list: daemon not running (no answer on socket "+f.sock+"), but store "+f.dbPath+" is held by another process") {
		t.Errorf("locked store: %d %q %q", code, out, errs)
	}

	// No daemon and no store: refuse rather than create one.
	f.cfg.Store.Path = filepath.Join(f.dir, "nothing-here.db")
	var errb bytes.Buffer
	_, _, err = openBackend(context.Background(), f.cfg, &errb)
	if !errors.Is(err, errNoStore) || !strings.Contains(err.Error(), "nothing-here.db") || errb.Len() != 0 {
		t.Errorf("missing store: err %v, stderr %q", err, errb.String())
	}
	if _, err := os.Stat(f.cfg.Store.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a store was created at %s", f.cfg.Store.Path)
	}
}
