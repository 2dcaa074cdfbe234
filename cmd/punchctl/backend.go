package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/service"
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

// backend is openBackend with the command's clock and logger; the command's end closes it
// (runCommand).
func (e *env) backend(ctx context.Context, cfg config.Config) (api.Backend, error) {
	b, closeB, err := openBackendWith(ctx, cfg, e.Stderr, backendOptions{Now: e.Now, Logger: e.Logger, LockTimeout: storeLockWait})
	if err != nil {
		return nil, err
	}
	e.atEnd(closeB)
	return b, nil
}

func openBackendWith(ctx context.Context, cfg config.Config, stderr io.Writer, o backendOptions) (api.Backend, func() error, error) {
	sock := cfg.API.Socket
	if sock != "" {
		c, err := api.Dial(ctx, sock)
		if err == nil {
			fmt.Fprintf(stderr, "punchctl: via daemon socket %s\n", sock)
			return c, func() error { return nil }, nil
		}
		// A socket we may not open means a daemon that does run, and its store is locked: say so
		// instead of trying the store.
		if errors.Is(err, api.ErrDenied) {
			return nil, nil, err
		}
	}
	sb, err := openStoreBackend(ctx, cfg, o)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "punchctl: daemon not running: using store %s directly\n", cfg.Store.Path)
	return sb, sb.Close, nil
}

// storeBackend is the local API over the store while the daemon is stopped: the service the
// daemon serves on its socket (internal/service), so both validate and re-judge alike; the
// corrections wait in the outbox and are published when punchd next starts. It adds what the
// commands tell their user: the events queued and the store's facts.
type storeBackend struct {
	*service.Service
	db  *store.DB
	eng *ingest.Engine
}

var (
	_ api.Backend  = (*storeBackend)(nil)
	_ api.Accounts = (*storeBackend)(nil)
)

// Queued is the number of events this backend's re-judging queued in the outbox.
func (b *storeBackend) Queued() int { return b.eng.Queued() }

// errNoStore: neither a daemon nor a store file.
var errNoStore = errors.New("no store")

// daemonNotRunning begins the errors of a stopped daemon's store that cannot be opened.
const daemonNotRunning = "daemon not running"

func openStoreBackend(ctx context.Context, cfg config.Config, o backendOptions) (*storeBackend, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	path := cfg.Store.Path
	notRunning := fmt.Sprintf("%s (no answer on socket %s)", daemonNotRunning, cfg.API.Socket)
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
	return &storeBackend{Service: service.New(cfg, db, cal, eng, since, o.Now), db: db, eng: eng}, nil
}

func configName(cfg config.Config) string {
	if s := cfg.Source(); s != "" {
		return s
	}
	return "the config"
}

// Close releases the store.
func (b *storeBackend) Close() error { return b.db.Close() }

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

// flagsAndConfig parses a command's flags, refuses positional arguments and loads the config
// (the defaults when --config was not given and none exists).
func (e *env) flagsAndConfig(fs *flag.FlagSet, name string, args []string) (config.Config, error) {
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return config.Config{}, err
	}
	return e.judgeConfig()
}
