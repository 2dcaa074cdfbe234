package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// ctxWriter fails the copy at the next write once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Backup writes a consistent copy of the whole store to w while it stays in use (a read
// transaction: writers are not blocked). It returns the bytes written. The copy is a bbolt file
// that Open accepts as it is.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store %s: backup: %w", db.path, err)
	}
	err := db.view("backup", func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx, w})
		if err != nil && ctx.Err() != nil {
			// bbolt formats the writer's error with %s: restore the cause.
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return err
	})
	return n, err
}

// BackupFile writes a hot backup to path: into a temporary file beside it, synced, reopened and
// checked (Check), then renamed over path, so path is either the old file or a complete, checked
// copy. path must not be the store's own file. This is the library side of `punchctl backup PATH`.
func (db *DB) BackupFile(ctx context.Context, path string) (int64, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	if own, err := filepath.Abs(db.path); err == nil && own == abs {
		return 0, fmt.Errorf("store %s: backup to %s: %w: that is the store itself", db.path, path, ErrInvalid)
	}
	if fi, err := os.Stat(path); err == nil {
		if own, err2 := os.Stat(db.path); err2 == nil && os.SameFile(fi, own) {
			return 0, fmt.Errorf("store %s: backup to %s: %w: that is the store itself", db.path, path, ErrInvalid)
		}
	}
	dir := filepath.Dir(abs)
	f, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	n, err := db.Backup(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: sync: %w", db.path, path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: close: %w", db.path, path, err)
	}
	cp, err := Open(tmp, Options{ReadOnly: true, Location: db.loc, Logger: db.opts.Logger, LockTimeout: db.opts.LockTimeout})
	if err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: the copy does not check: %w", db.path, path, err)
	}
	if err := cp.Close(); err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return 0, fmt.Errorf("store %s: backup to %s: %w", db.path, path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return n, nil
}
