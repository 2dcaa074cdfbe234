package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/store"
)

func init() {
	register(command{
		Name:    "backup",
		Args:    "[--config FILE] [--wait D] PATH",
		Summary: "write a checked copy of the store to PATH (hot, through the daemon when it runs)",
		Run:     runBackup,
	})
}

func runBackup(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("backup")
	e.configFlag(fs)
	wait := fs.Duration("wait", 2*time.Second, "how long to wait for another process (the daemon) to release the store")
	pos, err := e.parseFlags(fs, "backup", args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one PATH to write the backup to")
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if cl, err := api.Dial(ctx, cfg.API.Socket); err == nil {
		fmt.Fprintf(e.Stderr, "via daemon socket %s\n", cfg.API.Socket)
		return backupViaDaemon(ctx, e, cl, cfg.Location(), pos[0])
	}
	db, err := store.Open(cfg.Store.Path, store.Options{ReadOnly: true, LockTimeout: *wait, Location: cfg.Location(), Logger: e.Logger})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w: the daemon has it open; stop punchd (systemctl stop punchd), back up, start it again", err)
		}
		return err
	}
	n, err := db.BackupFile(ctx, pos[0])
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Stdout, "backup %s: %d bytes from %s (checked)\n", pos[0], n, cfg.Store.Path)
	return err
}

// backupViaDaemon streams the running daemon's hot backup into a temporary file beside path, checks
// the copy by opening it (the store's consistency check runs), and renames it into place.
func backupViaDaemon(ctx context.Context, e *env, cl *api.Client, loc *time.Location, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := cl.Backup(ctx, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	db, err := store.Open(tmp.Name(), store.Options{ReadOnly: true, Location: loc})
	if err != nil {
		return fmt.Errorf("backup %s: the copy does not check: %w", path, err)
	}
	db.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	_, err = fmt.Fprintf(e.Stdout, "backup %s: %d bytes from the running daemon (checked)\n", path, n)
	return err
}
