package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this code reads and writes (see the package doc).
const SchemaVersion = 2

// Bucket names.
var (
	bSchema        = []byte("schema")
	bPunches       = []byte("punches")
	bClocks        = []byte("clocks")
	bDays          = []byte("days")
	bDaysByUser    = []byte("days_by_user")
	bRoster        = []byte("roster")
	bClockUsers    = []byte("clock_users")
	bRegistrations = []byte("registrations")
	bRevocations   = []byte("revocations")
	bRegByUser     = []byte("reg_by_user")
	bWatermarks    = []byte("watermarks")
	bOutbox        = []byte("outbox")
	bOutboxKeys    = []byte("outbox_keys")
	bPublished     = []byte("published")
	bMeta          = []byte("meta")

	allBuckets = [][]byte{bSchema, bPunches, bClocks, bDays, bDaysByUser, bRoster, bClockUsers,
		bRegistrations, bRevocations, bRegByUser, bWatermarks, bOutbox, bOutboxKeys, bPublished, bMeta}

	kVersion = []byte("version")
	kCreated = []byte("created")
)

// punchFill is the fill percent of punch pages: punches arrive mostly in key order within a
// person's range, so pages are packed nearly full.
const punchFill = 0.95

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for the file lock held by another process before it
	// fails with ErrLocked. Default 2s.
	LockTimeout time.Duration
	// Location is the zone times are returned in (punch times, registration times, watermarks).
	// Default time.Local.
	Location *time.Location
	// Now is the clock used where a time is not given (RegisteredAt, revocation time, EnqueuedAt,
	// the creation time of a new store). Default time.Now.
	Now func() time.Time
	// Logger receives migrations and consistency problems. Default: discard.
	Logger *slog.Logger
	// ReadOnly opens the file with a shared lock; writes fail with ErrReadOnly. A file that needs a
	// migration or does not exist yet cannot be opened read-only.
	ReadOnly bool
	// SkipCheck skips the consistency check Open runs (see Check).
	SkipCheck bool
	// NoSync skips fsync after each commit: for tests and benchmarks only; a crash may lose the
	// last commits or corrupt the file.
	NoSync bool
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// DB is an open punchd store. It is safe for concurrent use.
type DB struct {
	bolt    *bolt.DB
	path    string
	opts    Options
	loc     *time.Location
	created time.Time
}

// Open opens (creating if needed) the store at path, migrates an older schema, creates missing
// buckets and, unless opts.SkipCheck, runs Check. It fails with ErrLocked (wrapped with the path)
// when another process holds the file for longer than opts.LockTimeout.
func Open(path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	bo := &bolt.Options{
		Timeout:      opts.LockTimeout,
		ReadOnly:     opts.ReadOnly,
		FreelistType: bolt.FreelistMapType,
		NoSync:       opts.NoSync,
	}
	// bbolt would quietly initialise a zero-length file as a new store: a failed restore or copy
	// must not cost the history without a word.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, fmt.Errorf("store %s: %w: restore it from a backup (punchctl backup made one: install -o punchd -g punchd -m 0640 BACKUP %s), "+
			"or, to start a new store and give up the history, remove it (rm %s)", path, ErrEmptyFile, path, path)
	}
	bdb, err := bolt.Open(path, 0o600, bo)
	if err != nil {
		if dir := filepath.Dir(path); !opts.ReadOnly && errors.Is(err, fs.ErrNotExist) && !exists(dir) {
			return nil, fmt.Errorf("store %s: %w: %s: the punchd package creates it; outside the package create it, "+
				"writable by the user punchd runs as (mkdir -p %s), or put the store elsewhere ([store] path)", path, ErrNoDirectory, dir, dir)
		}
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("store %s: open: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path, opts: opts, loc: opts.Location}
	if err := db.init(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if !opts.SkipCheck {
		if err := db.Check(); err != nil {
			_ = bdb.Close()
			return nil, err
		}
	}
	return db, nil
}

// exists says whether path names anything, as far as Stat can tell.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// init reads the schema version, creates a new store, or migrates an old one.
func (db *DB) init() error {
	var version int
	var foreign []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bSchema); s != nil {
			if v := s.Get(kVersion); len(v) == 4 {
				version = int(binary.BigEndian.Uint32(v))
			} else {
				return fmt.Errorf("%w: schema bucket has no valid version", ErrNotStore)
			}
			return nil
		}
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			foreign = append(foreign, string(name))
			return nil
		})
	})
	if err != nil {
		return err
	}
	switch {
	case version == 0 && len(foreign) > 0:
		return fmt.Errorf("%w: no schema bucket, has buckets %q", ErrNotStore, foreign)
	case version == 0:
		if db.opts.ReadOnly {
			return fmt.Errorf("%w: empty file opened read-only", ErrNotStore)
		}
		if err := db.bolt.Update(func(tx *bolt.Tx) error {
			s, err := tx.CreateBucket(bSchema)
			if err != nil {
				return err
			}
			if err := s.Put(kVersion, be32(SchemaVersion)); err != nil {
				return err
			}
			for _, name := range allBuckets[1:] {
				if _, err := tx.CreateBucket(name); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
			}
			return s.Put(kCreated, be64(uint64(db.opts.Now().UnixNano())))
		}); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		db.opts.Logger.Info("store created", "path", db.path, "schema", SchemaVersion)
	case version > SchemaVersion:
		return fmt.Errorf("%w: file has schema %d, this program knows up to %d", ErrSchemaTooNew, version, SchemaVersion)
	case version < SchemaVersion:
		if db.opts.ReadOnly {
			return fmt.Errorf("%w: file has schema %d, current is %d", ErrNeedsMigration, version, SchemaVersion)
		}
		if err := db.migrate(version); err != nil {
			return err
		}
	}
	if !db.opts.ReadOnly {
		if err := db.bolt.Update(func(tx *bolt.Tx) error {
			for _, name := range slices.Concat(allBuckets, addedBuckets) {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("create buckets: %w", err)
		}
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil { // only a read-only Open can get here
				return fmt.Errorf("%w: bucket %s missing", ErrInconsistent, name)
			}
		}
		v := tx.Bucket(bSchema).Get(kCreated)
		if len(v) != 8 {
			return fmt.Errorf("%w: schema bucket has no valid creation time", ErrInconsistent)
		}
		db.created = time.Unix(0, int64(binary.BigEndian.Uint64(v))).In(db.loc)
		return nil
	})
}

// Close releases the file and its lock. Further calls fail with ErrClosed.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store %s: close: %w", db.path, err)
	}
	return nil
}

// Path is the file the store was opened from.
func (db *DB) Path() string { return db.path }

// Location is the zone times are returned in.
func (db *DB) Location() *time.Location { return db.loc }

// Created is when the store was created (its first Open), in Options.Location. The daemon uses
// its date as the default events_since.
func (db *DB) Created() time.Time { return db.created }

// Size is the size of the data in bytes (the high-water mark of used pages; the file may be
// larger because bbolt grows it in steps).
func (db *DB) Size() (int64, error) {
	var n int64
	err := db.view("size", func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// ReleaseMapped gives back the resident pages of the store's memory map after a big read or write
// (a first start compares and judges a whole year of punches once): they stay cached by the
// kernel, so a later read costs a page fault, not a disk read. Safe while other calls run: it
// works inside a read transaction, which keeps bbolt from moving the map (a writer that grows the
// file remaps it only when no read transaction is open), so the range it gives back is the map's.
func (db *DB) ReleaseMapped() error {
	return db.view("release the map", func(tx *bolt.Tx) error {
		return releaseMapped(tx.DB(), tx.Size())
	})
}

// view and update run fn in a transaction and name the operation in errors.
func (db *DB) view(op string, fn func(tx *bolt.Tx) error) error {
	return db.wrap(op, db.bolt.View(fn))
}

func (db *DB) update(op string, fn func(tx *bolt.Tx) error) error {
	if db.opts.ReadOnly {
		return fmt.Errorf("store %s: %s: %w", db.path, op, ErrReadOnly)
	}
	return db.wrap(op, db.bolt.Update(fn))
}

func (db *DB) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store %s: %s: %w", db.path, op, ErrClosed)
	case errors.Is(err, bolterrors.ErrDatabaseReadOnly):
		return fmt.Errorf("store %s: %s: %w", db.path, op, ErrReadOnly)
	}
	return fmt.Errorf("store %s: %s: %w", db.path, op, err)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
