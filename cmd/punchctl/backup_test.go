package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/store"
)

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "punchd.db")
	cfg := writeFile(t, dir, "punchd.toml", "[store]\npath = \""+dbPath+"\"\n")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// While another process (here: this one) holds the store, the backup says who to stop.
	out := filepath.Join(dir, "backup.db")
	code, _, errs := runCmd(t, "", "backup", "--config", cfg, "--wait", "50ms", out)
	if code != 1 || !strings.Contains(errs, "stop punchd") || strings.Count(errs, "\n") != 1 {
		t.Errorf("locked store: exit %d stderr %q", code, errs)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	code, stdout, errs := runCmd(t, "", "backup", out, "--config", cfg)
	if code != 0 || !strings.HasPrefix(stdout, "backup "+out+": ") {
		t.Fatalf("backup: exit %d stdout %q stderr %q", code, stdout, errs)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	back, err := store.Open(out, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	back.Close()

	code, _, errs = runCmd(t, "", "backup", "--config", cfg, dbPath)
	if code != 1 || !strings.Contains(errs, "the store itself") {
		t.Errorf("backup over the store: exit %d stderr %q", code, errs)
	}
}
