package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jinbi/punchd/internal/store"
)

func init() {
	register(command{
		Name:    "backup",
		Args:    "[--config FILE] [--wait D] PATH",
		Summary: "write a checked copy of the store to PATH (while the daemon is stopped)",
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
