// Package service is punchd's local API implemented once, over the store: what `punchctl` asks
// of punchd (status, roster, clock users, registrations, days). The daemon serves it on its unix
// socket (internal/api) while it runs; punchctl calls it directly on the store when the daemon is
// stopped. Both therefore validate, stamp times and re-judge the same way.
//
// It owns the decisions about those operations: what a valid request is, which time is recorded
// (whole seconds), which days are re-judged. It must not know about sockets, HTTP, MQTT or the
// clocks' live state: the daemon wraps a Service and adds only what needs it running (the clocks'
// and the broker's live state in Status, a hot backup), punchctl only what it tells its user.
//
// # Adding an operation
//
// Add the method here (context first, the store and the engine behind it), add it to
// api.Backend with its route in api.Handler and its api.Client method, and both paths have it.
// A method that changes what is judged re-judges through the engine, as AddRegistration does, so
// the corrections go through the outbox whether or not the daemon runs. A method that changes
// anything records it with s.audit.Change (or Note, for several entries), handing the notes to the
// store's write method in a store.Change: the change, its audit entry, the entry's message and the
// events the change raises are one bbolt transaction.
//
// All methods are safe for concurrent use (the store and the engine serialise their writes).
package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
)

// Errors returned by this package, wrapped with what was refused.
var (
	// ErrNotOnRoster: a registration names a person who is not judged.
	ErrNotOnRoster = errors.New("not on the roster")
	// ErrNoRevoker: a revocation does not say who revokes.
	ErrNoRevoker = errors.New("revoke: --by is required")
)

// Service implements api.Backend over a store and the ingest engine that judges into it. Every
// change is written to the audit log, with the actor the caller put in the context
// (audit.WithActor): the web console's account, the local user of punchctl.
type Service struct {
	cfg   config.Config
	db    *store.DB
	cal   *calendar.Calendar
	eng   *ingest.Engine
	since attendance.Date
	now   func() time.Time
	audit *audit.Log
	// units serialises the changes that queue the units' events (marks, returns): each reads the
	// revisions published and queues the next in one step.
	units sync.Mutex
	// Service: the web console's accounts and the audit log's listing (api.Accounts).
	*account.Service
}

var (
	_ api.Backend       = (*Service)(nil)
	_ api.Accounts      = (*Service)(nil)
	_ ingest.CrossCheck = (*Service)(nil)
)

// New returns the service over db. eng must be loaded (ingest.Engine.Load) over the same db and
// cal; since is the first day events are published for; now stamps registrations (nil: time.Now).
// eng asks the new service from then on for the cross-check of the days new punches fall on
// (PunchesArrived): the service of a reloaded configuration replaces the last.
func New(cfg config.Config, db *store.DB, cal *calendar.Calendar, eng *ingest.Engine, since attendance.Date, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{cfg: cfg, db: db, cal: cal, eng: eng, since: since, now: now}
	s.SetAuditNotify(nil)
	eng.SetCrossCheck(s)
	return s
}

// SetAuditNotify makes each audit entry wake the publisher (the daemon passes its Notify; the
// stopped-store path leaves the entries in the outbox for the daemon's next start). Call it before
// the service is used.
func (s *Service) SetAuditNotify(notify func()) {
	s.audit = audit.New(audit.Options{Prefix: s.cfg.MQTT.TopicPrefix, Site: s.cfg.Site.Name, Now: s.now,
		Location: s.cfg.Location(), Notify: notify})
	s.Service = account.New(s.db, s.audit, s.now)
}

// AuditLog makes the audit entries of the service's changes; other writers (the web console's own
// changes) record through it too.
func (s *Service) AuditLog() *audit.Log { return s.audit }

// Status is what the store knows: the outbox, the holiday years missing, and each configured
// clock's last pull from its watermark. No clock is up and nothing is connected: the daemon,
// when it runs, overlays that live state.
func (s *Service) Status(ctx context.Context) (api.Status, error) {
	st := api.Status{Site: s.cfg.Site.Name, Store: s.cfg.Store.Path, EventsSince: s.since.String(),
		MissingYears: s.cal.MissingNeeded(s.now().In(s.cfg.Location()))}
	var err error
	if st.Outbox, st.OutboxOldest, err = s.db.OutboxStats(); err != nil {
		return st, fmt.Errorf("status: outbox: %w", err)
	}
	wms, err := s.db.Watermarks()
	if err != nil {
		return st, fmt.Errorf("status: watermarks: %w", err)
	}
	for _, c := range s.cfg.Clock {
		wm := wms[c.Name]
		st.Clocks = append(st.Clocks, api.ClockStatus{Name: c.Name, Serial: wm.Serial, LastPull: wm.LastPull, Records: wm.Records})
	}
	return st, nil
}

// Roster is the stored roster.
func (s *Service) Roster(ctx context.Context) ([]attendance.Person, error) { return s.db.Roster() }

// PutRoster stores the roster and re-judges the open days.
func (s *Service) PutRoster(ctx context.Context, people []attendance.Person) error {
	err := s.audit.Change(ctx, audit.RosterPut, "roster", fmt.Sprintf("%d people", len(people)), func(n []audit.Note) error {
		return s.db.PutRoster(people, &store.Change{Audit: n})
	})
	if err != nil {
		return err
	}
	return s.eng.ReloadRoster(ctx)
}

// ClockUsers is every clock's user table, clocks in name order.
func (s *Service) ClockUsers(ctx context.Context) ([]device.User, error) {
	byClock, err := s.db.ClockUsers()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(byClock))
	for n := range byClock {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []device.User
	for _, n := range names {
		out = append(out, byClock[n]...)
	}
	return out, nil
}

// Registrations lists the registrations overlapping [from, to].
func (s *Service) Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error) {
	return s.db.Registrations(from, to)
}

// AddRegistration checks r (its fields, how it was made, the person on the roster), stores it
// with a new id and registered_at — the time it is recorded, in whole seconds, whatever the caller
// sent: it decides whether the registration was late_registered — and re-judges the days it covers.
// A return (of a person a village keeps) re-runs the cross-check of the days it covers instead:
// the conflicts it clears are retracted in the transaction that stores it.
func (s *Service) AddRegistration(ctx context.Context, r attendance.Registration) (attendance.Registration, error) {
	via, err := attendance.ParseVia(string(r.Via))
	if err != nil {
		return r, fmt.Errorf("registration: %w", err)
	}
	r.Via, r.ApprovedBy = via, strings.TrimSpace(r.ApprovedBy)
	if err := r.Validate(); err != nil {
		return r, err
	}
	marked, err := s.checkKeptByMarks(r)
	if err != nil {
		return r, err
	}
	if ok, err := s.db.Judged(r.UserID); err != nil {
		return r, err
	} else if !ok && !marked {
		return r, fmt.Errorf("registration: user %q is %w", r.UserID, ErrNotOnRoster)
	}
	r.ID = ""
	r.RegisteredAt = s.stamp()
	saved, err := s.storeRegistration(ctx, audit.RegistrationAdd, r, marked, func(c *store.Change) (attendance.Registration, error) {
		return s.db.AddRegistration(r, c)
	})
	if err != nil || marked {
		return saved, err // a return is read by the cross-check; nothing the clock judges changes
	}
	return saved, s.rejudge(ctx, saved)
}

// RevokeRegistration records who revoked registration id, why and when (whole seconds), and
// re-judges the days it covered (a return: re-runs their cross-check, queuing again in the same
// transaction the conflicts it had cleared). by must name someone (blank is refused).
func (s *Service) RevokeRegistration(ctx context.Context, id, by, reason string) (attendance.Registration, error) {
	if strings.TrimSpace(by) == "" {
		return attendance.Registration{}, ErrNoRevoker
	}
	r, ok, err := s.db.Registration(id)
	if err != nil {
		return r, err
	}
	marked := ok && r.Kind == attendance.KindReturn
	at := s.stamp()
	r.RevokedBy, r.RevokedAt, r.RevokeReason = by, at, reason
	r, err = s.storeRegistration(ctx, audit.RegistrationRevoke, r, marked, func(c *store.Change) (attendance.Registration, error) {
		return s.db.RevokeRegistration(id, by, reason, at, c)
	})
	if err != nil || marked {
		return r, err
	}
	return r, s.rejudge(ctx, r)
}

// storeRegistration stores the adding or revoking of r (by put) with its audit entry and, for a
// return (marked), the events of the cross-check run again with r as it will be stored, all in
// one transaction.
func (s *Service) storeRegistration(ctx context.Context, action string, r attendance.Registration, marked bool,
	put func(c *store.Change) (attendance.Registration, error)) (attendance.Registration, error) {
	if marked {
		s.units.Lock()
		defer s.units.Unlock()
	}
	var events []store.OutboxEntry
	if marked {
		var err error
		if events, err = s.returnEvents(r); err != nil {
			return r, fmt.Errorf("registration: cross-check: %w", err)
		}
	}
	var saved attendance.Registration
	err := s.audit.Change(ctx, action, r.ID, audit.RegistrationDetail(action, r, s.cfg.Location()), func(n []audit.Note) error {
		var err error
		saved, err = put(&store.Change{Audit: n, Outbox: events})
		return err
	})
	return saved, err
}

// Days lists the stored judged days in [from, to].
func (s *Service) Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error) {
	return s.db.Days(from, to)
}

// stamp is the time an operator's change is recorded at: whole seconds, as the CLI prints it.
func (s *Service) stamp() time.Time { return s.now().Truncate(time.Second) }

// rejudge re-judges the days registration r covers.
func (s *Service) rejudge(ctx context.Context, r attendance.Registration) error {
	loc := s.cfg.Location()
	to := r.To
	if to.IsZero() {
		to = r.From
	}
	if err := s.eng.Rejudge(ctx, r.UserID, attendance.DateOf(r.From.In(loc)), attendance.DateOf(to.In(loc))); err != nil {
		return fmt.Errorf("registration %s stored, but re-judging its days failed (punchd re-judges the open days when it starts and as it runs): %w", r.ID, err)
	}
	return nil
}
