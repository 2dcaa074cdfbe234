package api

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// testSocket is a pipe of its own for one test: the default address of a fresh directory.
func testSocket(t *testing.T) string { return DefaultAddress(t.TempDir()) }

// checkOwnerOnly fails t unless the pipe at path has a protected DACL allowing SYSTEM, the
// Administrators and this process's account, and no one else.
func checkOwnerOnly(t *testing.T, path string) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("pipe %s: security: %v", path, err)
	}
	control, _, err := sd.Control()
	if err != nil || control&windows.SE_DACL_PROTECTED == 0 {
		t.Fatalf("pipe %s: DACL not protected (control %#x, %v): it would inherit", path, control, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("pipe %s: no DACL (%v): open to everyone", path, err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"S-1-5-18": true, "S-1-5-32-544": true, u.User.Sid.String(): true}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatal(err)
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || !want[sid] {
			t.Errorf("pipe %s: ACE %d type %d for %s; want access allowed to SYSTEM, Administrators, %s only",
				path, i, ace.Header.AceType, sid, u.User.Sid)
		}
		delete(want, sid)
	}
	if len(want) > 0 {
		t.Errorf("pipe %s: no access for %v (DACL %s)", path, want, sd)
	}
}

// One store directory, one pipe, whatever the case of its path; two directories, two pipes.
func TestDefaultAddress(t *testing.T) {
	a := DefaultAddress(`C:\ProgramData\punchd`)
	if !strings.HasPrefix(a, `\\.\pipe\punchd-`) || len(a) != len(`\\.\pipe\punchd-`)+8 {
		t.Fatalf("DefaultAddress = %q, want \\\\.\\pipe\\punchd-XXXXXXXX", a)
	}
	if b := DefaultAddress(`c:\programdata\PUNCHD\`); b != a {
		t.Errorf("the same directory in other case gives %q and %q", a, b)
	}
	if b := DefaultAddress(`D:\punchd`); b == a {
		t.Errorf("two directories share %q", a)
	}
}

// A path that is not a pipe (a unix-style socket file left in a config) is refused by Listen and
// is "not running" to Dial, which never opens a file in its place.
func TestNotAPipe(t *testing.T) {
	path := t.TempDir() + `\punchd.sock`
	if _, err := Listen(path); !errors.Is(err, errNotPipe) {
		t.Errorf("Listen(%s) = %v, want errNotPipe", path, err)
	}
	if _, err := Dial(t.Context(), path); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), `\\.\pipe\NAME`) {
		t.Errorf("Dial(%s) = %v, want ErrNotRunning naming the pipe form", path, err)
	}
}

// Closing the listener removes the pipe: the next daemon listens again, and a client dialling in
// between finds no daemon.
func TestPipeGoneAfterClose(t *testing.T) {
	sock := testSocket(t)
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := dial(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln.Close()
	if _, err := Dial(t.Context(), sock); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial after Close: %v, want ErrNotRunning", err)
	}
	ln2, err := Listen(sock)
	if err != nil {
		t.Fatalf("Listen again after Close: %v", err)
	}
	ln2.Close()
}
