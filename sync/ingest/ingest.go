// Package ingest is where a punch read from a clock becomes a judged day and an event: it takes what
// the pull loops read, works out which person-days it changes, re-judges them with internal/rules,
// decides which events (and corrections) to publish, and commits the punches, the days, the outbox
// entries and the clock's watermark in ONE store transaction.
//
// It owns the decision of what to publish and when: a late arrival at once (the first "in" punch
// decides it), an early departure or a missing punch only when the slot's window has closed and every
// clock has synced past it, a correction (same id, higher rev) when a registration or a late log
// changes a published judgement, and counts what it did (Metrics). It never talks to a clock or a
// broker: the publisher drains the outbox it fills.
package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/pull"
)

// Store is what the engine needs of the store (*store.DB implements it).
type Store interface {
	Unstored(ctx context.Context, ps []device.Punch) ([]device.Punch, error)
	Commit(ctx context.Context, b store.Batch) (store.CommitResult, error)
	PunchesFor(userID string, from, to time.Time) ([]device.Punch, error)
	RegistrationsFor(userID string, from, to time.Time) ([]attendance.Registration, error)
	Day(userID string, date attendance.Date) (attendance.Day, bool, error)
	PublishedEvent(id string) (rev int, hash []byte, ok bool, err error)
	Watermarks() (map[string]store.Watermark, error)
	Roster() ([]attendance.Person, error)
	FirstPunch() (time.Time, bool, error)
	ClockUsers() (map[string][]device.User, error)
	PutClockUsers(clock string, users []device.User) error
	GetMeta(key string) ([]byte, error)
	PutMeta(key string, v []byte) error
}

// CrossCheck decides the events of the days a village keeps by its marks (internal/service owns
// that decision): the engine asks it about the days new punches fall on, so that a compound-clock
// punch read after a village's √ for its day raises the conflict with the punch, not only when the
// marks are set again.
type CrossCheck interface {
	// PunchesArrived calls commit once with the events the punches on days (each a person's
	// date) raise or retract on days kept by marks — none when no such day — holding what
	// serialises those events until commit returns. unstored are the new punches commit stores;
	// the others on those days are in the store already. An error before commit is called leaves
	// the punches for the engine to commit without those events.
	PunchesArrived(ctx context.Context, days []PunchedDay, unstored []device.Punch, commit func([]store.OutboxEntry) error) error
}

// PunchedDay is a person's date that new punches fall on.
type PunchedDay struct {
	UserID string
	Date   attendance.Date
}

// mapReleaser is a Store that can give back the resident pages of its memory map (*store.DB): a
// long ingest (a first start reading years of punches) touches the whole store, page by page.
type mapReleaser interface {
	ReleaseMapped() error
}

// releaseMapped gives back the store's mapped pages between the transactions of a long ingest, so
// that they do not add up to the whole store's size in the process's memory.
func (e *Engine) releaseMapped() {
	if r, ok := e.db.(mapReleaser); ok {
		if err := r.ReleaseMapped(); err != nil {
			e.log.Debug("release the store's mapped pages", "err", err)
		}
	}
}

// Config is the engine's settings.
type Config struct {
	Site        string
	Prefix      string // MQTT topic prefix
	Location    *time.Location
	Params      rules.Params
	EventsSince attendance.Date // events are published only for days from this date
	Clocks      []string        // every configured clock name: a day is final only once all synced past it
	MaxBackfill int             // days before events_since judged on first start; default 400
	// Batch is how many new punches one transaction commits at most: a whole log read on a first
	// start (60,000 punches a clock) is stored in bounded batches, then judged. Default 5000.
	Batch int
}

// Engine ingests, judges and enqueues. It serialises all its writes: the daemon is the store's
// only writer and the engine its only writing path.
type Engine struct {
	cfg    Config
	db     Store
	cal    rules.Calendar
	now    func() time.Time
	log    *slog.Logger
	met    *Metrics
	notify func()
	queued atomic.Int64 // events and corrections queued since New

	cross atomic.Pointer[CrossCheck] // nil: no cross-check asked (SetCrossCheck)

	mu          sync.Mutex
	roster      map[string]attendance.Person
	names       map[string]string            // user id -> name from the clocks' user tables
	serials     map[string]string            // clock serial -> configured clock name
	through     attendance.Date              // every day from `from` up to this one is final for everyone
	nextThrough attendance.Date              // where the mark moves once the batch being built commits
	from        attendance.Date              // the first day of the span judged for everyone
	nextFrom    attendance.Date              // where it moves once the batch being built commits
	first       attendance.Date              // the date of the earliest punch stored (zero: none)
	up          map[string]time.Time         // clock name -> up since
	lastUp      map[string]event.ClockStatus // clock name -> its last up status: a down status keeps its facts
	final       map[dayKey]bool              // days known final in the store: the open-day sweep skips them
	newFinal    []dayKey                     // days judged final in the batch being built
	open        map[dayKey]openDay           // open days as last judged: the sweep skips them until a window closes
	newOpen     []openDay                    // days judged open in the batch being built
	noData      map[int]bool                 // years without holiday data already warned about
	staged      map[string]*stagedRead       // clock name -> what Stage committed ahead of its Pulled
}

// stagedRead is what Stage committed of a clock's read ahead of the Pulled that ends it: the days
// the new punches fall on (judged with that Pulled), the newest punch, and the counts.
type stagedRead struct {
	touched      map[dayKey]bool
	last         time.Time
	valid, fresh int
}

// New builds an engine; call Load before use. notify is called after a commit that queued messages.
// met nil: the metrics are kept on a registry of their own that nobody serves.
func New(cfg Config, db Store, cal rules.Calendar, now func() time.Time, log *slog.Logger, met *Metrics, notify func()) *Engine {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.MaxBackfill <= 0 {
		cfg.MaxBackfill = 400
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if met == nil {
		met = NewMetrics(prometheus.NewRegistry())
	}
	met.setClocks(cfg.Clocks)
	if notify == nil {
		notify = func() {}
	}
	return &Engine{cfg: cfg, db: db, cal: cal, now: now, log: log, met: met, notify: notify,
		roster: map[string]attendance.Person{}, names: map[string]string{}, serials: map[string]string{}, noData: map[int]bool{},
		staged: map[string]*stagedRead{}}
}

// SetCrossCheck makes the engine ask c about the days new punches fall on, in the commit that
// stores them (internal/service's New sets itself, each reload's service replacing the last).
func (e *Engine) SetCrossCheck(c CrossCheck) { e.cross.Store(&c) }

// commitPunchedLocked commits b, which ends the storing of new punches on days, with the events
// the cross-check of those days queues. A cross-check that fails before committing costs its events,
// not the punches: they are committed without them (setting the marks again re-runs it).
func (e *Engine) commitPunchedLocked(ctx context.Context, b store.Batch, days map[dayKey]bool) error {
	c := e.cross.Load()
	if c == nil || *c == nil || len(days) == 0 {
		return e.commitLocked(ctx, b)
	}
	pd := make([]PunchedDay, 0, len(days))
	for k := range days {
		pd = append(pd, PunchedDay{UserID: k.user, Date: k.date})
	}
	slices.SortFunc(pd, func(a, b PunchedDay) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return cmpString(a.UserID, b.UserID)
	})
	committed := false
	err := (*c).PunchesArrived(ctx, pd, b.Punches, func(evs []store.OutboxEntry) error {
		committed = true
		b.Outbox = append(b.Outbox, evs...)
		return e.commitLocked(ctx, b)
	})
	if committed {
		return err
	}
	e.log.Warn("cross-check of the punched days against the villages' marks failed; the punches are stored without its events",
		"days", len(pd), "err", err)
	return e.commitLocked(ctx, b)
}

const (
	metaThrough = "ingest.judged_through"
	metaFrom    = "ingest.judged_from"
	metaLogMark = "ingest.log_mark/" // + clock name: the bytes of the last record of the last pull
)

// Load reads the roster, the clocks' names and the judged-through mark from the store.
func (e *Engine) Load(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.loadRosterLocked(); err != nil {
		return err
	}
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("load watermarks: %w", err)
	}
	for name, wm := range wms {
		if wm.Serial != "" {
			e.serials[wm.Serial] = name
		}
	}
	v, err := e.db.GetMeta(metaThrough)
	if err != nil {
		return fmt.Errorf("load judged-through mark: %w", err)
	}
	if len(v) > 0 {
		if e.through, err = attendance.ParseDate(string(v)); err != nil {
			return fmt.Errorf("judged-through mark %q: %w", v, err)
		}
	} else {
		e.through = e.cfg.EventsSince.AddDays(-1)
	}
	// The judged span starts at events_since until the history the clocks hold is judged too
	// (a store written before the mark existed has its history judged again, once).
	if v, err = e.db.GetMeta(metaFrom); err != nil {
		return fmt.Errorf("load judged-from mark: %w", err)
	}
	e.from = e.cfg.EventsSince
	if len(v) > 0 {
		if e.from, err = attendance.ParseDate(string(v)); err != nil {
			return fmt.Errorf("judged-from mark %q: %w", v, err)
		}
	}
	if e.through.Before(e.from.AddDays(-1)) {
		e.through = e.from.AddDays(-1)
	}
	e.nextFrom, e.nextThrough = e.from, e.through
	first, ok, err := e.db.FirstPunch()
	if err != nil {
		return fmt.Errorf("load the earliest punch: %w", err)
	}
	if ok {
		e.first = attendance.DateOf(first.In(e.cfg.Location))
	}
	return nil
}

// ReloadRoster re-reads the roster (after an import or a SIGHUP), re-judges every judged day
// (history included) of the people it adds, removes or changes, and the open days.
func (e *Engine) ReloadRoster(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	before := e.roster
	if err := e.loadRosterLocked(); err != nil {
		return err
	}
	changed := map[string]bool{}
	for id, p := range e.roster {
		if old, ok := before[id]; !ok || old != p {
			changed[id] = true
		}
	}
	for id := range before {
		if _, ok := e.roster[id]; !ok {
			changed[id] = true
		}
	}
	if len(before) == 0 && len(e.roster) > 0 {
		for id := range e.names { // judged as clock people while there was no roster
			changed[id] = true
		}
	}
	touched := map[dayKey]bool{}
	for id := range changed {
		for d := laterOf(e.from, e.floor()); !d.After(e.through); d = d.AddDays(1) {
			touched[dayKey{id, d}] = true
		}
	}
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("read watermarks: %w", err)
	}
	var b store.Batch
	if err := e.judgeLocked(ctx, &b, nil, touched, syncedUntil(e.cfg.Clocks, wms)); err != nil {
		return err
	}
	return e.commitLocked(ctx, b)
}

// floor is the earliest date the engine judges: MaxBackfill days before today.
func (e *Engine) floor() attendance.Date {
	return attendance.DateOf(e.now().In(e.cfg.Location)).AddDays(-e.cfg.MaxBackfill)
}

// Reconfigure applies a reloaded configuration (SIGHUP): the rules, schedules, calendar, clocks,
// topic prefix and events_since of cfg and cal, and the roster in the store. The days still open
// are judged again under them; final days stay as they were judged. The location cannot change
// while the daemon runs (the caller refuses that) and is kept.
func (e *Engine) Reconfigure(ctx context.Context, cfg Config, cal rules.Calendar) error {
	e.mu.Lock()
	cfg.Location = e.cfg.Location
	if cfg.MaxBackfill <= 0 {
		cfg.MaxBackfill = e.cfg.MaxBackfill
	}
	e.cfg, e.cal = cfg, cal
	e.met.setClocks(cfg.Clocks) // a clock taken out of the configuration takes its series with it
	e.mu.Unlock()
	if err := e.ReloadRoster(ctx); err != nil { // the people the roster changed, over the whole span
		return err
	}
	return e.Finalise(ctx)
}

func (e *Engine) loadRosterLocked() error {
	people, err := e.db.Roster()
	if err != nil {
		return fmt.Errorf("load roster: %w", err)
	}
	e.final, e.open = nil, nil // who is judged, and how, may have changed
	e.roster = make(map[string]attendance.Person, len(people))
	for _, p := range people {
		e.roster[p.UserID] = p
	}
	users, err := e.db.ClockUsers()
	if err != nil {
		return fmt.Errorf("load clock users: %w", err)
	}
	for _, us := range users {
		for _, u := range us {
			if u.Name != "" {
				e.names[u.UserID] = u.Name
			}
		}
	}
	return nil
}

// Pulled implements pull.Sink: it commits a full read of a clock with the days it changes, the open
// days that its new watermark lets us finalise, their events and the watermark, in one transaction.
func (e *Engine) Pulled(ctx context.Context, r pull.Pull) error {
	if r.Users != nil {
		if err := store.CheckClockUsers(r.Clock, r.Users); err != nil {
			e.log.Warn("clock user table not stored", "clock", r.Clock, "err", err)
			r.Users = nil
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range r.Users {
		if u.Name != "" {
			e.names[u.UserID] = u.Name
		}
	}
	if r.Info.Serial != "" {
		e.serials[r.Info.Serial] = r.Clock
	}
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("read watermarks: %w", err)
	}
	prev, had := wms[r.Clock]
	count := r.Mark.Count // records on the clock at this read
	if count == 0 {
		count = r.From + len(r.Punches) + len(r.Skipped) // a caller that gives no mark
	}
	if had && count < prev.LastCount {
		e.log.Warn("clock log shrank since the last pull (cleared on the keypad or cyclic delete); stored punches are kept",
			"clock", r.Clock, "was", prev.LastCount, "now", count)
		e.met.shrunk.WithLabelValues(r.Clock).Inc()
	}
	e.skippedLocked(r)
	state := pullState{had: had, count: prev.LastCount, records: prev.Records, offset: prev.Offset}
	if r.From == 0 && r.New == 0 && had && prev.LastCount > 0 && prev.LastCount <= count {
		// A whole read that did not find the previous mark's last record in its place: the log
		// was rewritten (cleared and refilled past its old length).
		last, err := e.db.GetMeta(metaLogMark + r.Clock)
		if err != nil {
			return fmt.Errorf("clock %s: read the log's mark: %w", r.Clock, err)
		}
		state.rewritten = len(last) > 0
	}
	if r.Users != nil {
		stored, err := e.db.ClockUsers()
		if err != nil {
			return fmt.Errorf("clock %s: read stored user table: %w", r.Clock, err)
		}
		state.users = stored[r.Clock]
	}
	// A tail read holds only what followed the last pull; a whole read (periodic, on doubt, or a
	// log that was cleared or rewritten) is compared with the store in full: the source of truth.
	valid := e.screen(r.Clock, r.Punches)
	fresh, err := e.db.Unstored(ctx, valid)
	if err != nil {
		return fmt.Errorf("clock %s: compare %d punches with the store: %w", r.Clock, len(valid), err)
	}

	// Many new punches (a first start, a log read whole after a long outage): store them in
	// bounded batches first — each its own transaction, punches before anything else — and judge
	// their days with the last batch, reading the stored ones back. The transaction and the batch
	// stay small whatever the clock holds.
	total := len(fresh)
	var touched map[dayKey]bool
	for len(fresh) > e.cfg.Batch {
		chunk := fresh[:e.cfg.Batch]
		if touched == nil {
			touched = map[dayKey]bool{}
		}
		for _, p := range chunk {
			d := attendance.DateOf(p.Time.In(e.cfg.Location))
			touched[dayKey{p.UserID, d}] = true
			if e.first.IsZero() || d.Before(e.first) {
				e.first = d
			}
		}
		if err := e.commitLocked(ctx, store.Batch{Punches: chunk}); err != nil {
			return fmt.Errorf("clock %s: commit %d new punches (%d of %d stored): %w", r.Clock, len(chunk), total-len(fresh), total, err)
		}
		fresh = fresh[e.cfg.Batch:]
		e.releaseMapped()
	}

	staged := e.staged[r.Clock]
	if staged == nil {
		staged = &stagedRead{}
	}
	if len(staged.touched) > 0 && touched == nil {
		touched = map[dayKey]bool{}
	}
	for k := range staged.touched {
		touched[k] = true
	}

	wm := store.Watermark{Clock: r.Clock, Serial: r.Info.Serial, Records: r.Info.Records, LastPull: r.At,
		LastCount: count, LastPunch: prev.LastPunch, Offset: prev.Offset}
	if !r.Info.Time.IsZero() {
		offset := r.Offset
		if r.TimeSet {
			offset = 0
		}
		wm.Offset = &offset
	}
	// Every punch made on the clock before the start of the read is now stored. The clock's own
	// time is the right measure: a drifting clock stamps punches with its time, not ours.
	wm.SyncedUntil = r.At.Add(r.Offset).Add(-r.Duration)
	if !r.Info.Time.IsZero() {
		wm.SyncedUntil = r.Info.Time
	}
	// Even when it goes back (a fast clock set right): punches stamped after the corrected time
	// have not been read, and claiming otherwise would publish a false "missing".
	for _, p := range valid {
		if p.Time.After(wm.LastPunch) {
			wm.LastPunch = p.Time
		}
	}
	if staged.last.After(wm.LastPunch) {
		wm.LastPunch = staged.last
	}
	wms[r.Clock] = wm

	punched := e.punchedDays(touched, fresh)
	b := store.Batch{Punches: fresh, Watermark: &wm}
	if r.Users != nil {
		b.Users = &store.ClockUsers{Clock: r.Clock, Users: r.Users}
	}
	if err := e.judgeLocked(ctx, &b, fresh, touched, syncedUntil(e.cfg.Clocks, wms)); err != nil {
		return err
	}
	b.Outbox = append(b.Outbox, e.clockStatus(r, wm))
	alerts := clockAlerts(e.cfg.Site, r, state, e.cfg.Location)
	entries, err := e.alertEntries(alerts, r.At)
	if err != nil {
		return err
	}
	b.Outbox = append(b.Outbox, entries...)
	if err := e.commitPunchedLocked(ctx, b, punched); err != nil {
		return fmt.Errorf("clock %s: commit %d new punches: %w", r.Clock, len(fresh), err)
	}
	// After the commit: a lost mark only costs one whole read at the next pull.
	// An idle clock's mark stays the same pull after pull: no write (and no fsync) for it then.
	if last, err := e.db.GetMeta(metaLogMark + r.Clock); err != nil || !bytes.Equal(last, r.Mark.Last) {
		if err := e.db.PutMeta(metaLogMark+r.Clock, r.Mark.Last); err != nil {
			e.log.Warn("save the clock log's mark", "clock", r.Clock, "err", err)
		}
	}
	for _, a := range alerts {
		e.log.Warn("clock alert", "clock", r.Clock, "kind", a.Kind, "detail", a.Detail)
		e.met.alerts.WithLabelValues(r.Clock, string(a.Kind)).Inc()
	}
	delete(e.staged, r.Clock)
	e.met.ingested.WithLabelValues(r.Clock, pathPull).Add(float64(total + staged.fresh))
	e.met.duplicate.WithLabelValues(r.Clock, pathPull).Add(float64(len(valid) - total + staged.valid - staged.fresh))
	return nil
}

// Stage implements pull.Stager: a batch of a clock's log read whole, committed as it arrives
// (the punches alone, in transactions of at most Config.Batch); the days they fall on are
// judged with the clock's next Pulled, which also counts them.
func (e *Engine) Stage(ctx context.Context, clock string, ps []device.Punch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	valid := e.screen(clock, ps)
	fresh, err := e.db.Unstored(ctx, valid)
	if err != nil {
		return fmt.Errorf("clock %s: compare %d punches with the store: %w", clock, len(valid), err)
	}
	st := e.staged[clock]
	if st == nil {
		st = &stagedRead{touched: map[dayKey]bool{}}
		e.staged[clock] = st
	}
	for _, p := range valid {
		if p.Time.After(st.last) {
			st.last = p.Time
		}
	}
	st.valid += len(valid)
	for len(fresh) > 0 {
		chunk := fresh[:min(len(fresh), e.cfg.Batch)]
		for _, p := range chunk {
			d := attendance.DateOf(p.Time.In(e.cfg.Location))
			st.touched[dayKey{p.UserID, d}] = true
			if e.first.IsZero() || d.Before(e.first) {
				e.first = d
			}
		}
		if err := e.commitLocked(ctx, store.Batch{Punches: chunk}); err != nil {
			return fmt.Errorf("clock %s: commit %d punches of a read in progress: %w", clock, len(chunk), err)
		}
		st.fresh += len(chunk)
		fresh = fresh[len(chunk):]
	}
	e.releaseMapped()
	return nil
}

// ClockUsers is the user table stored for a clock by its last pull that read one (or a push
// device's last statement of it); nil when none was.
func (e *Engine) ClockUsers(clock string) ([]device.User, error) {
	users, err := e.db.ClockUsers()
	if err != nil {
		return nil, fmt.Errorf("clock %s: read stored user table: %w", clock, err)
	}
	return users[clock], nil
}

// Mark implements pull.Sink: where the clock's last committed pull ended (its record count and
// the bytes of its last record), or zero.
func (e *Engine) Mark(clock string) device.Mark {
	e.mu.Lock()
	defer e.mu.Unlock()
	wms, err := e.db.Watermarks()
	if err != nil {
		return device.Mark{}
	}
	last, err := e.db.GetMeta(metaLogMark + clock)
	if err != nil || len(last) == 0 {
		return device.Mark{}
	}
	return device.Mark{Count: wms[clock].LastCount, Last: last}
}

// skippedLocked counts and logs, once, the records a pull skipped: those the previous mark did not
// cover (a whole read sees the old ones again).
func (e *Engine) skippedLocked(r pull.Pull) {
	var news []device.Skipped
	for _, s := range r.Skipped {
		if s.Index >= r.New {
			news = append(news, s)
		}
	}
	if len(news) == 0 {
		return
	}
	by := map[string]int{}
	for _, s := range news {
		by[s.Reason]++
	}
	for reason, n := range by {
		e.met.reject(r.Clock, reason, n)
	}
	e.log.Warn("clock records skipped: impossible dates or fields; every other punch is stored",
		"clock", r.Clock, "count", len(news), "records", device.SkippedSummary(news, 20))
}

// Realtime implements pull.Sink: one punch from a realtime event, judged and published at once.
func (e *Engine) Realtime(ctx context.Context, clock string, p device.Punch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	valid := e.screen(clock, []device.Punch{p})
	fresh, err := e.db.Unstored(ctx, valid)
	if err != nil {
		return err
	}
	if len(fresh) == 0 {
		e.met.duplicate.WithLabelValues(clock, pathRealtime).Add(float64(len(valid)))
		return nil
	}
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("read watermarks: %w", err)
	}
	// Only the punch's own day: the open-day sweep belongs to pulls and the finaliser, and keeping it
	// off this path keeps a late arrival's event within milliseconds of the punch.
	b := store.Batch{Punches: fresh}
	touched := e.punchedDays(nil, fresh)
	if _, err := e.judgeDaysLocked(ctx, &b, touched, fresh, syncedUntil(e.cfg.Clocks, wms)); err != nil {
		return err
	}
	if err := e.commitPunchedLocked(ctx, b, touched); err != nil {
		return fmt.Errorf("clock %s: commit realtime punch of %s at %s: %w", clock, p.UserID, p.Time.Format(time.RFC3339), err)
	}
	e.met.ingested.WithLabelValues(clock, pathRealtime).Add(float64(len(fresh)))
	return nil
}

// Finalise re-judges the open days (windows that closed, clocks that synced) and queues what they
// now decide. The finaliser loop calls it; so does a roster reload.
func (e *Engine) Finalise(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("read watermarks: %w", err)
	}
	var b store.Batch
	if err := e.judgeLocked(ctx, &b, nil, nil, syncedUntil(e.cfg.Clocks, wms)); err != nil {
		return err
	}
	if err := e.commitLocked(ctx, b); err != nil {
		return err
	}
	// Every commit writes its pages afresh (copy on write) wherever the store has free ones, and
	// reading them back maps them: with many clocks polled each minute the map's resident pages
	// creep towards the store's size. Give them back with each round of the finaliser.
	e.releaseMapped()
	return nil
}

// Rejudge judges one person's days from..to again, after a registration was added or revoked, and
// queues the corrections.
func (e *Engine) Rejudge(ctx context.Context, userID string, from, to attendance.Date) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	wms, err := e.db.Watermarks()
	if err != nil {
		return fmt.Errorf("read watermarks: %w", err)
	}
	b := store.Batch{}
	touched := map[dayKey]bool{}
	for d := from; !d.After(to); d = d.AddDays(1) {
		touched[dayKey{userID, d}] = true
	}
	if _, err := e.judgeDaysLocked(ctx, &b, touched, nil, syncedUntil(e.cfg.Clocks, wms)); err != nil {
		return err
	}
	return e.commitLocked(ctx, b)
}

// RunFinaliser calls Finalise every interval until ctx is done: windows close with the passing of
// time, not only with new punches.
func (e *Engine) RunFinaliser(ctx context.Context, interval time.Duration, beat func()) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if beat != nil {
			beat()
		}
		if err := e.Finalise(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("finalise open days", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// screen drops punches that cannot be stored (no user id, no time) and counts them.
func (e *Engine) screen(clock string, ps []device.Punch) []device.Punch {
	limit := e.now().Add(36 * time.Hour)
	reason := func(p device.Punch) string {
		switch {
		case p.UserID == "" || p.Time.IsZero() || p.Clock == "":
			return device.SkipMalformed
		case p.Time.Year() < 2001 || p.Time.After(limit):
			return device.SkipBadDate
		}
		return ""
	}
	if !slices.ContainsFunc(ps, func(p device.Punch) bool { return reason(p) != "" }) {
		return ps // the usual case: no copy of a whole clock log every pull
	}
	out := make([]device.Punch, 0, len(ps))
	bad := map[string]int{}
	for _, p := range ps {
		if r := reason(p); r != "" {
			bad[r]++
			continue
		}
		out = append(out, p)
	}
	for r, n := range bad {
		e.met.reject(clock, r, n)
		e.log.Warn("punches rejected", "clock", clock, "reason", r, "count", n)
	}
	return out
}

// punchedDays are the days new punches fall on: those of the punches already stored (keys of
// stored) and of fresh.
func (e *Engine) punchedDays(stored map[dayKey]bool, fresh []device.Punch) map[dayKey]bool {
	out := make(map[dayKey]bool, len(stored)+len(fresh))
	for k := range stored {
		out[k] = true
	}
	for _, p := range fresh {
		out[dayKey{p.UserID, attendance.DateOf(p.Time.In(e.cfg.Location))}] = true
	}
	return out
}

type dayKey struct {
	user string
	date attendance.Date
}

// openDay is a day judged not final yet: its window closes and how many of them had passed
// (rules.Closes.Passed) when it was judged. Until that number changes, or a punch or
// registration comes, judging it again gives the same day.
type openDay struct {
	key    dayKey
	closes rules.Closes
	passed int
}

// judgeLocked adds to b the days touched by fresh punches (and the touched keys given), every
// open day up to today and every day of the history the clocks hold that is not judged for
// everyone yet, with their events; and moves the judged span's marks over the dates now final for
// everyone. touched may be nil.
//
// The judged span is [from, through]: every day in it is final for every person. Days after
// through are swept until they are final. Days before from and not before the earliest punch
// stored (within MaxBackfill) — history read from a clock that still holds earlier months, or
// stored while another clock had not been read yet — are swept the same way, and from moves back
// over them once all are final: so a person without any punch on such a day is judged absent,
// not left pending, whichever clock was read first and however often the daemon restarted.
func (e *Engine) judgeLocked(ctx context.Context, b *store.Batch, fresh []device.Punch, touched map[dayKey]bool, synced time.Time) error {
	today := attendance.DateOf(e.now().In(e.cfg.Location))
	if touched == nil {
		touched = map[dayKey]bool{}
	}
	for _, p := range fresh {
		d := attendance.DateOf(p.Time.In(e.cfg.Location))
		touched[dayKey{p.UserID, d}] = true
		if e.first.IsZero() || d.Before(e.first) {
			e.first = d
		}
	}
	floor := e.floor()
	start := laterOf(e.through.AddDays(1), floor)
	histFrom := laterOf(e.first, floor)
	if e.first.IsZero() || !histFrom.Before(e.from) {
		histFrom = e.from // no history before the span
	}
	people := e.peopleLocked(fresh)
	sweep := func(from, to attendance.Date) {
		for d := from; !d.After(to); d = d.AddDays(1) {
			for id := range people {
				k := dayKey{id, d}
				if _, ok := touched[k]; !ok {
					touched[k] = false // a sweep key: skipped when known final
				}
			}
		}
	}
	sweep(histFrom, e.from.AddDays(-1))
	sweep(start, today)
	final, err := e.judgeDaysLocked(ctx, b, touched, fresh, synced)
	if err != nil {
		return err
	}
	e.nextFrom = e.from
	if histFrom.Before(e.from) && allFinal(final, histFrom, e.from.AddDays(-1)) {
		e.nextFrom = histFrom
	}
	through := e.through
	for d := start; !d.After(today); d = d.AddDays(1) {
		if f, ok := final[d]; ok && !f {
			break
		}
		if d == today {
			break // today stays open until tomorrow
		}
		through = d
	}
	e.nextThrough = through
	return nil
}

func laterOf(a, b attendance.Date) attendance.Date {
	if a.After(b) {
		return a
	}
	return b
}

// allFinal reports whether every date from..to judged in final was final.
func allFinal(final map[attendance.Date]bool, from, to attendance.Date) bool {
	for d := from; !d.After(to); d = d.AddDays(1) {
		if f, ok := final[d]; ok && !f {
			return false
		}
	}
	return true
}

// peopleLocked is everyone whose days are judged: the roster, or when there is none yet, everyone a
// clock knows or who punched.
func (e *Engine) peopleLocked(fresh []device.Punch) map[string]bool {
	out := make(map[string]bool, len(e.roster))
	for id := range e.roster {
		out[id] = true
	}
	if len(e.roster) == 0 {
		for id := range e.names {
			out[id] = true
		}
		for _, p := range fresh {
			out[p.UserID] = true
		}
	}
	return out
}

func (e *Engine) personLocked(id string) attendance.Person {
	if p, ok := e.roster[id]; ok {
		if p.Name == "" {
			p.Name = e.names[id]
		}
		return p
	}
	// Not on the roster: judged as a clock-tracked person only while there is no roster at all,
	// otherwise recorded but not judged (the roster, not the clock, says who must punch here).
	t := attendance.TrackClock
	if len(e.roster) > 0 {
		t = attendance.TrackExempt
	}
	return attendance.Person{UserID: id, Name: e.names[id], Tracking: t}
}

// judgeDaysLocked judges each touched person-day, adds the changed ones and their events to b, and
// reports per date whether every judged day is final. Sweep keys (touched false) are skipped when
// the day is known final, or open and nothing it depends on moved: no punch or registration came
// (those arrive as explicit keys) and time passed none of its window closes since it was judged.
//
// The days are judged date by date (judgeSpan dates at a time, each person's run of dates in one
// rules.JudgeRange over one read of the store) and committed as they go whenever b has grown past
// dayBatch days and messages: a first start judging a year of history for everyone stays in
// bounded memory and transactions. b's watermark and user table wait for the caller's commit.
func (e *Engine) judgeDaysLocked(ctx context.Context, b *store.Batch, touched map[dayKey]bool, fresh []device.Punch, synced time.Time) (map[attendance.Date]bool, error) {
	now := e.now().In(e.cfg.Location)
	final := map[attendance.Date]bool{}
	keys := make([]dayKey, 0, len(touched))
	for k, explicit := range touched {
		if !explicit && e.final[k] {
			continue // final days do not change with time; new punches and registrations come as explicit keys
		}
		if o, ok := e.open[k]; ok && !explicit && o.passed == o.closes.Passed(synced, now) {
			final[k.date] = false // still open, judged as it stands
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		if c := a.date.Compare(b.date); c != 0 {
			return c
		}
		return cmpString(a.user, b.user)
	})
	// The fresh punches are not stored yet: each day gets its own beside the stored ones.
	byDay := map[dayKey][]device.Punch{}
	for _, p := range fresh {
		k := dayKey{p.UserID, attendance.DateOf(p.Time.In(e.cfg.Location))}
		byDay[k] = append(byDay[k], p)
	}
	since := 0 // keys judged since the store's mapped pages were last given back
	for len(keys) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := 0
		for n < len(keys) && keys[n].date.Before(keys[0].date.AddDays(judgeSpan)) {
			n++
		}
		group := keys[:n]
		keys = keys[n:]
		judged, err := e.judgeGroupLocked(group, byDay, synced, now)
		if err != nil {
			return nil, err
		}
		for _, k := range group {
			if err := e.recordDayLocked(b, k, judged[k], final, synced, now); err != nil {
				return nil, err
			}
		}
		if len(b.Days)+len(b.Outbox) >= dayBatch && len(keys) > 0 {
			part := store.Batch{Punches: b.Punches, Days: b.Days, Outbox: b.Outbox}
			if err := e.commitLocked(ctx, part); err != nil {
				return nil, fmt.Errorf("commit %d judged days: %w", len(part.Days), err)
			}
			b.Punches, b.Days, b.Outbox = nil, nil, nil
		}
		if since += n; since >= releaseEvery && len(keys) > 0 {
			since = 0
			e.releaseMapped() // a long span reads every person's punches, the whole store
		}
	}
	return final, nil
}

const (
	// judgeSpan is how many dates are judged together: each person's punches over them are read
	// from the store at once.
	judgeSpan = 31
	// dayBatch is how many judged days and messages one transaction takes at most while a long
	// span is judged (a batch's punches, the pull's watermark and alerts come with the last).
	dayBatch = 2000
	// releaseEvery is how many days judged read so much of the store that its mapped pages are
	// given back (about one person-year; a page fault from the page cache costs less than the
	// memory).
	releaseEvery = 400
)

// judgedDay is one person-day as the rules judged it, with how many punches it had.
type judgedDay struct {
	day     attendance.Day
	punches int
	closes  rules.Closes // the day's window closes, for the open-day skip
}

// judgeGroupLocked judges the keys (sorted by date, then user): each person's run of consecutive
// dates with one rules.JudgeRange over the punches and registrations the store holds for them,
// and the fresh ones.
func (e *Engine) judgeGroupLocked(keys []dayKey, byDay map[dayKey][]device.Punch, synced, now time.Time) (map[dayKey]judgedDay, error) {
	dates := map[string][]attendance.Date{}
	var users []string
	for _, k := range keys {
		if _, ok := dates[k.user]; !ok {
			users = append(users, k.user)
		}
		dates[k.user] = append(dates[k.user], k.date)
	}
	out := make(map[dayKey]judgedDay, len(keys))
	loc := e.cfg.Location
	for _, user := range users {
		ds := dates[user]
		for len(ds) > 0 {
			n := 1
			for n < len(ds) && ds[n] == ds[n-1].AddDays(1) {
				n++
			}
			from, to := ds[0], ds[n-1]
			ds = ds[n:]
			start, end := from.Start(loc), to.AddDays(1).Start(loc)
			punches, err := e.db.PunchesFor(user, start, end)
			if err != nil {
				return nil, fmt.Errorf("judge %s..%s of %s: read punches: %w", from, to, user, err)
			}
			for d := from; !d.After(to); d = d.AddDays(1) {
				punches = append(punches, byDay[dayKey{user, d}]...)
			}
			regs, err := e.db.RegistrationsFor(user, start, end)
			if err != nil {
				return nil, fmt.Errorf("judge %s..%s of %s: read registrations: %w", from, to, user, err)
			}
			days, err := rules.JudgeRange(e.cal, rules.Range{Person: e.personLocked(user), From: from, To: to, Loc: loc,
				Params: e.cfg.Params, Punches: punches, Registrations: regs, SyncedUntil: synced, Now: now})
			if days == nil {
				return nil, fmt.Errorf("judge %s..%s of %s: %w", from, to, user, err)
			}
			if err != nil && !(e.noData[from.Year] && e.noData[to.Year]) {
				// Once a year for the life of the engine (the finaliser re-judges open days every 30s);
				// the calendar's error names the year.
				e.noData[from.Year], e.noData[to.Year] = true, true
				e.log.Warn("no holiday data for the year: judging by the Monday–Friday week", "year", to.Year, "err", err)
			}
			count := map[attendance.Date]int{}
			for _, p := range punches {
				count[attendance.DateOf(p.Time.In(loc))]++
			}
			for _, day := range days {
				j := judgedDay{day: day, punches: count[day.Date]}
				if !day.Final {
					sched, err := e.cal.Schedule(day.Date)
					if err != nil {
						return nil, fmt.Errorf("judge %s of %s: %w", day.Date, user, err)
					}
					j.closes = rules.WindowCloses(rules.Input{Date: day.Date, Schedule: sched, Loc: loc, Params: e.cfg.Params})
				}
				out[dayKey{user, day.Date}] = j
			}
		}
	}
	return out, nil
}

// recordDayLocked adds a judged day to b when it differs from the stored one, with its events, and
// notes whether it is final.
func (e *Engine) recordDayLocked(b *store.Batch, k dayKey, j judgedDay, final map[attendance.Date]bool, synced, now time.Time) error {
	day := j.day
	if f, ok := final[k.date]; !ok || f {
		final[k.date] = day.Final
	}
	if day.Final {
		e.newFinal = append(e.newFinal, k)
	} else {
		e.newOpen = append(e.newOpen, openDay{key: k, closes: j.closes, passed: j.closes.Passed(synced, now)})
	}
	if !day.DayType.IsWorking() && j.punches == 0 {
		return nil
	}
	old, had, err := e.db.Day(k.user, k.date)
	if err != nil {
		return fmt.Errorf("judge %s of %s: read stored day: %w", k.date, k.user, err)
	}
	if day.Status == rules.StatusNotJudged && j.punches == 0 && !had {
		return nil // nothing to record; a stored judgement (the roster changed) is replaced below
	}
	if had && sameDay(old, day) {
		return nil
	}
	b.Days = append(b.Days, day)
	if !k.date.Before(e.cfg.EventsSince) {
		return e.eventsLocked(b, e.personLocked(k.user), old, day, now)
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameDay(a, b attendance.Day) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// eventsLocked queues the events of a judged day: new anomalies at rev 1 (never an excused one),
// changed ones as corrections at rev+1, withdrawn ones as retractions; and the day itself on
// {prefix}/days once it is final.
// before is the day as judged before (the zero Day when there was none): a retraction republishes
// the anomaly as it stood there.
func (e *Engine) eventsLocked(b *store.Batch, person attendance.Person, before, day attendance.Day, now time.Time) error {
	src := event.Source{Site: e.cfg.Site, Clock: e.clockOfLocked(day), UserID: day.UserID, Name: person.Name, Unit: person.Unit}
	current := map[string]event.Event{}
	for _, a := range rules.Events(day) {
		ev := event.FromAnomaly(src, day.Date, a, 1, now)
		current[ev.ID] = ev
	}
	for _, slot := range attendance.Slots {
		for _, kind := range attendance.EventKinds {
			id := event.ID(e.cfg.Site, day.UserID, day.Date, slot, kind)
			rev, hash, published, err := e.db.PublishedEvent(id)
			if err != nil {
				return fmt.Errorf("event %s: read published revision: %w", id, err)
			}
			ev, isCurrent := current[id]
			switch {
			case isCurrent && !published && ev.Excused:
				continue // nothing excused is announced as a violation
			case !isCurrent && !published:
				continue
			case !isCurrent:
				ev = event.FromAnomaly(src, day.Date, rules.Retraction(before, day, slot, kind), 1, now)
			}
			h := eventHash(ev)
			if published && bytes.Equal(h, hash) {
				continue
			}
			ev.Rev = rev + 1
			payload, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("event %s: encode: %w", id, err)
			}
			b.Outbox = append(b.Outbox, store.OutboxEntry{Topic: event.Topic(e.cfg.Prefix, kind), Payload: payload,
				EnqueuedAt: now, EventID: id, Rev: ev.Rev, Hash: h})
			if ev.Rev > 1 {
				e.met.corrections.WithLabelValues(string(kind)).Inc()
			} else {
				e.met.events.WithLabelValues(string(kind)).Inc()
			}
			e.queued.Add(1)
		}
	}
	if !day.Final || day.Status == rules.StatusNotJudged {
		return nil
	}
	dp := event.FromDay(e.cfg.Site, person.Name, person.Unit, day, now)
	id := "day-" + event.ID(e.cfg.Site, day.UserID, day.Date, "day", "day")
	rev, hash, published, err := e.db.PublishedEvent(id)
	if err != nil {
		return fmt.Errorf("day %s of %s: read published revision: %w", day.Date, day.UserID, err)
	}
	judgedAt := dp.JudgedAt
	dp.JudgedAt = ""
	h := hashJSON(dp)
	if published && bytes.Equal(h, hash) {
		return nil
	}
	dp.JudgedAt = judgedAt
	payload, err := json.Marshal(dp)
	if err != nil {
		return fmt.Errorf("day %s of %s: encode: %w", day.Date, day.UserID, err)
	}
	b.Outbox = append(b.Outbox, store.OutboxEntry{Topic: event.DaysTopic(e.cfg.Prefix), Payload: payload,
		EnqueuedAt: now, EventID: id, Rev: rev + 1, Hash: h})
	return nil
}

// clockOfLocked names the clock a day's punches came from (the first slot that has one).
func (e *Engine) clockOfLocked(day attendance.Day) string {
	for _, n := range attendance.Slots {
		if s, ok := day.Slots[n]; ok && s.Clock != "" {
			if name, ok := e.serials[s.Clock]; ok {
				return name
			}
			return s.Clock
		}
	}
	if len(e.cfg.Clocks) == 1 {
		return e.cfg.Clocks[0]
	}
	return ""
}

func eventHash(ev event.Event) []byte {
	// Verify follows Actual (the same punch), and leaving it out keeps the events published before
	// it existed from being corrected for it alone.
	ev.Rev, ev.JudgedAt, ev.Verify = 0, "", ""
	return hashJSON(ev)
}

func hashJSON(v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(j)
	return h[:]
}

// clockStatus is the retained status message of a clock after a successful pull.
func (e *Engine) clockStatus(r pull.Pull, wm store.Watermark) store.OutboxEntry {
	last := r.At.In(e.cfg.Location).Format(time.RFC3339)
	cs := event.ClockStatus{Clock: r.Clock, State: event.ClockUp, Since: e.upSince(r.Clock, r.At).In(e.cfg.Location).Format(time.RFC3339),
		LastPull: &last, Records: r.Info.Records, Capacity: r.Info.RecordCap, OffsetSeconds: r.Offset.Seconds(), Serial: r.Info.Serial}
	if e.lastUp == nil {
		e.lastUp = map[string]event.ClockStatus{}
	}
	e.lastUp[r.Clock] = cs
	payload, _ := json.Marshal(cs)
	return store.OutboxEntry{Topic: event.ClockStatusTopic(e.cfg.Prefix, r.Clock), Payload: payload, Retained: true,
		Key: "clock-status/" + r.Clock, EnqueuedAt: r.At}
}

// ClockDown queues the retained status of a clock that cannot be reached (or is no longer polled):
// what its last pull said (records, capacity, offset), else what the store knows of it.
func (e *Engine) ClockDown(ctx context.Context, clock string, since time.Time, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.up, clock)
	cs, ok := e.lastUp[clock]
	if !ok {
		wms, err := e.db.Watermarks()
		if err != nil {
			return fmt.Errorf("read watermarks: %w", err)
		}
		cs = event.ClockStatus{Clock: clock}
		if wm, ok := wms[clock]; ok {
			last := wm.LastPull.In(e.cfg.Location).Format(time.RFC3339)
			cs.LastPull, cs.Records, cs.Serial = &last, wm.Records, wm.Serial
			if wm.Offset != nil {
				cs.OffsetSeconds = wm.Offset.Seconds()
			}
		}
	}
	cs.State, cs.Since, cs.Error = event.ClockDown, since.In(e.cfg.Location).Format(time.RFC3339), reason
	payload, _ := json.Marshal(cs)
	return e.commitLocked(ctx, store.Batch{Outbox: []store.OutboxEntry{{Topic: event.ClockStatusTopic(e.cfg.Prefix, clock),
		Payload: payload, Retained: true, Key: "clock-status/" + clock, EnqueuedAt: e.now()}}})
}

func (e *Engine) upSince(clock string, at time.Time) time.Time {
	if e.up == nil {
		e.up = map[string]time.Time{}
	}
	if t, ok := e.up[clock]; ok {
		return t
	}
	e.up[clock] = at
	return at
}

// commitLocked commits b, then moves the judged-through mark (a lagging mark only costs re-judging).
func (e *Engine) commitLocked(ctx context.Context, b store.Batch) error {
	defer func() { e.newFinal, e.newOpen = e.newFinal[:0], e.newOpen[:0] }()
	if len(b.Days) > 0 || len(b.Outbox) > 0 || len(b.Punches) > 0 || b.Watermark != nil {
		start := time.Now()
		if _, err := e.db.Commit(ctx, b); err != nil {
			return err
		}
		e.met.commit.Observe(time.Since(start).Seconds())
	}
	if e.final == nil {
		e.final = map[dayKey]bool{}
	}
	if e.open == nil {
		e.open = map[dayKey]openDay{}
	}
	for _, k := range e.newFinal {
		e.final[k] = true
		delete(e.open, k)
	}
	for _, o := range e.newOpen {
		e.open[o.key] = o
	}
	from, through := e.from, e.through
	if e.nextFrom.Before(e.from) {
		if err := e.db.PutMeta(metaFrom, []byte(e.nextFrom.String())); err != nil {
			e.log.Warn("save judged-from mark", "err", err)
		} else {
			e.from = e.nextFrom
		}
	}
	if e.nextThrough.After(e.through) {
		if err := e.db.PutMeta(metaThrough, []byte(e.nextThrough.String())); err != nil {
			e.log.Warn("save judged-through mark", "err", err)
		} else {
			e.through = e.nextThrough
		}
	}
	if e.from != from || e.through != through {
		// Inside the judged span (history it moved back over, days it moved on over): no sweep
		// asks for these again; an explicit key judges them afresh.
		for k := range e.final {
			if !k.date.Before(e.from) && !k.date.After(e.through) {
				delete(e.final, k)
			}
		}
		for k := range e.open {
			if !k.date.Before(e.from) && !k.date.After(e.through) {
				delete(e.open, k)
			}
		}
	}
	if len(b.Outbox) > 0 {
		e.notify()
	}
	return nil
}

// SyncedUntil is the earliest sync point over the configured clocks.
func (e *Engine) SyncedUntil() (time.Time, error) {
	wms, err := e.db.Watermarks()
	if err != nil {
		return time.Time{}, err
	}
	return syncedUntil(e.cfg.Clocks, wms), nil
}

// syncedUntil is the earliest sync point over the configured clocks: zero while any has never synced.
func syncedUntil(clocks []string, wms map[string]store.Watermark) time.Time {
	var min time.Time
	for i, c := range clocks {
		wm, ok := wms[c]
		if !ok || wm.SyncedUntil.IsZero() {
			return time.Time{}
		}
		if i == 0 || wm.SyncedUntil.Before(min) {
			min = wm.SyncedUntil
		}
	}
	return min
}

// Queued is how many events and corrections the engine has queued in the outbox since New
// (punchctl says so after re-judging the stopped store).
func (e *Engine) Queued() int { return int(e.queued.Load()) }

var (
	_ pull.Sink   = (*Engine)(nil)
	_ pull.Stager = (*Engine)(nil)
)
