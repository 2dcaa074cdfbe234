//go:build !windows

package api

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// testSocket is a socket path for one test, in a directory not yet made (Listen makes it). It is
// under a short temporary directory: a unix socket's path is limited to about 100 bytes.
func testSocket(t *testing.T) string {
	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "punchd.sock")
}

// checkOwnerOnly fails t unless the socket at path is a 0600 socket.
func checkOwnerOnly(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v: want a 0600 socket", fi, err)
	}
}

// The socket is created owner-only without a looser moment, leaves no temporary directory
// behind, and is removed when the listener closes.
func TestListenSocketOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "punchd.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	checkOwnerOnly(t, sock)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %v, want the socket only", entries)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial the renamed socket: %v", err)
	}
	c.Close()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
}
