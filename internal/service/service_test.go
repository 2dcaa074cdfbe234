package service_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/service"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
)

var cst = time.FixedZone("CST", 8*3600)

// now has a fraction of a second: what is recorded must not.
var now = time.Date(2026, 3, 10, 11, 0, 7, 654321000, cst)

// open returns the service over a fresh store with 1001 张三 on the roster.
func open(t *testing.T) *service.Service {
	t.Helper()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone = "jinbi", "Asia/Shanghai"
	cfg.Store.Path = filepath.Join(t.TempDir(), "punchd.db")
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	db, err := store.Open(cfg.Store.Path, store.Options{Location: cfg.Location(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoster([]attendance.Person{{UserID: "1001", Name: "张三", Tracking: attendance.TrackClock}}, nil); err != nil {
		t.Fatal(err)
	}
	since := attendance.Date{Year: 2026, Month: 3, Day: 1}
	eng := ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: cfg.Location(),
		Params: cfg.RulesParams(), EventsSince: since}, db, cal, clock, nil, nil, nil)
	if err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return service.New(cfg, db, cal, eng, since, clock)
}

func meeting(user string) attendance.Registration {
	return attendance.Registration{UserID: user, Kind: attendance.KindMeeting, Reason: "县委会议", RegisteredBy: "李主任",
		From: time.Date(2026, 3, 9, 8, 0, 0, 0, cst), To: time.Date(2026, 3, 9, 12, 0, 0, 0, cst)}
}

// serve puts s behind the daemon's socket and returns a client of it, as punchctl talks to a
// running daemon.
func serve(t *testing.T, s *service.Service) *api.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "svc") // a unix socket path is limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler(s, slog.New(slog.DiscardHandler))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := api.Dial(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The two paths punchctl takes — the store directly and the daemon's socket — used to record
// registration times differently (rounded in one only) and to check revoke's --by differently.
// Both now go through one Service: the same request gives the same record either way.
func TestRegistrationTheSameOnBothPaths(t *testing.T) {
	for _, path := range []struct {
		name string
		b    func(*testing.T, *service.Service) api.Backend
	}{
		{"store", func(_ *testing.T, s *service.Service) api.Backend { return s }},
		{"socket", func(t *testing.T, s *service.Service) api.Backend { return serve(t, s) }},
	} {
		t.Run(path.name, func(t *testing.T) {
			ctx := t.Context()
			b := path.b(t, open(t))
			m := meeting("1001")
			m.Via, m.ApprovedBy = "电话", " 王书记 "
			m.RegisteredAt = m.From // what a caller says is not when punchd recorded it
			r, err := b.AddRegistration(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Truncate(time.Second); !r.RegisteredAt.Equal(want) {
				t.Errorf("registered_at %s, want whole seconds %s", r.RegisteredAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
			if r.Via != attendance.ViaPhone || r.ApprovedBy != "王书记" || r.RegisteredBy != "李主任" {
				t.Errorf("via %q approved_by %q registered_by %q, want phone, 王书记, 李主任", r.Via, r.ApprovedBy, r.RegisteredBy)
			}
			listed, err := b.Registrations(ctx, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0].Via != attendance.ViaPhone || listed[0].ApprovedBy != "王书记" || !listed[0].RegisteredAt.Equal(r.RegisteredAt) {
				t.Errorf("listed %+v", listed)
			}
			bad := meeting("1001")
			bad.Via = "email"
			if _, err := b.AddRegistration(ctx, bad); err == nil {
				t.Error("via email accepted")
			}
			for _, by := range []string{"", "  ", "\t"} {
				if _, err := b.RevokeRegistration(ctx, r.ID, by, "x"); err == nil {
					t.Errorf("revoke by %q accepted", by)
				} else if path.name == "store" && !errors.Is(err, service.ErrNoRevoker) {
					t.Errorf("revoke by %q: %v, want ErrNoRevoker", by, err)
				}
			}
			rv, err := b.RevokeRegistration(ctx, r.ID, "王书记", "撤销")
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Truncate(time.Second); !rv.RevokedAt.Equal(want) || rv.RevokedBy != "王书记" {
				t.Errorf("revoked %s by %q, want %s by 王书记", rv.RevokedAt.Format(time.RFC3339Nano), rv.RevokedBy, want.Format(time.RFC3339Nano))
			}
			if _, err := b.AddRegistration(ctx, meeting("9999")); err == nil {
				t.Error("a registration for someone not on the roster was accepted")
			} else if path.name == "store" && !errors.Is(err, service.ErrNotOnRoster) {
				t.Errorf("not on the roster: %v, want ErrNotOnRoster", err)
			}
		})
	}
}

// Status from the store alone: the configured clocks, nothing up, the outbox, events_since.
func TestStatusFromTheStore(t *testing.T) {
	s := open(t)
	if _, err := s.AddRegistration(t.Context(), meeting("1001")); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Site != "jinbi" || st.EventsSince != "2026-03-01" || st.MQTT || st.Version != "" {
		t.Errorf("status %+v", st)
	}
}
