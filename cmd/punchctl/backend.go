package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
)

// The data source of the commands that need the daemon's data (status, register, roster, report):
// the running daemon over its local API, or — only when no daemon answers — the store opened
// directly. bbolt holds an exclusive lock while the daemon runs, so the two never both write.

// openBackend returns the running daemon's API when a daemon answers on cfg.API.Socket, else a
// Backend over the store at cfg.Store.Path opened directly. It says which on stderr. close
// releases the store (a no-op for the daemon). Errors are one line: a socket the user may not
// open, a store another process holds, no store at all.
func openBackend(ctx context.Context, cfg config.Config, stderr io.Writer) (api.Backend, func() error, error) {
	return openBackendWith(ctx, cfg, stderr, backendOptions{})
}

// backendOptions tune the store-backed side (tests inject the clock and a short lock wait).
type backendOptions struct {
	Now         func() time.Time // registration and revocation times, "today" of the engine; nil: time.Now
	Logger      *slog.Logger     // the store's and the engine's warnings; nil: discard
	LockTimeout time.Duration    // how long to wait for another process holding the store; 0: 2s
}

// storeLockWait is how long the commands wait for another process to release the store.
var storeLockWait = 2 * time.Second

// backend is openBackend with the command's clock and logger.
func (e *env) backend(ctx context.Context, cfg config.Config) (api.Backend, func() error, error) {
	return openBackendWith(ctx, cfg, e.Stderr, backendOptions{Now: e.Now, Logger: e.Logger, LockTimeout: storeLockWait})
}

func openBackendWith(ctx context.Context, cfg config.Config, stderr io.Writer, o backendOptions) (api.Backend, func() error, error) {
	sock := cfg.API.Socket
	if sock != "" {
		c, err := api.Dial(ctx, sock)
		if err == nil {
			fmt.Fprintf(stderr, "punchctl: via daemon socket %s\n", sock)
			return c, func() error { return nil }, nil
		}
		// api.Dial folds every failure into ErrNotRunning; a socket we may not open means a daemon
		// that does run, and its store is locked: say so instead of trying the store.
		if c, derr := net.DialTimeout("unix", sock, time.Second); derr == nil {
			c.Close()
		} else if errors.Is(derr, syscall.EACCES) || errors.Is(derr, fs.ErrPermission) {
			return nil, nil, fmt.Errorf("daemon socket %s: permission denied: run punchctl as root or as the user punchd runs as", sock)
		}
	}
	sb, err := openStoreBackend(ctx, cfg, o)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "punchctl: daemon not running: using store %s directly\n", cfg.Store.Path)
	return sb, sb.Close, nil
}

// storeBackend implements api.Backend over the store while the daemon is stopped. It applies the
// daemon's validation, and re-judges the days a registration changes with the daemon's own ingest
// engine, so the corrections wait in the outbox and are published when punchd next starts.
type storeBackend struct {
	cfg   config.Config
	db    *store.DB
	cal   *calendar.Calendar
	eng   *ingest.Engine
	since attendance.Date
	now   func() time.Time
	// Queued counts the outbox entries this backend's re-judging added (corrections waiting for
	// the daemon), for the commands to tell the user.
	Queued int
}

var _ api.Backend = (*storeBackend)(nil)

// errNoStore: neither a daemon nor a store file.
var errNoStore = errors.New("no store")

func openStoreBackend(ctx context.Context, cfg config.Config, o backendOptions) (*storeBackend, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	path := cfg.Store.Path
	notRunning := fmt.Sprintf("daemon not running (no answer on socket %s)", cfg.API.Socket)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Creating a store here would fix its creation day (the default events_since) by accident.
		return nil, fmt.Errorf("%s and %w at %s: check [store] path in %s, or start punchd once to create it",
			notRunning, errNoStore, path, configName(cfg))
	}
	cal, err := cfg.NewCalendar()
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	db, err := store.Open(path, store.Options{Location: cfg.Location(), Now: o.Now, Logger: o.Logger, LockTimeout: o.LockTimeout})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%s, but store %s is held by another process (another punchctl, a backup, or a punchd whose [api] socket is not %s)",
				notRunning, path, cfg.API.Socket)
		}
		return nil, fmt.Errorf("%s; store: %w", notRunning, err)
	}
	since := cfg.Site.EventsSince.Std()
	if since.IsZero() {
		since = attendance.DateOf(db.Created().In(cfg.Location()))
	}
	clocks := make([]string, len(cfg.Clock))
	for i, c := range cfg.Clock {
		clocks[i] = c.Name
	}
	eng := ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: cfg.Location(),
		Params: cfg.RulesParams(), EventsSince: since, Clocks: clocks}, db, cal, o.Now, o.Logger, nil, nil)
	if err := eng.Load(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &storeBackend{cfg: cfg, db: db, cal: cal, eng: eng, since: since, now: o.Now}, nil
}

func configName(cfg config.Config) string {
	if s := cfg.Source(); s != "" {
		return s
	}
	return "the config"
}

// Close releases the store.
func (b *storeBackend) Close() error { return b.db.Close() }

// Status is what the store knows: no clock is up and nothing is connected while the daemon is
// stopped; each configured clock shows its last pull from its watermark.
func (b *storeBackend) Status(ctx context.Context) (api.Status, error) {
	s := api.Status{Site: b.cfg.Site.Name, Store: b.cfg.Store.Path, EventsSince: b.since.String()}
	y := b.now().In(b.cfg.Location()).Year()
	s.MissingYears = b.cal.MissingYears(y, y+1)
	var err error
	if s.Outbox, s.OutboxOldest, err = b.db.OutboxStats(); err != nil {
		return s, err
	}
	wms, err := b.db.Watermarks()
	if err != nil {
		return s, err
	}
	for _, c := range b.cfg.Clock {
		wm := wms[c.Name]
		s.Clocks = append(s.Clocks, api.ClockStatus{Name: c.Name, Serial: wm.Serial, LastPull: wm.LastPull, Records: wm.Records})
	}
	return s, nil
}

// storeFacts are what `status` adds when it read the store itself.
type storeFacts struct {
	Bytes      int64
	Created    time.Time
	Punches    int
	Watermarks map[string]store.Watermark
}

func (b *storeBackend) facts() (storeFacts, error) {
	f := storeFacts{Created: b.db.Created()}
	var err error
	if f.Bytes, err = b.db.Size(); err != nil {
		return f, err
	}
	if f.Punches, err = b.db.CountPunches(); err != nil {
		return f, err
	}
	f.Watermarks, err = b.db.Watermarks()
	return f, err
}

// Roster implements api.Backend.
func (b *storeBackend) Roster(ctx context.Context) ([]attendance.Person, error) { return b.db.Roster() }

// PutRoster stores the roster and re-judges the open days, as the daemon does.
func (b *storeBackend) PutRoster(ctx context.Context, people []attendance.Person) error {
	if err := b.db.PutRoster(people); err != nil {
		return err
	}
	return b.counting(func() error { return b.eng.ReloadRoster(ctx) })
}

// ClockUsers implements api.Backend: every clock's user table, clocks in name order.
func (b *storeBackend) ClockUsers(ctx context.Context) ([]device.User, error) {
	byClock, err := b.db.ClockUsers()
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

// Registrations implements api.Backend.
func (b *storeBackend) Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error) {
	return b.db.Registrations(from, to)
}

// AddRegistration validates as the daemon does (fields, the person on the roster), stores, and
// re-judges the days it covers.
func (b *storeBackend) AddRegistration(ctx context.Context, r attendance.Registration) (attendance.Registration, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	if ok, err := b.db.Judged(r.UserID); err != nil {
		return r, err
	} else if !ok {
		return r, fmt.Errorf("registration: user %q is not on the roster", r.UserID)
	}
	r.ID = ""
	r.RegisteredAt = b.now()
	saved, err := b.db.AddRegistration(r)
	if err != nil {
		return saved, err
	}
	return saved, b.rejudge(ctx, saved)
}

// RevokeRegistration records the revocation and re-judges the days the registration covered.
func (b *storeBackend) RevokeRegistration(ctx context.Context, id, by, reason string) (attendance.Registration, error) {
	if strings.TrimSpace(by) == "" {
		return attendance.Registration{}, errors.New("revoke: --by is required")
	}
	r, err := b.db.RevokeRegistration(id, by, reason, b.now())
	if err != nil {
		return r, err
	}
	return r, b.rejudge(ctx, r)
}

func (b *storeBackend) rejudge(ctx context.Context, r attendance.Registration) error {
	loc := b.cfg.Location()
	to := r.To
	if to.IsZero() {
		to = r.From
	}
	err := b.counting(func() error {
		return b.eng.Rejudge(ctx, r.UserID, attendance.DateOf(r.From.In(loc)), attendance.DateOf(to.In(loc)))
	})
	if err != nil {
		return fmt.Errorf("registration %s stored, but re-judging its days failed (punchd re-judges open days when it starts): %w", r.ID, err)
	}
	return nil
}

// counting runs f and adds the outbox entries it queued to Queued.
func (b *storeBackend) counting(f func() error) error {
	before, _, err := b.db.OutboxStats()
	if err != nil {
		return err
	}
	if err := f(); err != nil {
		return err
	}
	after, _, err := b.db.OutboxStats()
	if err != nil {
		return err
	}
	if after > before {
		b.Queued += after - before
	}
	return nil
}

// Days implements api.Backend.
func (b *storeBackend) Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error) {
	return b.db.Days(from, to)
}

// flagsAndConfig parses a command's flags, refuses positional arguments and loads the config
// (the defaults when --config was not given and none exists).
func (e *env) flagsAndConfig(fs *flag.FlagSet, name string, args []string) (config.Config, error) {
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return config.Config{}, err
	}
	if len(pos) > 0 {
		return config.Config{}, usagef("unexpected argument %q", pos[0])
	}
	return e.judgeConfig()
}
